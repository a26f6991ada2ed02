"""The ``calibrate`` command line: parse, call the library, print.

Start-up matters here (``calibrate add`` is typed many times a day), so this
module imports only click and the standard-library modules of the package;
commands that need pandas, numpy, plotly or sqlite-utils import them inside
their own body.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime

import click

from calibrate import __version__, store
from calibrate.durations import (
    format_duration,
    parse_confidence,
    parse_date,
    parse_duration,
    parse_range,
    parse_since,
    parse_when,
)
from calibrate.errors import CalibrateError, InputError
from calibrate.identity import default_person, default_team
from calibrate.selection import STATUS_CHOICES, Selection
from calibrate.store import fields
from calibrate.store import tasks as tasklog
from calibrate.text import Column, render_table, to_csv, to_json

# --- the application object every command receives --------------------------


class App:
    """The database path and who is typing; opens the database on first use."""

    def __init__(self, db_path: str | None):
        self.db_path = db_path or store.default_db_path()
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = store.connect(self.db_path)
        return self._conn

    def existing_conn(self) -> sqlite3.Connection | None:
        """The connection if the database exists (validated and migrated); ``None``
        when it does not exist yet, so that reading settings creates nothing."""
        if self._conn is None and not os.path.exists(self.db_path):
            return None
        return self.conn

    def day_hours(self) -> float:
        """The working day's length, read without the settings module (start-up)."""
        conn = self.existing_conn()
        row = conn and conn.execute("SELECT value FROM settings WHERE key = 'day-hours'").fetchone()
        return float(row[0]) if row else 8.0

    def duration(self, text: str, option: str) -> float:
        # only days and weeks depend on the day-hours setting: skip its query otherwise
        needs_day = any(letter in text.lower() for letter in "dw")
        try:
            return parse_duration(text, day_hours=self.day_hours() if needs_day else 8.0)
        except InputError as error:
            raise click.BadParameter(str(error), param_hint=option) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- errors: one line on stderr, exit 1 (or 2 for usage) --------------------


#: Commands that need pandas, numpy, plotly or sqlite-utils live in modules of
#: their own, imported only when that command runs (or ``--help`` lists them),
#: so that the everyday commands above start fast: "name": "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "score": "calibrate.cli.score:score",
    "import": "calibrate.cli.exchange:import_",
    "export": "calibrate.cli.exchange:export",
    "merge": "calibrate.cli.exchange:merge",
    "demo": "calibrate.cli.demo:demo",
    "report": "calibrate.cli.report:report",
    "rank": "calibrate.cli.ranks:rank",
    "people": "calibrate.cli.ranks:people_command",
    "alias": "calibrate.cli.ranks:alias",
    "suggest": "calibrate.cli.advice:suggest",
    "forecast": "calibrate.cli.advice:forecast",
}


class CalibrateGroup(click.Group):
    """Loads the heavier commands lazily, and prints every error as one line,
    ``Error: ...``, on stderr.

    Library errors (:class:`CalibrateError`) exit 1, like click's own
    ``ClickException``; usage mistakes exit 2 with a pointer to ``--help``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in LAZY_COMMANDS:
            import importlib

            module_name, attribute = LAZY_COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), name)
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _refuse_undecodable(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.ctx.get_help() if error.ctx else error.format_message())
            sys.exit(0)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx else "calibrate"
            hint = f" (see '{command} --help')"
            _fail(error.format_message() + hint, error.exit_code)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except CalibrateError as error:
            _fail(str(error), error.exit_code)
        except sqlite3.Error as error:
            _fail(str(store.translate(error)), 1)
        except click.Abort:
            _fail("aborted", 1)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()  # a closed pipe (| head) is not an error
            sys.exit(0)
        except UnicodeEncodeError as error:  # e.g. $CALIBRATE_PERSON in another encoding
            text = error.object[max(0, error.start - 20) : error.end + 20]
            _fail(f"text that is not valid UTF-8: '{_shown(text)}' (check the encoding)", 1)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def _refuse_undecodable(args) -> None:
    """An argument in another encoding than UTF-8 (a Latin-1 terminal) reaches
    Python as lone surrogates, which no database text can hold: refuse it by
    name before anything runs (exit 2, like any mistyped argument)."""
    for argument in args:
        if isinstance(argument, str) and not argument.isascii():
            try:
                argument.encode("utf-8")
            except UnicodeEncodeError:
                _fail(f"argument '{_shown(argument)}' is not valid UTF-8 text: check your "
                      "terminal's encoding", 2)  # fmt: skip


def _shown(text: str) -> str:
    """Text with its undecodable bytes written as ``\\xff``."""
    return os.fsencode(text).decode("utf-8", "backslashreplace") if text else text


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {_printable(message)}", err=True)
    sys.exit(code)


def _printable(text: str) -> str:
    """One line with no terminal controls: newlines, escape sequences or bidi
    overrides that came from a file or an argument are shown escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def bad(option: str) -> Callable[[CalibrateError], click.BadParameter]:
    return lambda error: click.BadParameter(str(error), param_hint=option)


