"""The conventions of a command-line tool: closed pipes, colour, completion, widths,
durations and windows as people read them, plurals, messages that help, and CSV for
every table.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from calibrate import __version__
from calibrate.cli import cli
from calibrate.cli.options import highlight
from calibrate.text import display_width

NOW = "2026-12-01T15:00:00Z"  # a Tuesday


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setenv("CALIBRATE_NOW", NOW)
    monkeypatch.setenv("TZ", "UTC")


def coloured(db_path, *args: str, env: dict | None = None):
    """The command as a terminal shows it (colour on)."""
    runner = CliRunner()
    return runner.invoke(cli, ["--db", str(db_path), *args], color=True, env=env)


# --- a closed pipe is not an error -------------------------------------------------------


def closed_pipe(db_path, *args: str) -> tuple[int, str]:
    """Run calibrate with stdout a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "calibrate", "--db", str(db_path), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    "args",
    [["export"], ["list"], ["show", "1"], ["config"], ["--help"], ["--version"], ["add", "--help"]],
)
def test_a_closed_pipe_ends_quietly_with_exit_0(run, db_path, args):
    run("add", "a task", "-e", "1h")
    assert closed_pipe(db_path, *args) == (0, "")


def test_export_into_head_ends_quietly_with_exit_0(run, db_path, tmp_path):
    rows = "".join(f"t{n},task number {n},2h\n" for n in range(5000))
    (tmp_path / "many.csv").write_text("key,title,estimate\n" + rows, encoding="utf-8")
    assert run("import", str(tmp_path / "many.csv")).exit_code == 0
    export = subprocess.Popen(
        [sys.executable, "-m", "calibrate", "--db", str(db_path), "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None and export.stderr is not None
    first = export.stdout.readline()  # what `head -1` reads, then it goes away
    export.stdout.close()
    code = export.wait(timeout=60)
    assert first.startswith(b"uid,title,")
    assert (code, export.stderr.read()) == (0, b"")


def test_an_error_still_fails_when_stdout_is_closed(run, db_path):
    run("add", "a task", "-e", "1h")
    assert closed_pipe(db_path, "show", "7") == (1, "Error: no task #7\n")


# --- settings read as they print ----------------------------------------------------------


@pytest.mark.parametrize("typed", ["90", "90%", "0.9"])
def test_shares_are_read_as_they_are_printed(run, typed):
    result = run("config", "keep-rate-min", typed)
    assert (result.exit_code, result.stdout) == (0, "keep-rate-min = 90%\n")
    assert run("config", "keep-rate-min").stdout == "90%\n"


def test_a_share_beyond_100_percent_is_refused(run):
    result = run("config", "keep-rate-min", "150")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: '150' must be between 0% and 100% (see 'calibrate config --help')\n",
    )


# --- colour: on a terminal, never in a pipe, never under NO_COLOR -------------------------


def test_overdue_dates_are_red_on_a_terminal_only(run, db_path, frozen):
    run("add", "late", "-e", "1h", "--due", "2026-11-20")
    run("add", "on time", "-e", "1h", "--due", "2026-12-20")
    shown = coloured(db_path, "list").output
    assert "\x1b[31m2026-11-20\x1b[0m" in shown
    assert "\x1b[31m2026-12-20" not in shown
    assert "\x1b[" not in run("list").output  # a pipe
    assert "\x1b[" not in coloured(db_path, "list", env={"NO_COLOR": "1"}).output
    show = coloured(db_path, "show", "1").output
    assert "\x1b[31mby 2026-11-20 (overdue)\x1b[0m" in show


def test_flags_and_narrow_ranges_are_coloured_in_the_panel(run, db_path, frozen):
    for number in range(12):
        run("add", f"t{number}", "-e", "1h", "--range", "50m..70m", "--actual", "3h")
    panel = coloured(db_path, "score").output
    assert "\x1b[33mtoo" in panel
    assert "\x1b[" not in run("score").output


def test_highlight_marks_the_words_of_attention():
    text = highlight("kept 40%: flagged (under 60%); ranges too\n  narrow; #3 past due: broken")
    assert "\x1b[31mflagged (under 60%)\x1b[0m" in text
    assert "\x1b[33mtoo\n  narrow\x1b[0m" in text
    assert "\x1b[31mpast due: broken\x1b[0m" in text


# --- completion from the database -----------------------------------------------------------


def complete(db_path, line: str) -> list[str]:
    words = line.split(" ")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [],
        prog_name="calibrate",
        env={
            "_CALIBRATE_COMPLETE": "bash_complete",
            "COMP_WORDS": f"calibrate --db {db_path} {line}",
            "COMP_CWORD": str(len(words) + 2),
        },
    )
    return [item.split(",", 1)[1] for item in result.output.splitlines() if item]


