"""The one door (``calibrate.exchange.validate``): what arrives by merge or as
a team summary is checked before anything is stored, one line per thing refused."""

from __future__ import annotations

import copy
import re
from datetime import date

import pytest

from calibrate import store
from calibrate.errors import InputError
from calibrate.exchange import summary_file, validate
from calibrate.exchange.merge import merge_database
from calibrate.exchange.validate import Refused
from calibrate.store import state, tasks
from tests.test_summary import valid_summary

TODAY = date(2026, 11, 30)


# --- merged records ---------------------------------------------------------------------------


def _other(tmp_path):
    """Another database with five tasks, four of them then spoilt by hand."""
    path = tmp_path / "other.db"
    conn = store.connect(path)
    ids = [
        tasks.add_task(conn, tasks.NewTask(f"Task {i}", 2.0, "bea"), actual_h=3.0) for i in range(5)
    ]
    with store.transaction(conn):
        conn.execute("UPDATE tasks SET estimate_h = 200000 WHERE id = ?", (ids[0],))
        conn.execute("UPDATE tasks SET title = '   ' WHERE id = ?", (ids[1],))
        conn.execute("UPDATE tasks SET person = 'bea\u200b' WHERE id = ?", (ids[2],))
        conn.execute("UPDATE tasks SET stamps = '{not json' WHERE id = ?", (ids[3],))
        # a task finished in 2100: merges never check times against the clock
        conn.execute(
            "UPDATE tasks SET done_at = '2100-01-01T00:00:00Z', created_at = "
            "'2099-12-31T00:00:00Z' WHERE id = ?",
            (ids[4],),
        )
    conn.close()
    return path


def test_a_merge_refuses_bad_rows_with_one_line_each_and_joins_the_rest(conn, tmp_path):
    result = merge_database(conn, _other(tmp_path))
    assert result.joined.added == 1
    assert result.door.refused == 4
    lines = result.lines()
    refused = [line for line in lines if "refused task" in line]
    assert len(refused) == 4
    words = "\n".join(refused)
    assert "the estimate is more than 100,000h" in words
    assert "title is missing" in words
    assert "is not in its one spelling" in words
    assert "stamps must give every register its stamp" in words
    done = conn.execute("SELECT done_at FROM tasks").fetchone()[0]
    assert done == "2100-01-01T00:00:00Z"
    assert result.as_dict()["refused"] == 4 and len(result.as_dict()["refusals"]) == 4


def test_the_merge_command_prints_the_refusals(run, tmp_path):
    result = run("merge", str(_other(tmp_path)))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("refused task") == 4


def test_many_refusals_are_counted_past_the_shown_ones():
    door = validate.Door()
    records = [{"uid": f"u{i}", "stamp": None} for i in range(validate.SHOWN_REFUSALS + 7)]
    assert not any(map(door.admit("tombstone"), records))
    shown = door.shown()
    assert len(shown) == validate.SHOWN_REFUSALS + 1
    assert shown[-1] == "and 7 more refused (--json lists them all)"


GOOD_STAMP = ("2026-11-30T10:00:00.000000Z", "ab" * 16)