# --- shared options ----------------------------------------------------------


def scope_options(fn: Callable) -> Callable:
    """``--person``, ``--team``, ``--everyone``: whose tasks (default: yours)."""
    fn = click.option("--everyone", is_flag=True, help="All people in the database.")(fn)
    fn = click.option("--team", metavar="TEAM", help="Everyone in this team.")(fn)
    fn = click.option(
        "--person", metavar="NAME", help="This person (default: you, see 'Who you are')."
    )(fn)
    return fn


def window_option(default: str | None) -> Callable:
    shown = f" [default: {default}]" if default else " [default: all]"
    return click.option(
        "--since",
        metavar="26w|DATE|all",
        default=default,
        help="Window of whole ISO weeks: 26w is this week and the 26 before; a date "
        "starts at its week." + shown,
    )


def output_options(fn: Callable) -> Callable:
    """``--json`` and ``--csv`` for programs, the same on every table."""
    fn = click.option("--csv", "csv_output", is_flag=True, help="Output CSV.")(fn)
    fn = click.option("--json", "json_output", is_flag=True, help="Output JSON.")(fn)
    return fn


def selection_from(
    person: str | None,
    team: str | None,
    everyone: bool,
    *,
    since: str | None = None,
    **extra,
) -> Selection:
    try:
        window = parse_since(since)
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="'--since'") from None
    if sum([person is not None, team is not None, everyone]) > 1:
        raise click.UsageError("give one scope: --person, --team or --everyone")
    if person is None and team is None and not everyone:
        person = default_person()
    return Selection(person=person, team=team, everyone=everyone, since=window, **extra)


def filter_options(default_status: str) -> Callable:
    """``--status``, ``--since``, ``--tag`` and ``--project``: the filters that
    ``list`` and ``export`` share."""

    def decorate(fn: Callable) -> Callable:
        fn = click.option("--project", metavar="NAME", help="Only this project.")(fn)
        fn = click.option(
            "-t", "--tag", "tags", multiple=True, metavar="TAG",
            help="Only tasks with this tag (repeatable: all of them).",
        )(fn)  # fmt: skip
        fn = window_option(None)(fn)
        return click.option(
            "--status", type=click.Choice(STATUS_CHOICES), default=default_status,
            show_default=True, help="open includes started tasks.",
        )(fn)  # fmt: skip

    return decorate


def task_id_arg(fn: Callable) -> Callable:
    return click.argument("task_id", metavar="ID", type=click.IntRange(min=1))(fn)


def when_option(help_text: str) -> Callable:
    return click.option("--at", "at", metavar="WHEN", help=help_text)


def parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_when(text)
    except InputError as error:
        raise click.BadParameter(str(error), param_hint="'--at'") from None


def emit(rows: list[dict], columns: list[Column], json_output: bool, csv_output: bool) -> None:
    if json_output and csv_output:
        raise click.UsageError("--json and --csv exclude each other")
    if json_output:
        click.echo(to_json(rows))
    elif csv_output:
        click.echo(to_csv(rows, [c.key for c in columns]), nl=False)
    elif rows:
        click.echo(render_table(rows, columns))


