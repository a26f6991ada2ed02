"""What the commands share: the app object, the types of typed values, the
options, and the helpers that print (tables, JSON or CSV, a progress bar).

Every command module imports from here (never from :mod:`calibrate.cli`,
which loads them). Standard library and click only: ``calibrate add``
imports this module.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import click

from calibrate import store
from calibrate.durations import (
    DEFAULT_DAY_HOURS,
    parse_confidence,
    parse_date,
    parse_duration,
    parse_range,
    parse_since,
    parse_when,
    utc_now,
    window_note,
)
from calibrate.errors import InputError, UsageError
from calibrate.identity import default_person
from calibrate.selection import STATUS_CHOICES, Selection, one_scope
from calibrate.text import (
    Column,
    flat_columns,
    flatten,
    printable,
    render_table,
    to_csv,
    to_json,
)

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
            for notice in getattr(self._conn, "notices", ()):  # a copy's new identity
                say(notice, err=True)
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
        return float(row[0]) if row else DEFAULT_DAY_HOURS

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


pass_app = click.make_pass_decorator(App)


# --- typed values: what the parsers refuse is a usage problem (exit 2) -------

# --- commands that start fast -------------------------------------------------------


def _show_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


class Command(click.Command):
    """An everyday command: click's, without two costs of its start-up that every ``add``
    would pay (about 3% of the instructions ``calibrate add`` runs, measured
    with callgrind: docs/performance.md): the help option is made here, in
    words click would give it, so that no message goes through gettext (its
    first use imports ``locale``); and a short option (``-e 2h``) is matched
    as one, where click first tries it as a long option and, on the miss,
    imports ``difflib`` to suggest names. What is parsed, and every message,
    stay click's."""

    _quick_help: click.Option | None = None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        names = self.get_help_option_names(ctx)
        if not names or not self.add_help_option:
            return None
        if self._quick_help is None:  # one object: click orders eager options by identity
            self._quick_help = click.Option(
                names,
                is_flag=True,
                is_eager=True,
                expose_value=False,
                callback=_show_help,
                help="Show this message and exit.",
            )
        return self._quick_help

    def make_parser(self, ctx: click.Context) -> Any:  # click's parser class is private
        parser = super().make_parser(ctx)
        process = getattr(parser, "_process_opts", None)
        short = getattr(parser, "_match_short_opt", None)
        long_names = getattr(parser, "_long_opt", None)
        prefixes = getattr(parser, "_opt_prefixes", None)
        if not (callable(process) and callable(short) and long_names is not None and prefixes):
            return parser  # another click: its own way
        if ctx.token_normalize_func is not None:
            return parser

        def process_short_first(arg: str, state: Any) -> None:
            if arg.split("=", 1)[0] not in long_names and arg[:2] not in prefixes:
                short(arg, state)  # what click does once the long match fails
            else:
                process(arg, state)

        setattr(parser, "_process_opts", process_short_first)  # noqa: B010 (a method, replaced)
        return parser


