"""The truth about each task: list, show and status (PRODUCT.md, "A day's use").

A day frozen at Wednesday 2026-12-02 12:00 UTC: one promise due tomorrow,
one timer running since 09:00 past 80% of its promised effort, one task
done late, one done early and under its range, one open past its due date.
"""

from __future__ import annotations

import json

import pytest

NOW = "2026-12-02T12:00:00Z"


@pytest.fixture
def day(run, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    monkeypatch.setenv("NO_COLOR", "1")
    for args in (
        ["Ship login", "-e", "2h", "--promise", "3h", "--due", "2026-12-03", "--range", "1h..4h"],
        ["Release notes", "-e", "1h", "--promise", "2h", "--at", "09:00", "--start"],
        [
            "Old bug",
            "-e",
            "1h",
            "--at",
            "2026-11-23T09:00",
            "--actual",
            "2h",
            "--due",
            "2026-11-20",
        ],
        [
            *["Quick fix", "-e", "2h", "--at", "2026-11-30T09:00", "--actual", "1h"],
            *["--promise", "3h", "--range", "1h30m..3h"],
        ],
        ["Overdue", "-e", "2h", "--due", "2026-11-30"],
        ["Later", "-e", "2h", "--due", "2026-12-10"],
    ):
        result = run("add", *args)
        assert result.exit_code == 0, result.output
    return run


def test_list_says_the_truth_about_each_open_task(day):
    assert day("list").stdout == (
        "ID  STATUS    USED    EST  RATIO  PROMISE   DUE         TITLE\n"
        " 1  open               2h         at risk   2026-12-03  Ship login\n"
        " 2  running     3h     1h  3.00x  at risk               Release notes\n"
        " 5  open               2h         broken    2026-11-30  Overdue\n"
        " 6  open               2h         pending   2026-12-10  Later\n"
    )


def test_a_user_told_how_many_were_kept_can_list_the_broken_ones(day):
    assert day("list", "--promise", "broken").stdout == (
        "ID  STATUS    USED    EST  RATIO  PROMISE   DUE         TITLE\n"
        " 3  done        2h     1h  2.00x  broken    2026-11-20  Old bug\n"
        " 5  open               2h         broken    2026-11-30  Overdue\n"
    )
    # an explicit --status still narrows
    assert [t["id"] for t in json.loads(day("list", "--promise", "broken", "--json").stdout)] == [
        3,
        5,
    ]
    opened = json.loads(day("list", "--promise", "broken", "--status", "open", "--json").stdout)
    assert [t["id"] for t in opened] == [5]
    at_risk = json.loads(day("list", "--promise", "at-risk", "--json").stdout)
    assert [t["id"] for t in at_risk] == [1, 2]
    assert [t["id"] for t in json.loads(day("list", "--range", "below", "--json").stdout)] == [4]


def test_an_empty_filter_says_what_it_looked_for(day):
    result = day("list", "--promise", "kept")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "",
        "No tasks with a kept promise for alice.\n",
    )
    result = day("list", "--promise", "pending", "--status", "done", "--range", "above")
    assert result.stderr == (
        "No done tasks with a pending promise and the actual above its range for alice.\n"
    )


def test_a_wrong_verdict_is_a_usage_problem(day):
    result = day("list", "--promise", "late")
    assert result.exit_code == 2
    assert "Invalid value for '--promise': 'late' is not one of 'kept', 'exceeded'" in (
        result.stderr
    )


def test_list_json_has_the_verdicts(day):
    rows = {t["id"]: t for t in json.loads(day("list", "--status", "any", "--json").stdout)}
    assert {k: rows[2][k] for k in ("used_h", "ratio", "timer_running", "promise_verdict")} == {
        "used_h": 3.0,
        "ratio": 3.0,
        "timer_running": True,
        "promise_verdict": "at-risk",
    }
    assert (rows[3]["promise_verdict"], rows[3]["range_verdict"]) == ("broken", None)
    assert (rows[4]["promise_verdict"], rows[4]["range_verdict"]) == ("exceeded", "below")
    assert (rows[6]["used_h"], rows[6]["ratio"], rows[6]["promise_verdict"]) == (
        0.0,
        None,
        "pending",
    )
    csv_head = day("list", "--csv").stdout.splitlines()[0]
    assert csv_head.endswith(",used_h,ratio,timer_running,promise_verdict,range_verdict")


