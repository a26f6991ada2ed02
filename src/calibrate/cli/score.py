"""``calibrate score``: the calibration and promise-keeping panel.

Loaded lazily (see ``LAZY_COMMANDS`` in :mod:`calibrate.cli`): only when the
command runs, so that the everyday commands start fast.
"""

from __future__ import annotations

import click

from calibrate.cli.options import (
    App,
    emit_flat,
    highlight,
    output_options,
    pass_app,
    scope_options,
    selection_from,
    window_option,
)
from calibrate.text import printable, to_json


@click.command()
@scope_options
@window_option("26w")
@click.option(
    "--by",
    type=click.Choice(["tag", "project", "size", "weekday"]),
    metavar="KIND",
    help="Where you misjudge, per tag, project, size or weekday (created): bias, "
    "typical miss and keep rate, and which groups are clearly different from your usual.",
)
@output_options
@pass_app
def score(app: App, person, team, everyone, since, by, json_output: bool, csv_output: bool) -> None:
    """Your calibration and promise-keeping panel for a scope and window.

    The score runs 0-100 (50 means a typical 2x miss, 100 perfect), shrunk
    toward your team; beside it: bias, typical miss and share within 25%; how
    often your ranges held the actual; how many promises you make, keep and
    exceed against their targets; and the weekly trend.

    --json gives every figure, unrounded; --csv one row of them (nested names
    joined with dots; the per-size and per-week tables are in --json).

    --by tag|project|size|weekday: the same scope and window group by group
    (10+ finished tasks for the ratios, 10+ promises due for the keep rate),
    each figure with its 90% interval; "clearly different" only where a
    permutation test within ISO weeks survives a false discovery rate of 0.10
    across the groups shown. --csv then gives one row a group.
    """
    selection = selection_from(person, team, everyone, since=since)
    if by is not None:
        from calibrate import misjudge  # numpy and pandas: only for this command

        groups = misjudge.build_groups(app.existing_conn(), selection, by)
        if json_output:
            click.echo(to_json(groups))
        elif csv_output:
            emit_flat([{"by": by, **row} for row in groups["groups"]])
        else:
            click.echo(highlight(printable(misjudge.render_groups(groups), newlines=True)))
        return
    from calibrate import panel, panel_words  # numpy and pandas: only for this command

    built = panel.build_panel(app.existing_conn(), selection)
    if json_output:
        click.echo(to_json(built))
    elif csv_output:
        emit_flat([built])
    else:
        click.echo(highlight(printable(panel_words.render_panel(built), newlines=True)))