def terminal_width() -> int:
    """The terminal's width on a terminal (at least 80); 80 in a pipe."""
    if not sys.stdout.isatty():
        return 80
    import shutil

    return max(80, shutil.get_terminal_size((80, 24)).columns)


def paint(text: str, **style) -> str:
    return click.style(text, **style)


pass_app = click.make_pass_decorator(App)


# --- the group ---------------------------------------------------------------


@click.group(
    cls=CalibrateGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 88},
)
@click.version_option(__version__, "--version", prog_name="calibrate")
@click.option(
    "--db",
    metavar="PATH",
    help="The database file [default: $CALIBRATE_DB, else calibrate.db in your data directory].",
)
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Log estimates and actuals; get good at estimating your own work.

    \b
    Quick start:
      calibrate add "Fix login bug" -e 2h      # log a task with its estimate
      calibrate start 1; calibrate stop        # time it (or: done 1 --actual 3h)
      calibrate done 1                         # finish it; the timer is the actual
      calibrate list                           # your open tasks

    Who you are: --person, else $CALIBRATE_PERSON, else git's user.name, else your
    login name. Your team: --team, else $CALIBRATE_TEAM.
    """
    if os.environ.get("NO_COLOR"):
        ctx.color = False
    app = App(db)
    ctx.obj = app
    ctx.call_on_close(app.close)


# --- add and the task's life -------------------------------------------------


@cli.command()
@click.argument("title")
@click.option(
    "-e",
    "--estimate",
    required=True,
    metavar="DURATION",
    help="Your median guess of the effort: 90m, 1.5h, 1h30m, 2d, 1w; a bare number is hours.",
)
@click.option(
    "--range",
    "range_",
    metavar="LOW..HIGH",
    help="Low and high effort you are --confidence sure of, e.g. 2h..6h.",
)
@click.option("--confidence", metavar="PERCENT", help="Confidence of the range [default: 90].")
@click.option("--promise", metavar="DURATION", help="Effort you promise someone not to exceed.")
@click.option("--due", metavar="DATE", help="Date you promise it by: 2026-12-04, friday, +3d.")
@click.option("-t", "--tag", "tags", multiple=True, metavar="TAG", help="A tag (repeatable).")
@click.option("--project", metavar="NAME", help="The project it belongs to.")
@click.option("--person", metavar="NAME", help="Whose task it is [default: you].")
@click.option("--team", metavar="TEAM", help="Their team [default: $CALIBRATE_TEAM].")
@click.option("--notes", metavar="TEXT", help="Free notes.")
@click.option("--start", "start_now", is_flag=True, help="Start its timer now.")
@click.option("--actual", metavar="DURATION", help="Log it as already done, with this effort.")
@click.option("-q", "--quiet", is_flag=True, help="Print the new id alone.")
@pass_app
def add(app: App, title, estimate, range_, confidence, promise, due, tags, project, person,
        team, notes, start_now, actual, quiet) -> None:  # fmt: skip
    """Log a task with your estimate of its effort.

    Prints 'Added #ID: TITLE' (the id alone with -q).
    """
    estimate_h = app.duration(estimate, "'-e' / '--estimate'")
    low_h = high_h = None
    if range_ is not None:
        try:
            low_h, high_h = parse_range(range_, day_hours=app.day_hours())
        except InputError as error:
            raise bad("'--range'")(error) from None
    conf = None
    if confidence is not None:
        try:
            conf = parse_confidence(confidence)
        except InputError as error:
            raise bad("'--confidence'")(error) from None
    promise_h = app.duration(promise, "'--promise'") if promise is not None else None
    actual_h = app.duration(actual, "'--actual'") if actual is not None else None
    due_date = None
    if due is not None:
        try:
            due_date = parse_date(due, future=True).isoformat()
        except InputError as error:
            raise bad("'--due'")(error) from None
    task = tasklog.NewTask(
        title=title, estimate_h=estimate_h, person=person or default_person(),
        team=team or default_team(), project=project, low_h=low_h, high_h=high_h,
        confidence=conf, promise_h=promise_h, due=due_date, tags=tags, notes=notes,
    )  # fmt: skip
    task = tasklog.checked_new_task(task, start=start_now, actual_h=actual_h)
    task_id = tasklog.add_task(app.conn, task, start=start_now, actual_h=actual_h)
    if quiet:
        click.echo(task_id)
    else:
        click.echo(f"Added #{task_id}: {task.title}")
        if actual_h is None:
            # stdlib only; one indexed SELECT when the hint is stored
            from calibrate.store.caches import hint_for_add
            from calibrate.words import hint_line

            hint = hint_for_add(app.conn, task.person, estimate_h)
            if hint is not None:
                click.echo(hint_line(hint, estimate_h), err=True)


@cli.command()
@task_id_arg
@when_option("When you started: 14:30, '20m ago', 2026-11-30T09:00 [default: now].")
@pass_app
def start(app: App, task_id: int, at: str | None) -> None:
    """Start a task's timer (stopping any other timer of yours)."""
    moment = parse_at(at)
    stopped = tasklog.start_task(app.conn, task_id, moment)
    for other, hours in stopped:
        click.echo(f"Stopped #{other} ({format_duration(hours)})")
    click.echo(f"Started #{task_id}: {tasklog.get_task(app.conn, task_id)['title']}")


