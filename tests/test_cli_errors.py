"""The README's table of error kinds, row by row: the exact line on stderr and
the exit code (a value or usage problem exits 2, a data, state or database
problem exits 1), and nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calibrate.errors import (
    CalibrateError,
    DatabaseError,
    InputError,
    NotFound,
    StateError,
    UsageError,
)

README = Path(__file__).resolve().parents[1] / "README.md"


def usage(message: str, command: str) -> str:
    return f"{message} (see 'calibrate {command} --help')"


@pytest.fixture
def history(run, tmp_path):
    """Task 1 done, task 2 open; a bad CSV beside the database."""
    assert run("add", "done one", "-e", "1h", "--actual", "1h").exit_code == 0
    assert run("add", "open one", "-e", "2h").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("key,title,estimate\nk1,a,1h\nk2,b,zz\n", encoding="utf-8")
    return tmp_path


#: One entry a row of the README's table: (its words, exit code, arguments, the line).
ROWS = [
    (
        "a malformed value",
        2,
        ["add", "x", "-e", "abc"],
        usage(
            "Invalid value for '-e' / '--estimate': not a duration: 'abc' (use e.g. 90m, "
            "1.5h, 1h30m, 1:30, PT2H, 2d or 1w)",
            "add",
        ),
    ),
    (
        "an out-of-range value, or one no task may hold",
        2,
        ["add", "x", "-e", "8h", "--range", "1h..4h"],
        usage("the estimate 8h is outside its range 1h..4h", "add"),
    ),
    (
        "an id or number beyond 64 bits",
        2,
        ["show", "9223372036854775808"],
        usage(
            "Invalid value for 'ID': 9223372036854775808 is beyond 64 bits: at most "
            "9223372036854775807",
            "show",
        ),
    ),
    (
        "a moment more than 5 minutes ahead or before the task's timer ran; in a pipe, a timer "
        "that ran over 12 hours or through the night, without `--keep` or `--trim-to`",
        2,
        ["done", "2", "--at", "tomorrow"],
        usage("Invalid value for '--at': 'tomorrow' is in the future", "done"),
    ),
    (
        "conflicting options",
        2,
        ["add", "x", "-e", "1h", "--actual", "1h", "--start"],
        usage("a task is either started (--start) or done (--actual), not both", "add"),
    ),
    (
        "a missing or unknown option, argument, command or name",
        2,
        ["config", "nope"],
        usage(
            "unknown setting 'nope'; known settings: day-hours, focus-hours, work-days, "
            "holidays, promise-rate-min, promise-rate-max, keep-rate-min, keep-rate-flag, "
            "exceed-rate-min",
            "config",
        ),
    ),
    ("an unknown id, person, team or alias", 1, ["show", "42"], "no task #42"),
    (
        "a task in the wrong state, or too little data",
        1,
        ["done", "1", "--actual", "2h"],
        "task #1 is already done; cannot finish it",
    ),
    (
        "a bad row in an imported file",
        1,
        ["import", "{dir}/bad.csv"],
        "line 3: estimate column 'estimate': not a duration: 'zz' (use e.g. 90m, 1.5h, 1h30m, "
        "1:30, PT2H, 2d or 1w) (nothing was imported; --skip-bad imports the other rows)",
    ),
    (
        "a file that is missing, a folder, or cannot be read or written",
        1,
        ["import", "{dir}/nosuch.csv"],
        "no such file: {dir}/nosuch.csv",
    ),
]


def table_rows() -> list[tuple[str, int]]:
    """(kind, exit code) of each row of the README's table of error kinds."""
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- error kinds -->")[1]
    return [
        (kind, int(code))
        for kind, code in re.findall(r"^\| ([^|]+?) \| (\d+) \|", table, flags=re.MULTILINE)
    ]


def test_the_readme_table_is_the_one_tested():
    tested = [(kind, code) for kind, code, *_ in ROWS]
    special = [
        ("a locked, read-only, damaged, truncated or newer database; a full disk", 1),
        ("answering no to a confirmation", 1),
        ("an interruption (Ctrl-C)", 130),
    ]
    assert table_rows() == tested + special


@pytest.mark.parametrize(("kind", "code", "args", "message"), ROWS, ids=[r[0] for r in ROWS])
def test_each_kind_of_error(run, db_path, history, kind, code, args, message):
    before = db_path.read_bytes()
    result = run(*[a.format(dir=history) for a in args])
    assert result.exit_code == code
    assert result.stderr == f"Error: {message.format(dir=history)}\n"
    assert result.stdout == ""
    assert db_path.read_bytes() == before  # nothing written


def test_a_damaged_database(run, db_path):
    db_path.write_bytes(b"not a database, just text " * 10)
    result = run("list")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {db_path} is not a calibrate database (not an SQLite file)\n"


def test_answering_no(run, db_path, history):
    result = run("rm", "2", input="n\n")
    assert result.exit_code == 1
    assert result.stderr == "Delete #2 'open one'? [y/N]: n\nError: aborted\n"
    assert run("show", "2").exit_code == 0


def test_an_interruption(run, db_path, monkeypatch):
    from calibrate.store import tasks

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tasks, "add_task", interrupted)
    result = run("add", "x", "-e", "1h")
    assert (result.exit_code, result.stderr) == (130, "Error: interrupted\n")


# --- the rule applied everywhere -------------------------------------------------------


