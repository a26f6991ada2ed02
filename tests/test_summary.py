"""Team summaries: ranks from a summary file equal ranks from the raw tasks."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from calibrate import demo, reference, rules, store, teams, weeks
from calibrate.durations import local_today, parse_since
from calibrate.errors import InputError
from calibrate.exchange import summary_file
from calibrate.selection import Selection
from calibrate.stats import ranks

TODAY = local_today()


@pytest.fixture(scope="module")
def team_db(tmp_path_factory):
    """A synthetic history of 10 people in 3 teams (built once for the module)."""
    path = tmp_path_factory.mktemp("team") / "team.db"
    conn = store.connect(path)
    demo.generate(conn, people=10, teams=3, weeks=40, seed=7, today=TODAY)
    conn.close()
    return path


def standings(conn, since: str | None) -> tuple[list, dict]:
    selection = Selection(everyone=True, since=since)
    inputs = teams.rank_inputs(conn, selection, today=TODAY)
    table = reference.load()
    groups = ranks.rank_people(
        inputs.people, inputs.teams, inputs.everyone, pairs=inputs.pairs, reference=table
    )
    return groups, ranks.rank_teams(
        inputs.teams,
        inputs.people_per_team,
        everyone_stats=inputs.everyone,
        pairs=inputs.pairs,
        reference=table,
    )


def export_summary(conn, path, since: str | None = None, **scope) -> dict:
    selection = Selection(everyone=not scope, since=since, **scope)
    built = summary_file.build_summary(conn, selection, today=TODAY)
    with open(path, "w", encoding="utf-8") as handle:
        summary_file.write_summary(handle, built)
    return built


def assert_same_standings(raw, from_summary):
    raw_groups, raw_teams = raw
    groups, team_rows = from_summary
    assert team_rows == raw_teams
    assert [g["team"] for g in groups] == [g["team"] for g in raw_groups]
    compared = 0
    for mine, theirs in zip(groups, raw_groups, strict=True):
        assert {k: v for k, v in mine.items() if k not in ("ranked", "provisional")} == {
            k: v for k, v in theirs.items() if k not in ("ranked", "provisional")
        }
        for kind in ("ranked", "provisional"):
            assert len(mine[kind]) == len(theirs[kind])
            for a, b in zip(mine[kind], theirs[kind], strict=True):
                exact_a = {k: v for k, v in a.items() if k not in ("bias", "bias_factor")}
                exact_b = {k: v for k, v in b.items() if k not in ("bias", "bias_factor")}
                # scores, intervals, places among real developers, ranks: to the last bit
                assert exact_a == exact_b
                # medians agree to the bin width (0.01, centres: half of it)
                assert a["bias"] == pytest.approx(b["bias"], abs=weeks.HISTOGRAM_BIN / 2)
                compared += 1
    assert compared >= 8
    assert any(row["reference"] for g in groups for row in g["ranked"])


@pytest.mark.parametrize("window", ["all", "26w"])
def test_ranks_from_a_summary_equal_ranks_from_raw_tasks(team_db, tmp_path, window):
    since = parse_since(window)
    source = store.connect(team_db)
    raw = standings(source, since)
    file = tmp_path / "team.summary.json"
    export_summary(source, file, since)
    source.close()
    lead = store.connect(tmp_path / "lead.db")
    result = summary_file.import_summary(lead, file)
    assert result.people == 10
    assert lead.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
    assert_same_standings(raw, standings(lead, since))
    lead.close()


def test_a_wider_summary_ranked_in_a_narrower_window(team_db, tmp_path):
    """Weeks are whole, so a summary of all history ranks a 26-week window exactly."""
    since = parse_since("26w")
    source = store.connect(team_db)
    raw = standings(source, since)
    export_summary(source, tmp_path / "all.json", None)
    source.close()
    lead = store.connect(tmp_path / "lead.db")
    summary_file.import_summary(lead, tmp_path / "all.json")
    assert_same_standings(raw, standings(lead, since))


def test_summary_holds_no_tasks(team_db, tmp_path):
    source = store.connect(team_db)
    built = export_summary(source, tmp_path / "s.json")
    titles = [row[0] for row in source.execute("SELECT title FROM tasks LIMIT 50")]
    source.close()
    text = (tmp_path / "s.json").read_text()
    assert not any(title in text for title in titles)
    assert set(built["weeks"][0]) == {
        "person",
        "team",
        "week",
        "n",
        "sum_abs",
        "sum_sq",
        "over",
        "exact",
        "under",
        "within_25",
        "buckets",
        "histogram",
        "logged",
        "ranges",
        "promises",
    }
    assert set(built["weeks"][0]["promises"]) == {
        "due",
        "kept",
        "exceeded",
        "effort_n",
        "promised_h",
        "actual_h",
    }
    assert built["score_version"] == rules.SCORE_VERSION == 2
    for row in built["weeks"]:
        assert sum(count for _, count in row["histogram"]) == row["n"]
        assert sum(bucket[0] for bucket in row["buckets"]) == row["n"]
        assert sum(bucket[1] for bucket in row["buckets"]) == pytest.approx(row["sum_abs"])
        for level in row["ranges"]:
            assert sum(count for _, count in level[5]) == level[1]
        assert row["week"] is None or date.fromisoformat(row["week"]).weekday() == 0
    assert sum(row["logged"] for row in built["weeks"]) > 0
    assert any(row["ranges"] for row in built["weeks"])
    assert any(row["promises"]["effort_n"] for row in built["weeks"])


def test_importing_again_replaces_and_own_summary_is_refused(team_db, tmp_path):
    source = store.connect(team_db)
    export_summary(source, tmp_path / "s.json")
    with pytest.raises(InputError, match="exported from this database"):
        summary_file.import_summary(source, tmp_path / "s.json")
    source.close()
    lead = store.connect(tmp_path / "lead.db")
    first = summary_file.import_summary(lead, tmp_path / "s.json")
    again = summary_file.import_summary(lead, tmp_path / "s.json")
    assert not first.replaced and again.replaced
    weeks = lead.execute("SELECT count(*) FROM summary_weeks").fetchone()[0]
    assert weeks == first.weeks
    assert lead.execute("SELECT count(*) FROM summaries").fetchone()[0] == 1


def test_raw_tasks_win_over_a_summary_of_the_same_weeks(team_db, tmp_path):
    """A lead who merged a member's database and imported their summary too
    counts each week once."""
    since = parse_since("26w")
    source = store.connect(team_db)
    raw = standings(source, since)
    export_summary(source, tmp_path / "s.json", since)
    source.close()
    lead_path = tmp_path / "lead.db"
    lead = store.connect(lead_path)
    lead.close()
    from calibrate.exchange.merge import merge_database

    lead = store.connect(lead_path)
    merge_database(lead, team_db)
    summary_file.import_summary(lead, tmp_path / "s.json")
    groups, team_rows = standings(lead, since)
    assert team_rows == raw[1]
    assert [r["score"] for g in groups for r in g["ranked"]] == [
        r["score"] for g in raw[0] for r in g["ranked"]
    ]


def test_opt_out_travels_with_the_summary(team_db, tmp_path):
    source = store.connect(team_db)
    name = source.execute("SELECT person FROM tasks ORDER BY id LIMIT 1").fetchone()[0]
    with store.transaction(source):
        source.execute("INSERT INTO people (name, opt_out) VALUES (?, 1)", (name,))
    try:
        export_summary(source, tmp_path / "s.json")
    finally:
        with store.transaction(source):
            source.execute("DELETE FROM people WHERE name = ?", (name,))
        source.close()
    lead = store.connect(tmp_path / "lead.db")
    summary_file.import_summary(lead, tmp_path / "s.json")
    groups, _ = standings(lead, None)
    shown = {row["person"] for g in groups for row in g["ranked"] + g["provisional"]}
    assert name not in shown


def test_histogram_median_within_half_a_bin():
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 50, 51):
        r = rng.normal(0.2, 0.9, size)
        bins = np.rint(np.clip(r, -3, 3) / weeks.HISTOGRAM_BIN).astype(int)
        values, counts = np.unique(bins, return_counts=True)
        median = weeks.histogram_median(zip(values.tolist(), counts.tolist(), strict=True))
        assert median == pytest.approx(np.median(r), abs=weeks.HISTOGRAM_BIN / 2 + 1e-12)
    assert weeks.histogram_median([]) is None


# --- checking a summary file ---------------------------------------------------------------


def valid_summary() -> dict:
    # three tasks, r = -0.5, 0 and 1: |clip r| = 0.5, 0, 1 (estimates 1h, 1h, 2h)
    return {
        "format": "calibrate-summary",
        "format_version": 2,
        "score_version": rules.SCORE_VERSION,
        "database_id": "ab" * 16,
        "exported_at": "2026-11-30T10:00:00Z",
        "today": "2026-11-30",
        "window": {"since": None, "until": None},
        "histogram_bin": 0.01,
        "clip_log2": 3.0,
        "spread_bin": 0.01,
        "spread_cap": 50.0,
        "people": [{"person": "Ana", "team": "core", "opt_out": False}],
        "weeks": [
            {
                "person": "Ana",
                "team": "core",
                "week": "2026-11-23",
                "n": 3,
                "sum_abs": 1.5,
                "sum_sq": 1.25,
                "over": 1,
                "exact": 1,
                "under": 1,
                "within_25": 1,
                "buckets": [[2, 0.5, 0.25], [1, 1.0, 1.0], *[[0, 0.0, 0.0]] * 4],
                "histogram": [[-50, 1], [0, 1], [100, 1]],
                "logged": 4,
                "ranges": [[90.0, 2, 1, 0, 1, [[50, 1], [200, 1]]]],
                "promises": {
                    "due": 2,
                    "kept": 1,
                    "exceeded": 1,
                    "effort_n": 1,
                    "promised_h": 3.0,
                    "actual_h": 2.0,
                },
            }
        ],
    }


def write(tmp_path, data) -> object:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_valid_summary_is_stored(conn, tmp_path):
    result = summary_file.import_summary(conn, write(tmp_path, valid_summary()))
    assert (result.people, result.weeks, result.tasks) == (1, 1, 3)
    row = conn.execute("SELECT n, sum_abs, due, kept, ranges, detail FROM summary_weeks").fetchone()
    assert tuple(row)[:5] == (3, 1.5, 2, 1, "[[90.0, 2, 1, 0, 1, [[50, 1], [200, 1]]]]")
    detail = json.loads(row[5])
    assert detail["buckets"][0] == [2, 0.5, 0.25] and detail["logged"] == 4
    assert detail["effort"] == [1, 3.0, 2.0]


def _version_one(data: dict) -> None:
    data.update(format_version=1, score_version=1)


BAD = [
    (lambda d: d.update(format_version=3), "newer calibrate"),
    (_version_one, "version-1 summary .* exported again"),
    (lambda d: d.update(score_version=rules.SCORE_VERSION + 1), "exported again"),
    (lambda d: d.update(spread_cap=10.0), "spread_cap must be 50.0"),
    (lambda d: d.update(format="something else"), "not a calibrate summary"),
    (lambda d: d["weeks"][0].update(n=-3), "n is negative"),
    (lambda d: d["weeks"][0]["promises"].update(kept=-1), "kept is negative"),
    (lambda d: d["weeks"][0]["promises"].update(kept=3), "kept of 2 due"),
    (lambda d: d["weeks"][0]["promises"].update(due=-2), "due is negative"),
    (lambda d: d["weeks"][0].update(ranges=[[90.0, 2, 3, 0, 0, [[5, 2]]]]), "hits are more than"),
    (
        lambda d: d["weeks"][0].update(ranges=[[90.0, 5, 5, 0, 0, [[5, 5]]]]),
        "more than its 3 tasks",
    ),
    (lambda d: d["weeks"][0].update(ranges=[[90.0, 2, 1, 0, 1]]), "each range entry is"),
    (lambda d: d["weeks"][0]["ranges"][0].__setitem__(5, [[50, 1]]), "holds 1 ranges, not 2"),
    (lambda d: d["weeks"][0]["ranges"][0].__setitem__(5, [[50, 1], [5001, 1]]), "cap bins"),
    (lambda d: d["weeks"][0]["buckets"].__setitem__(0, [3, 0.5, 0.25]), "add up to 4, not n"),
    (lambda d: d["weeks"][0]["buckets"].__setitem__(0, [2, 0.7, 0.25]), "sum_abs add up"),
    (lambda d: d["weeks"][0]["buckets"].pop(), "must be 6"),
    (lambda d: d["weeks"][0]["buckets"].__setitem__(2, [0, -1.0, 0.0]), "negative"),
    (lambda d: d["weeks"][0].update(histogram=[[-50, 1], [0, 1], [301, 1]]), "cap bins"),
    (lambda d: d["weeks"][0].update(logged=-1), "logged is negative"),
    (lambda d: d["weeks"][0]["promises"].update(promised_h=-3.0), "promised_h is negative"),
    (lambda d: d["weeks"][0]["promises"].update(effort_n=0), "effort sums without"),
    (lambda d: d["weeks"][0].update(over=2), "over \\+ exact \\+ under"),
    (lambda d: d["weeks"][0].update(within_25=4), "more than its tasks"),
    (lambda d: d["weeks"][0].update(sum_abs=10.0), "impossible for 3 tasks"),
    (lambda d: d["weeks"][0].update(sum_sq=0.1), "sum_sq is too small"),
    (lambda d: d["weeks"][0].update(histogram=[[0, 3], [5, 1]]), "holds 4 tasks"),
    (lambda d: d["weeks"][0].update(week="2026-11-24"), "not a Monday"),
    (lambda d: d["weeks"][0].update(n=2.5), "whole number"),
    (lambda d: d.update(window=[None]), "window must be an object"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_summaries_are_refused_and_nothing_is_written(conn, tmp_path, change, message):
    data = valid_summary()
    change(data)
    with pytest.raises(InputError, match=message):
        summary_file.import_summary(conn, write(tmp_path, data))
    assert conn.execute("SELECT count(*) FROM summaries").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM summary_weeks").fetchone()[0] == 0


def test_a_file_that_is_not_json(conn, tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        summary_file.import_summary(conn, path)


# --- through the command line -----------------------------------------------------------------


def test_export_summary_then_import_and_rank(team_db, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from calibrate.cli import cli

    runner = CliRunner()
    file = tmp_path / "core.summary.json"
    result = runner.invoke(
        cli, ["--db", str(team_db), "export", "--summary", "--since", "26w", "-o", str(file)]
    )
    assert result.exit_code == 0, result.output
    assert "Exported a summary of 10 people" in result.output
    lead = tmp_path / "lead.db"
    result = runner.invoke(cli, ["--db", str(lead), "import", str(file), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would import summary" in result.output and not lead.exists()
    result = runner.invoke(cli, ["--db", str(lead), "import", str(file)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Imported summary core.summary.json")

    def ranks_of(db):
        output = runner.invoke(cli, ["--db", str(db), "rank", "--everyone", "--json"]).output
        groups = json.loads(output)["groups"]
        return [
            (row["person"], row["rank"], row["of"], row["score"], row["score_low"])
            for group in groups
            for row in group["ranked"]
        ]

    assert ranks_of(lead) == ranks_of(team_db)
    teams = [
        runner.invoke(cli, ["--db", str(db), "rank", "--teams", "--json"]) for db in (lead, team_db)
    ]
    assert json.loads(teams[0].output)["ranked"] == json.loads(teams[1].output)["ranked"]
    people = json.loads(runner.invoke(cli, ["--db", str(lead), "people", "--json"]).output)
    assert len(people) == 10 and all(row["tasks"] == 0 and row["summary"] for row in people)


def test_export_summary_to_stdout_and_its_options(run, team_db, tmp_path):
    from click.testing import CliRunner

    from calibrate.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(team_db), "export", "--summary", "--team", "Platform"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "calibrate-summary"
    assert {row["team"] for row in data["weeks"]} <= {"Platform"}
    result = runner.invoke(cli, ["--db", str(team_db), "export", "--summary", "--status", "open"])
    assert result.exit_code == 2
    result = runner.invoke(cli, ["--db", str(team_db), "export", "--summary", "--format", "csv"])
    assert result.exit_code == 2


def test_importing_a_bad_summary_writes_nothing(run, db_path, tmp_path):
    data = valid_summary()
    data["weeks"][0]["ranges"] = [[90.0, 2, 3, 0, 0, [[5, 2]]]]
    path = write(tmp_path, data)
    result = run("import", str(path))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: summary.json: week row 1 (Ana): 3 range hits are more than its 2 ranges\n",
    )
    assert not db_path.exists()
    data = valid_summary()
    data["format_version"] = 9
    result = run("import", str(write(tmp_path, data)))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: summary.json was written by a newer calibrate (summary format 9; this one "
        "reads up to 2): upgrade calibrate to import it\n",
    )
    assert not db_path.exists()
    data = valid_summary()
    _version_one(data)
    result = run("import", str(write(tmp_path, data)))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: summary.json is a version-1 summary and this calibrate scores by version 2: "
        "ask for it to be exported again ('calibrate export --summary') with this calibrate\n",
    )
    assert not db_path.exists()


def test_summary_format_is_named_and_guessed(conn, tmp_path):
    from calibrate.exchange import formats, importer

    path = write(tmp_path, valid_summary())
    assert formats.guess_format(path) == "summary"
    options = importer.ImportOptions(path=path, person="alice")
    with pytest.raises(InputError, match="is a team summary, not a file of tasks"):
        importer.import_file(conn, options)


def test_widen_factor_from_a_summary_agrees_to_the_bin_width(team_db):
    """The widen factor of each person's ranges, per confidence level, from the
    summary's histograms equals the one from the raw tasks to 0.01 (section 5)."""
    from calibrate.stats import ranges
    from calibrate.store import load

    source = store.connect(team_db)
    built = summary_file.build_summary(source, Selection(everyone=True), today=TODAY)
    compared = 0
    for name in sorted({row["person"] for row in built["weeks"]}):
        tasks = load.counted_tasks(source, Selection(person=name))
        ranged = tasks[np.isfinite(tasks["low_h"].to_numpy(dtype=float))]
        raw = ranges.range_summary(
            ranged["low_h"], ranged["high_h"], ranged["actual_h"], ranged["confidence"]
        )
        pairs: dict[float, list] = {}
        for row in built["weeks"]:
            if row["person"] == name:
                for level in row["ranges"]:
                    pairs.setdefault(level[0], []).extend(level[5])
        for level in raw["levels"]:
            percent = round(level["confidence"] * 100, 6)
            from_bins = ranges.widen_from_bins(pairs[percent], percent)
            if level["widen_factor"] is None:
                assert from_bins is None
                continue
            assert from_bins == pytest.approx(level["widen_factor"], abs=rules.SPREAD_BIN)
            assert from_bins >= level["widen_factor"] - 1e-9
            compared += 1
    source.close()
    assert compared >= 5
