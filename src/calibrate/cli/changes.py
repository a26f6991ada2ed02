"""Changing a task after ``add``: done, drop, reestimate, edit and rm, loaded
only when one of them runs (:data:`calibrate.cli.LAZY_COMMANDS`), so that
``add`` builds none of their options.

Typed values arrive parsed (the types of :mod:`calibrate.cli.options`), so a
command's body calls the library and prints. Every change runs inside
:func:`calibrate.store.undo.recording`, so that ``undo`` can reverse it.
Standard library and click only: these commands must start fast.
"""

from __future__ import annotations

import os

import click

from calibrate.cli.options import (
    CLEAR,
    NONE_WORDS,
    App,
    Command,
    Confidence,
    Date,
    Duration,
    Moment,
    Range,
    complete_people,
    complete_projects,
    complete_tags,
    complete_task_ids,
    complete_teams,
    pass_app,
    person_option,
    say,
    tag_option,
    task_id_arg,
    task_id_type,
    when_option,
)
from calibrate.cli.timer import Trim, review_options, reviewed
from calibrate.durations import format_duration, to_iso
from calibrate.store import tasks as tasklog
from calibrate.store.timers import Review
from calibrate.store.undo import recording
from calibrate.text import count as plural
from calibrate.text import printable


@click.command(cls=Command)
@task_id_arg
@click.option(
    "--actual",
    type=Duration(),
    metavar="DURATION",
    help="The effort it took [default: the timer's total].",
)
@when_option("When it was finished: friday, 17:30, 2026-11-27 [default: now].")
@review_options
@pass_app
def done(
    app: App, task_id: int, actual: float | None, at, keep: bool, trim_to: Trim | None
) -> None:
    """Finish a task; the actual is --actual, else its timer's total."""

    def action(review: Review) -> tuple[float, bool]:
        with recording(app.conn, f"done #{task_id}") as change:
            change.watch([task_id])
            return tasklog.finish_task(app.conn, task_id, actual, at, review)

    hours, from_timer = reviewed(action, keep=keep, trim_to=trim_to)
    task = tasklog.get_task(app.conn, task_id)
    ratio = hours / task["estimate_h"]
    source = " (timer)" if from_timer else ""
    say(
        f"Done #{task_id}: {format_duration(hours)}{source} against "
        f"{format_duration(task['estimate_h'])} estimated, {ratio:.2f}x"
    )
    from calibrate.hinting import refresh_task_hint

    refresh_task_hint(app.conn, task_id)  # the hints of 'add' and 'suggest' learn from it


@click.command(cls=Command)
@task_id_arg
@pass_app
def drop(app: App, task_id: int) -> None:
    """Drop a task that will not be done (it leaves every score)."""
    with recording(app.conn, f"drop #{task_id}") as change:
        change.watch([task_id])
        tasklog.drop_task(app.conn, task_id)
    say(f"Dropped #{task_id}")


@click.command(cls=Command)
@task_id_arg
@click.argument("estimate", metavar="DURATION", type=Duration())
@click.option("--reason", metavar="TEXT", help="Why the estimate changed.")
@pass_app
def reestimate(app: App, task_id: int, estimate: float, reason: str | None) -> None:
    """Record a new estimate; scores keep using the original one."""
    with recording(app.conn, f"reestimate #{task_id}") as change:
        change.watch([task_id])
        previous = tasklog.reestimate(app.conn, task_id, estimate, reason)
    say(f"Re-estimated #{task_id}: {format_duration(previous)} -> {format_duration(estimate)}")


