"""Each case of issue 12 ("Lossless exchange") about team summaries at a lead
(laws 4, 5 and 6), as a regression test named after it, through the command
line as a team lead meets it."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate import store
from calibrate.cli import cli
from calibrate.durations import local_today, week_start
from calibrate.report import data as report_data
from calibrate.selection import Selection
from calibrate.store.tasks import new_uid

NOW = datetime.now(UTC).replace(microsecond=0)


def calibrate(db: Path, *args: str):
    result = CliRunner().invoke(cli, ["--db", str(db), *args], prog_name="calibrate")
    return result


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def as_json(db: Path, *args: str):
    return json.loads(ok(calibrate(db, *args, "--json")).stdout)


def log_done(
    db: Path,
    person: str,
    team: str | None,
    n: int,
    *,
    seed: int,
    spread=0.8,
    shift=0.2,
    days: int = 120,
    when=None,
) -> None:
    """``n`` finished tasks of ``person``, their log ratios drawn around
    ``shift``, done over the last ``days`` days (or at the ``when`` moments)."""
    rng = random.Random(seed)
    conn = store.connect(db)
    rows = []
    for i in range(n):
        moment = when[i] if when else NOW - timedelta(days=rng.uniform(1, days))
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        estimate = float(rng.choice([0.5, 1, 2, 3, 5, 8, 13]))
        actual = estimate * 2 ** rng.gauss(shift, spread)
        rows.append((new_uid(), f"task {i}", person, team, estimate, actual, stamp, stamp, stamp))
    with store.transaction(conn):
        conn.executemany(
            "INSERT INTO tasks (uid, title, person, team, estimate_h, actual_h, status, "
            "created_at, done_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, ?)",
            rows,
        )
    conn.close()


def export_summary(db: Path, path: Path, *args: str) -> dict:
    ok(calibrate(db, "export", "--summary", *args, "-o", str(path)))
    return json.loads(path.read_text())


def team_rows(db: Path, *args: str) -> dict:
    out = as_json(db, "rank", "--teams", *args)
    return {row["team"]: row for row in out["ranked"] + out["unranked"]}


# --- law 4: replicas at a lead ---------------------------------------------------------------


def test_two_copied_template_teams_at_a_lead(tmp_path):
    """Two team databases made by copying one template file: each gets its own
    replica id, so at the lead the second team's summary no longer replaces
    the first's."""
    template = tmp_path / "template.db"
    ok(calibrate(template, "config", "day-hours", "8"))
    web, app = tmp_path / "web.db", tmp_path / "app.db"
    shutil.copy(template, web)
    shutil.copy(template, app)
    log_done(web, "wes", "Web", 35, seed=1)
    log_done(app, "ann", "App", 40, seed=2)
    files = [export_summary(db, tmp_path / f"{db.stem}.json") for db in (web, app)]
    assert files[0]["database_id"] != files[1]["database_id"]
    lead = tmp_path / "lead.db"
    for db in (web, app):
        ok(calibrate(lead, "import", str(tmp_path / f"{db.stem}.json")))
    teams = team_rows(lead, "--since", "all")
    assert (teams["Web"]["n"], teams["App"]["n"]) == (35, 40)
    assert {row["person"] for row in as_json(lead, "people")} == {"wes", "ann"}


def test_a_copy_made_on_another_machine_is_a_fork_counted_as_two_replicas(tmp_path, monkeypatch):
    """A copy the registry cannot see (made on another machine) keeps the
    replica id: the lead sees two summaries whose people diverge, counts them
    as two replicas, and says so in one line."""
    template = tmp_path / "template.db"
    ok(calibrate(template, "config", "day-hours", "8"))
    elsewhere = tmp_path / "other-machine"
    elsewhere.mkdir()
    copy = elsewhere / "team.db"
    shutil.copy(template, copy)
    monkeypatch.setenv("CALIBRATE_DATA_DIR", str(elsewhere / "data"))  # its own registry
    log_done(copy, "ola", "Ops", 31, seed=3)
    there = export_summary(copy, tmp_path / "ops.json")
    monkeypatch.setenv("CALIBRATE_DATA_DIR", str(tmp_path / "data"))
    log_done(template, "tim", "Tools", 33, seed=4)
    here = export_summary(template, tmp_path / "tools.json")
    assert here["database_id"] == there["database_id"]  # one id, two histories
    lead = tmp_path / "lead.db"
    ok(calibrate(lead, "import", str(tmp_path / "tools.json")))
    second = ok(calibrate(lead, "import", str(tmp_path / "ops.json"))).stdout
    assert "ops.json has the replica id of tools.json, but their people or weeks diverge" in (
        " ".join(second.split())
    )
    assert second.count("diverge") == 1
    teams = team_rows(lead, "--since", "all")
    assert (teams["Tools"]["n"], teams["Ops"]["n"]) == (33, 31)
    again = ok(calibrate(lead, "import", str(tmp_path / "ops.json"))).stdout
    assert "diverge" not in again  # the fork is known now: this is its own export again
    assert team_rows(lead, "--since", "all")["Ops"]["n"] == 31


