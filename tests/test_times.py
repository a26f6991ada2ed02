"""Times that make sense on typed commands (PRODUCT.md, "A day's use").

``add --at`` back-dates a task; a moment more than 5 minutes ahead is
refused (one within is now); a stop before its start and a done before the
timer ran are refused; a sitting over 12 hours, or through 02:00-05:00 local
time, is asked about on a terminal and refused in a pipe with the options
that decide (``--keep``, ``--trim-to``). Merges never check: clocks differ.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from calibrate.cli import cli, timer

#: Tuesday 2026-12-01 13:35 UTC: a timer started on Friday 17:02 ran 92h33m.
NOW = "2026-12-01T13:35:00Z"


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    monkeypatch.setenv("NO_COLOR", "1")


def fails(result, code: int, message: str) -> None:
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n"), result.output


def usage(message: str, command: str) -> str:
    return f"{message} (see 'calibrate {command} --help')"


def at(path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(r) for r in conn.execute(sql)]


# --- add --at, and the future ---------------------------------------------------------------


def test_add_at_back_dates_a_task(run, db_path):
    run("add", "planned", "-e", "2h", "--at", "2026-11-23T09:00")
    run("add", "done then", "-e", "2h", "--at", "2026-11-23T09:00", "--actual", "3h")
    run("add", "timed then", "-e", "2h", "--at", "2026-11-30T09:00", "--start")
    assert at(db_path, "SELECT created_at, started_at, done_at, status FROM tasks") == [
        ("2026-11-23T09:00:00Z", None, None, "open"),
        ("2026-11-23T09:00:00Z", None, "2026-11-23T09:00:00Z", "done"),
        ("2026-11-30T09:00:00Z", "2026-11-30T09:00:00Z", None, "started"),
    ]
    assert at(db_path, "SELECT task_id, started_at, stopped_at FROM intervals") == [
        (3, "2026-11-30T09:00:00Z", None)
    ]


def test_a_back_filled_task_gets_no_advice_and_none_is_kept(run, db_path):
    """METRICS.md section 8: advice given after the fact is not stored in the
    advice ledger (the hook: cli.tasks.advice_before_the_fact)."""
    from calibrate.cli.tasks import advice_before_the_fact

    for i in range(12):
        run("add", f"done {i}", "-e", "1h", "--actual", f"{40 + 5 * i}m", "--at", "-2d")
    assert run("add", "to do", "-e", "1h").stderr.startswith("Hint: ")
    result = run("add", "done last week", "-e", "1h", "--at", "-7d", "--actual", "2h")
    assert (result.exit_code, result.stderr) == (0, "")
    assert not advice_before_the_fact(2.0) and advice_before_the_fact(None)
    tables = {row[0] for row in at(db_path, "SELECT name FROM sqlite_master")}
    if "advice_ledger" in tables:  # the ledger of METRICS.md section 8, where it exists
        kept = at(db_path, "SELECT task_id FROM advice_ledger WHERE deleted = 0")
        assert kept == [(13,)]  # the task still to do, not the one done last week


@pytest.mark.parametrize(
    "command",
    [["start", "1"], ["stop"], ["done", "1", "--actual", "1h"], ["add", "x", "-e", "1h"]],
)
def test_more_than_five_minutes_ahead_is_refused(run, db_path, command):
    run("add", "a", "-e", "1h")
    if command == ["stop"]:
        run("start", "1", "--at", "13:00")
    before = at(db_path, "SELECT * FROM tasks")
    fails(
        run(*command, "--at", "13:41"),
        2,
        usage("Invalid value for '--at': '13:41' is in the future", command[0]),
    )
    assert at(db_path, "SELECT * FROM tasks") == before


def test_within_five_minutes_ahead_is_now(run, db_path):
    run("add", "a", "-e", "1h", "--at", "13:39")
    run("done", "1", "--actual", "1h", "--at", "13:40")
    assert at(db_path, "SELECT created_at, done_at FROM tasks") == [
        ("2026-12-01T13:35:00Z", "2026-12-01T13:35:00Z")
    ]


def test_a_start_tomorrow_is_refused_and_blocks_nothing(run, db_path):
    run("add", "a", "-e", "1h")
    fails(
        run("start", "1", "--at", "tomorrow"),
        2,
        usage("Invalid value for '--at': 'tomorrow' is in the future", "start"),
    )
    assert run("start", "1").exit_code == 0
    assert run("stop").exit_code == 0
    assert run("done", "1", "--actual", "1h").exit_code == 0


# --- a done before the timer ran ------------------------------------------------------------


def test_a_done_before_the_timer_ran_is_refused(run, db_path):
    run("add", "a", "-e", "3h", "--at", "08:00")
    run("start", "1", "--at", "10:00")
    run("stop", "--at", "12:00")
    fails(
        run("done", "1", "--at", "09:00"),
        2,
        usage(
            "the done time 2026-12-01 09:00 is before task #1's timer started (2026-12-01 10:00)",
            "done",
        ),
    )
    fails(
        run("done", "1", "--at", "11:00", "--actual", "2h"),
        2,
        usage(
            "the done time 2026-12-01 11:00 is before task #1's timer stopped (2026-12-01 12:00)",
            "done",
        ),
    )
    assert at(db_path, "SELECT status FROM tasks") == [("started",)]
    assert run("done", "1", "--at", "12:00").exit_code == 0


def test_a_start_before_the_last_stop_is_refused(run):
    run("add", "a", "-e", "3h", "--at", "08:00")
    run("start", "1", "--at", "10:00")
    run("stop", "--at", "12:00")
    fails(
        run("start", "1", "--at", "11:00"),
        2,
        usage("task #1's timer last stopped at 2026-12-01 12:00, after 2026-12-01 11:00", "start"),
    )


# --- sittings that ran long, or through the night ----------------------------------------------

WEEKEND = (
    "task #1's timer ran 92h33m (2026-11-27 17:02 to 2026-12-01 13:35), over 12 hours: give "
    "--keep to keep it, or --trim-to DURATION|TIME to trim it"
)


@pytest.fixture
def weekend(run):
    """A timer left running from Friday 17:02 to now, Tuesday 13:35."""
    run("add", "a", "-e", "2h", "--at", "2026-11-27T09:00")
    assert run("start", "1", "--at", "2026-11-27T17:02").exit_code == 0
    return run


def sittings(path) -> list[tuple]:
    return at(path, "SELECT started_at, stopped_at FROM intervals WHERE deleted = 0")


@pytest.mark.parametrize("command", [["stop"], ["done", "1"], ["stop", "1"]])
def test_a_weekend_timer_is_refused_in_a_pipe_naming_the_options(weekend, db_path, command):
    fails(weekend(*command), 2, usage(WEEKEND, command[0]))
    assert sittings(db_path) == [("2026-11-27T17:02:00Z", None)]  # nothing written
    assert at(db_path, "SELECT status FROM tasks") == [("started",)]


def test_keep_keeps_it(weekend, db_path):
    result = weekend("done", "1", "--keep")
    assert result.stdout == "Done #1: 92h33m (timer) against 2h estimated, 46.27x\n"


@pytest.mark.parametrize(
    ("trim", "stopped", "said"),
    [
        ("2h", "2026-11-27T19:02:00Z", "Stopped #1 after 2h (2h in all)\n"),
        ("19:00", "2026-11-27T19:00:00Z", "Stopped #1 after 1h58m (1h58m in all)\n"),
        ("2026-11-28T10:00", "2026-11-28T10:00:00Z", "Stopped #1 after 16h58m (16h58m in all)\n"),
    ],
)
def test_trim_to_a_length_or_a_time(weekend, db_path, trim, stopped, said):
    result = weekend("stop", "--trim-to", trim)
    assert (result.exit_code, result.stdout) == (0, said)
    assert sittings(db_path) == [("2026-11-27T17:02:00Z", stopped)]


def test_a_trim_outside_the_sitting_or_unreadable_is_refused(weekend, db_path):
    fails(
        weekend("stop", "--trim-to", "100h"),
        2,
        usage(
            "task #1's sitting cannot be trimmed to end at 2026-12-01 21:02: it ran 92h33m "
            "(2026-11-27 17:02 to 2026-12-01 13:35); give a shorter length, or a time inside it",
            "stop",
        ),
    )
    result = weekend("stop", "--trim-to", "soon")
    assert result.exit_code == 2
    assert "not a duration or a time: 'soon' (use e.g. 2h30m, or 18:00)" in result.stderr
    fails(
        weekend("stop", "--keep", "--trim-to", "2h"),
        2,
        usage("--keep and --trim-to exclude each other", "stop"),
    )
    assert sittings(db_path) == [("2026-11-27T17:02:00Z", None)]


def test_on_a_terminal_it_asks_keep_or_trim(weekend, db_path, monkeypatch):
    monkeypatch.setattr(timer, "interactive", lambda: True)
    result = weekend("stop", input="later\n3h\n")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Task #1's timer ran 92h33m (2026-11-27 17:02 to 2026-12-01 13:35), over 12 hours.\n"
        "Keep 92h33m, or trim to (a duration such as 2h, or a time such as 18:00)? [keep]: later\n"
        "Error: not a duration or a time: 'later' (use e.g. 2h30m, or 18:00)\n"
        "Keep 92h33m, or trim to (a duration such as 2h, or a time such as 18:00)? [keep]: 3h\n"
    )
    assert result.stdout == "Stopped #1 after 3h (3h in all)\n"
    weekend("undo")
    assert weekend("stop", input="\n").stdout == "Stopped #1 after 92h33m (92h33m in all)\n"


def test_starting_another_task_asks_about_the_one_it_stops(weekend, db_path):
    weekend("add", "b", "-e", "1h")
    fails(weekend("start", "2"), 2, usage(WEEKEND, "start"))
    result = weekend("start", "2", "--trim-to", "1h")
    assert result.stdout == "Stopped #1 (1h)\nStarted #2: b\n"


def test_add_start_asks_about_the_timer_it_stops(weekend, db_path):
    message = WEEKEND.replace(
        "give --keep to keep it, or --trim-to DURATION|TIME to trim it",
        "stop it first with 'calibrate stop --keep' or 'calibrate stop --trim-to DURATION|TIME'",
    )
    fails(weekend("add", "b", "-e", "1h", "--start"), 2, usage(message, "add"))
    assert at(db_path, "SELECT count(*) FROM tasks") == [(1,)]


@pytest.mark.parametrize(
    ("start", "stop", "asked"),
    [
        ("2026-11-30T23:00", "2026-12-01T03:00", True),  # through 02:00-05:00
        ("2026-12-01T04:30", "2026-12-01T06:00", True),
        ("2026-11-30T20:00", "2026-11-30T23:59", False),
        ("2026-12-01T05:00", "2026-12-01T13:00", False),
    ],
)
def test_a_sitting_through_the_night_is_asked_about(run, start, stop, asked):
    run("add", "a", "-e", "2h", "--at", "2026-11-30T09:00")
    run("start", "1", "--at", start)
    result = run("stop", "--at", stop)
    assert (result.exit_code == 2) is asked, result.output
    if asked:
        assert ", through the night (02:00-05:00): give --keep" in result.stderr


def test_the_night_is_local(run, monkeypatch):
    """23:00-03:00 in UTC is midnight-04:00 in Berlin: through its night too;
    18:00-21:00 UTC is evening in Berlin, 04:00-07:00 in Singapore."""
    run("add", "a", "-e", "2h", "--at", "2026-11-30T09:00")
    run("start", "1", "--at", "2026-11-30T18:00")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert run("stop", "--at", "2026-11-30T21:00Z").exit_code == 0
    run("undo")
    monkeypatch.setenv("TZ", "Asia/Singapore")
    assert run("stop", "--at", "2026-11-30T21:00Z").exit_code == 2


def test_a_merge_never_asks(weekend, db_path, tmp_path):
    assert weekend("stop", "--keep").exit_code == 0
    other = tmp_path / "other.db"
    result = CliRunner().invoke(cli, ["--db", str(other), "merge", str(db_path)])
    assert result.exit_code == 0, result.output
    assert sittings(other) == [("2026-11-27T17:02:00Z", "2026-12-01T13:35:00Z")]
