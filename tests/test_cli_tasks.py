import hashlib
import json
import os
import sqlite3

import click
import pytest

from calibrate import store
from calibrate.cli import cli


def rows(db_path, sql="SELECT * FROM tasks ORDER BY id"):
    conn = store.connect(db_path)
    result = [dict(r) for r in conn.execute(sql)]
    conn.close()
    return result


def fails(result, code: int, message: str) -> None:
    """The command failed with this exit code and this one line on stderr."""
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n"), result.output


def usage(message: str, command: str) -> str:
    """A value or usage problem's line: it points at the command's --help."""
    return f"{message} (see 'calibrate {command} --help')"


def test_add_prints_the_id_and_title(run, db_path):
    result = run("add", "Fix login bug", "-e", "2h", "-t", "bug", "--project", "web")
    assert result.exit_code == 0
    assert result.stdout == "Added #1: Fix login bug\n"
    (task,) = rows(db_path)
    assert task["estimate_h"] == 2.0
    assert task["person"] == "alice"
    assert task["status"] == "open"
    assert json.loads(task["tags"]) == ["bug"]
    assert task["project"] == "web"
    assert task["uid"] and task["source"] == "cli"


def test_add_quiet_prints_the_id_alone(run):
    run("add", "one", "-e", "1h")
    result = run("add", "two", "-e", "1h", "-q")
    assert result.stdout == "2\n"


def test_add_with_range_promise_and_due(run, db_path):
    result = run(
        *["add", "Migrate", "-e", "1d", "--range", "4h..2d", "--confidence", "80"],
        *["--promise", "3d", "--due", "2026-12-04"],
    )
    assert result.exit_code == 0, result.output
    (task,) = rows(db_path)
    assert (task["low_h"], task["estimate_h"], task["high_h"]) == (4.0, 8.0, 16.0)
    assert task["confidence"] == 80.0
    assert task["promise_h"] == 24.0
    assert task["due"] == "2026-12-04"


def test_range_defaults_to_90_percent(run, db_path):
    run("add", "x", "-e", "2h", "--range", "1h..3h")
    assert rows(db_path)[0]["confidence"] == 90.0


def test_day_length_follows_the_setting(run, db_path):
    run("config", "day-hours", "6")
    run("add", "x", "-e", "2d")
    assert rows(db_path)[0]["estimate_h"] == 12.0


def test_add_done_and_started(run, db_path):
    run("add", "already done", "-e", "1h", "--actual", "90m")
    run("add", "in progress", "-e", "1h", "--start")
    done, started = rows(db_path)
    assert done["status"] == "done" and done["actual_h"] == 1.5 and done["done_at"]
    assert started["status"] == "started" and started["started_at"]


DURATION_HINT = "(use e.g. 90m, 1.5h, 1h30m, 1:30, PT2H, 2d or 1w)"
DATE_HINT = "(use an ISO date (2026-12-04), today, tomorrow, a weekday name or +3d)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-e", "abc"],
            f"Invalid value for '-e' / '--estimate': not a duration: 'abc' {DURATION_HINT}",
        ),
        (
            ["-e", "0"],
            "Invalid value for '-e' / '--estimate': zero duration '0': effort must "
            "be more than zero",
        ),
        (
            ["-e", "-2h"],
            "Invalid value for '-e' / '--estimate': negative duration '-2h': "
            "effort must be more than zero",
        ),
        (
            ["-e", "2h", "--range", "6h..2h"],
            "Invalid value for '--range': range '6h..2h': its low must be below its high",
        ),
        (["-e", "8h", "--range", "1h..4h"], "the estimate 8h is outside its range 1h..4h"),
        (
            ["-e", "2h", "--range", "1h..4h", "--confidence", "100"],
            "Invalid value for '--confidence': confidence '100' must be between 0 and 100, "
            "exclusive",
        ),
        (
            ["-e", "2h", "--range", "1h..4h", "--confidence", "0"],
            "Invalid value for '--confidence': confidence '0' must be between 0 and 100, exclusive",
        ),
        (["-e", "2h", "--confidence", "80"], "a confidence needs a range (--range LOW..HIGH)"),
        (
            ["-e", "2h", "--due", "someday"],
            f"Invalid value for '--due': not a date: 'someday' {DATE_HINT}",
        ),
        (
            ["-e", "2h", "--promise", "0h"],
            "Invalid value for '--promise': zero duration '0h': effort must be more than zero",
        ),
        (
            ["-e", "2h", "--actual", "1h", "--start"],
            "a task is either started (--start) or done (--actual), not both",
        ),
        (
            ["-e", "2h", "--at", "x"],
            f"Invalid value for '--at': not a date: 'x' {DATE_HINT}",
        ),
        (["-e", "2h", "--at", "tomorrow"], "Invalid value for '--at': 'tomorrow' is in the future"),
        (
            ["-e", "2h", "--att", "x"],
            "No such option '--att'. (Did you mean one of: '--actual', '--at', '--start'?)",
        ),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(run, db_path, args, message):
    fails(run("add", "t", *args), 2, usage(message, "add"))
    assert not db_path.exists()  # not even an empty database was created