def test_a_reexported_summary_replaces_the_weeks_it_covers_and_earlier_weeks_stay(tmp_path):
    team, lead = tmp_path / "team.db", tmp_path / "lead.db"
    log_done(team, "rae", "Web", 40, seed=5, days=200)
    export_summary(team, tmp_path / "all.json", "--since", "all")
    ok(calibrate(lead, "import", str(tmp_path / "all.json")))
    log_done(team, "rae", "Web", 6, seed=6, days=20)  # more work since, recent weeks
    log_done(team, "sid", "Web", 12, seed=7, days=20)
    export_summary(team, tmp_path / "recent.json", "--since", "8w")
    result = ok(calibrate(lead, "import", str(tmp_path / "recent.json"))).stdout
    assert "replacing" in result and "of an earlier export of the same replica" in result
    mine = team_rows(team, "--since", "all")["Web"]
    theirs = team_rows(lead, "--since", "all")["Web"]
    assert theirs["n"] == mine["n"] == 58  # the earlier weeks from the first export stay
    for key in ("score", "score_raw"):
        assert theirs[key] == pytest.approx(mine[key], rel=1e-9)
    # imported in the other order, the same standing (a later export wins whenever it comes)
    other = tmp_path / "other-lead.db"
    ok(calibrate(other, "import", str(tmp_path / "recent.json")))
    ok(calibrate(other, "import", str(tmp_path / "all.json")))
    assert team_rows(other, "--since", "all")["Web"] == theirs


def test_two_summaries_that_bring_one_person_keep_the_later_export_for_them(tmp_path):
    """Kim moved from team Core to team Web: both teams' summaries bring her.
    Summaries of two replicas add up, but for Kim the later export counts,
    with one line."""
    core, web, lead = tmp_path / "core.db", tmp_path / "web.db", tmp_path / "lead.db"
    log_done(core, "kim", "Core", 30, seed=8)
    log_done(core, "lou", "Core", 30, seed=9)
    log_done(web, "kim", "Web", 12, seed=10)
    log_done(web, "max", "Web", 30, seed=11)
    export_summary(core, tmp_path / "core.json", "--since", "all")
    export_summary(web, tmp_path / "web.json", "--since", "all")
    ok(calibrate(lead, "import", str(tmp_path / "core.json")))
    said = ok(calibrate(lead, "import", str(tmp_path / "web.json"))).stdout
    assert "kim is in core.json too: this later export is kept for kim" in said
    people = {row["person"]: row for row in as_json(lead, "people")}
    assert (people["kim"]["counted"], people["kim"]["team"]) == (12, "Web")
    assert people["lou"]["counted"] == people["max"]["counted"] == 30
    teams = team_rows(lead, "--since", "all")
    assert (teams["Core"]["n"], teams["Web"]["n"]) == (30, 42)


# --- law 5: a summary speaks only for its own people ----------------------------------------


def _forged_week(summary: dict, person: str, week: str, n: int = 100) -> dict:
    """A week row in which every one of ``n`` tasks missed by the cap (8x)."""
    return {
        "person": person,
        "team": "Web",
        "week": week,
        "n": n,
        "sum_abs": 3.0 * n,
        "sum_sq": 9.0 * n,
        "over": n,
        "exact": 0,
        "under": 0,
        "within_25": 0,
        "buckets": [[n, 3.0 * n, 9.0 * n], *[[0, 0.0, 0.0]] * 5],
        "histogram": [[300, n]],
        "logged": n,
        "ranges": [],
        "promises": {
            "due": 0,
            "kept": 0,
            "exceeded": 0,
            "effort_n": 0,
            "promised_h": 0.0,
            "actual_h": 0.0,
        },
    }