def test_completion_knows_ids_tags_projects_and_people(run, db_path):
    run("add", "first", "-e", "1h", "-t", "ui", "--project", "web")
    run("add", "second", "-e", "1h", "-t", "auth", "--project", "api", "--person", "bob")
    run("add", "third", "-e", "1h", "--actual", "1h")
    assert complete(db_path, "done ") == ["2", "1", "3"]  # open ones first
    assert complete(db_path, "show 3") == ["3"]
    assert complete(db_path, "list --tag ") == ["auth", "ui"]
    assert complete(db_path, "list --tag a") == ["auth"]
    assert complete(db_path, "export --project ") == ["api", "web"]
    assert complete(db_path, "score --person b") == ["bob"]


def test_completion_creates_no_database(db_path):
    assert complete(db_path, "done ") == []
    assert not db_path.exists()


# --- tables at 80 columns, whatever the script -----------------------------------------------


def test_chinese_and_emoji_titles_keep_the_table_at_80_columns(run):
    titles = [
        "修复登录页面的错误并添加测试用例和文档说明",
        "🚀 Launch the rocket 🚀🚀🚀 now",
        "plain",
    ]
    for title in titles:
        run("add", title, "-e", "2h", "-t", "tag")
    lines = run("list").stdout.splitlines()
    assert all(display_width(line) <= 80 for line in lines), lines
    # The tags column starts in the same terminal column on every line.
    starts = {display_width(line[: line.rindex("tag")]) for line in lines[1:]}
    assert len(starts) == 1, lines


# --- durations and windows as people read them ----------------------------------------------


def test_no_seconds_leak_and_no_column_cuts_a_duration(run, frozen):
    run("add", "timed", "-e", "3h")
    run("start", "1", "--at", "2026-12-01T10:00:00")
    done = run("done", "1", "--at", "2026-12-01T13:00:01")
    assert done.stdout == "Done #1: 3h (timer) against 3h estimated, 1.00x\n"
    run("add", "long one", "-e", "271h30m")
    listed = run("list", "--status", "any").stdout
    assert "271h30m" in listed and "…" not in listed
    assert json.loads(run("show", "1", "--json").stdout)["actual_h"] == pytest.approx(3 + 1 / 3600)


def test_since_in_days_is_rounded_out_to_whole_weeks_and_says_so(run, frozen):
    result = run("score", "--since", "14d")
    assert result.exit_code == 0
    assert result.stderr.startswith(
        "Note: --since 14d covers whole weeks: from Monday 2026-11-16 (this week and the 2 "
        "before)\n"
    )
    assert run("score", "--since", "3d").stderr.startswith(
        "Note: --since 3d covers whole weeks: from Monday 2026-11-23 (this week and last week)\n"
    )


def test_the_help_says_what_a_window_covers(run):
    shown = " ".join(run("score", "--help").stdout.split())
    assert "1w is this week and last week, 26w this week and the 26 before" in shown


# --- words ----------------------------------------------------------------------------------


def test_plurals_everywhere(run, tmp_path, frozen):
    run("add", "one", "-e", "1h", "--actual", "1h")
    out = tmp_path / "summary.json"
    result = run("export", "--summary", "-o", str(out))
    assert result.stderr == f"Exported a summary of 1 person (1 person-week) to {out}\n"
    assert run("rm", "1", "--yes").stdout == "Deleted 1 task\n"


