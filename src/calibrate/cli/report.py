"""The ``calibrate report`` command: parse, call :mod:`calibrate.report`, print the path.

Registered in :data:`calibrate.cli.LAZY_COMMANDS`, so plotly, jinja2 and pandas
load only when a report is asked for. ``calibrate demo`` reuses
:func:`write_demo_report` for its last step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from calibrate.cli.options import (
    App,
    pass_app,
    progress,
    say,
    scope_options,
    selection_from,
    window_option,
)
from calibrate.identity import default_person
from calibrate.selection import Selection

#: The report's progress bar moves one step a section, up to this many.
REPORT_STEPS = 10


@click.command()
@scope_options
@window_option("26w")
@click.option(
    "-o",
    "--output",
    type=click.Path(allow_dash=True),
    metavar="FILE",
    help="Where to write it ('-': standard output) "
    "[default: reports/calibrate-<scope>-<ISO week>.html].",
)
@click.option("--open", "open_browser", is_flag=True, help="Open it in your web browser.")
@click.option(
    "--plotlyjs",
    type=click.Choice(["inline", "cdn"]),
    default="inline",
    show_default=True,
    help="inline: the file works offline (about 5 MB); cdn: a smaller file that loads "
    "plotly.js from its CDN when opened.",
)
@click.option(
    "--anonymise",
    "--anonymize",
    "anonymise",
    is_flag=True,
    help="Replace people's names with stable pseudonyms, for sharing outside the team.",
)
@pass_app
def report(
    app: App, person, team, everyone, since, output, open_browser, plotlyjs, anonymise
) -> None:
    """Write the HTML report of a scope and window, and print its path.

    \b
    calibrate report                          # you, the last 26 weeks
    calibrate report --team Platform --open   # a team, opened in the browser
    calibrate report --everyone --since all -o all.html

    One self-contained file: the headline (score with its interval, bias,
    typical miss, promises kept, the change since the previous period of the
    same length), the weekly trend, estimate against actual, the spread of
    actual / estimate, bias by estimate size, range calibration, promises per
    week, and a table of people (a team), teams (everyone) or your worst and
    best estimates (a person).
    """
    from calibrate import files
    from calibrate import report as report_lib

    selection = selection_from(person, team, everyone, since=since)
    # An anonymised report of a person must not carry their name in its file name.
    named = Selection(person="anonymous") if anonymise and selection.person else selection
    if output == "-":
        with progress("Building the report", REPORT_STEPS) as update:
            html = report_lib.build_report(
                app.existing_conn(),
                selection,
                plotlyjs=plotlyjs,
                progress=_steps(update),
                anonymise=anonymise,
            )
        click.echo(html, nl=False)
        return
    path = Path(output) if output else report_lib.default_path(named)
    if output and not path.is_dir():  # refused before the report is built (it may write caches)
        files.output_target(path, database=app.db_path)
    with progress("Building the report", REPORT_STEPS) as update:
        written = report_lib.write_report(
            app.existing_conn(),
            selection,
            path,
            plotlyjs=plotlyjs,
            progress=_steps(update),
            anonymise=anonymise,
            viewer=default_person(),
            database=app.db_path,
        )
    say(str(written))
    if open_browser:
        _open(written)


def _steps(update: Callable[[int], None]) -> Callable[[str], None]:
    """The report's ``progress(label)``: one step a section, the last step
    kept for the end."""
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done = min(done + 1, REPORT_STEPS - 1)
        update(done)

    return step


def _open(path: Path) -> None:
    import webbrowser

    if not webbrowser.open(path.resolve().as_uri()):
        say("Could not open a browser; open the file above yourself.", err=True)


def write_demo_report(db_path: Path, *, seed: int) -> Path:
    """The demo's report: everyone in the demo database, the last 26 weeks,
    written beside it (``reports/demo.db`` gives ``reports/demo.html``), with
    a note that the data are synthetic."""
    from calibrate import report as report_lib
    from calibrate import store
    from calibrate.durations import parse_since

    report_path = Path(db_path).with_suffix(".html")
    if report_path == Path(db_path):  # a database named NAME.html: NAME.html.html
        report_path = Path(f"{db_path}.html")
    conn = store.connect(db_path)
    try:
        note = (
            f"Demo data: every task in this report is synthetic (calibrate demo, seed {seed}), "
            "shaped like the public SiP dataset; nobody's real work."
        )
        selection = Selection(everyone=True, since=parse_since("26w"))
        with progress("Building the report", REPORT_STEPS) as update:
            return report_lib.write_report(
                conn,
                selection,
                report_path,
                note=note,
                progress=_steps(update),
                database=str(db_path),
            )
    finally:
        conn.close()