def test_the_future_week_dragging_61_to_22(tmp_path):
    """A summary that adds a week after tomorrow, and weeks of its own, for a
    person whose raw tasks live at the lead: the future week is refused with
    one line, and the person stays counted from their raw tasks alone."""
    lead, other = tmp_path / "lead.db", tmp_path / "other.db"
    log_done(lead, "pat", "Web", 40, seed=12, spread=0.7, shift=0.0)
    log_done(other, "pat", "Web", 30, seed=13, spread=2.0)  # a copy of some of pat's work
    before = as_json(lead, "score", "--person", "pat")
    ranks_before = as_json(lead, "rank", "--team", "Web")
    assert before["score"] is not None and before["n"] == 40
    summary = export_summary(other, tmp_path / "forged.json", "--since", "all")
    next_week = (week_start(local_today()) + timedelta(weeks=2)).isoformat()
    this_week = week_start(local_today()).isoformat()
    summary["weeks"] += [
        _forged_week(summary, "pat", next_week),
        _forged_week(summary, "pat", this_week),
    ]
    (tmp_path / "forged.json").write_text(json.dumps(summary))
    result = ok(calibrate(lead, "import", str(tmp_path / "forged.json")))
    lines = result.stdout.splitlines()
    refused = [line for line in lines if "refused" in line]
    assert len(refused) == 1 and f"the week of {next_week} is after tomorrow" in refused[0]
    assert any("pat" in line and "their own tasks count" in line for line in lines)
    after = as_json(lead, "score", "--person", "pat")
    assert (after["n"], after["score"], after["score_raw"]) == (
        before["n"],
        before["score"],
        before["score_raw"],
    )
    pat_before = _row(ranks_before, "pat")
    pat_after = _row(as_json(lead, "rank", "--team", "Web"), "pat")
    assert (pat_after["n"], pat_after["score_raw"]) == (pat_before["n"], pat_before["score_raw"])


def _row(ranks: dict, person: str) -> dict:
    return next(
        row
        for group in ranks["groups"]
        for row in group["ranked"] + group["provisional"]
        if row["person"] == person
    )


def test_opt_anyone_out_then_people_opt_in(tmp_path):
    """A summary that lists a person of the lead as opted out cannot opt them
    out (the entry brings no weeks: refused, one line); a summary's own
    opted-out people are left out, and counted; and 'people --opt-in' of a
    person known only from a summary says so instead of "ranked again"."""
    lead, team = tmp_path / "lead.db", tmp_path / "team.db"
    log_done(lead, "alice", "Web", 35, seed=14)
    log_done(team, "bob", "Web", 32, seed=15)
    log_done(team, "cat", "Web", 31, seed=16)
    ok(calibrate(team, "people", "--opt-out", "--person", "cat"))
    summary = export_summary(team, tmp_path / "team.json", "--since", "all")
    assert summary["left_out"] == 1 and "cat" not in json.dumps(summary)
    summary["people"].append({"person": "alice", "team": "Web", "opt_out": True})
    (tmp_path / "team.json").write_text(json.dumps(summary))
    said = ok(calibrate(lead, "import", str(tmp_path / "team.json"))).stdout
    assert "people entry 2 (alice) brings no week rows" in said
    assert "left out: 1 person who opted out of ranks there" in said
    people = {row["person"]: row for row in as_json(lead, "people")}
    assert not people["alice"]["opt_out"] and "cat" not in people
    ranked = as_json(lead, "rank", "--team", "Web")
    assert {row["person"] for g in ranked["groups"] for row in g["ranked"]} == {"alice", "bob"}
    result = calibrate(lead, "people", "--opt-in", "--person", "bob")
    assert result.exit_code == 1 and "ranked again" not in result.output
    assert "bob has no tasks here, only the figures of a team summary (team.json)" in (
        " ".join(result.stderr.split())
    )
    assert ok(calibrate(lead, "people", "--opt-in", "--person", "alice")).stdout == (
        "alice opted in: ranked again.\n"
    )


def test_a_summary_and_a_merged_copy_in_two_time_zones_counted_twice(tmp_path, monkeypatch):
    """Quinn's 20 tasks, finished around midnight: exported as a summary in
    Auckland, merged as a database too, read at a lead in Los Angeles. Each
    side's weeks differ, yet Quinn counts once: 20 tasks, provisional (not 40,
    which would cross the ranking threshold)."""
    mine, lead = tmp_path / "quinn.db", tmp_path / "lead.db"
    sunday = week_start(local_today()) - timedelta(days=1)
    moments = [
        datetime(sunday.year, sunday.month, sunday.day, 23, tzinfo=UTC)
        - timedelta(weeks=k % 5)
        + timedelta(minutes=20 * (k % 3))
        for k in range(20)
    ]
    log_done(mine, "quinn", "Web", 20, seed=17, when=moments)
    log_done(lead, "lee", "Web", 30, seed=18)
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    export_summary(mine, tmp_path / "quinn.json", "--since", "all")
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    ok(calibrate(lead, "merge", str(mine)))
    ok(calibrate(lead, "import", str(tmp_path / "quinn.json")))
    assert as_json(lead, "score", "--person", "quinn", "--since", "all")["n"] == 20
    people = {row["person"]: row for row in as_json(lead, "people")}
    assert people["quinn"]["counted"] == 20 and people["quinn"]["summary"] == 0
    ranks = as_json(lead, "rank", "--team", "Web", "--since", "all")
    quinn = _row(ranks, "quinn")
    assert quinn["n"] == 20 and quinn["status"] == "provisional"
    assert team_rows(lead, "--since", "all")["Web"]["n"] == 50