def test_bad_input_on_an_existing_database_changes_nothing(run, db_path):
    run("add", "keep", "-e", "1h")
    before = rows(db_path)
    result = run("add", "t", "-e", "2h", "--range", "3h..9h")
    fails(result, 2, usage("the estimate 2h is outside its range 3h..9h", "add"))
    assert rows(db_path) == before


def test_an_empty_title_or_person_is_a_usage_problem(run, db_path):
    fails(run("add", " ", "-e", "1h"), 2, usage("a task needs a title", "add"))
    fails(run("add", "t", "-e", "1h", "--person", " "), 2, usage("a task needs a person", "add"))
    assert not db_path.exists()


def test_days_read_the_day_hours_setting_only_when_typed(run, db_path, monkeypatch):
    from calibrate.cli.options import App

    run("config", "day-hours", "6")
    asked = []
    monkeypatch.setattr(App, "day_hours", lambda self: asked.append(1) or 6.0)
    assert run("add", "hours", "-e", "90m", "--range", "1h..2h", "--promise", "3h").exit_code == 0
    assert asked == []  # no query for text without d or w
    assert run("add", "days", "-e", "1d", "--range", "4h..2d").exit_code == 0
    assert len(asked) == 2
    assert [(t["estimate_h"], t["high_h"]) for t in rows(db_path)] == [(1.5, 2.0), (6.0, 12.0)]


@pytest.mark.parametrize("command", [["start", "1"], ["stop"], ["done", "1", "--actual", "1h"]])
def test_a_moment_in_the_future_is_refused(run, db_path, command):
    run("add", "a", "-e", "1h")
    result = run(*command, "--at", "tomorrow")
    fails(result, 2, usage("Invalid value for '--at': 'tomorrow' is in the future", command[0]))
    assert rows(db_path)[0]["status"] == "open"


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["show", str(2**63)], "'ID'"),
        (["rm", "1", str(2**63)], "'ID...'"),
        (["list", "--limit", str(2**63)], "'--limit'"),
    ],
)
def test_numbers_beyond_64_bits_are_usage_problems(run, args, where):
    message = f"Invalid value for {where}: {2**63} is beyond 64 bits: at most {2**63 - 1}"
    fails(run(*args), 2, usage(message, args[0]))


def test_the_largest_id_is_simply_not_found(run):
    run("add", "a", "-e", "1h")
    fails(run("show", str(2**63 - 1)), 1, f"no task #{2**63 - 1}")


def test_timer_gives_the_actual(run, db_path):
    run("add", "timed", "-e", "1h")
    assert run("start", "1", "--at", "2026-11-30T09:00:00Z").exit_code == 0
    result = run("stop", "--at", "2026-11-30T10:30:00Z")
    assert result.exit_code == 0, result.output
    assert "1h30m" in result.stdout
    run("start", "1", "--at", "2026-11-30T11:00:00Z")
    result = run("done", "1", "--at", "2026-11-30T11:15:00Z")
    assert result.exit_code == 0, result.output
    assert "1h45m (timer)" in result.stdout
    (task,) = rows(db_path)
    assert task["actual_h"] == pytest.approx(1.75)
    assert task["done_at"] == "2026-11-30T11:15:00Z"


def test_starting_a_task_stops_your_other_timer(run, db_path):
    run("add", "a", "-e", "1h")
    run("add", "b", "-e", "1h")
    run("start", "1", "--at", "2026-11-30T09:00:00Z")
    result = run("start", "2", "--at", "2026-11-30T09:30:00Z")
    assert "Stopped #1 (30m)" in result.stdout
    running = rows(db_path, "SELECT task_id FROM intervals WHERE stopped_at IS NULL")
    assert running == [{"task_id": 2}]


