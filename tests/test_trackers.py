"""Where data already lives: real Timewarrior and Taskwarrior exports, and CSV as
spreadsheets write it (semicolons, decimal commas, tags cells).

The tracker tests run Debian's ``timew`` and ``task`` in a temporary HOME (``.ci/run``
installs them) and skip where they are not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess

import pytest

TIMEW = shutil.which("timew")
TASK = shutil.which("task")


def tasks(db_path) -> dict[str, dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return {row["title"]: dict(row) for row in conn.execute("SELECT * FROM tasks")}
    finally:
        conn.close()


def intervals(db_path) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT task_id, started_at, stopped_at FROM intervals ORDER BY started_at"
        ).fetchall()
    finally:
        conn.close()


def tool_env(home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASK", "TIMEWARRIOR"))}
    env.update(
        HOME=str(home),
        TZ="UTC",
        TASKRC=str(home / ".taskrc"),
        TASKDATA=str(home / ".task"),
        TIMEWARRIORDB=str(home / ".timewarrior"),
    )
    return env


def tool(env, *args: str) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


# --- Timewarrior ---------------------------------------------------------------------------


@pytest.mark.skipif(TIMEW is None, reason="Timewarrior (timew) is not installed")
def test_a_real_timew_export_becomes_timer_intervals(run, db_path, tmp_path):
    home = tmp_path / "home"
    (home / ".timewarrior" / "data").mkdir(parents=True)
    (home / ".timewarrior" / "timewarrior.cfg").write_text("")
    env = tool_env(home)
    run("add", "Fix login bug", "-e", "2h")
    jira = tmp_path / "jira.csv"
    jira.write_text("key,title,estimate\nWEB-7,Review the API,1h\n", encoding="utf-8")
    assert run("import", str(jira), "--source", "jira").exit_code == 0
    run("add", "Already finished", "-e", "1h", "--actual", "1h")
    for args in (
        ("2026-11-30T08:30:00Z", "-", "2026-11-30T10:00:00Z", "cal:1", "web"),
        ("2026-11-30T11:00:00Z", "-", "2026-11-30T11:45:00Z", "WEB-7"),
        ("2026-11-30T13:00:00Z", "-", "2026-11-30T13:30:00Z", "lunch"),
        ("2026-11-30T14:00:00Z", "-", "2026-11-30T14:20:00Z", "cal:3"),
        ("2026-11-30T15:00:00Z", "-", "2026-11-30T15:10:00Z", "cal:1", "WEB-7"),
    ):
        tool(env, TIMEW, "track", *args, ":yes")
    tool(env, TIMEW, "start", "2026-11-30T16:00:00Z", "cal:1", ":yes")
    export = tmp_path / "timew.json"
    export.write_text(tool(env, TIMEW, "export"), encoding="utf-8")

    result = run("import", str(export))
    assert (result.exit_code, result.stdout) == (
        0,
        "Imported timew.json (timewarrior): 2 intervals (2h15m) added to 2 tasks, 0 unchanged, "
        "4 skipped\n"
        "  skipped 1: no tag names a task here (tag it in Timewarrior with cal:ID or the "
        "task's key)\n"
        "  skipped 1: on a task already done or dropped (its actual stands)\n"
        "  skipped 1: its tags name more than one task\n"
        "  skipped 1: still being tracked (import again after 'timew stop')\n",
    )
    assert intervals(db_path) == [
        (1, "2026-11-30T08:30:00Z", "2026-11-30T10:00:00Z"),
        (2, "2026-11-30T11:00:00Z", "2026-11-30T11:45:00Z"),
    ]
    assert tasks(db_path)["Fix login bug"]["status"] == "started"
    again = run("import", str(export), "--json")
    assert json.loads(again.stdout)["added"] == 0
    assert json.loads(again.stdout)["unchanged"] == 2
    done = run("done", "1", "--at", "2026-11-30T17:00:00Z")
    assert done.stdout.startswith("Done #1: 1h30m (timer) against 2h estimated")


def test_a_timew_export_read_by_format_and_refused_when_broken(run, db_path, tmp_path):
    bad = tmp_path / "timew.json"
    bad.write_text('[\n{"id":1,"start":"20261130T083000Z","end":"2026-11-30","tags":[]}\n]\n')
    result = run("import", str(bad))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: line 2: end '2026-11-30' is not a Timewarrior time\n",
    )
    tracked = tmp_path / "tracked.txt"
    tracked.write_text(
        '[\n{"id":1,"start":"20261130T083000Z","end":"20261130T091500Z","tags":["cal:1"]}\n]\n'
    )
    run("add", "x", "-e", "1h")
    dry = run("import", str(tracked), "--format", "timewarrior", "--dry-run")
    assert (dry.exit_code, dry.stdout) == (
        0,
        "Would import tracked.txt (timewarrior): 1 interval (45m) added to 1 task, "
        "0 unchanged, 0 skipped\n",
    )
    assert intervals(db_path) == []


# --- Taskwarrior -------------------------------------------------------------------------------


@pytest.mark.skipif(TASK is None, reason="Taskwarrior (task) is not installed")
def test_a_real_task_export_takes_actuals_from_udas_and_annotations(run, db_path, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".taskrc").write_text(
        f"data.location={home / '.task'}\nuda.estimate.type=duration\n"
        "uda.actual.type=duration\nconfirmation=off\nverbose=nothing\n"
    )
    env = tool_env(home)
    tool(env, TASK, "add", "Fix login bug", "project:web", "+auth", "estimate:PT2H")
    tool(env, TASK, "add", "Write notes", "estimate:90min")
    tool(env, TASK, "add", "Forgot the time", "estimate:1h")
    tool(env, TASK, "add", "Still open", "estimate:3h")
    tool(env, TASK, "1", "modify", "actual:PT3H")
    tool(env, TASK, "2", "annotate", "spent 2h15m")
    for number in ("1", "2", "3"):
        tool(env, TASK, number, "done")
    export = tmp_path / "task.json"
    export.write_text(tool(env, TASK, "export"), encoding="utf-8")

    result = run("import", str(export))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Imported task.json (taskwarrior, source taskwarrior): 3 added, 0 updated, "
        "0 unchanged, 1 skipped"
    )
    assert (
        "  skipped 1: completed in Taskwarrior without an actual: give it one with 'task UUID "
        "modify actual:2h' (after 'task config uda.actual.type duration') or 'task UUID "
        "annotate spent 2h', then import again\n"
    ) in result.stdout
    found = tasks(db_path)
    fix = found["Fix login bug"]
    assert (fix["estimate_h"], fix["actual_h"], fix["status"], fix["project"]) == (
        2.0,
        3.0,
        "done",
        "web",
    )
    assert json.loads(fix["tags"]) == ["auth"]
    assert (found["Write notes"]["estimate_h"], found["Write notes"]["actual_h"]) == (1.5, 2.25)
    assert found["Still open"]["status"] == "open"
    assert "Forgot the time" not in found


# --- CSV as spreadsheets write it ----------------------------------------------------------


def test_a_semicolon_file_with_decimal_commas_and_tag_cells(run, db_path, tmp_path):
    source = tmp_path / "excel.csv"
    source.write_text(
        "Key;Title;Estimate;Actual;Tags\nA-1;Login form;1,5;2,25;ui;auth\n".replace(
            "ui;auth", '"ui;auth"'
        )
        + 'A-2;Session store;"1.234,5";;"ui, auth"\n'
        + "A-3;Clock times;1:30;PT2H;\n",
        encoding="utf-8",
    )
    result = run("import", str(source))
    assert result.exit_code == 0, result.output
    found = tasks(db_path)
    login = found["Login form"]
    assert (login["estimate_h"], login["actual_h"]) == (1.5, 2.25)
    assert json.loads(login["tags"]) == ["ui", "auth"]
    assert found["Session store"]["estimate_h"] == 1234.5
    assert json.loads(found["Session store"]["tags"]) == ["ui", "auth"]
    assert (found["Clock times"]["estimate_h"], found["Clock times"]["actual_h"]) == (1.5, 2.0)


def test_delimiter_option_and_the_advice_when_the_header_is_one_column(run, db_path, tmp_path):
    source = tmp_path / "pipes.csv"
    source.write_text("title;estimate\nfirst;2\n", encoding="utf-8")
    wrong = run("import", str(source), "--delimiter", ",")
    assert (wrong.exit_code, wrong.stderr) == (
        1,
        "Error: pipes.csv: its header reads as one column (title;estimate); if it is "
        "separated by ';', give --delimiter ';'\n",
    )
    assert run("import", str(source), "--delimiter", "semicolon").exit_code == 0
    assert tasks(db_path)["first"]["estimate_h"] == 2.0
    bad = run("import", str(source), "--delimiter", "ab")
    assert (bad.exit_code, bad.stderr) == (
        2,
        "Error: Invalid value for '--delimiter': --delimiter 'ab': give one character such "
        "as ';' or ',', or tab (see 'calibrate import --help')\n",
    )


def test_comma_files_keep_reading_commas_and_refuse_an_ambiguous_thousand(run, tmp_path):
    source = tmp_path / "plain.csv"
    source.write_text('title,estimate\nfirst,"1,5"\nsecond,"1,500"\n', encoding="utf-8")
    result = run("import", str(source))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: line 3: estimate column 'estimate': not a duration: '1,500' (a comma is a "
        "decimal point here: write 1.500 or 1500) (nothing was imported; --skip-bad imports "
        "the other rows)\n",
    )


@pytest.mark.parametrize(("text", "hours"), [("1:30", 1.5), ("PT2H", 2.0), ("1,5h", 1.5)])
def test_every_duration_option_reads_clock_and_iso_durations(run, db_path, text, hours):
    run("add", "x", "-e", text, "--promise", text)
    run("reestimate", "1", text)
    assert run("done", "1", "--actual", text).exit_code == 0
    task = tasks(db_path)["x"]
    assert (task["estimate_h"], task["promise_h"], task["actual_h"]) == (hours, hours, hours)
    assert run("suggest", text).exit_code == 0