def version_option(version: str) -> Callable:
    """``--version``: "calibrate, version X", as click's own option says it."""

    def show(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            click.echo(f"calibrate, version {version}", color=ctx.color)
            ctx.exit()

    return click.option(
        "--version",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=show,
        help="Show the version and exit.",
    )


#: The largest id and count SQLite holds: a signed 64-bit integer.
MAX_INT64 = 2**63 - 1
#: What ``edit`` reads as "clear this optional field".
NONE_WORDS = {"none", "-", ""}


class Clear:
    """The value of ``edit --promise none``: clear the field."""

    def __repr__(self) -> str:
        return "CLEAR"


CLEAR = Clear()


class ParsedValue(click.ParamType):
    """Text read by one of the library's parsers (as Watson types its dates).

    What the parser refuses becomes click's ``Invalid value for '--at': ...``,
    a usage problem. With ``clearable``, ``none`` (or ``-``, or nothing) gives
    :data:`CLEAR`, for ``edit``. A parser that needs a database setting reads
    it through ``ctx.obj`` (the :class:`App`) only when the text needs it.
    """

    def __init__(self, *, clearable: bool = False):
        self.clearable = clearable

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if self.clearable and value.strip().lower() in NONE_WORDS:
            return CLEAR
        try:
            return self.parse(value, ctx)
        except (InputError, UsageError) as error:
            self.fail(str(error), param, ctx)

    def parse(self, text: str, ctx: click.Context | None) -> Any:
        raise NotImplementedError


def _day_hours(text: str, ctx: click.Context | None) -> float:
    """The day's length for reading ``text``: only days and weeks depend on
    the ``day-hours`` setting, so other text skips its query."""
    if not any(letter in text.lower() for letter in "dw"):
        return DEFAULT_DAY_HOURS
    app = ctx.find_object(App) if ctx is not None else None
    return app.day_hours() if app is not None else DEFAULT_DAY_HOURS


class Duration(ParsedValue):
    """An effort: ``90m``, ``1.5h``, ``1h30m``, ``1:30``, ``PT2H``, ``2d``,
    ``1w``; in hours."""

    name = "duration"

    def parse(self, text: str, ctx: click.Context | None) -> float:
        return parse_duration(text, day_hours=_day_hours(text, ctx))


class Range(ParsedValue):
    """``LOW..HIGH`` efforts; a (low, high) pair of hours."""

    name = "range"

    def parse(self, text: str, ctx: click.Context | None) -> tuple[float, float]:
        return parse_range(text, day_hours=_day_hours(text, ctx))


class Confidence(ParsedValue):
    """A percentage strictly between 0 and 100: ``80`` or ``80%``."""

    name = "confidence"

    def parse(self, text: str, ctx: click.Context | None) -> float:
        return parse_confidence(text)


class Date(ParsedValue):
    """A calendar date; weekday names point forward when ``future`` (``--due
    friday``) and back otherwise (``--today friday``)."""

    name = "date"

    def __init__(self, *, future: bool, clearable: bool = False):
        super().__init__(clearable=clearable)
        self.future = future

    def parse(self, text: str, ctx: click.Context | None):
        return parse_date(text, future=self.future)


#: How far in the future a typed moment may lie (clocks differ a little, and
#: "17:30" is typed at 17:28): such a moment is read as now.
FUTURE_SKEW_MINUTES = 5


class Moment(ParsedValue):
    """A moment up to now for ``--at``: ``14:30``, ``20m ago``, an ISO time.
    One more than :data:`FUTURE_SKEW_MINUTES` minutes ahead is refused; one
    less is now."""

    name = "moment"

    def parse(self, text: str, ctx: click.Context | None):
        from datetime import timedelta

        moment, now = parse_when(text), utc_now()
        if moment > now + timedelta(minutes=FUTURE_SKEW_MINUTES):
            raise UsageError(f"{text!r} is in the future")
        return min(moment, now)


class Window(ParsedValue):
    """``--since``: ``26w``, ``14d``, a date or ``all``; the window's first
    moment as UTC ISO text, ``None`` for all history. Days are rounded out to
    whole weeks, and a line on stderr says from which Monday."""

    name = "window"

    def parse(self, text: str, ctx: click.Context | None) -> str | None:
        since = parse_since(text)
        note = window_note(text)
        if note is not None:
            say(f"Note: {note}", err=True)
        return since


def read_with(parse: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option callback reading the option's whole value (all the values of
    a repeated option) with a library parser, as :class:`ParsedValue` reads one."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            return parse(value)
        except (InputError, UsageError) as error:
            raise click.BadParameter(str(error), ctx, param) from None

    return callback


class Int64(click.IntRange):
    """A whole number from ``min`` up to what SQLite holds (an id, a limit);
    ``what`` names it when the text is not a number at all."""

    def __init__(self, min: int = 1, what: str = "a whole number"):
        super().__init__(min=min)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, str):
            try:
                int(value.strip())
            except ValueError:
                self.fail(f"{value!r} is not {self.what}", param, ctx)
        number = super().convert(value, param, ctx)
        if number > MAX_INT64:
            self.fail(f"{number} is beyond 64 bits: at most {MAX_INT64}", param, ctx)
        return number


# --- shared options ----------------------------------------------------------