def test_stop_before_start_is_refused(run, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # times are said in local time
    run("add", "a", "-e", "1h")
    run("start", "1", "--at", "2026-11-30T09:00:00Z")
    result = run("stop", "1", "--at", "2026-11-30T08:00:00Z")
    message = "the stop time 2026-11-30 08:00 is before task #1's timer started (2026-11-30 09:00)"
    fails(result, 2, usage(message, "stop"))


def test_stop_with_nothing_running(run):
    fails(run("stop"), 1, "no timer is running for alice")
    run("add", "a", "-e", "1h")
    fails(run("stop", "1"), 1, "task #1's timer is not running")


def test_done_needs_an_actual_or_a_timer(run, db_path):
    run("add", "a", "-e", "1h")
    result = run("done", "1")
    fails(result, 1, "task #1 has no time on its timer: give the effort with --actual")
    assert rows(db_path)[0]["status"] == "open"


def test_done_on_done_or_dropped_tasks(run):
    run("add", "a", "-e", "1h")
    run("add", "b", "-e", "1h")
    run("done", "1", "--actual", "1h")
    run("drop", "2")
    fails(run("done", "1", "--actual", "2h"), 1, "task #1 is already done; cannot finish it")
    fails(run("done", "2", "--actual", "2h"), 1, "task #2 was dropped; cannot finish it")
    fails(run("reestimate", "1", "3h"), 1, "task #1 is already done; cannot re-estimate it")
    fails(
        run("edit", "2", "--actual", "1h"),
        1,
        "task #2 is not done: finish it with 'calibrate done'",
    )


@pytest.mark.parametrize("command", ["show", "start", "done", "drop", "rm", "reestimate", "edit"])
def test_unknown_task_id(run, command):
    run("add", "a", "-e", "1h")
    extra = {"done": ["--actual", "1h"], "reestimate": ["2h"], "edit": ["--title", "b"]}
    fails(run(command, "42", *extra.get(command, [])), 1, "no task #42")


def test_an_id_must_be_a_positive_whole_number(run):
    fails(run("show", "0"), 2, usage("Invalid value for 'ID': 0 is not in the range x>=1.", "show"))
    fails(
        run("drop", "x"),
        2,
        usage(
            "Invalid value for 'ID': 'x' is not a task id (a number such as 12: 'calibrate "
            "list' shows them)",
            "drop",
        ),
    )


def test_reestimate_keeps_the_original(run, db_path):
    run("add", "a", "-e", "2h")
    result = run("reestimate", "1", "5h", "--reason", "scope grew")
    assert result.stdout == "Re-estimated #1: 2h -> 5h\n"
    assert rows(db_path)[0]["estimate_h"] == 2.0
    shown = json.loads(run("show", "1", "--json").stdout)
    assert shown["current_estimate_h"] == 5.0
    assert shown["reestimates"][0]["reason"] == "scope grew"


def test_edit_changes_and_checks_the_whole_task(run, db_path):
    run("add", "a", "-e", "2h", "-t", "x")
    assert run("edit", "1", "--title", "b", "--range", "1h..3h", "--add-tag", "y").exit_code == 0
    task = rows(db_path)[0]
    assert task["title"] == "b" and task["low_h"] == 1.0 and task["confidence"] == 90.0
    assert json.loads(task["tags"]) == ["x", "y"]
    result = run("edit", "1", "-e", "5h")
    fails(result, 2, usage("the estimate 5h is outside its range 1h..3h", "edit"))
    assert rows(db_path)[0]["estimate_h"] == 2.0
    assert run("edit", "1", "--range", "none").exit_code == 0
    assert rows(db_path)[0]["low_h"] is None
    fails(run("edit", "1", "--title", " "), 2, usage("a task needs a title", "edit"))
    fails(run("edit", "1"), 2, usage("nothing to change: give at least one option", "edit"))


def test_edit_none_clears_an_optional_field(run, db_path):
    run("add", "a", "-e", "2h", "--promise", "3h", "--due", "2030-01-02", "--project", "web")
    assert run("edit", "1", "--promise", "none", "--due", "-", "--project", "none").exit_code == 0
    task = rows(db_path)[0]
    assert (task["promise_h"], task["due"], task["project"]) == (None, None, None)
    assert run("edit", "1", "--promise", "4h", "--due", "2030-02-03").exit_code == 0
    task = rows(db_path)[0]
    assert (task["promise_h"], task["due"]) == (4.0, "2030-02-03")


def test_rm_asks_first(run, db_path):
    run("add", "a", "-e", "1h")
    result = run("rm", "1", input="n\n")
    assert (result.exit_code, result.stderr) == (1, "Delete #1 'a'? [y/N]: n\nError: aborted\n")
    assert len(rows(db_path)) == 1
    result = run("rm", "1", input="y\n")
    assert result.exit_code == 0 and rows(db_path) == []
    run("add", "b", "-e", "1h")
    assert run("rm", "2", "--yes").stdout == "Deleted 1 task\n"


def test_list_defaults_to_your_open_tasks(run):
    run("add", "mine open", "-e", "1h")
    run("add", "mine done", "-e", "1h", "--actual", "1h")
    run("add", "bob's", "-e", "1h", "--person", "bob", "--team", "red")
    out = run("list").stdout
    assert "mine open" in out and "mine done" not in out and "bob's" not in out
    out = run("list", "--everyone", "--status", "any").stdout
    assert all(t in out for t in ("mine open", "mine done", "bob's"))
    assert "bob's" in run("list", "--team", "red").stdout
    assert "mine done" in run("list", "--status", "done").stdout


def test_list_filters_and_formats(run):
    run("add", "a", "-e", "1h", "-t", "bug", "--project", "web")
    run("add", "b", "-e", "2h", "-t", "feature")
    data = json.loads(run("list", "--json", "-t", "bug").stdout)
    assert [t["title"] for t in data] == ["a"]
    assert data[0]["tags"] == ["bug"]
    data = json.loads(run("list", "--json", "--project", "web").stdout)
    assert [t["title"] for t in data] == ["a"]
    csv_out = run("list", "--csv").stdout.splitlines()
    assert csv_out[0].startswith("id,uid,title")
    assert len(csv_out) == 3
    assert json.loads(run("list", "--json", "--since", "all").stdout)[1]["title"] == "b"


def test_list_csv_neutralises_formulas(run):
    run("add", '=HYPERLINK("x")', "-e", "1h")
    assert "'=HYPERLINK" in run("list", "--csv").stdout


def test_list_text_fits_80_columns(run):
    run("add", "a very long title " * 10, "-e", "1h", "-t", "a-long-tag-name")
    for line in run("list").stdout.splitlines():
        assert len(line) <= 80


def test_list_on_a_missing_database_creates_nothing(run, db_path):
    result = run("list")
    assert result.exit_code == 0
    assert "No open tasks" in result.stderr
    assert not db_path.exists()


def test_config(run):
    assert run("config", "day-hours").stdout == "8\n"
    assert run("config", "work-days", "mon-thu").stdout == "work-days = mon,tue,wed,thu\n"
    assert run("config", "keep-rate-min", "90%").stdout == "keep-rate-min = 90%\n"
    data = {r["key"]: r["value"] for r in json.loads(run("config", "--json").stdout)}
    assert data["keep-rate-min"] == 0.9 and data["work-days"] == ["mon", "tue", "wed", "thu"]
    assert run("config", "--reset", "keep-rate-min").exit_code == 0
    assert run("config", "keep-rate-min").stdout == "85%\n"
    known = (
        "day-hours, focus-hours, work-days, holidays, promise-rate-min, promise-rate-max, "
        "keep-rate-min, keep-rate-flag, exceed-rate-min"
    )
    fails(
        run("config", "nope"),
        2,
        usage(f"unknown setting 'nope'; known settings: {known}", "config"),
    )
    fails(run("config", "day-hours", "0"), 2, usage("'0' must be in [1, 24]", "config"))
    fails(
        run("config", "promise-rate-min", "0.9"),
        2,
        usage("promise-rate-min must not be above promise-rate-max", "config"),
    )
    fails(run("config", "--reset"), 2, usage("--reset takes a KEY and no VALUE", "config"))


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_db_that_is_a_directory(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--db", str(tmp_path), "list"])
    fails(result, 1, f"{tmp_path} is a directory, not a database file")


def test_db_of_random_bytes_is_left_untouched(run, db_path):
    db_path.write_bytes(os.urandom(10_000))
    before = digest(db_path)
    result = run("add", "x", "-e", "1h")
    fails(result, 1, f"{db_path} is not a calibrate database (not an SQLite file)")
    assert digest(db_path) == before


def test_db_from_a_newer_version_is_left_untouched(run, db_path):
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE tasks (id INTEGER)")
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    before = digest(db_path)
    result = run("list")
    message = (
        f"{db_path} was written by a newer calibrate (schema version 99; this one reads up to "
        f"{store.SCHEMA_VERSION}): upgrade calibrate to use it. The file was not changed."
    )
    fails(result, 1, message)
    assert digest(db_path) == before


def test_unreadable_db(run, db_path, monkeypatch):
    run("add", "x", "-e", "1h")
    before = digest(db_path)
    monkeypatch.setattr(
        store, "open", lambda *a, **k: (_ for _ in ()).throw(PermissionError()), raising=False
    )
    result = run("list")
    fails(result, 1, f"{db_path} cannot be read: permission denied")
    monkeypatch.undo()
    assert digest(db_path) == before


def test_truncated_db_gets_one_clear_line(run, db_path):
    for i in range(200):
        run("add", f"task {i} " + "x" * 400, "-e", "1h")
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2])
    before = digest(db_path)
    result = run("list", "--status", "any")
    size = len(data) // 2
    expected = len(data)  # the header's page count times its page size: the whole file
    message = (
        f"{db_path} is damaged: truncated ({size:,} of its {expected:,} bytes); restore it "
        "from a backup. It was not changed"
    )
    fails(result, 1, message)
    assert digest(db_path) == before