def test_an_id_that_is_not_a_number(run):
    result = run("show", "abc")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for 'ID': 'abc' is not a task id (a number such as 12: "
        "'calibrate list' shows them) (see 'calibrate show --help')\n",
    )


def test_rank_on_a_new_database_says_what_is_missing(run):
    run("add", "one", "-e", "1h", "--actual", "1h")
    result = run("rank")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: nobody without a team has 30 finished tasks in 27 weeks from "
        f"{_window_start(26)}: widen it with --since all\n",
    )
    result = run("rank", "--since", "all")
    assert result.stderr == (
        "Error: nobody without a team has 30 finished tasks in all history: ranks start "
        "there (10 for a provisional place)\n"
    )


def _window_start(weeks: int) -> str:
    from datetime import timedelta

    from calibrate.durations import local_today, week_start

    return (week_start(local_today()) - timedelta(weeks=weeks)).isoformat()


def test_the_first_add_says_where_the_database_was_created(run, db_path):
    first = run("add", "one", "-e", "1h")
    assert first.stderr == (
        f"Created a new database: {db_path} (--db PATH or $CALIBRATE_DB uses another)\n"
    )
    assert run("add", "two", "-e", "1h").stderr == ""


# --- every table takes --csv --------------------------------------------------------------


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_score_rank_forecast_and_suggest_take_csv(run, db_path, frozen):
    for number in range(32):
        run("add", f"t{number}", "-e", "2h", "--team", "web", "--actual", "3h")
    run("add", "open one", "-e", "4h", "--team", "web", "--promise", "6h")
    (score,) = rows_of(run("score", "--csv").stdout)
    assert score["scope"] == "person" and score["name"] == "alice"
    assert "promises.gauges.keep_rate.status" in score and "by_size" not in score
    (ranked,) = rows_of(run("rank", "--csv").stdout)
    assert (ranked["person"], ranked["team"], ranked["status"]) == ("alice", "web", "ranked")
    assert "reference.top_percent" in ranked
    (task,) = rows_of(run("forecast", "--csv").stdout)
    assert (task["id"], task["title"], task["promise_h"]) == ("33", "open one", "6.0")
    (hint,) = rows_of(run("suggest", "2h", "--csv").stdout)
    assert (hint["estimate_h"], hint["p50_h"]) == ("2.0", "3.0")
    both = run("suggest", "2h", "--csv", "--json")
    assert (both.exit_code, both.stderr) == (
        2,
        "Error: --json and --csv exclude each other (see 'calibrate suggest --help')\n",
    )


@pytest.mark.parametrize(
    "args",
    [
        ["-e", "2h"],
        ["-e2h"],
        ["--estimate", "2h"],
        ["--estimate=2h"],
        ["-qe", "2h"],
        ["-t", "ui", "-e", "2h", "-q"],
    ],
)
def test_short_and_long_options_parse_alike(tmp_path, args):
    """Short options are matched as short ones first (cli.options.Command), with
    what click parses unchanged: attached values, bundled flags, ``--opt=value``."""
    runner = CliRunner(env={"CALIBRATE_PERSON": "alice"})
    db = str(tmp_path / "c.db")
    result = runner.invoke(cli, ["--db", db, "add", "Task", *args])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(cli, ["--db", db, "list", "--json"])
    (task,) = json.loads(shown.output)
    assert task["estimate_h"] == 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-x"], "Error: No such option '-x'. (see 'cli add --help')"),
        (
            ["--estimat", "2h"],
            "Error: No such option '--estimat'. (Did you mean one of: '--at', '--estimate', "
            "'--start'?) (see 'cli add --help')",
        ),
    ],
)
def test_an_unknown_option_is_named_as_click_names_it(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "c.db"), "add", "Task", *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == message


def test_version_and_help(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output == f"calibrate, version {__version__}\n"
    for args in (["--help"], ["-h"], ["add", "--help"], ["add", "-h"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and "Show this message and exit." in result.output
