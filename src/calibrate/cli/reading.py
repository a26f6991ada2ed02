"""Reading tasks back: ``list``, ``show`` and ``status``, each with the truth
about every task (:mod:`calibrate.store.listing`): its promise verdict (kept,
exceeded, broken, pending, at risk), its range verdict (inside, below,
above), the ratio, the time used against the estimate and a running timer.

Loaded only when one of them runs (``add`` does not import it); standard
library and click only.
"""

from __future__ import annotations

from typing import TypedDict

import click

from calibrate.cli.options import (
    App,
    Command,
    Int64,
    emit,
    filter_options,
    filtered_selection,
    output_options,
    overdue,
    paint,
    pass_app,
    person_option,
    say,
    scope_options,
    selection_from,
    task_id_arg,
    terminal_width,
)
from calibrate.clock import local_text
from calibrate.durations import format_duration
from calibrate.rules import PROMISE_VERDICTS, RANGE_VERDICTS
from calibrate.store import listing
from calibrate.store.listing import ListedTask
from calibrate.text import Column, display_width, printable, render_table, to_json
from calibrate.text import count as plural

#: A verdict's colour on a terminal (dropped in a pipe and under NO_COLOR).
VERDICT_COLOURS = {"broken": "red", "at-risk": "yellow", "above": "red", "below": "yellow"}


def _painted(key: str):
    def paint_cell(cell: str, row: dict) -> str:
        colour = VERDICT_COLOURS.get(row.get(key) or "")
        return paint(cell, fg=colour) if colour else cell

    return paint_cell


def _paint_overdue(cell: str, row: dict) -> str:
    """An open task's due date, in red once it has passed (on a terminal)."""
    return paint(cell, fg="red") if overdue(row["due"], row["status"]) else cell


#: ``list --promise``'s verdicts, as "no tasks with ..." says them.
PROMISE_WORDS = {
    "kept": "a kept promise",
    "exceeded": "an exceeded promise",
    "broken": "a broken promise",
    "pending": "a pending promise",
    "at-risk": "a promise at risk",
}


def verdict_words(verdict: str | None) -> str:
    """A verdict as people read it: ``at risk``."""
    return (verdict or "").replace("-", " ")


@click.command(cls=Command, name="list")
@scope_options
@filter_options(default_status="open")
@click.option(
    "--promise",
    type=click.Choice(PROMISE_VERDICTS),
    help="Only tasks whose promise is this (all statuses unless --status says otherwise).",
)
@click.option(
    "--range",
    "range_",
    type=click.Choice(RANGE_VERDICTS),
    help="Only finished tasks whose actual fell this way of their range.",
)
@click.option("--limit", type=Int64(), metavar="N", help="At most N tasks.")
@output_options
@click.pass_context
def list_(
    ctx: click.Context,
    person,
    team,
    everyone,
    status,
    since,
    tags,
    project,
    promise,
    range_,
    limit,
    json_output,
    csv_output,
) -> None:
    """Your open tasks, with the truth about each; the options widen or narrow it.

    Per task: the time used (the actual, else the timer so far) against the
    estimate and their ratio, the promise's verdict (kept, exceeded, broken,
    pending; at risk: open with 80% of a promised effort used, or due within a
    working day), the range's (inside, below, above) and a running timer.
    --since keeps tasks done (or, if not done, created) in the window.
    """
    app = ctx.ensure_object(App)
    if (promise or range_) and ctx.get_parameter_source(
        "status"
    ) is click.core.ParameterSource.DEFAULT:
        status = "any"  # list --promise broken: the broken promises, done ones too
    selection = filtered_selection(person, team, everyone, status, since, tags, project)
    conn = app.existing_conn()
    rows = (
        listing.list_rows(conn, selection, limit=limit, promise=promise, range_=range_)
        if conn is not None
        else []
    )
    if json_output or csv_output:
        emit(rows, [Column(k, k) for k in listing.LISTED], json_output, csv_output)  # type: ignore[arg-type]  # TypedDicts are dicts
        return
    if not rows:
        which = [PROMISE_WORDS[promise]] if promise else []
        which += [f"the actual {range_} its range"] if range_ else []
        what = f"{'' if status == 'any' else status + ' '}tasks"
        what += f" with {' and '.join(which)}" if which else ""
        say(f"No {what} for {selection.describe()}.", err=True)
        return
    shown = _table_rows(rows)
    width = terminal_width()
    click.echo(render_table(shown, _columns(shown, selection, width), width=width))


