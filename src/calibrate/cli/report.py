"""The ``calibrate report`` command: parse, call :mod:`calibrate.report`, print the path.

Registered in :data:`calibrate.cli.LAZY_COMMANDS`, so plotly, jinja2 and pandas
load only when a report is asked for. ``calibrate demo`` reuses
:func:`write_demo_report` for its last step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from calibrate.cli import App, pass_app, scope_options, selection_from, window_option
from calibrate.selection import Selection


@click.command()
@scope_options
@window_option("26w")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Where to write it [default: reports/calibrate-<scope>-<ISO week>.html].",
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
def report(app: App, person, team, everyone, since, output, open_browser, plotlyjs,
           anonymise) -> None:  # fmt: skip
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
    from calibrate import report as report_lib

    selection = selection_from(person, team, everyone, since=since)
    # An anonymised report of a person must not carry their name in its file name.
    named = Selection(person="anonymous") if anonymise and selection.person else selection
    path = Path(output) if output else report_lib.default_path(named)
    with _progress() as step:
        written = report_lib.write_report(
            app.existing_conn(), selection, path, plotlyjs=plotlyjs, progress=step,
            anonymise=anonymise,
        )  # fmt: skip
    click.echo(str(written))
    if open_browser:
        _open(written)


class _progress:
    """One step a section on stderr when it is a terminal; silent in a pipe."""

    STEPS = 10

    def __enter__(self):
        self.bar = click.progressbar(
            length=self.STEPS, label="Building the report", file=sys.stderr,
            hidden=not sys.stderr.isatty(),
        )  # fmt: skip
        self.bar.__enter__()
        return self.step

    def step(self, label: str) -> None:
        if self.bar.pos < self.STEPS - 1:
            self.bar.update(1)

    def __exit__(self, *exc):
        if exc[0] is None:
            self.bar.update(self.STEPS - self.bar.pos)
        return self.bar.__exit__(*exc)


def _open(path: Path) -> None:
    import webbrowser

    if not webbrowser.open(path.resolve().as_uri()):
        click.echo("Could not open a browser; open the file above yourself.", err=True)


def write_demo_report(db_path: Path, *, seed: int) -> Path:
    """The demo's report: everyone in the demo database, the last 26 weeks,
    written beside it (``reports/demo.db`` gives ``reports/demo.html``), with
    a note that the data are synthetic."""
    from calibrate import report as report_lib
    from calibrate import store
    from calibrate.durations import parse_since

    conn = store.connect(db_path)
    try:
        note = (
            f"Demo data: every task in this report is synthetic (calibrate demo, seed {seed}), "
            "shaped like the public SiP dataset; nobody's real work."
        )
        selection = Selection(everyone=True, since=parse_since("26w"))
        with _progress() as step:
            return report_lib.write_report(
                conn, selection, Path(db_path).with_suffix(".html"), note=note, progress=step
            )
    finally:
        conn.close()