def test_version_and_help():
    from click.testing import CliRunner

    from calibrate import __version__

    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).stdout == f"calibrate, version {__version__}\n"
    assert "Usage:" in runner.invoke(cli, ["-h"]).stdout


def test_every_command_has_help():
    """EXAMPLES.md habit 8: every command says what it does, in --help."""
    from click.testing import CliRunner

    runner = CliRunner()
    ctx = click.Context(cli, info_name="calibrate")
    names = cli.list_commands(ctx)
    assert len(names) == 25  # with status, reopen and undo
    for name in names:
        command = cli.get_command(ctx, name)
        assert command.help and command.help.strip(), f"{name} has no help text"
        result = runner.invoke(cli, [name, "--help"], prog_name="calibrate")
        assert result.exit_code == 0, name
        assert result.stdout.startswith(f"Usage: calibrate {name} "), name
        assert command.help.split("\n")[0].strip() in result.stdout, name
        assert command.get_short_help_str(), name


def test_usage_errors_are_one_line_with_exit_2(run):
    fails(run("add", "t"), 2, usage("Missing option '-e' / '--estimate'.", "add"))
    fails(run("nosuchcommand"), 2, "No such command 'nosuchcommand'. (see 'calibrate --help')")


def test_no_color_and_no_colour_off_a_terminal(run, monkeypatch):
    run("add", "a", "-e", "1h")
    assert "\x1b[" not in run("show", "1").stdout  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run("show", "1").stdout