def _table_rows(rows: list[ListedTask]) -> list[dict]:
    out = []
    for row in rows:
        shown: dict = dict(row)
        shown["state"] = "running" if row["timer_running"] else row["status"]
        shown["used"] = format_duration(row["used_h"]) if row["used_h"] else ""
        shown["estimate"] = format_duration(row["estimate_h"])
        shown["ratio_text"] = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
        shown["promise"] = verdict_words(row["promise_verdict"])
        shown["tags"] = ",".join(row["tags"])
        out.append(shown)
    return out


def _columns(shown: list[dict], selection, width: int = 80) -> list[Column]:
    """The table's columns: those with something to say, each as wide as what
    it needs (a number is never cut), within ``width`` with at least
    :data:`TITLE_ROOM` for the title: the tags, then the range's verdict, give
    way to it, then the person's column narrows, then the due date goes."""
    columns = [Column("id", "ID", 2, ">"), Column("state", "STATUS", 7)]
    if any(row["used_h"] for row in shown):
        columns.append(Column("used", "USED", 5, ">"))
    columns.append(Column("estimate", "EST", 5, ">"))
    if any(row["ratio"] is not None for row in shown):
        columns.append(Column("ratio_text", "RATIO", 5, ">"))
    if any(row["promise_verdict"] for row in shown):
        columns.append(Column("promise", "PROMISE", 8, paint=_painted("promise_verdict")))
    if any(row["range_verdict"] for row in shown):
        columns.append(Column("range_verdict", "RANGE", 6, paint=_painted("range_verdict")))
    if any(row["due"] for row in shown):
        columns.append(Column("due", "DUE", 10, paint=_paint_overdue))
    if selection.person is None:
        columns.append(Column("person", "PERSON", 12))
    columns.append(Column("title", "TITLE"))
    if any(row["tags"] for row in shown):
        columns.append(Column("tags", "TAGS", 12))
    sized = []  # a number's column widens to its widest cell (render_table never cuts it)
    for column in columns:
        if column.align == ">":
            cells = [display_width(str(row[column.key] or "")) for row in shown]
            column = Column(column.key, column.header, max([column.width, *cells]), ">")
        sized.append(column)

    def room() -> int:
        return width - sum(c.width + 2 for c in sized if c.key != "title")

    for key in ("tags", "range_verdict", "person", "due"):
        if room() >= TITLE_ROOM:
            break
        if key == "person":  # narrowed first, not dropped: whose task it is matters
            sized = [
                Column(c.key, c.header, min(c.width, 8), c.align, paint=c.paint)
                if c.key == "person"
                else c
                for c in sized
            ]
        else:
            sized = [c for c in sized if c.key != key]
    return sized


#: The least room ``list`` leaves its titles, in terminal columns.
TITLE_ROOM = 20