@cli.command()
@click.argument("task_id", metavar="[ID]", type=click.IntRange(min=1), required=False)
@when_option("When you stopped [default: now].")
@click.option(
    "--person", metavar="NAME", help="Whose timers to stop, without an ID [default: you]."
)
@pass_app
def stop(app: App, task_id: int | None, at: str | None, person: str | None) -> None:
    """Stop a task's timer (without ID: your running timer)."""
    moment = parse_at(at)
    who = None if task_id is not None else (person or default_person())
    for stopped_id, hours in tasklog.stop_timer(app.conn, task_id, person=who, at=moment):
        total = tasklog.timer_total(app.conn, stopped_id)
        click.echo(
            f"Stopped #{stopped_id} after {format_duration(hours)} "
            f"({format_duration(total)} in all)"
        )


@cli.command()
@task_id_arg
@click.option(
    "--actual", metavar="DURATION", help="The effort it took [default: the timer's total]."
)
@when_option("When it was finished: friday, 17:30, 2026-11-27 [default: now].")
@pass_app
def done(app: App, task_id: int, actual: str | None, at: str | None) -> None:
    """Finish a task; the actual is --actual, else its timer's total."""
    actual_h = app.duration(actual, "'--actual'") if actual is not None else None
    moment = parse_at(at)
    hours, from_timer = tasklog.finish_task(app.conn, task_id, actual_h, moment)
    task = tasklog.get_task(app.conn, task_id)
    ratio = hours / task["estimate_h"]
    source = " (timer)" if from_timer else ""
    click.echo(
        f"Done #{task_id}: {format_duration(hours)}{source} against "
        f"{format_duration(task['estimate_h'])} estimated, {ratio:.2f}x"
    )
    from calibrate.store.caches import refresh_task_hint

    refresh_task_hint(app.conn, task_id)  # the hints of 'add' and 'suggest' learn from it


@cli.command()
@task_id_arg
@pass_app
def drop(app: App, task_id: int) -> None:
    """Drop a task that will not be done (it leaves every score)."""
    tasklog.drop_task(app.conn, task_id)
    click.echo(f"Dropped #{task_id}")


@cli.command()
@task_id_arg
@click.argument("estimate", metavar="DURATION")
@click.option("--reason", metavar="TEXT", help="Why the estimate changed.")
@pass_app
def reestimate(app: App, task_id: int, estimate: str, reason: str | None) -> None:
    """Record a new estimate; scores keep using the original one."""
    estimate_h = app.duration(estimate, "'DURATION'")
    previous = tasklog.reestimate(app.conn, task_id, estimate_h, reason)
    click.echo(
        f"Re-estimated #{task_id}: {format_duration(previous)} -> {format_duration(estimate_h)}"
    )


NONE_WORDS = {"none", "-", ""}