@click.command(cls=Command)
@task_id_arg
@click.option("--title", metavar="TEXT")
@click.option(
    "-e",
    "--estimate",
    type=Duration(),
    metavar="DURATION",
    help="Correct the original estimate (use 'reestimate' for a new one).",
)
@click.option("--range", "range_", type=Range(clearable=True), metavar="LOW..HIGH|none")
@click.option("--confidence", type=Confidence(), metavar="PERCENT")
@click.option("--promise", type=Duration(clearable=True), metavar="DURATION|none")
@click.option("--due", type=Date(future=True, clearable=True), metavar="DATE|none")
@click.option("--actual", type=Duration(), metavar="DURATION", help="Correct a done task's actual.")
@click.option(
    "--status",
    type=click.Choice(["open", "started", "done", "dropped"]),
    help="Correct its status: done needs an actual (--actual, or its timer's); open and "
    "started clear the actual and done date ('reopen' does that too).",
)
@click.option(
    "--done-at",
    "done_at",
    type=Moment(),
    metavar="WHEN",
    help="Correct when it was done (or dropped); never before its timer ran.",
)
@click.option("--project", metavar="NAME|none", shell_complete=complete_projects)
@click.option("--person", metavar="NAME", shell_complete=complete_people)
@click.option("--team", metavar="TEAM|none", shell_complete=complete_teams)
@click.option("--notes", metavar="TEXT|none")
@tag_option("Replace the tags.")
@click.option("--add-tag", multiple=True, metavar="TAG", shell_complete=complete_tags)
@click.option("--remove-tag", multiple=True, metavar="TAG", shell_complete=complete_tags)
@pass_app
def edit(
    app: App,
    task_id,
    title,
    estimate,
    range_,
    confidence,
    promise,
    due,
    actual,
    status,
    done_at,
    project,
    person,
    team,
    notes,
    tags,
    add_tag,
    remove_tag,
) -> None:
    """Change a task's fields; 'none' clears an optional one.

    --status, --actual and --done-at correct how it ended (or that it did).
    """
    changes: dict = {}
    if title is not None:
        changes["title"] = title
    if estimate is not None:
        changes["estimate_h"] = estimate
    if range_ is CLEAR:
        changes.update(low_h=None, high_h=None, confidence=None)
    elif range_ is not None:
        changes["low_h"], changes["high_h"] = range_
    if confidence is not None:
        changes["confidence"] = confidence
    if promise is not None:
        changes["promise_h"] = None if promise is CLEAR else promise
    if due is not None:
        changes["due"] = None if due is CLEAR else due.isoformat()
    if actual is not None:
        changes["actual_h"] = actual
    if status is not None:
        changes["status"] = status
    if done_at is not None:
        changes["done_at"] = to_iso(done_at)
    for key, value in (("project", project), ("team", team), ("notes", notes)):
        if value is not None:
            changes[key] = None if value.strip().lower() in NONE_WORDS else value
    if person is not None:
        changes["person"] = person
    if tags or add_tag or remove_tag:
        import json

        current = tags or json.loads(tasklog.get_task(app.conn, task_id)["tags"])
        changes["tags"] = [t for t in [*current, *add_tag] if t not in remove_tag]
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    with recording(app.conn, f"edit #{task_id}") as change:
        change.watch([task_id])
        changed = tasklog.edit_task(app.conn, task_id, changes)
    if changed:
        names = (k.removesuffix("_h").replace("_at", " date") for k in changed)
        say(f"Edited #{task_id}: {', '.join(names)}")
    else:
        say(f"#{task_id} unchanged")


@click.command(cls=Command)
@click.argument(
    "task_ids", metavar="ID...", nargs=-1, type=task_id_type(), shell_complete=complete_task_ids
)
@person_option("Delete all of this person's tasks (instead of IDs).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def rm(app: App, task_ids: tuple[int, ...], person: str | None, yes: bool) -> None:
    """Delete tasks for good (asks first unless --yes).

    Each deleted task leaves a tombstone (its uid, never a name), so that no
    older file merged or imported later brings it back. With --person NAME,
    every task of that person goes, under every name their aliases give
    them, with the weeks imported team summaries hold for them, and they are
    removed from the migration backups beside the database too.
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
    with recording(app.conn, "rm " + ", ".join(f"#{i}" for i in task_ids)) as change:
        change.watch(task_ids)
        count = tasklog.delete_tasks(app.conn, list(task_ids))
    say(f"Deleted {plural(count, 'task')}")


def _rm_person(app: App, name: str, yes: bool) -> None:
    from calibrate.errors import NotFound
    from calibrate.store import people  # standard library only

    conn = app.existing_conn()
    if conn is None:
        raise NotFound(f"no person {name!r} in this database (see 'calibrate people')")
    person, count = people.person_task_count(conn, name)
    if not yes:
        shown = printable(person)
        click.confirm(f"Delete all {plural(count, 'task')} of {shown}?", abort=True, err=True)
    deleted = people.delete_person(conn, person)
    weeks = deleted["summary_weeks"]
    extra = f" and {plural(weeks, 'summary week')}" if weeks else ""
    names = [n for n in deleted["names"] if n != person]
    also = f" (also named {', '.join(names)})" if names else ""
    say(f"Deleted {plural(deleted['tasks'], 'task')} of {person}{also}{extra}")
    from calibrate.store import backups  # standard library only

    rewritten, left = backups.forget_person(app.db_path, deleted["names"])
    if rewritten:
        say(
            f"  and from {plural(len(rewritten), 'backup')}: "
            + ", ".join(os.path.basename(b) for b in rewritten)
        )
    for line in left:
        say(
            f"  still held by the backup {line}: delete it by hand if it holds nothing you need",
            err=True,
        )
