"""``calibrate import``, ``export`` and ``merge``: history in and out.

Loaded lazily (see ``LAZY_COMMANDS`` in :mod:`calibrate.cli`): only when the
command runs, so that the everyday commands start fast.
"""

from __future__ import annotations

import sys

import click

from calibrate.cli.options import (
    App,
    ParsedValue,
    filter_options,
    filtered_selection,
    pass_app,
    progress,
    read_with,
    say,
    scope_options,
)
from calibrate.errors import UsageError
from calibrate.identity import default_person, default_team
from calibrate.selection import Selection
from calibrate.text import count, to_json


class ImportFormat(ParsedValue):
    """``import --format``: a format that imports (or ``summary``), by name."""

    name = "format"

    def parse(self, text: str, ctx: click.Context | None) -> str:
        from calibrate.exchange.formats import get_format

        get_format(text)
        return text


class Encoding(ParsedValue):
    """``--encoding``: a text encoding Python knows."""

    name = "encoding"

    def parse(self, text: str, ctx: click.Context | None) -> str:
        import codecs

        try:
            codecs.lookup(text)
        except LookupError:
            raise UsageError(f"unknown encoding {text!r}") from None
        return text


class DateFormat(ParsedValue):
    """``--date-format``: dmy, mdy, ymd or a strptime pattern."""

    name = "date_format"

    def parse(self, text: str, ctx: click.Context | None) -> str:
        from calibrate.exchange.formats.dates import DateError, DateReader

        try:
            DateReader(text)
        except DateError as error:
            raise UsageError(str(error)) from None
        return text