def test_person_default_falls_back_to_git_then_login(monkeypatch):
    from calibrate.identity import default_person

    monkeypatch.setenv("CALIBRATE_PERSON", "  ")
    assert default_person()  # git's user.name or the login name
    monkeypatch.setenv("CALIBRATE_PERSON", "zoe")
    assert default_person() == "zoe"


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "calibrate", "--db", str(tmp_path / "m.db"), "add", "x", "-e", "1h"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Added #1: x\n"


def test_no_arguments_shows_help():
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage:")


def test_a_task_without_a_team_joins_the_persons_team(run, db_path):
    run("add", "first", "-e", "1h", "--team", "red")
    run("add", "second", "-e", "1h")
    assert [t["team"] for t in rows(db_path)] == ["red", "red"]
    run("add", "moved", "-e", "1h", "--team", "blue")
    run("add", "after the move", "-e", "1h")
    assert rows(db_path)[-1]["team"] == "blue"


def test_command_modules_import_the_options_not_the_group():
    """``calibrate.cli`` loads the command modules by name; they import from
    ``calibrate.cli.options``, never from ``calibrate.cli``: no cycle."""
    import ast
    from pathlib import Path

    import calibrate.cli

    folder = Path(calibrate.cli.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        assert "calibrate.cli" not in imported, path.name


def test_one_progress_bar_drawn_only_on_a_terminal(capsys, monkeypatch):
    from calibrate.cli.options import progress

    with progress("Working", 4) as update:
        update(2)
        update(3, total=6)
    assert capsys.readouterr().err == ""  # a pipe: quiet
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    with progress("Working", 4) as update:
        update(2)
    assert "Working" in capsys.readouterr().err
    with progress("Quiet", 4, show=False) as update:
        update(2)
    assert capsys.readouterr().err == ""