def exclusive(message: str, *given: object) -> None:
    """Refuse options that conflict: a usage problem, exit 2."""
    if sum(value not in (None, False, ()) for value in given) > 1:
        raise click.UsageError(message)


def _checked(check: Callable[[dict], None]) -> Callable[[Callable], Callable]:
    """Run ``check`` on a command's options before its body."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def command(*args, **kwargs):
            check(kwargs)
            return fn(*args, **kwargs)

        return command

    return decorate


def scope_options(fn: Callable) -> Callable:
    """``--person``, ``--team``, ``--everyone``: whose tasks (default: yours);
    one of them at most."""
    fn = _checked(lambda given: one_scope(given["person"], given["team"], given["everyone"]))(fn)
    fn = click.option("--everyone", is_flag=True, help="All people in the database.")(fn)
    fn = team_option("Everyone in this team.")(fn)
    fn = person_option("This person (default: you, see 'Who you are').")(fn)
    return fn


def _completer(name: str) -> Callable[[click.Context, click.Parameter, str], list]:
    """A ``shell_complete`` callback of :mod:`calibrate.cli.complete`, imported
    only when a shell asks (not at every start-up)."""

    def complete_(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
        import calibrate.cli.complete as complete

        return getattr(complete, name)(ctx, param, incomplete)

    return complete_


complete_task_ids = _completer("task_ids")
complete_tags = _completer("tags")
complete_projects = _completer("projects")
complete_people = _completer("people")
complete_teams = _completer("teams")


def person_option(help_text: str) -> Callable:
    """``--person NAME``, completed from the people in the database."""
    return click.option("--person", metavar="NAME", help=help_text, shell_complete=complete_people)


def team_option(help_text: str) -> Callable:
    """``--team TEAM``, completed from the teams in the database."""
    return click.option("--team", metavar="TEAM", help=help_text, shell_complete=complete_teams)


def tag_option(help_text: str) -> Callable:
    """``-t/--tag TAG`` (repeatable), completed from the tags in the database."""
    return click.option(
        "-t",
        "--tag",
        "tags",
        multiple=True,
        metavar="TAG",
        help=help_text,
        shell_complete=complete_tags,
    )


def project_option(help_text: str) -> Callable:
    """``--project NAME``, completed from the projects in the database."""
    return click.option(
        "--project", metavar="NAME", help=help_text, shell_complete=complete_projects
    )


#: What every window covers, said once for every command's --help.
WINDOW_HELP = (
    "Whole ISO weeks, Monday to Sunday, up to today: 1w is this week and last week, "
    "26w this week and the 26 before; 14d (days) and a date start on the Monday of "
    "their week; all is all history."
)


def window_option(default: str | None) -> Callable:
    shown = f" [default: {default}]" if default else " [default: all]"
    return click.option(
        "--since",
        type=Window(),
        metavar="26w|14d|DATE|all",
        default=default,
        help=WINDOW_HELP + shown,
    )


def output_options(fn: Callable) -> Callable:
    """``--json`` and ``--csv`` for programs, the same on every table."""
    fn = _checked(
        lambda given: exclusive(
            "--json and --csv exclude each other", given["json_output"], given["csv_output"]
        )
    )(fn)
    fn = click.option("--csv", "csv_output", is_flag=True, help="Output CSV.")(fn)
    fn = click.option("--json", "json_output", is_flag=True, help="Output JSON.")(fn)
    return fn


def selection_from(
    person: str | None, team: str | None, everyone: bool, *, since: str | None = None, **extra
) -> Selection:
    """The tasks a command covers: yours unless ``--person``, ``--team`` or
    ``--everyone`` says otherwise; ``since`` as :class:`Window` reads it."""
    if person is None and team is None and not everyone:
        person = default_person()
    return Selection(person=person, team=team, everyone=everyone, since=since, **extra)


def filter_options(default_status: str) -> Callable:
    """``--status``, ``--since``, ``--tag`` and ``--project``: the filters that
    ``list`` and ``export`` share."""

    def decorate(fn: Callable) -> Callable:
        fn = project_option("Only this project.")(fn)
        fn = tag_option("Only tasks with this tag (repeatable: all of them).")(fn)
        fn = window_option(None)(fn)
        return click.option(
            "--status",
            type=click.Choice(STATUS_CHOICES),
            default=default_status,
            show_default=True,
            help="open includes started tasks.",
        )(fn)

    return decorate


def filtered_selection(
    person: str | None,
    team: str | None,
    everyone: bool,
    status: str,
    since: str | None,
    tags: Sequence[str],
    project: str | None,
) -> Selection:
    """The tasks that :func:`scope_options` and :func:`filter_options` choose
    (``list``'s and ``export``'s): ``--since`` keeps the tasks active in the
    window, done in it or, if not done, created in it."""
    return selection_from(
        person,
        team,
        everyone,
        since=since,
        status=status,
        tags=tags,
        project=project,
        window_on="activity",
    )


#: What an id that is not a number is told.
TASK_ID_WORDS = "a task id (a number such as 12: 'calibrate list' shows them)"


def task_id_type() -> Int64:
    return Int64(what=TASK_ID_WORDS)


def task_id_arg(fn: Callable) -> Callable:
    return click.argument(
        "task_id", metavar="ID", type=task_id_type(), shell_complete=complete_task_ids
    )(fn)


def when_option(help_text: str) -> Callable:
    return click.option("--at", "at", type=Moment(), metavar="WHEN", help=help_text)


# --- printing ----------------------------------------------------------------


def say(message: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """Print a message for people: terminal control characters in it (from a
    title, a name, a tag, a path) shown escaped (:func:`calibrate.text.printable`;
    newlines kept). Styled text (:func:`paint`) escapes its parts first."""
    click.echo(printable(str(message), newlines=True), err=err, nl=nl)


def emit_flat(rows: Sequence[Mapping[str, Any]]) -> None:
    """``--csv`` of a command whose JSON is nested (score, rank, forecast,
    suggest): one flat row each, nested keys joined with dots
    (:func:`calibrate.text.flatten`), the columns in the order they appear."""
    flat = [flatten(row) for row in rows]
    click.echo(to_csv(flat, flat_columns(flat)), nl=False)


def emit(rows: list[dict], columns: list[Column], json_output: bool, csv_output: bool) -> None:
    """A table for people, or JSON or CSV for programs (:func:`output_options`)."""
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
    """``text`` styled for a terminal; :func:`click.echo` drops the style in a
    pipe and when ``NO_COLOR`` is set."""
    return click.style(text, **style)


#: Words that say something needs attention, and their colour: a flag, ranges
#: too narrow for what they claim, a promise past its date.
ATTENTION = (
    (r"flagged(?: \(under \d+%\))?", "red"),
    (r"too\s+narrow", "yellow"),
    (r"past due(?:: broken)?", "red"),
    (r"overdue", "red"),
    (r"under 80%: renegotiate now", "yellow"),
)


def highlight(text: str) -> str:
    """``text`` with the words of :data:`ATTENTION` in colour (dropped by
    :func:`click.echo` in a pipe and under ``NO_COLOR``)."""
    for pattern, colour in ATTENTION:
        text = re.sub(pattern, functools.partial(_styled, colour=colour), text)
    return text


def _styled(found: re.Match[str], colour: str) -> str:
    return click.style(found.group(), fg=colour)


def overdue(due: str | None, status: str, today: Any = None) -> bool:
    """Whether an open task's due date has passed."""
    if not due or status not in ("open", "started"):
        return False
    from calibrate.durations import local_today

    return due[:10] < (today or local_today()).isoformat()


@contextlib.contextmanager
def progress(label: str, length: int = 1, *, show: bool = True) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr, drawn only on a terminal (quiet in a pipe)
    and when ``show``. Yields ``update(done, total=None)``; the bar ends full
    when the work ends without an error."""
    with click.progressbar(
        length=max(1, length),
        label=label,
        file=sys.stderr,
        hidden=not (show and sys.stderr.isatty()),
    ) as bar:

        def update(done: int, total: int | None = None) -> None:
            if total is not None:
                bar.length = max(1, total)
            bar.update(done - bar.pos)

        yield update
        assert bar.length is not None  # given above
        bar.update(bar.length - bar.pos)