@pytest.mark.parametrize(
    ("kind", "record", "message"),
    [
        (
            "interval",
            {
                "uid": "i",
                "task": "t",
                "started_at": "2026-11-30T10:00:00Z",
                "stopped_at": "2026-11-30T09:00:00Z",
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "before started_at",
        ),
        (
            "interval",
            {
                "uid": "i",
                "task": "t",
                "started_at": "2026-11-30T10:00:00+02:00",
                "stopped_at": None,
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "UTC time",
        ),
        (
            "reestimate",
            {
                "uid": "r",
                "task": "t",
                "estimate_h": -1.0,
                "at": "2026-11-30T10:00:00Z",
                "reason": None,
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "more than zero",
        ),
        (
            "reestimate",
            {
                "uid": "r",
                "task": "t",
                "estimate_h": "2h",
                "at": "2026-11-30T10:00:00Z",
                "reason": None,
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "must be a number",
        ),
        (
            "alias",
            {"alias": "jo", "person": "jo", "deleted": False, "stamp": GOOD_STAMP},
            "an alias of itself",
        ),
        (
            "alias",
            {"alias": "jo", "person": "Jo ", "deleted": False, "stamp": GOOD_STAMP},
            "one spelling",
        ),
        ("person", {"name": "jo", "opt_out": 2, "stamp": GOOD_STAMP}, "true or false"),
        ("person", {"name": "jo", "opt_out": True, "stamp": ("2026-11-30", "")}, "stamp's time"),
        (
            "tombstone",
            {"uid": "t", "deleted": ("2026-11-30T10:00:00.000000Z", "xyz"), "restored": None},
            "32 hex",
        ),
        (
            "advice",
            {
                "uid": "a",
                "task": "t",
                "p50_h": 2.0,
                "p80_h": 1.0,
                "p90_h": 3.0,
                "version": 2,
                "source": "add",
                "given_at": "2026-11-30T10:00:00Z",
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "in order",
        ),
        (
            "chance",
            {
                "uid": "c",
                "task": "t",
                "day": "2026-11-30",
                "chance": 1.5,
                "promise_h": None,
                "due": None,
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "not a probability",
        ),
        (
            "chance",
            {
                "uid": "c",
                "task": "t",
                "day": "30/11/2026",
                "chance": 0.5,
                "promise_h": None,
                "due": None,
                "deleted": False,
                "stamp": GOOD_STAMP,
            },
            "not a date",
        ),
        ("ledger", {}, "unknown kind"),
    ],
)
def test_a_bad_record_is_refused_with_the_reason(kind, record, message):
    with pytest.raises(Refused, match=message):
        validate.record(kind, record)


def test_a_good_record_passes_unchanged(conn):
    tasks.add_task(conn, tasks.NewTask("Fine", 2.0, "José", tags=["a"]), actual_h=1.0)
    (record,) = state.read_tasks(conn)
    assert validate.record("task", record) is record


# --- team summaries ---------------------------------------------------------------------------


def _checked(data: dict, today: date = TODAY):
    return summary_file.check_summary(data, "s.json", today=today)


def test_a_week_after_tomorrow_is_refused_and_the_others_kept():
    data = valid_summary()
    later = copy.deepcopy(data["weeks"][0])
    later["week"] = "2026-12-07"
    data["weeks"].append(later)
    checked = _checked(data)
    assert [row["week"] for row in checked.weeks] == ["2026-11-23"]
    assert checked.refused == ["s.json: week row 2: the week of 2026-12-07 is after tomorrow"]
    # tomorrow's week (an exporter ahead of the lead's time zone) is not refused
    assert not _checked(data, today=date(2026, 12, 6)).refused


def test_a_week_outside_the_summarys_window_is_refused():
    data = valid_summary()
    data["window"]["since"] = "2026-11-30"
    checked = _checked(data)
    assert not checked.weeks and "outside the summary's window" in checked.refused[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda w: w.update(
                sum_abs=4.5 * (1 + 2e-9), n=1, over=1, exact=0, under=0, within_25=0
            ),
            "impossible for 1 tasks",
        ),
        (lambda w: w.update(sum_sq=0.5), "sum_sq is too small"),
        (lambda w: w.update(sum_sq=4.6), "impossible for 3 tasks|too large"),
        (lambda w: w.update(n=10**7 + 1), "more than 10,000,000"),
        (lambda w: w.update(exact=1, within_25=0), "more exact hits"),
        (lambda w: w.update(over=2, under=0), "does not match its histogram"),
        (lambda w: w.update(histogram=[[-50, 1], [0, 1], [150, 1]]), "sum_abs does not match"),
        (lambda w: w["promises"].update(effort_n=3), "effort promises of 2 due"),
        (lambda w: w["promises"].update(promised_h=1e12), "impossible for 1 promises"),
    ],
)
def test_counts_that_cannot_be_are_refused(change, message):
    data = valid_summary()
    change(data["weeks"][0])
    checked = _checked(data)
    assert not checked.weeks
    assert len(checked.refused) == 1
    assert re.search(message, checked.refused[0]), checked.refused


def test_sums_on_their_bounds_within_a_relative_1e_9_pass():
    data = valid_summary()
    row = data["weeks"][0]
    # three tasks all at the cap: sum_abs = 3n and n * sum_sq = 9n^2, rounded up a little
    row.update(
        n=3,
        sum_abs=9.0 * (1 + 5e-10),
        sum_sq=27.0 * (1 + 5e-10),
        over=3,
        exact=0,
        under=0,
        within_25=0,
        histogram=[[300, 3]],
        buckets=[[3, 9.0, 27.0], *[[0, 0.0, 0.0]] * 5],
        ranges=[],
    )
    assert _checked(data).weeks


def test_a_header_problem_refuses_the_whole_file():
    data = valid_summary()
    data["database_id"] = "not hex"
    with pytest.raises(InputError, match="32 hex digits"):
        _checked(data)
    data = valid_summary()
    data["scope"] = {"kind": "team"}
    with pytest.raises(InputError, match="scope must say"):
        _checked(data)


def test_people_entries_that_bring_nothing_are_refused_and_opt_outs_left_out():
    data = valid_summary()
    data["people"] += [
        {"person": "Zed", "team": None, "opt_out": True},
        {"person": "Ana", "team": "core"},
    ]
    checked = _checked(data)
    assert checked.refused == [
        "s.json: people entry 2 (Zed) brings no week rows",
        "s.json: people entry 3 repeats Ana",
    ]
    data = valid_summary()
    data["people"][0]["opt_out"] = True  # an older exporter: opted out, weeks and all
    checked = _checked(data)
    assert checked.left_out == ["Ana"] and not checked.weeks and not checked.refused


def test_names_in_a_summary_are_read_in_their_one_spelling():
    data = valid_summary()
    data["weeks"][0]["person"] = data["people"][0]["person"] = "Ana\u200b "
    checked = _checked(data)
    assert checked.weeks[0]["person"] == checked.people[0]["person"] == "Ana"


def test_exported_at_is_checked_for_its_form_only():
    data = valid_summary()
    data["exported_at"] = "2199-01-01T00:00:00.000001Z"  # the exporter's clock: not judged
    assert _checked(data).weeks
    data["exported_at"] = "yesterday"
    with pytest.raises(InputError, match="exported_at"):
        _checked(data)


def test_summary_rows_and_merged_rows_pass_the_same_module():
    """The single door: the summary file and the merge both call into validate."""
    import inspect

    from calibrate.exchange import importer, merge

    assert "validate" in inspect.getsource(merge) and "validate" in inspect.getsource(importer)
    assert "validate.summary" in inspect.getsource(summary_file)
