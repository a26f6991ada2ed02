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


def error_line(result):
    """The single line a failing command writes to stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


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
        "add", "Migrate", "-e", "1d", "--range", "4h..2d", "--confidence", "80",
        "--promise", "3d", "--due", "2026-12-04",
    )  # fmt: skip
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "abc"], "not a duration"),
        (["-e", "0"], "zero duration"),
        (["-e", "-2h"], "negative duration"),
        (["-e", "2h", "--range", "6h..2h"], "low must be below its high"),
        (["-e", "8h", "--range", "1h..4h"], "outside its range"),
        (["-e", "2h", "--range", "1h..4h", "--confidence", "100"], "between 0 and 100"),
        (["-e", "2h", "--range", "1h..4h", "--confidence", "0"], "between 0 and 100"),
        (["-e", "2h", "--confidence", "80"], "needs a range"),
        (["-e", "2h", "--due", "someday"], "not a date"),
        (["-e", "2h", "--promise", "0h"], "zero duration"),
        (["-e", "2h", "--actual", "1h", "--start"], "not both"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(run, db_path, args, message):
    result = run("add", "t", *args)
    assert result.exit_code != 0
    assert message in error_line(result)
    assert not db_path.exists()  # not even an empty database was created


def test_bad_input_on_an_existing_database_changes_nothing(run, db_path):
    run("add", "keep", "-e", "1h")
    before = rows(db_path)
    result = run("add", "t", "-e", "2h", "--range", "3h..9h")
    assert result.exit_code == 1 or result.exit_code == 2
    assert rows(db_path) == before


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


def test_stop_before_start_is_refused(run):
    run("add", "a", "-e", "1h")
    run("start", "1", "--at", "2026-11-30T09:00:00Z")
    result = run("stop", "1", "--at", "2026-11-30T08:00:00Z")
    assert result.exit_code == 1
    assert "before" in error_line(result)


def test_stop_with_nothing_running(run):
    result = run("stop")
    assert result.exit_code == 1
    assert "no timer is running" in error_line(result)


def test_done_needs_an_actual_or_a_timer(run, db_path):
    run("add", "a", "-e", "1h")
    result = run("done", "1")
    assert result.exit_code == 1
    assert "--actual" in error_line(result)
    assert rows(db_path)[0]["status"] == "open"


def test_done_on_done_or_dropped_tasks(run):
    run("add", "a", "-e", "1h")
    run("add", "b", "-e", "1h")
    run("done", "1", "--actual", "1h")
    run("drop", "2")
    assert "already done" in error_line(run("done", "1", "--actual", "2h"))
    assert "was dropped" in error_line(run("done", "2", "--actual", "2h"))


@pytest.mark.parametrize("command", ["show", "start", "done", "drop", "rm"])
def test_unknown_task_id(run, command):
    run("add", "a", "-e", "1h")
    result = run(command, "42", *(["--actual", "1h"] if command == "done" else []))
    assert result.exit_code == 1
    assert error_line(result) == "Error: no task #42"


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
    assert "outside its range" in error_line(result)
    assert rows(db_path)[0]["estimate_h"] == 2.0
    assert run("edit", "1", "--range", "none").exit_code == 0
    assert rows(db_path)[0]["low_h"] is None


def test_rm_asks_first(run, db_path):
    run("add", "a", "-e", "1h")
    result = run("rm", "1", input="n\n")
    assert result.exit_code == 1
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
    assert "unknown setting" in error_line(run("config", "nope"))
    assert "must be in" in error_line(run("config", "day-hours", "0"))
    assert "above promise-rate-max" in error_line(run("config", "promise-rate-min", "0.9"))


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_db_that_is_a_directory(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--db", str(tmp_path), "list"])
    assert result.exit_code == 1
    assert "is a directory" in error_line(result)


def test_db_of_random_bytes_is_left_untouched(run, db_path):
    db_path.write_bytes(os.urandom(10_000))
    before = digest(db_path)
    result = run("add", "x", "-e", "1h")
    assert result.exit_code == 1
    assert "not a calibrate database" in error_line(result)
    assert digest(db_path) == before


def test_db_from_a_newer_version_is_left_untouched(run, db_path):
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE tasks (id INTEGER)")
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    before = digest(db_path)
    result = run("list")
    assert result.exit_code == 1
    assert "newer calibrate" in error_line(result)
    assert digest(db_path) == before


def test_unreadable_db(run, db_path, monkeypatch):
    run("add", "x", "-e", "1h")
    before = digest(db_path)
    monkeypatch.setattr(store, "open", lambda *a, **k: (_ for _ in ()).throw(PermissionError()),
                        raising=False)  # fmt: skip
    result = run("list")
    assert result.exit_code == 1
    assert "cannot be read" in error_line(result)
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
    assert result.exit_code == 1
    line = error_line(result)
    assert "truncated" in line or "damaged" in line
    assert digest(db_path) == before


def test_version_and_help():
    from click.testing import CliRunner

    from calibrate import __version__

    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).stdout == f"calibrate, version {__version__}\n"
    assert "Usage:" in runner.invoke(cli, ["-h"]).stdout


def test_every_command_has_help():
    from click.testing import CliRunner

    runner = CliRunner()
    ctx = click.Context(cli, info_name="calibrate")
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command.help, f"{name} has no help text"
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage: cli" in result.stdout or "Usage: calibrate" in result.stdout


def test_usage_errors_are_one_line_with_exit_2(run):
    result = run("add", "t")
    assert result.exit_code == 2
    assert "Missing option" in error_line(result)
    result = run("nosuchcommand")
    assert result.exit_code == 2
    error_line(result)


def test_no_color_and_no_colour_off_a_terminal(run, monkeypatch):
    run("add", "a", "-e", "1h")
    assert "\x1b[" not in run("show", "1").stdout  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run("show", "1").stdout


def test_person_default_falls_back_to_git_then_login(monkeypatch):
    from calibrate import cli as cli_module

    monkeypatch.setenv("CALIBRATE_PERSON", "  ")
    assert cli_module.default_person()  # git's user.name or the login name
    monkeypatch.setenv("CALIBRATE_PERSON", "zoe")
    assert cli_module.default_person() == "zoe"


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "calibrate", "--db", str(tmp_path / "m.db"), "add", "x", "-e", "1h"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
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