class Delimiter(ParsedValue):
    """``--delimiter``: a CSV file's separator (one character, or tab)."""

    name = "delimiter"

    def parse(self, text: str, ctx: click.Context | None) -> str:
        from calibrate.exchange.formats.csvfile import delimiter_from

        return delimiter_from(text)


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--map FIELD=COLUMN`` (repeatable), read as a whole: a field given
    twice is refused too."""
    from calibrate.exchange.formats import parse_mapping

    return parse_mapping(pairs)


@click.command(name="import")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option(
    "--format",
    "format_name",
    type=ImportFormat(),
    metavar="FORMAT",
    help="csv, tsv, jira, taskwarrior, timewarrior, jsonl, json, or summary (a team's "
    "'export --summary') [default: guessed from the file].",
)
@click.option(
    "--delimiter",
    type=Delimiter(),
    metavar="CHAR",
    help="A CSV file's separator: ',', ';', tab, '|' [default: sniffed from its header].",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    callback=read_with(_mapping),
    metavar="FIELD=COLUMN",
    help="Read FIELD from COLUMN (repeatable); the other fields are still guessed. "
    "Fields: key, title, estimate, actual, person, team, project, tags, created, "
    "started, done, due, low, high, confidence, promise, status, notes, source, "
    "updated (when the row last changed).",
)
@click.option(
    "--unit",
    type=click.Choice(["s", "m", "h", "d"]),
    help="Unit of bare numbers [default: h; Jira: s].",
)
@click.option(
    "--encoding",
    type=Encoding(),
    metavar="NAME",
    help="The file's encoding, e.g. cp1252 [default: utf-8].",
)
@click.option(
    "--date-format",
    type=DateFormat(),
    metavar="dmy|mdy|ymd|PATTERN",
    help="Force how dates read: day-first, month-first, year-first, or a strptime "
    "pattern [default: detected from the data].",
)
@click.option(
    "--source",
    metavar="NAME",
    help="Names the origin in each uid, SOURCE:KEY [default: jira or taskwarrior where "
    "the format names its tracker, else the file's name].",
)
@click.option("--person", metavar="NAME", help="Person of rows that name none [default: you].")
@click.option(
    "--team", metavar="TEAM", help="Team of rows that name none [default: $CALIBRATE_TEAM]."
)
@click.option(
    "--join",
    type=click.Path(),
    metavar="FILE",
    help="A second CSV whose columns join the rows on the key column.",
)
@click.option(
    "--prefer",
    metavar="COLUMN",
    help="Of rows sharing a key, keep the one with the largest COLUMN.",
)
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Leave bad rows out (counted, the first 20 listed) instead of stopping.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
@click.option("--json", "json_output", is_flag=True, help="Print the summary as JSON.")
@pass_app
def import_(
    app: App,
    file: str,
    format_name,
    mapping,
    unit,
    encoding,
    date_format,
    source,
    person,
    team,
    join,
    prefer,
    skip_bad,
    dry_run,
    json_output,
    delimiter,
) -> None:
    """Import tasks from FILE ('-' reads stdin), in one transaction.

    \b
    calibrate import tasks.csv
    calibrate import jira.csv --format jira --date-format dmy
    calibrate import export.csv --map estimate=HoursEstimate --map person=DeveloperID
    task export | calibrate import -
    timew export | calibrate import -

    Rows need an estimate; rows without one are skipped and counted. A bad row
    stops the import with its line number (nothing is written) unless --skip-bad.
    Importing a file again adds nothing and changes only what the tracker changed
    since: an actual, done date, timer or re-estimate recorded here is never
    undone, and a status only moves forward. A calibrate JSON Lines export comes
    back as the same history.

    A team summary ('export --summary') is stored for a lead: a later export of
    the same database replaces the weeks it covers; other teams' add up; a row
    that cannot be is refused with one line; people with tasks here are counted
    from their tasks, never from a summary.

    CSV: the separator is sniffed from the header (',' ';' tab '|'); in a
    ';'-separated file numbers use the decimal comma (1,5). Durations read as
    90m, 1.5h, 1:30 or PT2H. A tags cell may hold several: ui;auth or ui, auth.

    Taskwarrior: the estimate is the UDA 'estimate' (task config
    uda.estimate.type duration; task add ... estimate:2h), the actual the UDA
    'actual' (or 'spent', 'totalactivetime'), else an annotation 'spent 2h'.
    A completed task with no actual is skipped, counted with how to give it one.

    Timewarrior: 'timew export' intervals become timer intervals of the tasks
    their tags name: cal:12 is task #12 here, and a task's key (WEB-7, a
    Taskwarrior uuid) names the task imported with it. 'done' then takes the
    actual from the timer.
    """
    from pathlib import Path

    from calibrate.exchange import importer
    from calibrate.exchange.formats import PROGRESS_MIN_BYTES

    with importer.input_file(Path(file)) as (path, name):
        if _is_team_summary(format_name, path):
            _import_summary(app, path, name, dry_run=dry_run, json_output=json_output)
            return
        if _is_timewarrior(format_name, path, encoding):
            _import_intervals(app, path, name, encoding, dry_run=dry_run, json_output=json_output)
            return
        options = importer.ImportOptions(
            path=path,
            name=name,
            person=person or default_person(),
            team=team or default_team(),
            format_name=format_name,
            mapping=mapping,
            unit=unit,
            encoding=encoding,
            date_format=date_format,
            source=source,
            join=Path(join) if join else None,
            prefer=prefer,
            skip_bad=skip_bad,
            dry_run=dry_run,
            delimiter=delimiter,
        )
        size = path.stat().st_size
        with (
            progress("Importing", size, show=size >= PROGRESS_MIN_BYTES) as update,
            importer.target_connection(
                Path(app.db_path), lambda: app.conn, app.close, dry_run=dry_run
            ) as conn,
        ):
            result = importer.import_file(conn, options, update)
    if json_output:
        click.echo(to_json(result.as_dict()))
        return
    say("\n".join(result.lines()))
    if dry_run:
        if result.preview:
            click.echo(importer.preview_table(result))
        say("Dry run: nothing was written.", err=True)


def _is_team_summary(format_name: str | None, path) -> bool:
    """A team summary (``export --summary``): named, or recognised by its header."""
    if format_name is not None:
        return format_name.lower() == "summary"
    from calibrate.exchange.summary_file import looks_like_summary

    return looks_like_summary(path)


def _is_timewarrior(format_name: str | None, path, encoding: str | None) -> bool:
    """A ``timew export``: named, or recognised by its first intervals."""
    from calibrate.exchange.formats import guess_format

    return (format_name or guess_format(path, encoding)).lower() == "timewarrior"


def _import_intervals(
    app: App, path, name: str, encoding: str | None, *, dry_run: bool, json_output: bool
) -> None:
    """``import`` of a Timewarrior export: its intervals onto the tasks their
    tags name (:mod:`calibrate.exchange.intervals`), in one transaction."""
    from pathlib import Path

    from calibrate.exchange import importer, intervals
    from calibrate.exchange.formats.timewarrior import read_intervals

    tracked = read_intervals(path, name, encoding)
    with importer.target_connection(
        Path(app.db_path), lambda: app.conn, app.close, dry_run=dry_run
    ) as conn:
        result = intervals.import_intervals(conn, tracked, name, dry_run=dry_run)
    if json_output:
        click.echo(to_json(result.as_dict()))
    else:
        say("\n".join(result.lines()))
    if dry_run:
        say("Dry run: nothing was written.", err=True)


def _import_summary(app: App, path, name: str, *, dry_run: bool, json_output: bool) -> None:
    """``import`` of a team summary: through the one door before anything is
    written (a row that cannot be is refused with one line), then stored in
    one transaction, for every command that shows people or teams."""
    from pathlib import Path

    from calibrate.exchange import importer, summary_file

    checked = summary_file.read_summary(path, name)
    if dry_run:
        people = len({w["person"] for w in checked.weeks})
        say(
            f"Would import summary {name}: {count(people, 'person', 'people')}, "
            f"{count(len(checked.weeks), 'person-week')}"
        )
        for line in checked.refused:
            say(f"  refused: {line}")
        say("Dry run: nothing was written.", err=True)
        return
    with importer.target_connection(Path(app.db_path), lambda: app.conn, app.close) as conn:
        result = summary_file.store_summary(conn, checked)
    if json_output:
        click.echo(to_json(result.as_dict()))
    else:
        say("\n".join(result.lines()))


@click.command()
@scope_options
@filter_options(default_status="any")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["csv", "jsonl", "json"]),
    help="[default: from the -o file's suffix, else csv]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(allow_dash=True),
    metavar="FILE",
    help="Write to FILE (atomically) [default: stdout].",
)
@click.option(
    "--summary",
    "summary_only",
    is_flag=True,
    help="Write a team summary instead (JSON): per person and week, the figures "
    "a score is made of, no tasks; people who opted out are left out. Its window "
    "is by done date.",
)
@pass_app
def export(
    app: App,
    person,
    team,
    everyone,
    status,
    since,
    tags,
    project,
    format_name,
    output,
    summary_only,
) -> None:
    """Export tasks (everyone's, all statuses and times unless narrowed).

    Every field goes out, uid included, so that 'calibrate import' reads the
    file back unchanged, into this database or another. CSV cells that start
    like a spreadsheet formula get a leading apostrophe, which import removes.
    JSON Lines carries the whole history besides: when each field was written,
    timer sittings, re-estimates, aliases, opt-outs and deletions.

    With --summary, a team shares its standing without its tasks: a lead
    imports the file ('calibrate import'), and score, rank, people and report
    count its people there exactly as from the raw tasks.
    """
    from pathlib import Path

    from calibrate.exchange import exporter

    output = Path(output) if output not in (None, "-") else None
    everyone = everyone or (person is None and team is None)
    selection = filtered_selection(person, team, everyone, status, since, tags, project)
    if summary_only:
        _export_summary(app, selection, status, format_name, output)
        return
    fmt = exporter.format_for_path(output, format_name)
    conn = app.existing_conn()
    if output is None:
        exporter.export_tasks(conn, selection, fmt, sys.stdout)
        return
    written = exporter.export_to_file(conn, selection, fmt, output, database=app.db_path)
    say(f"Exported {count(written, 'task')} to {output}", err=True)


def _export_summary(app: App, selection: Selection, status: str, format_name, output) -> None:
    """``export --summary``: the team summary of ``calibrate.exchange.summary_file``."""
    from calibrate.exchange import summary_file

    if status != "any":
        raise click.UsageError("--status does not apply to --summary (it covers finished work)")
    if format_name not in (None, "json"):
        raise click.UsageError("--summary is written as JSON: leave out --format")
    built = summary_file.build_summary(app.existing_conn(), selection)
    if output is None:
        summary_file.write_summary(sys.stdout, built)
        return
    weeks = summary_file.write_summary_file(output, built, database=app.db_path)
    say(
        f"Exported a summary of {count(len(built['people']), 'person', 'people')} "
        f"({count(weeks, 'person-week')}) to {output}",
        err=True,
    )


@click.command()
@click.argument("other", metavar="OTHER.db", type=click.Path())
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--json", "json_output", is_flag=True, help="Print the summary as JSON.")
@pass_app
def merge(app: App, other: str, dry_run: bool, json_output: bool) -> None:
    """Fold another calibrate database into this one, task by task (by uid).

    New tasks are added; where both have a task, each field takes the later
    edit; timer sittings and re-estimates of both are kept; a task deleted on
    either side stays deleted. Any order, any number of times: the same result.
    A record that add would refuse is refused, one line each; the rest merges.
    """
    from pathlib import Path

    from calibrate.exchange.merge import merge_database

    result = merge_database(app.conn, Path(other), own_path=Path(app.db_path), dry_run=dry_run)
    if json_output:
        click.echo(to_json(result.as_dict()))
    else:
        say("\n".join(result.lines()))
