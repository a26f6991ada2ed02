"""The everyday commands: a task's life (add, start, stop, done, drop,
reestimate, edit, rm) and reading it back (list, show); ``config`` is
:mod:`.config`'s.

Typed values arrive parsed (the types of :mod:`calibrate.cli.options`), so a
command's body calls the library and prints. Standard library and click only:
these commands must start fast.
"""

from __future__ import annotations

import os
import sqlite3

import click

from calibrate import store
from calibrate.cli.options import (
    CLEAR,
    NONE_WORDS,
    App,
    Confidence,
    Date,
    Duration,
    Int64,
    Range,
    complete_people,
    complete_projects,
    complete_tags,
    complete_task_ids,
    complete_teams,
    emit,
    filter_options,
    filtered_selection,
    output_options,
    overdue,
    paint,
    pass_app,
    person_option,
    project_option,
    scope_options,
    tag_option,
    task_id_arg,
    task_id_type,
    team_option,
    terminal_width,
    when_option,
)
from calibrate.clock import local_text
from calibrate.durations import format_duration
from calibrate.identity import default_person, default_team
from calibrate.selection import Selection
from calibrate.store import fields
from calibrate.store import tasks as tasklog
from calibrate.text import Column, render_table, to_json
from calibrate.text import count as plural

# --- add and the task's life -------------------------------------------------


@click.command()
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
    quiet,
) -> None:
    """Log a task with your estimate of its effort.

    Prints 'Added #ID: TITLE' (the id alone with -q). The first task says,
    on stderr, where the database was created.
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
    task_id = tasklog.add_task(app.conn, task, start=start_now, actual_h=actual)
    if quiet:
        click.echo(task_id)
    else:
        click.echo(f"Added #{task_id}: {task.title}")
    if store.created_here(app.db_path):
        click.echo(
            f"Created a new database: {app.db_path} (--db PATH or $CALIBRATE_DB uses another)",
            err=True,
        )
    if person is None:  # the remembered person: say once if git's name differs
        from calibrate.identity import git_name_note

        note = git_name_note(task.person)
        if note is not None:
            click.echo(note, err=True)
    if not quiet and actual is None:
        # stdlib only; one indexed SELECT when the hint is stored
        from calibrate.hinting import hint_for_add, keep_advice
        from calibrate.words import hint_line

        hint = hint_for_add(app.conn, task.person, estimate)
        if hint is not None:
            click.echo(hint_line(hint, estimate), err=True)
            note = keep_advice(app.conn, task_id, hint, estimate, "add")
            if note is not None:
                click.echo(note, err=True)


@click.command()
@task_id_arg
@when_option("When you started: 14:30, '20m ago', 2026-11-30T09:00 [default: now].")
@pass_app
def start(app: App, task_id: int, at) -> None:
    """Start a task's timer (stopping any other timer of yours)."""
    stopped = tasklog.start_task(app.conn, task_id, at)
    for other, hours in stopped:
        click.echo(f"Stopped #{other} ({format_duration(hours)})")
    click.echo(f"Started #{task_id}: {tasklog.get_task(app.conn, task_id)['title']}")


@click.command()
@click.argument(
    "task_id",
    metavar="[ID]",
    type=task_id_type(),
    required=False,
    shell_complete=complete_task_ids,
)
@when_option("When you stopped [default: now].")
@person_option("Whose timers to stop, without an ID [default: you].")
@pass_app
def stop(app: App, task_id: int | None, at, person: str | None) -> None:
    """Stop a task's timer (without ID: your running timer)."""
    who = None if task_id is not None else (person or default_person())
    for stopped_id, hours in tasklog.stop_timer(app.conn, task_id, person=who, at=at):
        total = tasklog.timer_total(app.conn, stopped_id)
        click.echo(
            f"Stopped #{stopped_id} after {format_duration(hours)} "
            f"({format_duration(total)} in all)"
        )


@click.command()
@task_id_arg
@click.option(
    "--actual",
    type=Duration(),
    metavar="DURATION",
    help="The effort it took [default: the timer's total].",
)
@when_option("When it was finished: friday, 17:30, 2026-11-27 [default: now].")
@pass_app
def done(app: App, task_id: int, actual: float | None, at) -> None:
    """Finish a task; the actual is --actual, else its timer's total."""
    hours, from_timer = tasklog.finish_task(app.conn, task_id, actual, at)
    task = tasklog.get_task(app.conn, task_id)
    ratio = hours / task["estimate_h"]
    source = " (timer)" if from_timer else ""
    click.echo(
        f"Done #{task_id}: {format_duration(hours)}{source} against "
        f"{format_duration(task['estimate_h'])} estimated, {ratio:.2f}x"
    )
    from calibrate.hinting import refresh_task_hint

    refresh_task_hint(app.conn, task_id)  # the hints of 'add' and 'suggest' learn from it


@click.command()
@task_id_arg
@pass_app
def drop(app: App, task_id: int) -> None:
    """Drop a task that will not be done (it leaves every score)."""
    tasklog.drop_task(app.conn, task_id)
    click.echo(f"Dropped #{task_id}")


@click.command()
@task_id_arg
@click.argument("estimate", metavar="DURATION", type=Duration())
@click.option("--reason", metavar="TEXT", help="Why the estimate changed.")
@pass_app
def reestimate(app: App, task_id: int, estimate: float, reason: str | None) -> None:
    """Record a new estimate; scores keep using the original one."""
    previous = tasklog.reestimate(app.conn, task_id, estimate, reason)
    click.echo(
        f"Re-estimated #{task_id}: {format_duration(previous)} -> {format_duration(estimate)}"
    )