@cli.command()
@task_id_arg
@click.option("--title", metavar="TEXT")
@click.option(
    "-e",
    "--estimate",
    metavar="DURATION",
    help="Correct the original estimate (use 'reestimate' for a new one).",
)
@click.option("--range", "range_", metavar="LOW..HIGH|none")
@click.option("--confidence", metavar="PERCENT")
@click.option("--promise", metavar="DURATION|none")
@click.option("--due", metavar="DATE|none")
@click.option("--actual", metavar="DURATION", help="Correct a done task's actual.")
@click.option("--project", metavar="NAME|none")
@click.option("--person", metavar="NAME")
@click.option("--team", metavar="TEAM|none")
@click.option("--notes", metavar="TEXT|none")
@click.option("-t", "--tag", "tags", multiple=True, metavar="TAG", help="Replace the tags.")
@click.option("--add-tag", multiple=True, metavar="TAG")
@click.option("--remove-tag", multiple=True, metavar="TAG")
@pass_app
def edit(app: App, task_id, title, estimate, range_, confidence, promise, due, actual, project,
         person, team, notes, tags, add_tag, remove_tag) -> None:  # fmt: skip
    """Change a task's fields; 'none' clears an optional one."""
    changes: dict = {}

    def optional(value):
        return None if value.strip().lower() in NONE_WORDS else value

    if title is not None:
        changes["title"] = title
    if estimate is not None:
        changes["estimate_h"] = app.duration(estimate, "'-e' / '--estimate'")
    if range_ is not None:
        if optional(range_) is None:
            changes.update(low_h=None, high_h=None, confidence=None)
        else:
            try:
                changes["low_h"], changes["high_h"] = parse_range(range_, day_hours=app.day_hours())
            except InputError as error:
                raise bad("'--range'")(error) from None
    if confidence is not None:
        try:
            changes["confidence"] = parse_confidence(confidence)
        except InputError as error:
            raise bad("'--confidence'")(error) from None
    if promise is not None:
        changes["promise_h"] = optional(promise) and app.duration(promise, "'--promise'")
    if due is not None:
        try:
            changes["due"] = optional(due) and parse_date(due, future=True).isoformat()
        except InputError as error:
            raise bad("'--due'")(error) from None
    if actual is not None:
        changes["actual_h"] = app.duration(actual, "'--actual'")
    for key, value in (("project", project), ("team", team), ("notes", notes)):
        if value is not None:
            changes[key] = optional(value)
    if person is not None:
        changes["person"] = person
    if tags or add_tag or remove_tag:
        import json

        current = tags or json.loads(tasklog.get_task(app.conn, task_id)["tags"])
        changes["tags"] = [t for t in [*current, *add_tag] if t not in remove_tag]
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    changed = tasklog.edit_task(app.conn, task_id, changes)
    if changed:
        click.echo(f"Edited #{task_id}: {', '.join(k.removesuffix('_h') for k in changed)}")
    else:
        click.echo(f"#{task_id} unchanged")


