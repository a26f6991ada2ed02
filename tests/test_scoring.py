"""`calibrate score`: the panel from the database, its JSON, its text at 80
columns, and every "not enough data" case without a traceback or a NaN."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from calibrate import panel, panel_words, reference, rules, store
from calibrate import panel as panel_module
from calibrate.durations import parse_since
from calibrate.selection import Selection
from calibrate.stats import metrics, ranges
from calibrate.store import load as history
from calibrate.store import settings
from calibrate.store.tasks import NewTask, add_task, drop_task

NOW = datetime.now(UTC)


def log(conn, estimate, actual=None, *, person="alice", team=None, days_ago=1.0, **fields):
    """Add a task created and (with an actual) finished ``days_ago`` days ago."""
    task = NewTask(title="task", estimate_h=estimate, person=person, team=team, **fields)
    return add_task(conn, task, actual_h=actual, at=NOW - timedelta(days=days_ago))


def panel_json(run, *args) -> dict:
    result = run("score", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output, parse_constant=_no_nan)


def _no_nan(name):
    raise AssertionError(f"{name} in the JSON output")


def selection(**scope) -> Selection:
    return Selection(since=parse_since(scope.pop("since", "26w")), **scope)


# --- not enough data: clear lines, nulls, nothing created --------------------------------


def test_score_without_a_database_says_not_enough_data_and_creates_nothing(run, db_path):
    result = run("score")
    assert result.exit_code == 0
    assert result.output.count("not enough data") == 4
    assert not db_path.exists()
    panel = panel_json(run)
    assert panel["n"] == 0
    for key in (
        "score",
        "score_raw",
        "score_low",
        "score_high",
        "bias_factor",
        "malr",
        "typical_miss",
        "within_25",
        "over",
        "exact",
        "under",
    ):
        assert panel[key] is None, key
    assert panel["ranges"]["hit_rate"] is None
    assert panel["promises"]["keep_rate"] is None
    assert panel["trend"]["verdict"] is None
    assert not db_path.exists()


def test_a_single_task_gives_not_enough_data_not_nan(run, conn):
    log(conn, 2, 3)
    result = run("score")
    assert result.exit_code == 0
    assert "not enough data: 1 finished task, a score needs 10." in result.output
    assert "nan" not in result.output.lower()
    panel = panel_json(run)
    assert panel["n"] == 1
    assert panel["score"] is None and panel["score_raw"] is None
    assert panel["bias_factor"] == pytest.approx(1.5)
    assert panel["ranges"]["n"] == 0 and panel["ranges"]["verdict"] is None
    assert panel["promises"]["promised"] == 0 and panel["promises"]["keep_rate"] is None


def test_a_person_with_no_history_and_an_empty_window(run, conn):
    log(conn, 2, 2, person="bob", days_ago=400)
    assert panel_json(run, "--person", "nobody")["n"] == 0
    empty_window = run("score", "--person", "bob")
    assert empty_window.exit_code == 0
    assert "not enough data: no finished tasks in this window." in empty_window.output
    assert panel_json(run, "--person", "bob", "--since", "all")["n"] == 1


# --- the figures ------------------------------------------------------------------------


def test_json_figures_equal_the_metrics_of_the_same_tasks(run, conn):
    estimates = [1, 2, 2, 3, 4, 4, 5, 6, 8, 8, 12, 16]
    actuals = [1, 3, 2, 2.5, 6, 4, 5, 9, 4, 8, 30, 16]
    for e, a in zip(estimates, actuals, strict=True):
        log(conn, e, a)
    panel = panel_json(run)
    expected = metrics.point_summary(estimates, actuals)
    assert panel["scope"] == "person" and panel["name"] == "alice"
    assert panel["n"] == 12 and panel["score_status"] == "provisional"
    for key in ("bias_factor", "malr", "typical_miss", "within_25", "over", "exact", "under"):
        assert panel[key] == pytest.approx(expected[key]), key
    assert panel["score_raw"] == pytest.approx(100 * 2 ** -expected["malr"])
    # alice has no team and is all of everyone: without her nobody is left, so her
    # score leans on the real developers' median m, matched to her task sizes
    assert panel["reference"] == "everyone"
    assert panel["prior_from"] == "reference" and panel["reference_n"] == 0
    mix = panel_module.bucket_mix(estimates)
    prior = reference.load().median_m(mix)
    assert panel["reference_malr"] == pytest.approx(prior)
    assert panel["score"] == pytest.approx(100 * 2 ** -((12 * expected["malr"] + 10 * prior) / 22))
    assert panel["score_low"] < panel["score"] < panel["score_high"]
    assert panel["score_raw_low"] < panel["score_raw"] < panel["score_raw_high"]
    assert panel["population"] is None  # under 30 tasks: no place among real developers
    assert "from only 12 finished tasks" in " ".join(run("score").output.split())
    assert [row["bucket"] for row in panel["by_size"]] == list(rules.SIZE_LABELS)
    assert sum(row["n"] for row in panel["by_size"]) == 12


def test_a_person_is_shrunk_toward_the_team_of_their_latest_task(run, conn):
    for _ in range(10):
        log(conn, 2, 4, person="alice", team="core", days_ago=3)  # |r| = 1
        log(conn, 2, 2, person="carol", team="web", days_ago=3)
    for _ in range(30):
        log(conn, 2, 3, person="bob", team="core", days_ago=3)  # |r| = log2(1.5)
    panel = panel_json(run, "--person", "alice")
    assert panel["reference"] == "team core"
    # the prior leaves her own tasks out: the rest of team core is bob alone
    assert panel["reference_n"] == 30 and panel["prior_from"] == "group"
    rest = math.log2(1.5)
    assert panel["reference_malr"] == pytest.approx(rest)
    assert panel["score_raw"] == pytest.approx(50.0)
    assert panel["score"] == pytest.approx(100 * 2 ** -((10 * 1 + 10 * rest) / 20))
    words = " ".join(run("score", "--person", "alice").output.split())
    assert "shrunk toward the rest of team core" in words
    log(conn, 2, None, person="alice", team="web", days_ago=0)  # her latest task: team web
    assert panel_json(run, "--person", "alice")["reference"] == "team web"


def test_teams_shrink_toward_everyone_else_and_everyone_toward_nothing(run, conn):
    for _ in range(10):
        log(conn, 2, 4, person="alice", team="core")
    for _ in range(30):
        log(conn, 2, 2, person="bob")  # no team
    team = panel_json(run, "--team", "core")
    assert team["reference"] == "everyone" and team["reference_malr"] == pytest.approx(0.0)
    assert team["score"] == pytest.approx(100 * 2 ** -((10 * 1 + 10 * 0.0) / 20))
    # rank --teams shows the same two scores (score_raw: what it ranks by)
    assert team["score_raw"] == pytest.approx(50.0)
    everyone = panel_json(run, "--everyone")
    assert everyone["reference"] == "itself" and everyone["flags"] is None
    assert everyone["n"] == 40 and everyone["score"] == pytest.approx(everyone["score_raw"])
    bob = panel_json(run, "--person", "bob")
    assert bob["reference"] == "everyone"


def test_the_window_counts_whole_weeks_by_done_date(run, conn):
    log(conn, 2, 2, days_ago=2)
    log(conn, 2, 2, days_ago=400)
    log(conn, 2, None, days_ago=2)  # open: not counted
    log(conn, 2, 2, days_ago=3, person="bob")
    assert panel_json(run)["n"] == 1
    assert panel_json(run, "--since", "all")["n"] == 2
    assert panel_json(run, "--since", "all")["window"] == {
        "since": None,
        "until": None,
        "weeks": None,
    }
    window = panel_json(run, "--since", "4w")["window"]
    assert window["weeks"] == 5
    assert date.fromisoformat(window["since"]).weekday() == 0


def test_dropped_tasks_leave_every_score(run, conn):
    for _ in range(10):
        log(conn, 1, 1)
    task_id = log(conn, 1, None)
    drop_task(conn, task_id)
    assert panel_json(run)["n"] == 10


def test_exact_hit_flag_names_the_team(run, conn):
    rng = np.random.default_rng(1)
    for ratio in np.exp2(rng.normal(0, 1, 40)):
        log(conn, 4, round(4 * float(ratio), 2), person="bob", team="core")
    for _ in range(30):
        log(conn, 4, 4, person="alice", team="core")
    panel = panel_json(run, "--person", "alice")
    assert panel["flags"]["exact_hits"]["flag"] is True
    assert "end exactly at the estimate (team core" in run("score", "--person", "alice").output


# --- ranges, promises, trend through the database ------------------------------------------


def test_ranges_from_the_database_default_to_90_percent(run, conn):
    for actual in (3, 3, 3, 3, 3, 3, 3, 3, 9, 1):
        log(conn, 3, actual, low_h=2, high_h=6)
    log(conn, 3, 3)  # no range
    shown = panel_json(run)["ranges"]
    assert shown["n"] == 10 and shown["hits"] == 8
    assert (shown["below"], shown["above"]) == (1, 1)
    assert shown["nominal"] == pytest.approx(0.9)
    assert shown["levels"][0]["confidence"] == pytest.approx(0.9)
    expected = ranges.range_summary([2] * 10, [6] * 10, [3] * 8 + [9, 1], 0.9)
    assert shown["interval_score"] == pytest.approx(expected["interval_score"])
    assert shown["widen_factor"] == pytest.approx(expected["widen_factor"])


def test_promises_from_the_database(run, conn):
    today = date.today()
    log(conn, 2, 2, promise_h=3)  # kept, exceeded (2 <= 2.4)
    log(conn, 2, 2.9, promise_h=3)  # kept
    log(conn, 2, 5, promise_h=3)  # broken
    log(conn, 2, None, due=(today - timedelta(days=2)).isoformat())  # open past due: broken
    log(conn, 2, None, due=(today + timedelta(days=5)).isoformat())  # not yet due
    dropped = log(conn, 2, None, promise_h=4)
    drop_task(conn, dropped)  # broken
    for _ in range(4):
        log(conn, 2, 2)
    promises = panel_json(run)["promises"]
    assert (promises["logged"], promises["promised"]) == (10, 6)
    assert promises["promise_rate"] == pytest.approx(0.6)
    assert (promises["due"], promises["kept"], promises["broken"]) == (5, 2, 3)
    assert promises["exceeded"] == 1
    assert promises["keep_rate_raw"] == pytest.approx(0.4)
    # the promise cost over all effort promises on finished tasks, kept or not
    assert promises["slack"] == pytest.approx(np.median([3 / 2, 3 / 2.9, 3 / 5]))
    assert promises["slack_total"] == pytest.approx(9 / 9.9)
    assert promises["gauges"]["promise_rate"]["status"] == "above"
    text = run("score").output
    assert "promise less" in text and "P90" in text
    with store.transaction(conn):
        settings.write(conn, "promise-rate-max", 0.7)
    assert panel_json(run)["promises"]["gauges"]["promise_rate"]["status"] == "in band"


def test_keep_rate_leans_on_the_rest_of_the_team(run, conn):
    for _ in range(10):
        log(conn, 2, 2, promise_h=3, person="bob", team="core")  # all kept
    for actual in (2, 2, 5, 5):
        log(conn, 2, actual, promise_h=3, person="alice", team="core")
    promises = panel_json(run, "--person", "alice")["promises"]
    # ten promises in the rest of the team: too few to lean on, Jeffreys
    assert promises["keep_prior"] == "jeffreys" and promises["team_due"] == 10
    assert promises["keep_rate"] == pytest.approx(2.5 / 5)
    for _ in range(10):
        log(conn, 2, 2, promise_h=3, person="bob", team="core")
    promises = panel_json(run, "--person", "alice")["promises"]
    assert promises["team_keep_rate"] == pytest.approx(1.0)  # bob: 20 of 20
    assert promises["keep_prior"] == "team"
    assert promises["keep_rate"] == pytest.approx((2 + 4 * 0.98) / (4 + 4))  # clamped
    assert promises["keep_low"] < promises["keep_rate"] < promises["keep_high"]


def test_trend_over_weeks(run, conn):
    rng = np.random.default_rng(5)
    for weeks_ago in range(10):
        for _ in range(6):
            spread = 0.25 + 0.15 * weeks_ago  # the misses shrink toward today
            log(
                conn,
                4,
                round(4 * 2 ** float(rng.normal(0, max(spread, 0.1))), 2),
                days_ago=7 * weeks_ago + 1,
            )
    trend = panel_json(run)["trend"]
    assert trend["weeks_used"] >= 10 and trend["verdict"] == "improving"
    assert len(trend["weeks"]) == 27
    last = trend["weeks"][-1]
    assert set(last) >= {"week", "start", "n", "malr", "score_raw", "faded"}
    assert "improving by" in run("score").output


def test_an_alias_scores_the_person_it_stands_for(run, conn):
    for _ in range(3):
        log(conn, 2, 2, person="Jane Doe")
    with store.transaction(conn):
        conn.execute("INSERT INTO aliases (alias, person) VALUES ('jdoe', 'Jane Doe')")
    panel = panel_json(run, "--person", "jdoe")
    assert panel["name"] == "Jane Doe" and panel["n"] == 3


# --- the text panel ----------------------------------------------------------------------


def test_every_panel_fits_80_columns(run, conn):
    long_name = "Maximiliane Alexandra von und zu Hohenzollern-Sigmaringen the Third"
    rng = np.random.default_rng(2)
    for i in range(40):
        estimate = float(rng.choice([1, 2, 4, 8]))
        actual = round(estimate * 2 ** float(rng.normal(0.3, 1)), 2)
        fields = {"low_h": estimate / 2, "high_h": estimate * 1.5} if i % 2 else {}
        if i % 3 == 0:
            fields["promise_h"] = estimate * 2
        log(
            conn,
            estimate,
            actual,
            person=long_name,
            team="a-team-with-a-long-name",
            days_ago=i * 3 + 1,
            **fields,
        )
    for args in ([], ["--person", long_name], ["--everyone"], ["--team", "nobody"]):
        text = run("score", *args).output
        assert all(len(line) <= 80 for line in text.splitlines()), text
    full = run("score", "--person", long_name).output
    for word in ("Score", "Bias", "Miss", "Ranges", "Promises", "kept", "exceeded", "Trend"):
        assert word in full


def test_render_panel_in_words(conn):
    for _ in range(30):
        log(conn, 2, 3)
    built = panel.build_panel(conn, selection(person="alice"))
    text = panel_words.render_panel(built)
    assert "tasks take 1.5x your estimate (median)" in text
    assert "typically off by 1.5x; 100% within 25%" not in text  # 1.5x is outside 25%
    assert "typically off by 1.5x; 0% within 25%" in text
    assert "over 100%, exact 0%, under 0%" in text
    assert ", provisional" not in text


# --- bad input ---------------------------------------------------------------------------


def test_bad_options_are_usage_errors(run):
    result = run("score", "--since", "someday")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for '--since': not a window start: 'someday' (use 26w, 14d, a "
        "date such as 2026-01-01, or all) (see 'calibrate score --help')\n",
    )
    both = run("score", "--person", "a", "--team", "b")
    assert (both.exit_code, both.stderr) == (
        2,
        "Error: give one scope: --person, --team or --everyone (see 'calibrate score --help')\n",
    )
    assert "give one scope" in both.output


# --- history: local dates and the query paths ----------------------------------------------


def test_done_dates_are_local(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    dates = history.local_dates(["2026-12-05T02:00:00Z", None, "garbage"])
    assert str(dates[0]) == "2026-12-04"
    assert np.isnat(dates[1]) and np.isnat(dates[2])
    monkeypatch.setenv("TZ", "UTC")
    assert str(history.local_dates(["2026-12-05T02:00:00Z"])[0]) == "2026-12-05"
    due = history.iso_dates(["2026-12-04", None, "soon"])
    assert str(due[0]) == "2026-12-04" and np.isnat(due[1]) and np.isnat(due[2])


def test_counted_tasks_are_the_same_by_index_or_by_scan(conn):
    for _ in range(30):
        log(conn, 2, 2, days_ago=300)
    log(conn, 2, 4, days_ago=1)
    narrow = selection(everyone=True, since="2w")
    assert history.source_for(conn, narrow) == "tasks"  # few of all tasks: the index
    assert len(history.counted_tasks(conn, narrow)) == 1
    wide = selection(everyone=True, since="60w")
    assert history.source_for(conn, wide) == "tasks NOT INDEXED"
    assert len(history.counted_tasks(conn, wide)) == 31
    stats = history.counted_stats(conn, wide)
    assert stats["n"] == 31 and stats["sum_abs"] == pytest.approx(1.0)
    assert stats["exact"] == pytest.approx(30 / 31) and stats["under"] == 0.0


def test_team_of_a_person_is_the_team_of_their_latest_task(conn):
    log(conn, 1, 1, person="alice", team="old", days_ago=5)
    log(conn, 1, 1, person="alice", team="new", days_ago=1)
    assert history.team_of(conn, "alice") == "new"
    log(conn, 1, 1, person="alice", days_ago=0)
    assert history.team_of(conn, "alice") == "new"  # added without a team: it joins hers
    conn.execute("UPDATE tasks SET team = NULL WHERE id = (SELECT max(id) FROM tasks)")
    assert history.team_of(conn, "alice") is None  # (an imported task without a team)
    assert history.team_of(conn, "nobody") is None


def test_counted_tasks_with_people_feed_per_person_figures(conn):
    for _ in range(10):
        log(conn, 2, 4, person="alice", team="core")
        log(conn, 2, 2, person="bob")
    tasks = history.counted_tasks(conn, selection(everyone=True), with_people=True)
    assert sorted(set(tasks["person"])) == ["alice", "bob"]
    assert set(tasks["team"].dropna()) == {"core"}
    stats = metrics.point_stats_by(
        tasks["person"].to_numpy(), tasks["estimate_h"], tasks["actual_h"]
    )
    assert stats.loc["alice", "malr"] == pytest.approx(1.0)
    assert stats.loc["bob", "score_raw"] == pytest.approx(100.0)


def test_a_damaged_number_is_one_clear_error(run, conn):
    for _ in range(3):
        log(conn, 2, 2)
    with store.transaction(conn):
        conn.execute("UPDATE tasks SET actual_h = 'lots' WHERE id = 1")
    result = run("score")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: a task's actual_h is not a number in the database; fix it with 'calibrate edit' "
        "or re-import the file\n",
    )


def test_someone_alone_is_flagged_for_finishing_early_against_real_developers(run, conn):
    """Alone in the database: no team to compare with, so only the early share is
    judged, against the real developers' median share (METRICS.md section 2)."""
    for _ in range(30):
        log(conn, 4, 2)  # every task at half its estimate
    flags = panel_json(run)["flags"]
    assert flags["exact_hits"]["flag"] is None and flags["exact_hits"]["team"] is None
    assert flags["early"]["team"] == pytest.approx(reference.load().early_median)
    assert flags["early"]["flag"] is True
    words = " ".join(run("score").output.split())
    assert "finish under the estimate (real developers' median: 51%)" in words