@click.command()
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
    project,
    person,
    team,
    notes,
    tags,
    add_tag,
    remove_tag,
) -> None:
    """Change a task's fields; 'none' clears an optional one."""
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
    changed = tasklog.edit_task(app.conn, task_id, changes)
    if changed:
        click.echo(f"Edited #{task_id}: {', '.join(k.removesuffix('_h') for k in changed)}")
    else:
        click.echo(f"#{task_id} unchanged")


@click.command()
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
    count = tasklog.delete_tasks(app.conn, list(task_ids))
    click.echo(f"Deleted {plural(count, 'task')}")


def _rm_person(app: App, name: str, yes: bool) -> None:
    from calibrate.errors import NotFound
    from calibrate.store import people  # standard library only

    conn = app.existing_conn()
    if conn is None:
        raise NotFound(f"no person {name!r} in this database (see 'calibrate people')")
    person, count = people.person_task_count(conn, name)
    if not yes:
        click.confirm(f"Delete all {plural(count, 'task')} of {person}?", abort=True, err=True)
    deleted = people.delete_person(conn, person)
    weeks = deleted["summary_weeks"]
    extra = f" and {plural(weeks, 'summary week')}" if weeks else ""
    names = [n for n in deleted["names"] if n != person]
    also = f" (also named {', '.join(names)})" if names else ""
    click.echo(f"Deleted {plural(deleted['tasks'], 'task')} of {person}{also}{extra}")
    from calibrate.store import backups  # standard library only

    rewritten, left = backups.forget_person(app.db_path, deleted["names"])
    if rewritten:
        click.echo(
            f"  and from {plural(len(rewritten), 'backup')}: "
            + ", ".join(os.path.basename(b) for b in rewritten)
        )
    for line in left:
        click.echo(
            f"  still held by the backup {line}: delete it by hand if it holds nothing you need",
            err=True,
        )


# --- reading -----------------------------------------------------------------

LIST_FIELDS = fields.SHOWN


def _list_rows(conn: sqlite3.Connection, selection: Selection, limit: int | None) -> list[dict]:
    import json

    from calibrate.store.names import resolve_person  # aliases, mapped when read (law 7)

    where, params = resolve_person(conn, selection).where()
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


def _paint_overdue(cell: str, row: dict) -> str:
    """An open task's due date, in red once it has passed (on a terminal)."""
    return paint(cell, fg="red") if overdue(row["due"], row["status"]) else cell


@click.command(name="list")
@scope_options
@filter_options(default_status="open")
@click.option("--limit", type=Int64(), metavar="N", help="At most N tasks.")
@output_options
@pass_app
def list_(
    app: App, person, team, everyone, status, since, tags, project, limit, json_output, csv_output
) -> None:
    """Your open tasks; the options widen or narrow the list.

    --since keeps tasks done (or, if not done, created) in the window.
    """
    selection = filtered_selection(person, team, everyone, status, since, tags, project)
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
    columns = [
        Column("id", "ID", id_width, ">"),
        Column("status", "STATUS", 7),
        Column("estimate", "EST", 6, ">"),
    ]
    if status != "open":
        columns.append(Column("actual", "ACTUAL", 6, ">"))
    if any(row["due"] for row in rows):
        columns.append(Column("due", "DUE", 10, paint=_paint_overdue))
    if selection.person is None:
        columns.append(Column("person", "PERSON", 12))
    columns.append(Column("title", "TITLE"))
    if any(row["tags"] for row in rows):
        columns.append(Column("tags", "TAGS", 12))
    click.echo(render_table(rows, columns, width=terminal_width()))


@click.command()
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
            part
            for part in [
                format_duration(d["promise_h"]) if d["promise_h"] else "",
                f"by {d['due']}" if d["due"] else "",
            ]
            if part
        )
        if overdue(d["due"], d["status"]):
            promise = promise.replace(f"by {d['due']}", paint(f"by {d['due']} (overdue)", fg="red"))
        lines.append(f"  promise     {promise}")
    if d["actual_h"] is not None:
        ratio = d["actual_h"] / d["estimate_h"]
        lines.append(f"  actual      {format_duration(d['actual_h'])} ({ratio:.2f}x the estimate)")
    if d["timer_h"]:
        running = any(i["stopped_at"] is None for i in d["intervals"])
        lines.append(
            f"  timer       {format_duration(d['timer_h'])} in "
            f"{plural(len(d['intervals']), 'interval')}" + (" (running)" if running else "")
        )
    if d["tags"]:
        lines.append(f"  tags        {', '.join(d['tags'])}")
    lines.append(f"  created     {local_text(d['created_at'])}")
    if d["done_at"]:
        lines.append(
            f"  {'done' if d['status'] == 'done' else 'dropped':<12}{local_text(d['done_at'])}"
        )
    for re_est in d["reestimates"]:
        reason = f": {re_est['reason']}" if re_est["reason"] else ""
        lines.append(
            f"  re-estimate {format_duration(re_est['estimate_h'])} at "
            f"{local_text(re_est['at'])}{reason}"
        )
    if d["notes"]:
        lines.append(f"  notes       {d['notes']}")
    lines.append(f"  uid         {d['uid']} ({d['source']})")
    click.echo("\n".join(lines))


#: The commands of this module, in the order ``calibrate`` registers them.
COMMANDS = (add, start, stop, done, drop, reestimate, edit, rm, list_, show)