@click.command(cls=Command)
@task_id_arg
@click.option("--json", "json_output", is_flag=True, help="Output JSON.")
@pass_app
def show(app: App, task_id: int, json_output: bool) -> None:
    """Everything about one task: estimates, timer, promise and outcome, with
    the promise's and the range's verdicts."""
    d = listing.task_details(app.conn, task_id)
    if json_output:
        click.echo(to_json(d))
        return
    d = _shown(d)
    running = d["timer_running"]
    status = d["status"] + (" (timer running)" if running else "")
    lines = [paint(f"#{d['id']} {d['title']}", bold=True), f"  status      {status}"]
    lines.append(f"  person      {d['person']}" + (f" (team {d['team']})" if d["team"] else ""))
    if d["project"]:
        lines.append(f"  project     {d['project']}")
    estimate = format_duration(d["estimate_h"])
    if d["current_estimate_h"] != d["estimate_h"]:
        estimate += f" (now {format_duration(d['current_estimate_h'])})"
    lines.append(f"  estimate    {estimate}")
    if d["low_h"] is not None:
        verdict = f": {d['range_verdict']}" if d["range_verdict"] else ""
        lines.append(
            f"  range       {format_duration(d['low_h'])}..{format_duration(d['high_h'])} "
            f"at {d['confidence']:g}%{_styled(verdict, d['range_verdict'])}"
        )
    if d["promise_h"] is not None or d["due"]:
        lines.append(f"  promise     {_promise_words(d)}")
    if d["actual_h"] is not None:
        ratio = d["actual_h"] / d["estimate_h"]
        lines.append(f"  actual      {format_duration(d['actual_h'])} ({ratio:.2f}x the estimate)")
    elif d["used_h"]:
        lines.append(
            f"  used        {format_duration(d['used_h'])} of {format_duration(d['estimate_h'])} "
            f"estimated ({d['ratio']:.2f}x so far)"
        )
    if d["timer_h"]:
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


def _shown(details: dict) -> dict:
    """A task's text fields for a terminal (:func:`calibrate.text.printable`):
    notes keep their lines, every other control character is shown escaped."""
    shown = dict(details)
    for key in ("title", "person", "team", "project", "source", "uid"):
        if isinstance(shown.get(key), str):
            shown[key] = printable(shown[key])
    if shown.get("notes"):
        shown["notes"] = printable(shown["notes"], newlines=True)
    shown["tags"] = [printable(tag) for tag in shown.get("tags") or []]
    shown["reestimates"] = [
        {**r, "reason": printable(r["reason"]) if r.get("reason") else r.get("reason")}
        for r in shown.get("reestimates") or []
    ]
    return shown


def _styled(text: str, verdict: str | None) -> str:
    colour = VERDICT_COLOURS.get(verdict or "")
    return paint(text, fg=colour) if colour and text else text


def _promise_words(d: dict) -> str:
    """``3h by 2026-12-04: at risk (2h30m of 3h used)``."""
    parts = [format_duration(d["promise_h"]) if d["promise_h"] else "", ""]
    if d["due"]:
        parts[1] = f"by {d['due']}"
        if overdue(d["due"], d["status"]):
            parts[1] = paint(f"by {d['due']} (overdue)", fg="red")
    text = " ".join(part for part in parts if part)
    verdict = d["promise_verdict"]
    if verdict:
        text += _styled(f": {verdict_words(verdict)}", verdict)
        if verdict == "at-risk" and d["promise_h"] and d["actual_h"] is None and d["used_h"]:
            text += f" ({format_duration(d['used_h'])} of {format_duration(d['promise_h'])} used)"
    return text


# --- status ------------------------------------------------------------------------------


class RunningTimer(TypedDict):
    id: int
    title: str
    since: str
    hours: float
    used_h: float
    estimate_h: float


class DuePromise(TypedDict):
    id: int
    title: str
    due: str
    promise_h: float | None
    working_days: int
    promise_verdict: str | None


class Status(TypedDict):
    """``status --json``: what runs, what was logged today, what is due."""

    person: str
    running: list[RunningTimer]
    today_h: float
    today_tasks: int
    done_today: int
    due: list[DuePromise]


#: Promises shown by ``status``: due within this many working days, or overdue.
STATUS_DUE_DAYS = 2


