"""The synthetic demo history (``calibrate.demo``) and the ``calibrate demo`` command.

The figures are computed here straight from the database with numpy, so that
these tests check the generator against METRICS.md's SiP figures without
depending on the metrics module.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime

import numpy as np
import pytest
from click.testing import CliRunner

from calibrate import demo, store
from calibrate.cli import cli
from calibrate.demo import writing
from calibrate.durations import now_iso
from calibrate.errors import InputError, StateError
from tests.support.data import SHARED_DATA, requires_shared_data

TODAY = date(2026, 11, 30)  # a Monday
END = "2026-11-30T17:00:00Z"
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$")


def build(db_path, **args):
    conn = store.connect(db_path)
    summary = demo.generate(conn, **{"today": TODAY, **args})
    return conn, summary


@pytest.fixture
def medium(db_path):
    """20 people over 52 weeks: about 5,000 tasks, enough for stable figures."""
    conn, summary = build(db_path, people=20, seed=0)
    yield conn, summary
    conn.close()


def finished(conn) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute("SELECT estimate_h, actual_h FROM tasks WHERE status = 'done'").fetchall()
    values = np.array([tuple(row) for row in rows], dtype=float)
    return values[:, 0], values[:, 1]


def headline(estimate_h: np.ndarray, actual_h: np.ndarray) -> dict:
    ratio = actual_h / estimate_h
    log_ratio = np.log2(ratio)
    return {
        "median": float(np.median(ratio)),
        "p10": float(np.quantile(ratio, 0.1)),
        "p90": float(np.quantile(ratio, 0.9)),
        "within_25": float(np.mean((ratio >= 0.8 - 1e-9) & (ratio <= 1.25 + 1e-9))),
        "over": float(np.mean(log_ratio > 0.01)),
        "exact": float(np.mean(np.abs(log_ratio) <= 0.01)),
        "under": float(np.mean(log_ratio < -0.01)),
        "malr": float(np.mean(np.abs(np.clip(log_ratio, -3, 3)))),
    }


def malr(estimate_h, actual_h) -> float:
    return float(np.mean(np.abs(np.clip(np.log2(actual_h / estimate_h), -3, 3))))


# --- the library ---------------------------------------------------------------


def test_same_seed_gives_identical_rows_and_another_seed_does_not(tmp_path):
    dumps = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        conn, _ = build(tmp_path / f"{name}.db", people=4, weeks=6, seed=seed)
        dumps.append(conn.execute("SELECT * FROM tasks ORDER BY id").fetchall())
        dumps[-1] = [tuple(row) for row in dumps[-1]]
        conn.close()
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]


def test_rows_are_valid_and_times_are_working_hours_ending_today(medium):
    conn, summary = medium
    rows = [dict(row) for row in conn.execute("SELECT * FROM tasks")]
    assert len(rows) == summary["tasks"]
    assert {row["source"] for row in rows} == {"demo"}
    assert all(row["uid"].startswith("demo:0:") for row in rows)
    for row in rows:
        assert row["title"] and row["person"] and row["team"] and row["project"]
        assert row["estimate_h"] > 0
        if row["low_h"] is not None:
            assert 0 < row["low_h"] < row["estimate_h"] < row["high_h"]
            assert 0 < row["confidence"] < 100
        else:
            assert row["high_h"] is None and row["confidence"] is None
        assert row["promise_h"] is None or row["promise_h"] >= row["estimate_h"]
        if row["due"] is not None:
            date.fromisoformat(row["due"])
        tags = json.loads(row["tags"])
        assert tags and all(isinstance(tag, str) for tag in tags)
        moments = [row[k] for k in ("created_at", "started_at", "done_at") if row[k]]
        assert all(ISO_TIME.match(moment) for moment in moments)
        assert moments == sorted(moments)  # created <= started <= done
        assert moments[-1] <= END
        assert row["updated_at"] == moments[-1]
        for moment in moments:
            when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
            assert when.weekday() < 5 and 9 <= when.hour + when.minute / 60 <= 17
        if row["status"] == "done":
            assert row["actual_h"] > 0 and row["done_at"] and row["started_at"]
        else:
            assert row["actual_h"] is None
        if row["status"] in ("open", "started"):
            assert row["done_at"] is None
        if row["status"] == "open":
            assert row["started_at"] is None
    ids_by_created = [row["id"] for row in sorted(rows, key=lambda r: (r["created_at"], r["id"]))]
    assert ids_by_created == sorted(ids_by_created)  # ids follow the order tasks were logged


def test_a_year_of_finished_work_ends_today(medium):
    conn, summary = medium
    assert summary["first_day"] == "2025-12-08"  # a Monday: 52 whole ISO weeks
    assert summary["last_day"] == "2026-11-30"
    sql = "SELECT substr(done_at, 1, 10) FROM tasks WHERE status = 'done'"
    done_days = [row[0] for row in conn.execute(sql)]
    assert min(done_days) >= "2025-12-08"
    assert max(done_days) == "2026-11-30"
    weeks = {date.fromisoformat(day).isocalendar()[:2] for day in done_days}
    assert len(weeks) == 52


def test_figures_match_the_real_sip_data(medium):
    figures = headline(*finished(medium[0]))
    # METRICS.md [SiP]: median 1.00, P10 0.36, P90 2.0, within 25% 47.6%,
    # over/exact/under 30/34/36%, MALR 0.692.
    assert figures["median"] == 1.0
    assert 0.30 <= figures["p10"] <= 0.42
    assert 1.8 <= figures["p90"] <= 2.3
    assert 0.43 <= figures["within_25"] <= 0.52
    assert 0.26 <= figures["over"] <= 0.34
    assert 0.30 <= figures["exact"] <= 0.38
    assert 0.32 <= figures["under"] <= 0.40
    assert 0.64 <= figures["malr"] <= 0.76


def test_overruns_shrink_and_spread_grows_with_task_size(medium):
    estimate_h, actual_h = finished(medium[0])
    log_ratio = np.log2(actual_h / estimate_h)
    small, big = estimate_h <= 2, estimate_h >= 16
    assert np.mean(log_ratio[small] == 0) > 0.4 > 0.05 > np.mean(log_ratio[big] == 0)
    missed = log_ratio != 0
    assert np.median(log_ratio[small & missed]) > 0 > np.median(log_ratio[big & missed])
    assert malr(estimate_h[big], actual_h[big]) > 2 * malr(estimate_h[small], actual_h[small])


def test_estimates_sit_on_a_grid_and_actuals_are_rounded_like_timesheets(medium):
    estimate_h, actual_h = finished(medium[0])
    assert set(np.unique(estimate_h)) <= set(demo.ESTIMATE_GRID)
    assert np.mean(estimate_h <= 4) > 0.55  # heavier on small tasks
    quarter_hours = np.isclose(actual_h * 4, np.round(actual_h * 4))
    assert 0.75 < np.mean(quarter_hours) < 0.98  # the rest timed to the minute


def test_people_differ_in_bias_and_skill_and_some_improve(medium):
    conn, _ = medium
    cast = {p.name: p for p in demo.make_people(20, 5, 52, seed=0)}
    medians, scores, improvers = [], [], []
    for name, person in cast.items():
        rows = conn.execute(
            "SELECT estimate_h, actual_h FROM tasks WHERE person = ? AND status = 'done' "
            "ORDER BY done_at",
            (name,),
        ).fetchall()
        estimate_h, actual_h = np.array([tuple(r) for r in rows], dtype=float).T
        medians.append(np.median(np.log2(actual_h / estimate_h)[actual_h != estimate_h]))
        scores.append(100 * 2 ** -malr(estimate_h, actual_h))
        if person.improve > 0 and person.active_weeks == 52:
            half = len(rows) // 2
            improvers.append(
                malr(estimate_h[:half], actual_h[:half]) - malr(estimate_h[half:], actual_h[half:])
            )
    assert max(medians) - min(medians) > 0.3  # biases differ
    assert max(scores) - min(scores) > 10  # skills differ
    assert improvers and np.mean(improvers) > 0.05  # improvers miss less later


def test_every_person_has_open_and_started_tasks_and_a_few_dropped(medium):
    conn, summary = medium
    per_person = conn.execute(
        "SELECT person, sum(status = 'open'), sum(status = 'started'), sum(status = 'dropped') "
        "FROM tasks GROUP BY person"
    ).fetchall()
    assert len(per_person) == 20
    assert all(row[1] == 2 and row[2] == 1 for row in per_person)
    assert 0.01 < summary["dropped"] / summary["tasks"] < 0.06
    # A started task has time on a stopped timer, so 'done' works on it.
    timers = conn.execute(
        "SELECT tasks.status, tasks.started_at, intervals.started_at, intervals.stopped_at "
        "FROM intervals JOIN tasks ON tasks.id = intervals.task_id"
    ).fetchall()
    assert len(timers) == 20
    for status, task_start, start, stop in timers:
        assert status == "started" and start == task_start and start < stop <= END


def test_ranges_are_mostly_too_narrow(medium):
    conn, _ = medium
    rows = conn.execute(
        "SELECT person, low_h, high_h, actual_h, confidence FROM tasks WHERE low_h IS NOT NULL"
    ).fetchall()
    total = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    assert 0.2 < len(rows) / total < 0.4
    assert len({row[0] for row in rows}) == 20  # everyone gives some
    ninety = [row for row in rows if row[4] == 90 and row[3] is not None]
    hit = np.mean([low <= actual <= high for _, low, high, actual, _ in ninety])
    assert 0.55 <= hit <= 0.75  # 90% ranges hold the actual far less than 90% of the time


def test_promises_are_made_most_are_kept_some_broken(medium):
    conn, _ = medium
    rows = conn.execute(
        "SELECT person, promise_h, due, actual_h, substr(done_at, 1, 10), status FROM tasks "
        "WHERE (promise_h IS NOT NULL OR due IS NOT NULL) AND status = 'done'"
    ).fetchall()
    kept = [
        (promise is None or actual <= promise) and (due is None or done <= due)
        for _, promise, due, actual, done, _ in rows
    ]
    exceeded = [
        ok and promise is not None and actual <= 0.8 * promise
        for ok, (_, promise, _, actual, _, _) in zip(kept, rows, strict=True)
    ]
    assert 0.8 < np.mean(kept) < 0.95
    assert 0.2 < np.mean(exceeded) < 0.9
    rates = conn.execute(
        "SELECT person, avg(promise_h IS NOT NULL OR due IS NOT NULL) FROM tasks GROUP BY person"
    ).fetchall()
    assert all(0.1 < rate < 0.55 for _, rate in rates)
    kinds = conn.execute(
        "SELECT sum(promise_h IS NOT NULL AND due IS NULL), "
        "sum(promise_h IS NULL AND due IS NOT NULL), "
        "sum(promise_h IS NOT NULL AND due IS NOT NULL) FROM tasks"
    ).fetchone()
    assert all(count > 100 for count in kinds)  # effort, date and both


def test_tasks_asks_for_an_approximate_total_across_many_teams(db_path):
    conn, summary = build(db_path, people=60, teams=12, tasks=6000, seed=1)
    assert 5700 <= summary["tasks"] <= 6300
    assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == summary["tasks"]
    assert conn.execute("SELECT count(DISTINCT team) FROM tasks").fetchone()[0] == 12
    assert conn.execute("SELECT count(DISTINCT person) FROM tasks").fetchone()[0] == 60
    conn.close()


def test_progress_is_reported_a_chunk_of_people_at_a_time(db_path, monkeypatch):
    monkeypatch.setattr(writing, "CHUNK_TASKS", 100)  # about one person a chunk here
    seen: list[int] = []
    conn, _ = build(db_path, people=5, weeks=10, progress=seen.append)
    conn.close()
    assert seen == sorted(seen) and seen[-1] == 5 and len(seen) > 1


def test_more_teams_than_names_get_numbers_and_people_stay_distinct():
    cast = demo.make_people(3000, 100, 52, seed=0)
    assert len({p.name for p in cast}) == 3000
    assert len({p.team for p in cast}) == 100
    assert demo.team_name(len(demo.TEAM_NAMES)) == f"{demo.TEAM_NAMES[0]} 2"


def test_large_generation_rebuilds_the_same_indexes(db_path, monkeypatch):
    def indexes(conn):
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).fetchall()

    fresh = store.connect(db_path.with_name("fresh.db"))
    before = [tuple(row) for row in indexes(fresh)]
    fresh.close()
    monkeypatch.setattr(writing, "REBUILD_INDEXES_OVER", 0)
    conn, _ = build(db_path, people=3, weeks=4)
    assert [tuple(row) for row in indexes(conn)] == before
    conn.close()


def test_a_failure_half_way_writes_nothing(db_path, monkeypatch):
    conn = store.connect(db_path)
    calls = []
    real_person_tasks = demo.person_tasks

    def failing(person, **draw):
        calls.append(person.index)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real_person_tasks(person, **draw)

    monkeypatch.setattr(writing, "person_tasks", failing)
    monkeypatch.setattr(writing, "CHUNK_TASKS", 1)  # one person a chunk: two chunks land first
    monkeypatch.setattr(writing, "REBUILD_INDEXES_OVER", 0)
    with pytest.raises(RuntimeError):
        demo.generate(conn, people=4, weeks=4, today=TODAY)
    assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'").fetchone()[0] > 4
    conn.close()


def test_the_same_seed_twice_is_refused_and_another_seed_adds(db_path):
    conn, first = build(db_path, people=2, weeks=3, seed=1)
    with pytest.raises(StateError, match="seed 1"):
        demo.generate(conn, people=2, weeks=3, seed=1, today=TODAY)
    second = demo.generate(conn, people=2, weeks=3, seed=2, today=TODAY)
    total = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    assert total == first["tasks"] + second["tasks"]
    conn.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"people": 0}, "people must be at least 1"),
        ({"weeks": 0}, "weeks must be at least 1"),
        ({"people": 3, "teams": 4}, "teams must be between 1 and"),
        ({"tasks": 0}, "tasks must be more than zero"),
        ({"tasks_per_week": -1.0}, "tasks_per_week must be more than zero"),
        ({"tasks": 10, "tasks_per_week": 2.0}, "not both"),
        ({"open_tasks_per_person": -1}, "cannot be negative"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(conn, args, message):
    with pytest.raises(InputError, match=message):
        demo.generate(conn, **args)
    assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0


def test_short_windows_and_no_open_tasks_work(db_path):
    conn, summary = build(db_path, people=1, weeks=1, open_tasks_per_person=0)
    assert summary["open"] == summary["started"] == 0
    assert summary["tasks"] == conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    conn.close()


def test_default_today_ends_now_and_nothing_is_in_the_future(db_path):
    conn = store.connect(db_path)
    demo.generate(conn, people=2, weeks=2)
    latest = conn.execute(
        "SELECT max(max(created_at), max(coalesce(started_at, '')), max(coalesce(done_at, ''))) "
        "FROM tasks"
    ).fetchone()[0]
    stops = conn.execute("SELECT max(stopped_at) FROM intervals").fetchone()[0]
    conn.close()
    assert latest <= now_iso() and stops <= now_iso()


@requires_shared_data("sip")
@pytest.mark.realdata
def test_figures_are_close_to_those_computed_from_sip(medium):
    import pandas as pd

    rows = pd.read_csv(
        SHARED_DATA / "sip" / "Sip-task-info.csv",
        encoding="cp1252",
        usecols=["TaskNumber", "HoursEstimate", "HoursActual"],
    ).drop_duplicates("TaskNumber")
    rows = rows[(rows.HoursEstimate > 0) & (rows.HoursActual > 0)]
    real = headline(rows.HoursEstimate.to_numpy(float), rows.HoursActual.to_numpy(float))
    ours = headline(*finished(medium[0]))
    for key in ("within_25", "over", "exact", "under"):
        assert ours[key] == pytest.approx(real[key], abs=0.04), key
    assert ours["malr"] == pytest.approx(real["malr"], abs=0.06)
    assert ours["median"] == real["median"] == 1.0


# --- the command ------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="calibrate")


def count_tasks(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        conn.close()


def test_demo_builds_reports_demo_db_and_never_the_users_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", "--people", "3", "--weeks", "4")
    assert result.exit_code == 0, result.output
    target = tmp_path / "reports" / "demo.db"
    assert target.exists()
    assert not (tmp_path / "calibrate.db").exists()  # $CALIBRATE_DB, set by conftest
    assert "synthetic" in result.output
    assert "Database: reports/demo.db" in result.output
    assert "\nby 3 people in 1 team," in result.output
    assert count_tasks(target) > 20
    assert not list((tmp_path / "reports").glob(".demo.db.building*"))


def test_demo_honours_the_groups_db_and_its_own(run, db_path, tmp_path):
    result = run("demo", "--people", "2", "--weeks", "3")
    assert result.exit_code == 0, result.output
    assert count_tasks(db_path) > 0
    own = tmp_path / "own" / "demo.db"
    result = run("demo", "--db", str(own), "--people", "2", "--weeks", "3", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert f"Database: {own}" in result.output
    assert "(seed 5)" in result.output
    assert count_tasks(own) > 0


def test_demo_replaces_an_earlier_demo_without_asking(run, db_path):
    assert run("demo", "--people", "2", "--weeks", "3").exit_code == 0
    result = run("demo", "--people", "3", "--weeks", "2", "--seed", "4")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db_path)
    uids = {row[0].rsplit(":", 1)[0] for row in conn.execute("SELECT uid FROM tasks")}
    conn.close()
    assert uids == {"demo:4"}


def test_demo_refuses_a_database_with_real_tasks_unless_forced(run, db_path):
    assert run("add", "My real task", "-e", "2h").exit_code == 0
    result = run("demo", "--people", "2", "--weeks", "3")
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {db_path} holds 1 task that is not demo data; the demo will not replace it "
        "(give another --db, or --force to replace the file)"
    )
    assert count_tasks(db_path) == 1
    result = run("demo", "--people", "2", "--weeks", "3", "--force")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM tasks WHERE source != 'demo'").fetchone()[0] == 0
    conn.close()


def test_demo_refuses_a_file_that_is_not_a_database(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("my notes, not a database\n" * 10)
    result = invoke("demo", "--db", str(target), "--people", "2", "--weeks", "2")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {target} is not a calibrate database; the demo will not replace it (give "
        "another --db, or --force to replace the file)\n",
    )
    assert target.read_text().startswith("my notes")


def test_demo_usage_errors_exit_2(tmp_path):
    result = invoke("demo", "--db", str(tmp_path / "d.db"), "--people", "2", "--teams", "3")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for '--teams': 3 teams need at least as many people (--people "
        "is 2) (see 'calibrate demo --help')\n",
    )
    result = invoke("demo", "--db", str(tmp_path / "d.db"), "--people", "0")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for '--people': 0 is not in the range 1<=x<=100000. "
        "(see 'calibrate demo --help')\n",
    )
    assert not (tmp_path / "d.db").exists()


def test_demo_has_help():
    result = invoke("demo", "--help")
    assert result.exit_code == 0
    assert "synthetic" in result.output and "--force" in result.output
