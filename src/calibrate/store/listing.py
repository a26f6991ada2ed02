"""Tasks as ``list``, ``show`` and ``status`` read them: each with its truth.

Per task, beside its fields: the effort used so far (``used_h``: the actual,
else the timer's total up to now), the ratio of that to the estimate, whether
its timer runs, and the verdicts of its promise and its range
(:func:`calibrate.rules.promise_verdict`, :func:`calibrate.rules.range_verdict`:
METRICS.md sections 3 and 4 for one task), judged today on the team's
working calendar (the ``work-days`` and ``holidays`` settings).

Standard library only: ``list``, ``show`` and ``status`` are everyday commands.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import TypedDict

from calibrate import rules
from calibrate.clock import local_date, local_midnight, local_today
from calibrate.durations import from_iso, now_iso, to_iso
from calibrate.selection import Selection
from calibrate.store import fields, settings
from calibrate.store.names import resolve_person
from calibrate.store.tasks import current_estimate, get_task
from calibrate.store.timers import timer_total


class ListedTask(TypedDict):
    """A row of ``list --json``: the task's fields (:data:`fields.SHOWN`) and its truth."""

    id: int
    uid: str
    title: str
    person: str
    team: str | None
    project: str | None
    status: str
    estimate_h: float
    low_h: float | None
    high_h: float | None
    confidence: float | None
    promise_h: float | None
    due: str | None
    actual_h: float | None
    created_at: str
    started_at: str | None
    done_at: str | None
    source: str
    tags: list[str]
    notes: str | None
    used_h: float
    ratio: float | None
    timer_running: bool
    promise_verdict: str | None
    range_verdict: str | None


#: The fields each row has beyond the task's own, in order.
TRUTH = ("used_h", "ratio", "timer_running", "promise_verdict", "range_verdict")
#: ``list``'s fields, in its column order (``--csv`` too).
LISTED = (*fields.SHOWN, *TRUTH)


class Judge:
    """The verdicts of tasks as of now, on the working calendar of a database."""

    def __init__(self, conn: sqlite3.Connection | None, today: date | None = None):
        calendar = settings.calendar(settings.read_all(conn))
        self.weekmask, self.holidays = calendar["weekmask"], calendar["holidays"]
        self.today = today or local_today()

    def truth(self, task: sqlite3.Row | dict, timer_h: float, running: bool) -> dict:
        """The fields of :data:`TRUTH` for one task, whose timer holds ``timer_h``."""
        actual = task["actual_h"]
        used = float(actual) if actual is not None else timer_h
        promised = task["promise_h"] is not None or task["due"] is not None
        return {
            "used_h": used,
            "ratio": used / task["estimate_h"] if used > 0 and task["estimate_h"] else None,
            "timer_running": running,
            "promise_verdict": rules.promise_verdict(
                status=task["status"],
                promise_h=task["promise_h"],
                due=_day(task["due"]),
                done_date=_local_day(task["done_at"]),
                actual_h=actual,
                used_h=used,
                today=self.today,
                weekmask=self.weekmask,
                holidays=self.holidays,
            )
            if promised
            else None,
            "range_verdict": rules.range_verdict(task["low_h"], task["high_h"], actual),
        }

    def working_days_until(self, due: str | None) -> int | None:
        """Working days from today to ``due`` (negative: past it), up to 3."""
        day = _day(due)
        if day is None:
            return None
        if day < self.today:
            return -1
        return rules.working_days_between(self.today, day, self.weekmask, self.holidays, at_most=2)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _local_day(moment: str | None) -> date | None:
    try:
        return local_date(from_iso(moment)) if moment else None
    except (ValueError, OverflowError):
        return None