CONFLICTS = [
    (["list", "--json", "--csv"], "--json and --csv exclude each other", "list"),
    (["config", "--json", "--csv"], "--json and --csv exclude each other", "config"),
    (["people", "--json", "--csv"], "--json and --csv exclude each other", "people"),
    (
        ["list", "--person", "a", "--team", "b"],
        "give one scope: --person, --team or --everyone",
        "list",
    ),
    (
        ["export", "--person", "a", "--everyone"],
        "give one scope: --person, --team or --everyone",
        "export",
    ),
    (
        ["score", "--team", "a", "--everyone"],
        "give one scope: --person, --team or --everyone",
        "score",
    ),
    (
        ["report", "--person", "a", "--everyone"],
        "give one scope: --person, --team or --everyone",
        "report",
    ),
    (
        ["forecast", "--person", "a", "--team", "b"],
        "give one scope: --person, --team or --everyone",
        "forecast",
    ),
    (["rank", "--team", "a", "--teams"], "give one of --team, --teams or --everyone", "rank"),
    (["people", "--opt-out", "--opt-in"], "--opt-out and --opt-in exclude each other", "people"),
    (["forecast", "--backtest", "2"], "--backtest replays history: give no task ids", "forecast"),
    (["rm", "2", "--person", "a"], "give IDs or --person, not both", "rm"),
    (
        ["export", "--summary", "--format", "csv"],
        "--summary is written as JSON: leave out --format",
        "export",
    ),
]


@pytest.mark.parametrize(("args", "message", "command"), CONFLICTS)
def test_conflicting_options_exit_2(run, db_path, history, args, message, command):
    before = db_path.read_bytes()
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, f"Error: {usage(message, command)}\n")
    assert db_path.read_bytes() == before


TYPED_VALUES = [
    (
        ["list", "--since", "bogus"],
        "list",
        "Invalid value for '--since': not a window start: "
        "'bogus' (use 26w, 14d, a date such as 2026-01-01, or all)",
    ),
    (
        ["score", "--since", "99999w"],
        "score",
        "Invalid value for '--since': window '99999w' starts before 1900: use fewer weeks, or all",
    ),
    (
        ["edit", "2", "--range", "bogus"],
        "edit",
        "Invalid value for '--range': not a range: 'bogus' (use LOW..HIGH, e.g. 2h..6h)",
    ),
    (
        ["edit", "2", "--due", "bogus"],
        "edit",
        "Invalid value for '--due': not a date: 'bogus' "
        "(use an ISO date (2026-12-04), today, tomorrow, a weekday name or +3d)",
    ),
    (
        ["reestimate", "2", "abc"],
        "reestimate",
        "Invalid value for 'DURATION': not a duration: 'abc' (use e.g. 90m, 1.5h, 1h30m, 1:30, "
        "PT2H, 2d or 1w)",
    ),
    (
        ["suggest", "0"],
        "suggest",
        "Invalid value for 'DURATION': zero duration '0': effort must be more than zero",
    ),
    (
        ["start", "2", "--at", "25:00"],
        "start",
        "Invalid value for '--at': not a time of day: '25:00'",
    ),
    (
        ["forecast", "--blocks", "x"],
        "forecast",
        "Invalid value for '--blocks': 'x' is not a positive number or 'all'",
    ),
    (
        ["forecast", str(2**63)],
        "forecast",
        f"Invalid value for '[ID]...': {2**63} is beyond 64 bits: at most {2**63 - 1}",
    ),
    (["config", "day-hours", "abc"], "config", "'abc' is not a number"),
    (
        ["config", "work-days", "xyz"],
        "config",
        "'xyz': use weekday names such as mon-fri or mon,tue,thu",
    ),
    (
        ["import", "x.csv", "--format", "excel"],
        "import",
        "Invalid value for '--format': cannot "
        "import format 'excel': use csv, tsv, jira, taskwarrior, timewarrior, jsonl, json, summary",
    ),
    (
        ["import", "x.csv", "--map", "bogus"],
        "import",
        "Invalid value for '--map': --map 'bogus': use FIELD=COLUMN, e.g. estimate=HoursEstimate",
    ),
    (
        ["export", "--format", "xml"],
        "export",
        "Invalid value for '--format': 'xml' is not one of 'csv', 'jsonl', 'json'.",
    ),
]


@pytest.mark.parametrize(("args", "command", "message"), TYPED_VALUES)
def test_typed_values_exit_2(run, db_path, history, args, command, message):
    before = db_path.read_bytes()
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, f"Error: {usage(message, command)}\n")
    assert db_path.read_bytes() == before


FILES = [
    (["import", "{dir}"], "{dir} is a directory, not a file"),
    (["import", "x.csv", "--join", "{dir}/nosuch.csv"], "no such file: {dir}/nosuch.csv"),
    (["merge", "{dir}/nosuch.db"], "no such file: {dir}/nosuch.db"),
    (["merge", "{dir}"], "{dir} is a directory, not a database file"),
    (["export", "-o", "{dir}"], "{dir} is a directory: name a file to write"),
    (
        ["export", "-o", "{dir}/nodir/x.csv"],
        "cannot write {dir}/nodir/x.csv: no folder {dir}/nodir",
    ),
]


@pytest.mark.parametrize(("args", "message"), FILES)
def test_file_problems_exit_1(run, db_path, history, args, message, monkeypatch):
    monkeypatch.chdir(history)
    (history / "x.csv").write_text("key,estimate\nk,1h\n", encoding="utf-8")
    result = run(*[a.format(dir=history) for a in args])
    assert (result.exit_code, result.stderr) == (1, f"Error: {message.format(dir=history)}\n")


def test_the_error_classes_say_their_kind():
    assert UsageError("x").exit_code == 2
    for kind in (InputError, NotFound, StateError, DatabaseError):
        assert kind("x").exit_code == 1
        assert not issubclass(kind, UsageError) and issubclass(kind, CalibrateError)
