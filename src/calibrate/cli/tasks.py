"""``calibrate add``, loaded with the group: the one command typed many times
a day. The timer's start and stop are :mod:`.timer`'s (which ``add --start``
shares), loaded when they run. The rest of a task's life
(done, drop, reestimate, edit, rm) is :mod:`.changes`'s, reading it back
(list, show, status) :mod:`.reading`'s, recovery (reopen, undo)
:mod:`.recovery`'s and ``config`` :mod:`.config`'s: modules loaded only when
their commands run, so that ``add`` builds none of their options.

Typed values arrive parsed (the types of :mod:`calibrate.cli.options`), so a
command's body calls the library and prints. Every change runs inside
:func:`calibrate.store.undo.recording`, so that ``undo`` can reverse it.
Standard library and click only: these commands must start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from calibrate import store
from calibrate.cli.options import (
    App,
    Command,
    Confidence,
    Date,
    Duration,
    Range,
    pass_app,
    person_option,
    project_option,
    say,
    tag_option,
    team_option,
    when_option,
)
from calibrate.identity import default_person, default_team
from calibrate.store import tasks as tasklog
from calibrate.store.undo import recording

if TYPE_CHECKING:
    from calibrate.store.timers import Review

# --- add and the task's life -------------------------------------------------


@click.command(cls=Command)
@click.argument("title")
@click.option(
    "-e",
    "--estimate",
    type=Duration(),
    required=True,
    metavar="DURATION",
    help="Your median guess of the effort: 90m, 1.5h, 1h30m, 1:30, PT2H, 2d, 1w; a bare "
    "number is hours.",
)
@click.option(
    "--range",
    "range_",
    type=Range(),
    metavar="LOW..HIGH",
    help="Low and high effort you are --confidence sure of, e.g. 2h..6h.",
)
@click.option(
    "--confidence",
    type=Confidence(),
    metavar="PERCENT",
    help="Confidence of the range [default: 90].",
)
@click.option(
    "--promise",
    type=Duration(),
    metavar="DURATION",
    help="Effort you promise someone not to exceed.",
)
@click.option(
    "--due",
    type=Date(future=True),
    metavar="DATE",
    help="Date you promise it by: 2026-12-04, friday, +3d.",
)
@tag_option("A tag (repeatable).")
@project_option("The project it belongs to.")
@person_option("Whose task it is [default: you].")
@team_option("Their team [default: $CALIBRATE_TEAM].")
@click.option("--notes", metavar="TEXT", help="Free notes.")
@click.option("--start", "start_now", is_flag=True, help="Start its timer now.")
@click.option(
    "--actual",
    type=Duration(),
    metavar="DURATION",
    help="Log it as already done, with this effort.",
)
@when_option(
    "When it was created (its timer started, with --start; done, with --actual): "
    "2026-11-23T09:00, 'yesterday 10:00', monday (at noon), '3h ago' [default: now]."
)
@click.option("-q", "--quiet", is_flag=True, help="Print the new id alone.")
@pass_app
def add(
    app: App,
    title,
    estimate,
    range_,
    confidence,
    promise,
    due,
    tags,
    project,
    person,
    team,
    notes,
    start_now,
    actual,
    at,
    quiet,
) -> None:
    """Log a task with your estimate of its effort.

    Prints 'Added #ID: TITLE' (the id alone with -q). The first task says,
    on stderr, where the database was created. --at back-dates it: work done
    last week, logged now, is created (and done) then.
    """
    low_h, high_h = range_ if range_ is not None else (None, None)
    task = tasklog.NewTask(
        title=title,
        estimate_h=estimate,
        person=person or default_person(),
        team=team or default_team(),
        project=project,
        low_h=low_h,
        high_h=high_h,
        confidence=confidence,
        promise_h=promise,
        due=due.isoformat() if due else None,
        tags=tags,
        notes=notes,
    )
    task = tasklog.checked_new_task(task, start=start_now, actual_h=actual)

    def action(review: Review) -> int:
        with recording(app.conn, "add") as change:
            if start_now:
                change.watch_running()
            task_id = tasklog.add_task(
                app.conn, task, start=start_now, actual_h=actual, at=at, review=review
            )
            change.made(task_id)
            change.command = f"add #{task_id}"
        return task_id

    if start_now:  # a running timer that add --start stops is asked about like stop's
        from calibrate.cli.timer import reviewed

        decide = (
            "stop it first with 'calibrate stop --keep' or 'calibrate stop --trim-to DURATION|TIME'"
        )
        task_id = reviewed(action, decide=decide)
    else:
        task_id = action(lambda sitting: None)
    if quiet:
        click.echo(task_id)
    else:
        say(f"Added #{task_id}: {task.title}")
    if store.created_here(app.db_path):
        say(
            f"Created a new database: {app.db_path} (--db PATH or $CALIBRATE_DB uses another)",
            err=True,
        )
    if person is None:  # the remembered person: say once if git's name differs
        from calibrate.identity import git_name_note

        note = git_name_note(task.person)
        if note is not None:
            say(note, err=True)
    if not quiet and advice_before_the_fact(actual):
        # stdlib only; one indexed SELECT when the hint is stored, one FTS5
        # query for the similar finished tasks (the closest named, all of
        # them blended into the numbers with what the hint was mixed from)
        from calibrate.hinting import blended_hint, hint_for_add, keep_advice

        hint = hint_for_add(app.conn, task.person, estimate)
        if hint is not None:
            from calibrate.receipts import closest_words, similar_pool
            from calibrate.words import hint_line

            pool = similar_pool(
                app.conn,
                task.person,
                task.title,
                task.tags or (),
                task.project,
                exclude=[task_id],
            )
            hint = blended_hint(app.conn, hint, pool)
            end = closest_words(pool.receipts[0]) if pool and pool.receipts else None
            say(hint_line(hint, estimate, closest=end), err=True)
            note = keep_advice(app.conn, task_id, hint, estimate, "add")
            if note is not None:
                say(note, err=True)


def advice_before_the_fact(actual: float | None) -> bool:
    """Whether ``add`` gives (and may keep) advice: for work still to do. A
    task logged as already done (``add --actual``, back-filled with ``--at``
    or not) gets no hint, and none is kept in the advice ledger (METRICS.md
    section 8: advice given after the fact is not graded)."""
    return actual is None


#: The commands of this module, in the order ``calibrate`` registers them.
COMMANDS = (add,)
