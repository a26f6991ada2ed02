"""Class 5 of issue 15: values that bypass validation.

One validation for every way a task enters: ``add``, ``edit``, ``done`` and
``import`` ask the store's one home of a task's checks
(:func:`calibrate.store.tasks.check_task_values`), ``merge`` and the lines of
an export ask the validator (:mod:`calibrate.exchange.validate`), which asks
the same function; the bounds of an effort are :func:`durations.effort_problem`
(1 second to 100,000 hours). Settings take their ranges (day-hours 1 to 24),
shown in ``config --help``. Times are checked against the clock for typed
commands only, never for merges.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calibrate import durations
from calibrate.exchange import validate
from calibrate.store.tasks import check_task_values
from tests.adversary.support_b import EXAMPLES, fresh, run
from tests.reliability.faults import (
    assert_clean_failure,
    assert_no_traceback,
    file_state,
    seeded_database,
    task_count,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return seeded_database(tmp_path_factory.mktemp("validation") / "team.db", people=3, weeks=6)


# --- typed values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["add", "t", "-e", "0.0000001s"],
        ["add", "t", "-e", "0." + "0" * 300 + "1s"],
        ["add", "t", "-e", "1h", "--actual", "0.5s"],
        ["add", "t", "-e", "1h", "--promise", "0.1s"],
        ["add", "t", "-e", "100001h"],
        ["add", "t", "-e", "1h", "--range", "0.2s..2h"],
        ["config", "day-hours", "1e-300"],
        ["config", "day-hours", "0.5"],
        ["config", "day-hours", "25"],
        ["config", "day-hours", "nan"],
        ["config", "focus-hours", "1e-300"],
    ],
)
def test_typed_values_out_of_bounds_are_refused(pristine, tmp_path, args):
    db = fresh(pristine, tmp_path)
    before = file_state(db)
    result = run(db, *args)
    line = assert_clean_failure(result, codes=(2,))
    assert "1 second" in line or "must be in" in line or "100,000h" in line, line
    assert file_state(db) == before


def test_the_bounds_themselves_are_taken(pristine, tmp_path):
    db = fresh(pristine, tmp_path)
    for args in (["add", "a", "-e", "1s"], ["add", "b", "-e", "100000h"]):
        assert run(db, *args).exit_code == 0
    for value in ("1", "24"):
        assert run(db, "config", "day-hours", value).exit_code == 0


def test_edit_and_done_ask_the_same_checks(pristine, tmp_path):
    db = fresh(pristine, tmp_path)
    assert run(db, "add", "t", "-e", "1h").exit_code == 0
    task = run(db, "list", "--json").stdout
    task_id = str(json.loads(task)[-1]["id"])
    for args in (["edit", task_id, "-e", "0.1s"], ["done", task_id, "--actual", "0.1s"]):
        line = assert_clean_failure(run(db, *args), codes=(2,))
        assert "1 second" in line, line


def test_config_help_shows_each_settings_range():
    from click.testing import CliRunner

    from calibrate.cli import cli
    from calibrate.store.settings import SETTINGS

    shown = CliRunner().invoke(cli, ["config", "--help"]).output
    for key, setting in SETTINGS.items():
        assert key in shown and setting.values in shown
    assert "1 to 24 hours" in shown


# --- imports ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, words",
    [
        ('{"title": "t", "estimate": 1e300}', "100,000h"),
        ('{"title": "t", "estimate": 1e-9}', "1 second"),
        ('{"title": "t", "estimate": "1h", "actual": 1e-7}', "1 second"),
        ('{"title": "t", "estimate": "1h", "promise": 200000}', "100,000h"),
        ('{"title": "t", "estimate": "1h", "low": 2, "high": 3}', "outside its range"),
    ],
)
def test_an_import_asks_the_same_checks(pristine, tmp_path, line, words):
    db = fresh(pristine, tmp_path)
    before = file_state(db)
    path = tmp_path / "rows.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    result = run(db, "import", str(path))
    error = assert_clean_failure(result, codes=(1,))
    assert words in error, error
    assert file_state(db) == before


# --- merges ------------------------------------------------------------------------------


def _tampered(pristine: Path, folder: Path, sql: str) -> Path:
    """A copy of ``pristine`` changed by ``sql``; the first task changed
    becomes a task of its own (a new uid), so that a merge must check it (a
    record with the stamps of one here counts as unchanged)."""
    other = fresh(pristine, folder, "other.db")
    conn = sqlite3.connect(other)
    with conn:
        before = dict(
            conn.execute(
                "SELECT id, coalesce(tags, '') || estimate_h || coalesce(actual_h, '') FROM tasks"
            )
        )
        conn.execute(sql)
        for task_id, was in conn.execute(
            "SELECT id, coalesce(tags, '') || estimate_h || coalesce(actual_h, '') FROM tasks"
        ).fetchall():
            if before[task_id] != was:
                conn.execute("UPDATE tasks SET uid = 'tampered-' || uid WHERE id = ?", (task_id,))
    conn.close()
    return other


@pytest.mark.parametrize(
    "sql, words",
    [
        ("UPDATE tasks SET estimate_h = 1e300 WHERE id = 1", "100,000h"),
        ("UPDATE tasks SET estimate_h = 'three hours' WHERE id = 1", "estimate"),
        ("UPDATE tasks SET estimate_h = 1e-9 WHERE id = 1", "1 second"),
        (
            "UPDATE tasks SET actual_h = 1e-9 WHERE id = (SELECT min(id) FROM tasks "
            "WHERE actual_h > 0)",
            "1 second",
        ),
        ("UPDATE tasks SET tags = '{\"a\": 1}' WHERE id = 1", "tags"),
        ("UPDATE tasks SET tags = '[1, 2]' WHERE id = 1", "tags"),
    ],
)
def test_a_merge_refuses_what_add_would_refuse(pristine, tmp_path, sql, words):
    """The row is refused with one line; the rest joins; forecast and report
    work after."""
    db = fresh(pristine, tmp_path)
    source = tmp_path / "src"
    source.mkdir()
    other = _tampered(pristine, source, sql)
    # a fresh copy of the same history: the tampered row differs, so it is merged
    result = run(db, "merge", str(other))
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "refused task" in result.stdout and words in result.stdout, result.stdout
    for args in (
        ["forecast", "--everyone"],
        ["report", "--everyone", "-o", str(tmp_path / "r.html")],
    ):
        after = run(db, *args)
        assert_no_traceback(after)
        assert after.exit_code in (0, 1), after.output
        if after.exit_code:
            assert_clean_failure(after)


def test_a_tasks_table_without_uid_is_refused_at_merge(pristine, tmp_path):
    db = fresh(pristine, tmp_path)
    before = file_state(db)
    source = tmp_path / "src"
    source.mkdir()
    other = fresh(pristine, source, "other.db")
    conn = sqlite3.connect(other)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(tasks)") if row[1] != "uid"]
    with conn:
        for (trigger,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall():
            conn.execute(f'DROP TRIGGER "{trigger}"')
        conn.execute(f"CREATE TABLE bare AS SELECT {', '.join(columns)} FROM tasks")
        conn.execute("DROP TABLE tasks")
        conn.execute("ALTER TABLE bare RENAME TO tasks")
    conn.close()
    result = run(db, "merge", str(other))
    assert_no_traceback(result)
    assert result.exit_code != 0, result.output
    assert_clean_failure(result)
    assert file_state(db) == before


def test_a_merge_never_checks_times_against_the_clock(pristine, tmp_path):
    db = fresh(pristine, tmp_path)
    source = tmp_path / "src"
    source.mkdir()
    other = _tampered(
        pristine,
        source,
        "UPDATE tasks SET created_at = '2099-12-31T00:00:00Z', done_at = "
        "'2100-01-01T00:00:00Z' WHERE id = (SELECT min(id) FROM tasks WHERE status = 'done')",
    )
    count = task_count(db)
    result = run(db, "merge", str(other))
    assert result.exit_code == 0, result.output
    assert "refused" not in result.stdout
    assert task_count(db) == count
    typed = run(db, "add", "t", "-e", "1h", "--at", "2100-01-01")
    assert_clean_failure(typed, codes=(2,))


# --- fuzzing the validator -------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-12, max_value=1e-3),
    st.floats(min_value=9e4, max_value=2e5),
    st.integers(-(10**30), 10**30),
    st.none(),
    st.text(max_size=5),
    st.booleans(),
)
values = st.one_of(numbers, st.lists(st.text(max_size=3), max_size=3).map(json.dumps), st.text())


@pytest.fixture(scope="module")
def good_task(pristine) -> dict:
    """A real task record, read out of a database as a merge reads it."""
    from calibrate import store
    from calibrate.store import state

    conn = store.connect(pristine)
    try:
        return dict(next(iter(state.read_tasks(conn))))
    finally:
        conn.close()


@pytest.mark.parametrize(
    "changes",
    [
        {"low_h": 0.0, "high_h": 4.993592041284211e304},  # found by the full run: OverflowError
        {"low_h": -1.0, "high_h": float("inf")},
        {"low_h": 1.0, "high_h": float("nan")},
    ],
)
def test_a_range_beyond_the_bounds_is_refused_not_formatted(good_task, changes):
    with pytest.raises(validate.Refused):
        validate.record("task", {**good_task, **changes})


@EXAMPLES
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "estimate_h",
                "low_h",
                "high_h",
                "confidence",
                "promise_h",
                "actual_h",
                "tags",
                "title",
            ]
        ),
        values,
        min_size=1,
        max_size=3,
    )
)
def test_the_validator_admits_only_what_add_would_store(good_task, changes):
    """Whatever the values: a clean refusal, or a record whose efforts are
    within the bounds and pass the store's checks."""
    item = {**good_task, **changes}
    try:
        validate.record("task", item)
    except validate.Refused:
        return
    for name in ("estimate_h", "low_h", "high_h", "promise_h", "actual_h"):
        value = item[name]
        assert value is None or durations.effort_problem(value) is None, (name, value)
    check_task_values(
        estimate_h=item["estimate_h"],
        low_h=item["low_h"],
        high_h=item["high_h"],
        confidence=item["confidence"],
        promise_h=item["promise_h"],
        actual_h=item["actual_h"],
    )
    tags = json.loads(item["tags"]) if isinstance(item["tags"], str) else item["tags"]
    assert isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"estimate_h": 1e300}, "100,000h"),
        ({"estimate_h": 1e-9}, "1 second"),
        ({"estimate_h": "three"}, "estimate"),
        ({"tags": "urgent"}, "tags"),
        ({"tags": [1, 2]}, "tags"),
    ],
)
def test_an_export_line_gets_the_same_checks(pristine, tmp_path, change, words):
    """The JSON Lines round trip: a task line of an export, changed, is
    refused as a merge refuses it."""
    exported = run(pristine, "export", "--format", "jsonl")
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.get("kind") == "task")
    lines[first] = {**lines[first], **change}
    path = tmp_path / "changed.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    db = tmp_path / "empty.db"
    result = run(db, "import", str(path))
    assert_no_traceback(result)
    shown = result.stdout + result.stderr
    assert words in shown, shown
