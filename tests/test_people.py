"""People, aliases, opting out, and the ``rank`` command end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from calibrate import store
from calibrate.store.tasks import new_uid

NOW = datetime.now(UTC).replace(microsecond=0)


def window_words(weeks: int) -> str:
    """How ``rank`` names the window ``--since {weeks}w``: this week and the ones before."""
    from calibrate.durations import local_today, week_start

    start = week_start(local_today()) - timedelta(weeks=weeks)
    return f"{weeks + 1} weeks from {start.isoformat()}"


def add_done(conn, person, team, log_ratio, count, *, days_ago=1, estimate_h=2.0):
    """``count`` finished tasks of ``person`` whose actual is 2^log_ratio times
    the estimate, done ``days_ago`` days ago."""
    moment = (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        (
            new_uid(),
            f"task {i}",
            person,
            team,
            estimate_h,
            estimate_h * 2**log_ratio,
            moment,
            moment,
            moment,
        )
        for i in range(count)
    ]
    with store.transaction(conn):
        conn.executemany(
            "INSERT INTO tasks (uid, title, person, team, estimate_h, actual_h, status, "
            "created_at, done_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'done', ?, ?, ?)",
            rows,
        )


@pytest.fixture
def team(conn):
    """Team core: four ranked people (two tied), one provisional, one with a
    single task; team web: alice (the person typing) and one more."""
    add_done(conn, "ana", "core", 0.5, 40)
    add_done(conn, "bo", "core", 1.0, 40)
    add_done(conn, "cy", "core", 1.0, 40)
    add_done(conn, "di", "core", 1.5, 40)
    add_done(conn, "ed", "core", 0.2, 15)
    add_done(conn, "fa", "core", 0.0, 1)
    add_done(conn, "alice", "web", 0.3, 35)
    add_done(conn, "gus", "web", 0.6, 35)
    return conn


def rank_json(run, *args):
    result = run("rank", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_rank_in_team_by_hand(run, team):
    out = rank_json(run, "--team", "core")
    (group,) = out["groups"]
    assert group["team"] == "core" and group["n"] == 4 and group["too_few"] == 1
    ranked = [(row["person"], row["rank"], row["of"], row["percentile"]) for row in group["ranked"]]
    assert ranked == [
        ("ana", 1, 4, 87.5),
        ("bo", 2.5, 4, 50.0),
        ("cy", 2.5, 4, 50.0),
        ("di", 4, 4, 12.5),
    ]
    assert [row["person"] for row in group["provisional"]] == ["ed"]
    assert group["provisional"][0]["rank"] is None
    shown = [row["person"] for row in group["ranked"] + group["provisional"]]
    assert "fa" not in shown  # one task: never ranked
    # shrunk toward the team without ana (n0 = 10)
    rest_malr = (80 * 1.0 + 40 * 1.5 + 15 * 0.2 + 0.0) / 136
    ana = group["ranked"][0]
    assert ana["score"] == pytest.approx(100 * 2 ** -((40 * 0.5 + 10 * rest_malr) / 50))
    assert ana["score_raw"] == pytest.approx(100 * 2**-0.5)
    assert ana["reference"]["n"] == out["reference"]["n"] == 214
    assert ana["bias_factor"] == pytest.approx(2**0.5)


def test_rank_text_shows_every_n_and_the_provisional_apart(run, team):
    result = run("rank", "--team", "core")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "Team core: 4 ranked" in result.output
    assert any(line.lstrip("~").startswith("2.5/4") and "bo" in line for line in lines)
    assert "provisional, 10-29 tasks (not ranked):" in result.output
    assert "1 person with under 10 finished tasks not shown" in result.output
    assert "214 real" in result.output


def test_the_only_ranked_person_of_a_team_is_said_so_never_1_of_1(run, team):
    add_done(team, "hal", "solo", 0.4, 31)
    result = run("rank", "--everyone")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heading = lines.index("Team solo: 1 ranked, the only ranked person in team solo")
    (row,) = [line for line in lines[heading:] if " hal " in f" {line} "][:1]
    assert row.startswith("- ") and "1/1" not in row and "top 50%" not in row
    assert "Team core: 4 ranked" in result.output  # the others as before


def test_rank_defaults_to_your_team(run, team):
    out = rank_json(run)
    assert out["scope"] == "your team"
    (group,) = out["groups"]
    assert group["team"] == "web"
    alice = next(row for row in group["ranked"] if row["person"] == "alice")
    assert alice["you"] and (alice["rank"], alice["of"]) == (1, 2)
    assert "alice (you)" in run("rank").output


def test_rank_teams(run, team):
    out = rank_json(run, "--teams")
    assert [(row["team"], row["rank"], row["of"]) for row in out["ranked"]] == [
        ("web", 1, 2),
        ("core", 2, 2),
    ]
    assert out["ranked"][0]["people"] == 2


def test_score_of_a_team_shows_what_rank_teams_shows(run, team):
    """``score --team`` gives the shrunk ``score`` and the raw ``score_raw`` (with
    their intervals) that ``rank --teams`` ranks and shows, to rounding."""
    rows = {row["team"]: row for row in rank_json(run, "--teams")["ranked"]}
    for name in ("core", "web"):
        result = run("score", "--team", name, "--json")
        assert result.exit_code == 0, result.output
        panel = json.loads(result.output)
        for key in ("score", "score_low", "score_high", "score_raw", "score_raw_low"):
            assert panel[key] == pytest.approx(rows[name][key], rel=1e-9), (name, key)
    text = run("score", "--team", "core").output
    assert "rank --teams" in " ".join(text.split())


def test_rank_explains_the_next_claim(run, team):
    result = run("rank", "--team", "web")
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "You are " in words and "real developers" in words
    assert 'To be told "in the top' in words or "no higher claim" in words
    assert all(len(line) <= 80 for line in result.output.splitlines())


def test_rank_errors(run, team, conn):
    result = run("rank", "--team", "nope")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no team 'nope' in this database (teams: core, web)\n",
    )
    result = run("rank", "--everyone", "--since", "2026-01-01", "--teams")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give one of --team, --teams or --everyone (see 'calibrate rank --help')\n",
    )
    add_done(conn, "old", "attic", 0.1, 40, days_ago=400)
    result = run("rank", "--team", "attic")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: nobody in team attic has 30 finished tasks in {window_words(26)}: widen it "
        "with --since all\n",
    )


def test_rank_window_with_nobody_ranked(run, conn):
    add_done(conn, "ana", "core", 0.5, 40, days_ago=200)
    add_done(conn, "bo", "core", 0.5, 12, days_ago=3)
    result = run("rank", "--everyone", "--since", "4w")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: nobody in the database has 30 finished tasks in {window_words(4)} "
        "(1 provisional, 10-29): widen it with --since all\n",
    )
    assert run("rank", "--everyone", "--since", "all").exit_code == 0


def test_rank_on_an_empty_database(run, db_path):
    result = run("rank", "--everyone")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no tasks yet: nobody to rank (log tasks with 'calibrate add')\n",
    )
    assert not db_path.exists()


def test_opted_out_person_hidden_from_others(run, team, monkeypatch):
    result = run("people", "--opt-out", "--person", "bo")
    assert result.exit_code == 0, result.output
    out = rank_json(run, "--team", "core")
    names = [row["person"] for row in out["groups"][0]["ranked"]]
    assert "bo" not in names and out["groups"][0]["n"] == 3
    assert [row["rank"] for row in out["groups"][0]["ranked"]] == [1, 2, 3]
    monkeypatch.setenv("CALIBRATE_PERSON", "bo")
    out = rank_json(run, "--team", "core")
    bo = next(row for row in out["groups"][0]["ranked"] if row["person"] == "bo")
    assert bo["you"] and bo["opted_out"] and (bo["rank"], bo["of"]) == (2.5, 4)
    text = run("rank", "--team", "core").output
    assert "bo (you*)" in text and "* You opted out of ranks" in text
    # shared outside the team, even bo's own listing leaves bo out
    shared = rank_json(run, "--team", "core", "--anonymise")["groups"][0]
    assert len(shared["ranked"]) == shared["n"] == 3
    assert not any(row["you"] or row["opted_out"] for row in shared["ranked"])
    run("people", "--opt-in")
    ranked = rank_json(run, "--team", "core")["groups"][0]["ranked"]
    assert "bo" in [row["person"] for row in ranked]


def test_anonymise_gives_stable_pseudonyms(run, team):
    first = run("rank", "--everyone", "--anonymise")
    second = run("rank", "--everyone", "--anonymise")
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    for name in ("ana", "bo", "cy", "di", "ed", "alice", "gus"):
        assert f" {name} " not in first.output and f" {name}\n" not in first.output
    out = rank_json(run, "--everyone", "--anonymise")
    names = [row["person"] for g in out["groups"] for row in g["ranked"] + g["provisional"]]
    assert len(set(names)) == len(names) == 7
    assert all(name.startswith("Person ") for name in names)
    assert out["viewer"] is None


def test_people_lists_everyone(run, team):
    result = run("people", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["person"]: row for row in json.loads(result.output)}
    assert set(rows) == {"ana", "bo", "cy", "di", "ed", "fa", "alice", "gus"}
    assert rows["ana"]["team"] == "core"
    assert (rows["ana"]["tasks"], rows["ana"]["counted"]) == (40, 40)
    text = run("people").output
    assert "ana" in text and "core" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_people_on_a_missing_database(run, db_path):
    result = run("people")
    assert result.exit_code == 0
    assert "Nobody yet" in result.output
    assert not db_path.exists()


def test_opt_out_of_an_unknown_person(run, team):
    result = run("people", "--opt-out", "--person", "zed")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no person 'zed' in this database (see 'calibrate people')\n",
    )


def test_alias_joins_two_names_when_read(run, conn):
    add_done(conn, "Jane Doe", "core", 0.5, 3)
    add_done(conn, "jdoe", "core", 0.5, 2)
    result = run("alias", "jdoe", "Jane Doe")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "jdoe is now Jane Doe: 2 tasks stored under jdoe count as Jane Doe's"
    )
    people = conn.execute("SELECT person, count(*) FROM tasks GROUP BY person").fetchall()
    assert [tuple(row) for row in people] == [("Jane Doe", 3), ("jdoe", 2)]  # never rewritten
    assert run("add", "More work", "-e", "1h", "--person", "jdoe").exit_code == 0
    assert conn.execute("SELECT person FROM tasks ORDER BY id DESC LIMIT 1").fetchone()[0] == (
        "jdoe"  # add stores the name it was given (law 7)
    )
    listing = json.loads(run("alias", "--json").output)
    assert listing == [{"alias": "jdoe", "person": "Jane Doe"}]
    rows = json.loads(run("people", "--json").output)
    assert [(row["person"], row["tasks"], row["aliases"]) for row in rows] == [
        ("Jane Doe", 6, ["jdoe"])
    ]


def test_alias_follows_chains_and_opt_outs(run, conn):
    add_done(conn, "Jane Doe", "core", 0.5, 1)
    add_done(conn, "jdoe", "core", 0.5, 1)
    add_done(conn, "jane", "core", 0.5, 1)
    assert run("alias", "jane", "jdoe").exit_code == 0
    assert run("people", "--opt-out", "--person", "jdoe").exit_code == 0
    assert run("alias", "jdoe", "jane").exit_code == 1  # jane is jdoe already
    assert run("alias", "jdoe", "Jane Doe").exit_code == 0
    aliases = json.loads(run("alias", "--json").output)
    assert aliases == [  # stored as typed; the chain jane -> jdoe -> Jane Doe resolves when read
        {"alias": "jane", "person": "jdoe"},
        {"alias": "jdoe", "person": "Jane Doe"},
    ]
    rows = json.loads(run("people", "--json").output)
    assert [(r["person"], r["aliases"], r["opt_out"]) for r in rows] == [
        ("Jane Doe", ["jane", "jdoe"], True)  # jdoe's opt-out holds for the person
    ]
    assert run("people", "--opt-in", "--person", "jane").exit_code == 0
    rows = json.loads(run("people", "--json").output)
    assert rows[0]["opt_out"] is False  # opted in under every name: ranked again, truly


def test_alias_errors(run, conn):
    add_done(conn, "Jane Doe", "core", 0.5, 1)
    result = run("alias", "jdoe", "Nobody Here")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no person 'Nobody Here' in this database (see 'calibrate people')\n",
    )
    result = run("alias", "Jane Doe", "Jane Doe")
    assert (result.exit_code, result.stderr) == (1, "Error: 'Jane Doe' is already 'Jane Doe'\n")
    result = run("alias", "jdoe")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give NAME and PERSON: 'calibrate alias jdoe \"Jane Doe\"' "
        "(see 'calibrate alias --help')\n",
    )
    result = run("alias", " ", "Jane Doe")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: an alias needs a NAME and a PERSON (see 'calibrate alias --help')\n",
    )
    assert run("alias", "--remove", "jdoe").exit_code == 1
    assert run("alias", "jdoe", "Jane Doe").exit_code == 0
    result = run("alias", "--remove", "jdoe")
    assert result.output.strip() == "Removed alias jdoe (of Jane Doe)"
    assert json.loads(run("alias", "--json").output) == []
    # the removal is a record too (deleted, stamped later), so that it travels
    assert conn.execute("SELECT deleted FROM aliases WHERE alias = 'jdoe'").fetchone()[0] == 1


def test_score_places_you_among_real_developers(run, team):
    result = run("score", "--person", "ana", "--json")
    population = json.loads(result.output)["population"]
    assert population["n"] == 214 and 0 <= population["top_percent"] <= 100
    assert "real developers" in run("score", "--person", "ana").output
    provisional = json.loads(run("score", "--person", "ed", "--json").output)
    assert provisional["population"] is None


def test_rm_person_asks_then_deletes_everything_of_theirs(run, team, conn):
    result = run("rm", "--person", "bo", input="n\n")
    assert result.exit_code == 1
    assert "Delete all 40 tasks of bo?" in result.output
    assert conn.execute("SELECT count(*) FROM tasks WHERE person = 'bo'").fetchone()[0] == 40
    result = run("rm", "--person", "bo", input="y\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "Deleted 40 tasks of bo"
    assert conn.execute("SELECT count(*) FROM tasks WHERE person = 'bo'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 246 - 40


def test_rm_person_through_an_alias_and_errors(run, team, conn):
    assert run("alias", "anita", "ana").exit_code == 0
    result = run("rm", "--person", "anita", "--yes")
    assert result.output.strip() == "Deleted 40 tasks of ana (also named anita)"
    result = run("rm", "--person", "nobody", "--yes")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no person 'nobody' in this database (see 'calibrate people')\n",
    )
    result = run("rm", "1", "--person", "cy", "--yes")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give IDs or --person, not both (see 'calibrate rm --help')\n",
    )
    result = run("rm")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give the IDs of the tasks to delete, or --person NAME "
        "(see 'calibrate rm --help')\n",
    )


def test_report_ranks_section_and_anonymised_report(run, team, tmp_path):
    plain = tmp_path / "plain.html"
    result = run("report", "--team", "core", "-o", str(plain), "--plotlyjs", "cdn")
    assert result.exit_code == 0, result.output
    html = plain.read_text()
    assert 'id="ranks"' in html and "2.5 of 4" in html and "214 real developers" in html
    assert '<span class="cell-text">ana</span>' in html
    hidden = tmp_path / "hidden.html"
    result = run("report", "--team", "core", "-o", str(hidden), "--plotlyjs", "cdn", "--anonymise")
    assert result.exit_code == 0, result.output
    html = hidden.read_text()
    assert 'id="ranks"' in html and "Person " in html
    for name in ("ana", "bo", "cy", "di", "ed", "fa"):
        assert f'<span class="cell-text">{name}</span>' not in html
        assert f'"{name}: raw' not in html and f'"{name}"' not in html


def test_rank_without_your_tasks_needs_a_scope(run, conn):
    add_done(conn, "ana", "core", 0.5, 40)
    result = run("rank")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: alice has no tasks here, so has no team to rank: use --team TEAM or --everyone\n",
    )
    assert run("rank", "--everyone").exit_code == 0


def test_export_summary_of_a_missing_database(run, db_path):
    result = run("export", "--summary")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no database here yet: there is nothing to summarise\n",
    )
    assert not db_path.exists()
