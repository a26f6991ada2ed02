"""``calibrate demo``: a synthetic team history and its report.

Loaded lazily (see ``LAZY_COMMANDS`` in :mod:`calibrate.cli`): only when the
command runs, so that the everyday commands start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from calibrate.cli.options import progress, say
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
    help="About this many tasks in all, at most 10,000,000 [default: five a week per person].",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The same seed builds the same history.",
)
@click.option("--force", is_flag=True, help="Replace the file even if it holds other tasks.")
@click.option(
    "--open",
    "open_browser",
    is_flag=True,
    help="Open the report in your web browser (where there is a display; never when $CI is set).",
)
@click.pass_context
def demo(
    ctx: click.Context, demo_db, people, teams, weeks, tasks, seed, force, open_browser
) -> None:
    """Build a realistic synthetic team history to try calibrate on.

    A year of finished tasks ending today, by a few teams, with open tasks,
    ranges and promises. The data are synthetic, shaped like the real SiP
    dataset, and people differ: one overruns, one pads, one improves, one
    lets promises slip and one is new (with 6 people or more). It never
    touches your own database: it builds reports/demo.db unless given a path,
    replaces an earlier demo there, and refuses a file that holds other tasks
    (unless --force). It ends by printing a command to try next.
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
    say(
        f"Built a demo history: {count(summary['tasks'], 'task')} ({summary['done']:,} done, "
        f"{summary['dropped']:,} dropped, {still_open:,} open)\nby "
        f"{count(people, 'person', 'people')} in {count(summary['teams'], 'team')}, "
        f"{summary['first_day']} to {summary['last_day']} (seed {seed})."
    )
    say("The data are synthetic: shaped like the real SiP dataset, nobody's real work.")
    cast = demo_data.make_people(people, summary["teams"], weeks, seed)
    _echo_roles(cast)
    say(f"Database: {path}")
    report_path = _write_report(path, seed)
    say(f"Report:   {report_path} (open it in a web browser)")
    if open_browser:
        _open(report_path)
    say(f"Next:     {next_command(path, 'score', '--everyone')}")


def _echo_roles(cast: list) -> None:
    """Who in the cast shows what (:data:`calibrate.demo.people.ROLES`), one a
    line, in the order of the roles."""
    from calibrate.demo.people import ROLE_WORDS, ROLES

    holders = sorted((p for p in cast if p.role), key=lambda person: ROLES.index(person.role))
    if not holders:
        return
    say("Worth a look (score --person NAME):")
    name_width = max(len(person.name) for person in holders)
    team_width = max(len(person.team) for person in holders)
    for person in holders:
        say(
            f"  {person.name:<{name_width}}  {person.team:<{team_width}}  {ROLE_WORDS[person.role]}"
        )


def _write_report(db_path: Path, seed: int) -> Path:
    """The demo's report (everyone, the last 26 weeks) beside the database,
    with a note that the data are synthetic."""
    from calibrate.cli.report import write_demo_report

    return write_demo_report(db_path, seed=seed)


def _open(path: Path) -> None:
    """Open the report in a browser where one can show it: never when ``$CI``
    is set, and on Linux and the BSDs only with a display (``webbrowser``
    would otherwise take over the terminal with a text browser)."""
    import os
    import sys
    import webbrowser

    graphical = sys.platform in ("darwin", "win32") or any(
        os.environ.get(key) for key in ("DISPLAY", "WAYLAND_DISPLAY")
    )
    if os.environ.get("CI") or not graphical:
        return
    if not webbrowser.open(path.resolve().as_uri()):
        say("Could not open a browser; open the report above yourself.", err=True)


def next_command(db_path: Path, *args: str) -> str:
    """A ``calibrate`` command line on ``db_path`` that works as printed when
    pasted into a fresh shell anywhere: the running program as it can be
    found there (``calibrate`` when that is on PATH, else its path, such as
    ``.venv/bin/calibrate``, or ``python -m calibrate``), and, when a path is
    shown relative to this folder, a ``cd`` here first."""
    import os
    import shlex
    import shutil
    import sys
    from pathlib import Path

    here = Path.cwd()
    relative = False

    def shown(path: Path, *, program: bool = False) -> str:
        nonlocal relative
        full = Path(os.path.abspath(path))
        try:
            inside = str(full.relative_to(here))
        except ValueError:
            return str(full)
        relative = True
        # A program's path needs a slash, or the shell looks for it on PATH.
        return os.path.join(".", inside) if program and os.sep not in inside else inside

    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    found = shutil.which("calibrate")
    if script is not None and script.stem == "calibrate" and script.is_file():
        on_path = found is not None and Path(found).resolve() == script.resolve()
        program = ["calibrate"] if on_path else [shown(script, program=True)]
    else:  # python -m calibrate, or calibrate called from Python
        program = [shown(Path(sys.executable), program=True), "-m", "calibrate"]
    words = [*program, "--db", shown(Path(db_path)), *args]
    line = shlex.join(words)
    return f"cd {shlex.quote(str(here))} && {line}" if relative else line