def test_show_says_the_verdicts_and_the_time_used(day):
    assert day("show", "2").stdout.splitlines()[:6] == [
        "#2 Release notes",
        "  status      started (timer running)",
        "  person      alice",
        "  estimate    1h",
        "  promise     2h: at risk (3h of 2h used)",
        "  used        3h of 1h estimated (3.00x so far)",
    ]
    shown = day("show", "4").stdout.splitlines()
    assert "  range       1h30m..3h at 90%: below" in shown
    assert "  promise     3h: exceeded" in shown
    assert "  promise     by 2026-11-20: broken" in day("show", "3").stdout.splitlines()
    data = json.loads(day("show", "1", "--json").stdout)
    assert (data["promise_verdict"], data["used_h"], data["timer_running"]) == (
        "at-risk",
        0.0,
        False,
    )


def test_status_says_what_runs_what_was_logged_and_what_is_due(day):
    assert day("status").stdout == (
        "Running: #2 Release notes, for 3h (since 09:00; 3h of 1h used)\n"
        "Today: 3h on the timer, on 1 task\n"
        "Promises due within two working days, or overdue:\n"
        "   ID  DUE         WHEN             EFFORT  VERDICT   TITLE\n"
        "    5  2026-11-30  overdue 2 days           broken    Overdue\n"
        "    1  2026-12-03  tomorrow             3h  at risk   Ship login\n"
    )
    data = json.loads(day("status", "--json").stdout)
    assert [p["id"] for p in data["due"]] == [5, 1]
    assert (data["today_h"], data["done_today"], data["running"][0]["id"]) == (3.0, 0, 2)


def test_status_on_a_quiet_day(run, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    assert run("status").stdout == (
        "No timer is running.\nToday: 0m on the timer\nNo promise is due within two working days.\n"
    )
    run("add", "a", "-e", "1h", "--at", "08:00", "--start")
    run("done", "1", "--at", "10:30")
    assert run("status").stdout.splitlines()[:2] == [
        "No timer is running.",
        "Today: 2h30m on the timer, on 1 task; 1 task done",
    ]


def test_status_counts_only_today_of_a_sitting_that_began_yesterday(run, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    run("add", "late night", "-e", "1h", "--at", "2026-12-01T23:00")
    run("start", "1", "--at", "2026-12-01T23:00")
    run("stop", "--at", "2026-12-02T01:00", "--keep")
    assert run("status").stdout.splitlines()[1] == "Today: 1h on the timer, on 1 task"


def test_the_working_calendar_decides_what_is_at_risk(run, monkeypatch):
    """Thursday: a promise due Monday is two working days away (pending); with
    Friday a holiday, one (at risk)."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", "2026-12-03T12:00:00Z")
    run("add", "a", "-e", "1h", "--due", "2026-12-07")
    assert json.loads(run("list", "--json").stdout)[0]["promise_verdict"] == "pending"
    run("config", "holidays", "2026-12-04")
    assert json.loads(run("list", "--json").stdout)[0]["promise_verdict"] == "at-risk"


def test_list_stays_within_80_columns_with_every_column(run, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    run("add", "a long title " * 5, "-e", "1h", "--promise", "2h", "--due", "2026-12-03")
    run("add", "b " * 30, "-e", "2h", "--actual", "9h", "--range", "1h..3h", "-t", "x" * 20)
    run("add", "c", "-e", "2h", "--person", "bob", "--range", "1h..3h", "--due", "2026-12-09")
    lines = run("list", "--everyone", "--status", "any").stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == [
        "ID",
        "STATUS",
        "USED",
        "EST",
        "RATIO",
        "PROMISE",
        "PERSON",
        "TITLE",
    ]  # the tags, the range, then the due date give way: the title keeps 20 columns


def test_list_of_a_team_fits_80_columns_with_room_for_titles(run, monkeypatch):
    """The review's case: everyone's tasks with promises, wide durations and
    long names reached 82-85 columns in a pipe, titles cut to ten."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    for who in ("Bartholomew Fitzgerald", "Chloe Ahmed"):
        run(
            "add",
            "Fix password reset emails for everyone",
            "-e",
            "40h",
            "--actual",
            "170h30m",
            "--promise",
            "41h",
            "--due",
            "2026-12-03",
            "--person",
            who,
            "--range",
            "20h..60h",
        )
    lines = run("list", "--everyone", "--status", "any").stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    title_at = lines[0].index("TITLE")
    assert all(len(line) - title_at >= 20 for line in lines[1:])