# --- law 6: one set of numbers ---------------------------------------------------------------


def test_rank_teams_2_people_73_and_score_team_1_person_64(tmp_path):
    """In one database, rank --teams and score --team, report --team and
    people count a team's summary person alike: two people, one score."""
    lead, other = tmp_path / "lead.db", tmp_path / "other.db"
    log_done(lead, "alice", "Web", 30, seed=19, shift=0.5)
    log_done(other, "bob", "Web", 30, seed=20, shift=0.0, spread=0.4)
    export_summary(other, tmp_path / "bob.json")
    ok(calibrate(lead, "import", str(tmp_path / "bob.json")))
    web = team_rows(lead)["Web"]
    assert (web["people"], web["n"]) == (2, 60)
    panel = as_json(lead, "score", "--team", "Web")
    assert panel["n"] == 60 and panel["summaries"]["people"] == 1
    for key in ("score", "score_raw", "score_low", "score_high", "score_raw_low"):
        assert panel[key] == pytest.approx(web[key], rel=1e-9), key
    assert sum(1 for row in as_json(lead, "people") if row["team"] == "Web") == 2
    words = ok(calibrate(lead, "score", "--team", "Web")).stdout
    assert "1 person counted from imported team summaries" in " ".join(words.split())
    assert "Trend        not in summaries" in words


def test_a_team_leads_commands_agree_on_one_database_with_two_imported_summaries(tmp_path):
    """Done when: score --team, rank --teams, people and report --team give a
    team lead the same score and score_raw, and the same task count."""
    lead, web, app = tmp_path / "lead.db", tmp_path / "web.db", tmp_path / "app.db"
    log_done(lead, "alice", "Web", 34, seed=21)
    log_done(lead, "amy", "App", 12, seed=22)
    log_done(web, "bob", "Web", 41, seed=23, shift=0.4)
    log_done(app, "carol", "App", 45, seed=24, shift=-0.1)
    log_done(app, "dan", "App", 33, seed=25, spread=1.2)
    for db in (web, app):
        export_summary(db, tmp_path / f"{db.stem}.json", "--since", "all")
        ok(calibrate(lead, "import", str(tmp_path / f"{db.stem}.json")))
    ranked = team_rows(lead, "--since", "all")
    people = as_json(lead, "people")
    conn = store.connect(lead)
    try:
        for team, n, members in (("Web", 75, 2), ("App", 90, 3)):
            panel = as_json(lead, "score", "--team", team, "--since", "all")
            report = report_data.load(conn, Selection(team=team)).panel
            row = ranked[team]
            assert panel["n"] == row["n"] == report["n"] == n
            assert sum(p["counted"] for p in people if p["team"] == team) == n
            assert row["people"] == members == sum(1 for p in people if p["team"] == team)
            for key in ("score", "score_raw"):
                assert panel[key] == pytest.approx(row[key], rel=1e-9), (team, key)
                assert report[key] == pytest.approx(row[key], rel=1e-9), (team, key)
            assert report["summaries"] == panel["summaries"]
    finally:
        conn.close()
    html = tmp_path / "web.html"
    ok(calibrate(lead, "report", "--team", "Web", "--since", "all", "-o", str(html)))
    text = html.read_text()
    assert "Not in summaries" in text and "bob" in text


def test_a_rank_beside_teams_of_a_longer_window_says_so(tmp_path):
    """A summary of the last 4 weeks ranked in a 26-week window: rank --teams
    says that team's summaries cover fewer weeks, and --json gives them."""
    lead, app = tmp_path / "lead.db", tmp_path / "app.db"
    log_done(lead, "alice", "Web", 40, seed=26)
    log_done(app, "ann", "App", 40, seed=27, days=25)
    export_summary(app, tmp_path / "app.json", "--since", "4w")
    ok(calibrate(lead, "import", str(tmp_path / "app.json")))
    out = as_json(lead, "rank", "--teams")
    (short,) = out["shorter"]
    first = (week_start(local_today()) - timedelta(weeks=4)).isoformat()
    assert (short["team"], short["since"], short["weeks"]) == ("App", first, 5)
    words = " ".join(ok(calibrate(lead, "rank", "--teams")).stdout.split())
    assert f"App: its summaries cover only 5 weeks (from {first}" in words
    assert "fewer weeks than this window (27 weeks" in words
    everything = as_json(lead, "rank", "--teams", "--since", "all")
    assert [s["team"] for s in everything["shorter"]] == ["App"]
    web_only = as_json(lead, "rank", "--teams", "--since", "3w")
    assert web_only["shorter"] == []  # the summary covers all of this window