@cli.command()
@click.argument("task_ids", metavar="ID...", nargs=-1, type=click.IntRange(min=1))
@click.option(
    "--person", metavar="NAME", help="Delete all of this person's tasks (instead of IDs)."
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def rm(app: App, task_ids: tuple[int, ...], person: str | None, yes: bool) -> None:
    """Delete tasks for good (asks first unless --yes).

    With --person NAME, every task of that person goes, with the weeks that
    imported team summaries hold for them.
    """
    if person is not None:
        if task_ids:
            raise click.UsageError("give IDs or --person, not both")
        _rm_person(app, person, yes)
        return
    if not task_ids:
        raise click.UsageError("give the IDs of the tasks to delete, or --person NAME")
    found = [tasklog.get_task(app.conn, task_id) for task_id in task_ids]
    if not yes:
        listing = ", ".join(f"#{t['id']} {t['title']!r}" for t in found)
        click.confirm(f"Delete {listing}?", abort=True, err=True)
    count = tasklog.delete_tasks(app.conn, list(task_ids))
    click.echo(f"Deleted {count} task{'s' if count != 1 else ''}")


def _rm_person(app: App, name: str, yes: bool) -> None:
    from calibrate.errors import NotFound
    from calibrate.store import people  # standard library only

    conn = app.existing_conn()
    if conn is None:
        raise NotFound(f"no person {name!r} in this database (see 'calibrate people')")
    person, count = people.person_task_count(conn, name)
    if not yes:
        click.confirm(
            f"Delete all {count:,} task{'s' if count != 1 else ''} of {person}?",
            abort=True,
            err=True,
        )
    deleted = people.delete_person(conn, person)
    tasks = deleted["tasks"]
    extra = f" and {deleted['summary_weeks']:,} summary weeks" if deleted["summary_weeks"] else ""
    click.echo(f"Deleted {tasks:,} task{'s' if tasks != 1 else ''} of {person}{extra}")


# --- reading -----------------------------------------------------------------

LIST_FIELDS = fields.SHOWN


def _list_rows(conn: sqlite3.Connection, selection: Selection, limit: int | None) -> list[dict]:
    import json

    where, params = selection.where()
    sql = f"SELECT * FROM tasks WHERE {where} ORDER BY id"  # noqa: S608 (clause from Selection)
    if limit:
        sql += " LIMIT ?"
        params = [*params, limit]
    rows = []
    for row in conn.execute(sql, params):
        item = {key: row[key] for key in LIST_FIELDS}
        item["tags"] = json.loads(item["tags"])
        rows.append(item)
    return rows


@cli.command(name="list")
@scope_options
@filter_options(default_status="open")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N tasks.")
@output_options
@pass_app
def list_(app: App, person, team, everyone, status, since, tags, project, limit, json_output,
          csv_output) -> None:  # fmt: skip
    """Your open tasks; the options widen or narrow the list.

    --since keeps tasks done (or, if not done, created) in the window.
    """
    selection = selection_from(
        person, team, everyone, since=since, status=status, tags=tags, project=project,
        window_on="activity",
    )  # fmt: skip
    conn = app.existing_conn()
    rows = _list_rows(conn, selection, limit) if conn is not None else []
    if json_output or csv_output:
        emit(rows, [Column(k, k) for k in LIST_FIELDS], json_output, csv_output)
        return
    if not rows:
        click.echo(
            f"No {'' if status == 'any' else status + ' '}tasks for {selection.describe()}.",
            err=True,
        )
        return
    for row in rows:
        row["estimate"] = format_duration(row["estimate_h"])
        row["actual"] = format_duration(row["actual_h"])
        row["tags"] = ",".join(row["tags"])
    id_width = max(2, len(str(rows[-1]["id"])))
    columns = [Column("id", "ID", id_width, ">"), Column("status", "STATUS", 7),
               Column("estimate", "EST", 6, ">")]  # fmt: skip
    if status != "open":
        columns.append(Column("actual", "ACTUAL", 6, ">"))
    if any(row["due"] for row in rows):
        columns.append(Column("due", "DUE", 10))
    if selection.person is None:
        columns.append(Column("person", "PERSON", 12))
    columns.append(Column("title", "TITLE"))
    if any(row["tags"] for row in rows):
        columns.append(Column("tags", "TAGS", 12))
    click.echo(render_table(rows, columns, width=terminal_width()))


@cli.command()
@task_id_arg
@click.option("--json", "json_output", is_flag=True, help="Output JSON.")
@pass_app
def show(app: App, task_id: int, json_output: bool) -> None:
    """Everything about one task: estimates, timer, promise and outcome."""
    details = tasklog.task_details(app.conn, task_id)
    if json_output:
        click.echo(to_json(details))
        return
    d = details
    lines = [paint(f"#{d['id']} {d['title']}", bold=True), f"  status      {d['status']}"]
    lines.append(f"  person      {d['person']}" + (f" (team {d['team']})" if d["team"] else ""))
    if d["project"]:
        lines.append(f"  project     {d['project']}")
    estimate = format_duration(d["estimate_h"])
    if d["current_estimate_h"] != d["estimate_h"]:
        estimate += f" (now {format_duration(d['current_estimate_h'])})"
    lines.append(f"  estimate    {estimate}")
    if d["low_h"] is not None:
        lines.append(
            f"  range       {format_duration(d['low_h'])}..{format_duration(d['high_h'])} "
            f"at {d['confidence']:g}%"
        )
    if d["promise_h"] is not None or d["due"]:
        promise = " ".join(
            part for part in [
                format_duration(d["promise_h"]) if d["promise_h"] else "",
                f"by {d['due']}" if d["due"] else "",
            ] if part
        )  # fmt: skip
        lines.append(f"  promise     {promise}")
    if d["actual_h"] is not None:
        ratio = d["actual_h"] / d["estimate_h"]
        lines.append(f"  actual      {format_duration(d['actual_h'])} ({ratio:.2f}x the estimate)")
    if d["timer_h"]:
        running = any(i["stopped_at"] is None for i in d["intervals"])
        lines.append(
            f"  timer       {format_duration(d['timer_h'])} in {len(d['intervals'])} "
            f"interval{'s' if len(d['intervals']) != 1 else ''}" + (" (running)" if running else "")
        )
    if d["tags"]:
        lines.append(f"  tags        {', '.join(d['tags'])}")
    lines.append(f"  created     {d['created_at']}")
    if d["done_at"]:
        lines.append(f"  {'done' if d['status'] == 'done' else 'dropped':<12}{d['done_at']}")
    for re_est in d["reestimates"]:
        reason = f": {re_est['reason']}" if re_est["reason"] else ""
        lines.append(
            f"  re-estimate {format_duration(re_est['estimate_h'])} at {re_est['at']}{reason}"
        )
    if d["notes"]:
        lines.append(f"  notes       {d['notes']}")
    lines.append(f"  uid         {d['uid']} ({d['source']})")
    click.echo("\n".join(lines))


@cli.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--reset", is_flag=True, help="Put KEY back to its default.")
@output_options
@pass_app
def config(app: App, key: str | None, value: str | None, reset: bool, json_output: bool,
           csv_output: bool) -> None:  # fmt: skip
    """Read and set the team settings (no KEY: list them all).

    \b
    calibrate config                      # every setting
    calibrate config day-hours 7.5        # a day is 7.5 hours
    calibrate config work-days mon-thu
    calibrate config holidays 2026-12-24,2026-12-25
    calibrate config keep-rate-min 90%
    """
    from calibrate.store import settings

    if key is not None:
        settings.setting(key)
    if reset:
        if key is None or value is not None:
            raise click.UsageError("--reset takes a KEY and no VALUE")
        with store.transaction(app.conn):
            settings.reset(app.conn, key)
        click.echo(
            f"{key} = {settings.SETTINGS[key].show(settings.SETTINGS[key].default)} (default)"
        )
        return
    if value is not None:
        parsed = settings.validate(key, value)
        with store.transaction(app.conn):
            settings.write(app.conn, key, parsed)
        click.echo(f"{key} = {settings.SETTINGS[key].show(parsed)}")
        return
    conn = app.existing_conn()
    values = settings.read_all(conn)
    keys = [key] if key else list(settings.SETTINGS)
    rows = [
        {"key": k, "value": values[k], "shown": settings.SETTINGS[k].show(values[k]),
         "default": values[k] == settings.SETTINGS[k].default, "help": settings.SETTINGS[k].help}
        for k in keys
    ]  # fmt: skip
    if json_output or csv_output:
        emit(
            rows,
            [Column(k, k) for k in ("key", "value", "default", "help")],
            json_output,
            csv_output,
        )
    elif key:
        click.echo(rows[0]["shown"])
    else:
        for row in rows:
            mark = "" if row["default"] else " *"
            click.echo(f"{row['key']:<18}{row['shown'] + mark:<24}{row['help']}")
        click.echo("(* set for this database; the rest are defaults)", err=True)


def main(args: list[str] | None = None, prog_name: str = "calibrate") -> None:
    cli.main(args=args, prog_name=prog_name)


if __name__ == "__main__":  # pragma: no cover
    main()