def timers(
    conn: sqlite3.Connection, where: str = "1", params: list | None = None, now: str | None = None
) -> dict[int, tuple[float, bool]]:
    """Per task matching ``where`` (on ``tasks``): the hours on its timer up
    to ``now`` (a running sitting counts so far) and whether it runs."""
    sql = (
        "SELECT task_id, total(max(0, strftime('%s', coalesce(stopped_at, ?)) - "  # noqa: S608 (clause from Selection)
        "strftime('%s', started_at))) / 3600.0, max(stopped_at IS NULL) FROM intervals "
        f"WHERE deleted = 0 AND task_id IN (SELECT id FROM tasks WHERE {where}) GROUP BY task_id"
    )
    rows = conn.execute(sql, [now or now_iso(), *(params or [])])
    return {row[0]: (float(row[1]), bool(row[2])) for row in rows}


def list_rows(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    limit: int | None = None,
    promise: str | None = None,
    range_: str | None = None,
) -> list[ListedTask]:
    """The tasks ``list`` shows, in id order, each with its truth; only those
    whose promise (range) verdict is ``promise`` (``range_``) when given."""
    where, params = resolve_person(conn, selection).where()
    judge = Judge(conn)
    timed = timers(conn, where, list(params))
    sql = f"SELECT * FROM tasks WHERE {where} ORDER BY id"  # noqa: S608 (clause from Selection)
    filtered = promise is not None or range_ is not None
    if limit and not filtered:
        sql += " LIMIT ?"
        params = [*params, limit]
    out: list[ListedTask] = []
    for row in conn.execute(sql, params):
        timer_h, running = timed.get(row["id"], (0.0, False))
        truth = judge.truth(row, timer_h, running)
        if promise is not None and truth["promise_verdict"] != promise:
            continue
        if range_ is not None and truth["range_verdict"] != range_:
            continue
        item = {key: row[key] for key in fields.SHOWN}
        item["tags"] = json.loads(item["tags"])
        item.update(truth)
        out.append(item)  # type: ignore[arg-type]  # the keys of ListedTask, built above
        if limit and len(out) >= limit:
            break
    return out


def task_details(conn: sqlite3.Connection, task_id: int) -> dict:
    """Everything about one task, for ``show``: its fields, its current
    estimate, re-estimates and timer sittings, and its truth (:data:`TRUTH`)."""
    task = dict(get_task(conn, task_id))
    task["tags"] = json.loads(task["tags"])
    task["current_estimate_h"] = current_estimate(conn, task_id)
    task["timer_h"] = timer_total(conn, task_id, until=now_iso())
    task["reestimates"] = [
        dict(row)
        for row in conn.execute(
            "SELECT estimate_h, at, reason FROM reestimates WHERE task_id = ? AND deleted = 0 "
            "ORDER BY at, stamp_at, uid",
            (task_id,),
        )
    ]
    task["intervals"] = [
        dict(row)
        for row in conn.execute(
            "SELECT started_at, stopped_at FROM intervals WHERE task_id = ? AND deleted = 0 "
            "ORDER BY started_at, uid",
            (task_id,),
        )
    ]
    running = any(i["stopped_at"] is None for i in task["intervals"])
    task.update(Judge(conn).truth(task, task["timer_h"], running))
    return task


def logged_today(conn: sqlite3.Connection, selection: Selection) -> dict:
    """The scope's time on the timer today (sittings clipped to the local
    day so far), on how many tasks, and the tasks done today."""
    where, params = resolve_person(conn, selection).where()
    start, now = to_iso(local_midnight(local_today())), now_iso()
    sql = (
        "SELECT count(DISTINCT task_id), total(max(0, strftime('%s', min(coalesce(stopped_at, ?), "  # noqa: S608 (clause from Selection)
        "?)) - strftime('%s', max(started_at, ?)))) / 3600.0 FROM intervals WHERE deleted = 0 "
        "AND coalesce(stopped_at, ?) > ? AND started_at < ? "
        f"AND task_id IN (SELECT id FROM tasks WHERE {where})"
    )
    tasks, hours = conn.execute(sql, [now, now, start, now, start, now, *params]).fetchone()
    done = conn.execute(
        f"SELECT count(*) FROM tasks WHERE status = 'done' AND done_at >= ? AND {where}",  # noqa: S608 (clause from Selection)
        [start, *params],
    ).fetchone()[0]
    return {"timer_h": float(hours), "tasks": int(tasks), "done": int(done)}
