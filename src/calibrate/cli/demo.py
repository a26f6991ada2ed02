"""``calibrate demo``: a synthetic team history and its report.

Loaded lazily (see ``LAZY_COMMANDS`` in :mod:`calibrate.cli`): only when the
command runs, so that the everyday commands start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from calibrate.cli.options import progress
from calibrate.text import count

if TYPE_CHECKING:
    from pathlib import Path

DEMO_DB = "reports/demo.db"


@click.command()
@click.option(
    "--db",
    "demo_db",
    type=click.Path(),
    metavar="PATH",
    help="Where to build it [default: calibrate's --db, else reports/demo.db; "
    "never $CALIBRATE_DB].",
)
@click.option(
    "--people",
    type=click.IntRange(min=1, max=100_000),
    default=12,
    show_default=True,
    help="How many people.",
)
@click.option(
    "--teams",
    type=click.IntRange(min=1),
    metavar="N",
    help="How many teams [default: about four people a team].",
)
@click.option(
    "--weeks",
    type=click.IntRange(min=1, max=520),
    default=52,
    show_default=True,
    help="Weeks of finished work, ending today.",
)
@click.option(
    "--tasks",
    type=click.IntRange(min=1),
    metavar="N",
    help="About this many tasks in all [default: five a week per person].",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The same seed builds the same history.",
)
@click.option("--force", is_flag=True, help="Replace the file even if it holds other tasks.")
@click.pass_context
def demo(ctx: click.Context, demo_db, people, teams, weeks, tasks, seed, force) -> None:
    """Build a realistic synthetic team history to try calibrate on.

    A year of finished tasks ending today, by a few teams, with open tasks,
    ranges and promises. The data are synthetic, shaped like the real SiP
    dataset. It never touches your own database: it builds reports/demo.db
    unless given a path, replaces an earlier demo there, and refuses a file
    that holds other tasks (unless --force).
    """
    from pathlib import Path

    from calibrate import demo as demo_data

    path = Path(demo_db or ctx.find_root().params.get("db") or DEMO_DB)
    if teams is not None and teams > people:
        raise click.BadParameter(
            f"{teams} teams need at least as many people (--people is {people})",
            param_hint="'--teams'",
        )
    with progress("Building the demo", people) as update:
        summary = demo_data.build_demo_database(
            path,
            force=force,
            people=people,
            teams=teams,
            weeks=weeks,
            tasks=tasks,
            seed=seed,
            progress=update,
        )
    still_open = summary["open"] + summary["started"]
    click.echo(
        f"Built a demo history: {count(summary['tasks'], 'task')} ({summary['done']:,} done, "
        f"{summary['dropped']:,} dropped, {still_open:,} open)\nby "
        f"{count(people, 'person', 'people')} in {count(summary['teams'], 'team')}, "
        f"{summary['first_day']} to {summary['last_day']} (seed {seed})."
    )
    click.echo("The data are synthetic: shaped like the real SiP dataset, nobody's real work.")
    click.echo(f"Database: {path}")
    _write_report(path, seed)


def _write_report(db_path: Path, seed: int) -> None:
    """The demo's last step: its HTML report (everyone, the last 26 weeks) beside
    the database, with a note that the data are synthetic; its path is the last
    line printed, so that ``make demo`` ends by showing it."""
    import shlex

    from calibrate.cli.report import write_demo_report

    click.echo(f"Scores: calibrate --db {shlex.quote(str(db_path))} score --everyone")
    report_path = write_demo_report(db_path, seed=seed)
    click.echo(f"Report: {report_path}")