def status_of(app: App, selection) -> Status:
    from calibrate.durations import hours_between, now_iso

    conn = app.existing_conn()
    out: Status = {
        "person": selection.describe(),
        "running": [],
        "today_h": 0.0,
        "today_tasks": 0,
        "done_today": 0,
        "due": [],
    }
    if conn is None:
        return out
    now = now_iso()
    rows = listing.list_rows(conn, selection.replace(status="open"))
    judge = listing.Judge(conn)
    for row in rows:
        if row["timer_running"]:
            since = conn.execute(
                "SELECT max(started_at) FROM intervals WHERE task_id = ? AND stopped_at IS NULL "
                "AND deleted = 0",
                (row["id"],),
            ).fetchone()[0]
            out["running"].append(
                {
                    "id": row["id"],
                    "title": row["title"],
                    "since": since,
                    "hours": hours_between(since, now),
                    "used_h": row["used_h"],
                    "estimate_h": row["estimate_h"],
                }
            )
        days = judge.working_days_until(row["due"])
        if days is not None and days <= STATUS_DUE_DAYS:
            out["due"].append(
                {
                    "id": row["id"],
                    "title": row["title"],
                    "due": str(row["due"]),
                    "promise_h": row["promise_h"],
                    "working_days": days,
                    "promise_verdict": row["promise_verdict"],
                }
            )
    today = listing.logged_today(conn, selection)
    out["today_h"], out["today_tasks"] = today["timer_h"], today["tasks"]
    out["done_today"] = today["done"]
    out["due"].sort(key=lambda p: (p["due"], p["id"]))
    return out


@click.command(cls=Command)
@person_option("Whose day [default: you].")
@click.option("--json", "json_output", is_flag=True, help="Output JSON.")
@pass_app
def status(app: App, person: str | None, json_output: bool) -> None:
    """Your day: the running timer, the time logged today, and the promises
    due within two working days or overdue."""
    found = status_of(app, selection_from(person, None, False))
    if json_output:
        click.echo(to_json(found))
        return
    lines = []
    for timer in found["running"]:
        lines.append(
            f"Running: #{timer['id']} {printable(timer['title'])}, "
            f"for {format_duration(timer['hours'])} "
            f"(since {local_text(timer['since'])[11:]}; {format_duration(timer['used_h'])} of "
            f"{format_duration(timer['estimate_h'])} used)"
        )
    if not found["running"]:
        lines.append("No timer is running.")
    done = f"; {plural(found['done_today'], 'task')} done" if found["done_today"] else ""
    lines.append(
        f"Today: {format_duration(found['today_h'])} on the timer"
        + (f", on {plural(found['today_tasks'], 'task')}" if found["today_tasks"] else "")
        + done
    )
    if found["due"]:
        lines.append("Promises due within two working days, or overdue:")
        table = [
            {
                **p,
                "when": _due_words(p["due"]),
                "promise": format_duration(p["promise_h"]) if p["promise_h"] else "",
                "verdict": verdict_words(p["promise_verdict"]),
            }
            for p in found["due"]
        ]
        columns = [
            Column("id", "ID", 3, ">"),
            Column(
                "due",
                "DUE",
                10,
                paint=lambda cell, row: paint(cell, fg="red") if row["working_days"] < 0 else cell,
            ),
            Column("when", "WHEN", 15),
            Column("promise", "EFFORT", 6, ">"),
            Column("verdict", "VERDICT", 8, paint=_painted("promise_verdict")),
            Column("title", "TITLE"),
        ]
        lines.extend("  " + line for line in render_table(table, columns, width=78).splitlines())
    else:
        lines.append("No promise is due within two working days.")
    click.echo("\n".join(lines))


def _due_words(due: str) -> str:
    """When a promise falls due, as people say it: today, tomorrow, friday,
    overdue (by so many days)."""
    from datetime import date

    from calibrate.clock import local_today

    days = (date.fromisoformat(due[:10]) - local_today()).days
    if days < 0:
        return f"overdue {plural(-days, 'day')}"
    if days < 2:
        return ("today", "tomorrow")[days]
    return date.fromisoformat(due[:10]).strftime("%A").lower() if days < 7 else f"in {days} days"


#: The commands of this module (loaded lazily by name: :data:`calibrate.cli.LAZY_COMMANDS`).
COMMANDS = (list_, show, status)
