"""The task log: adding tasks and living through them.

A task is added with its original estimate (and optionally a range, a
promise and tags), timed with start/stop intervals, re-estimated, finished
with an actual or dropped. Every function here takes an open ``sqlite3``
connection and does its writes in one transaction; none prints.

Every write stamps what it changes (law 1, :mod:`calibrate.store.stamps`): a
task's registers, a timer interval or a re-estimate (records of their own,
with uids), or a tombstone for a task deleted. Names are stored as given,
in their one spelling (:func:`calibrate.store.names.clean_name`): an alias
maps them when they are read.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from calibrate.clock import local_text
from calibrate.durations import (
    MIN_EFFORT_H,
    effort_problem,
    format_duration,
    now_iso,
    to_iso,
)
from calibrate.errors import InputError, NotFound, StateError, UsageError
from calibrate.rules import range_confidence
from calibrate.store import inserted_id, similar, transaction
from calibrate.store.fields import EDITABLE
from calibrate.store.names import canonical_person as canonical_person
from calibrate.store.names import clean_name, names_of
from calibrate.store.stamps import REGISTER_OF, next_at, replica_id, second_of, single, stamp_task
from calibrate.store.timers import (
    Review,
    close_interval,
    insert_interval,
    record_uid,
    stop_running_for,
    stop_task_timer,
    timer_bounds,
)
from calibrate.store.timers import running_intervals as running_intervals
from calibrate.store.timers import timer_total as timer_total

STATUSES = ("open", "started", "done", "dropped")
#: Columns whose change leaves the index of similar tasks as it was.
SILENT_COLUMNS = frozenset(
    ("started_at", "done_at", "low_h", "high_h", "confidence", "promise_h", "due", "notes")
)


class NewTask:
    """What ``add`` (or an importer) knows about a task before it is stored.

    A plain class rather than a dataclass: dataclasses cost ``add`` about a
    millisecond each at start-up.
    """

    __slots__ = (
        "confidence",
        "due",
        "estimate_h",
        "high_h",
        "low_h",
        "notes",
        "person",
        "project",
        "promise_h",
        "source",
        "tags",
        "team",
        "title",
        "uid",
    )

    def __init__(
        self,
        title: str,
        estimate_h: float,
        person: str,
        team: str | None = None,
        project: str | None = None,
        low_h: float | None = None,
        high_h: float | None = None,
        confidence: float | None = None,
        promise_h: float | None = None,
        due: str | None = None,
        tags: Sequence[str] = (),
        notes: str | None = None,
        uid: str | None = None,
        source: str = "cli",
    ):
        self.title, self.estimate_h, self.person = title, estimate_h, person
        self.team, self.project, self.notes = team, project, notes
        self.low_h, self.high_h, self.confidence = low_h, high_h, confidence
        self.promise_h, self.due, self.tags = promise_h, due, tuple(tags)
        self.uid, self.source = uid, source

    def replace(self, **changes) -> NewTask:
        values = {name: getattr(self, name) for name in self.__slots__}
        return NewTask(**{**values, **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NewTask) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__
        )

    def __repr__(self) -> str:
        return f"NewTask({self.title!r}, estimate_h={self.estimate_h!r}, person={self.person!r})"


def new_uid() -> str:
    """A random (version 4) UUID as text (click imports ``uuid`` already, so
    it costs ``add`` nothing)."""
    return str(uuid.uuid4())


def check_task_values(
    *,
    estimate_h: float | None,
    low_h: float | None = None,
    high_h: float | None = None,
    confidence: float | None = None,
    promise_h: float | None = None,
    actual_h: float | None = None,
) -> None:
    """Raise :class:`UsageError` for values no task may hold (values a user
    typed: a usage problem, exit 2). The one home of a task's checks: ``add``,
    ``edit``, ``done`` and ``reestimate`` call it, an import for each row
    (``estimate_h`` ``None``: a row that speaks for other fields of a known
    task), the validator of merges for each task record."""
    if (low_h is None) != (high_h is None):
        raise UsageError("a range needs both a low and a high")
    for name, hours in (
        ("estimate", estimate_h),
        ("range's low", low_h),
        ("range's high", high_h),
        ("promised effort", promise_h),
        ("actual", actual_h),
    ):
        problem = None if hours is None else effort_problem(hours)
        ranged = name.startswith("range") and isinstance(hours, int | float) and hours <= 0
        if problem and not ranged:  # a range's low of zero: said of the range below
            raise UsageError(f"the {name} {problem}")
    if low_h is not None and high_h is not None and not 0 < low_h < high_h:
        raise UsageError(
            f"range {format_duration(low_h)}..{format_duration(high_h)}: "
            "its low must be above zero and below its high"
        )
    if (
        low_h is not None
        and high_h is not None
        and estimate_h is not None
        and not low_h <= estimate_h <= high_h
    ):
        raise UsageError(
            f"the estimate {format_duration(estimate_h)} is outside its range "
            f"{format_duration(low_h)}..{format_duration(high_h)}"
        )
    if confidence is not None:
        if low_h is None:
            raise UsageError("a confidence needs a range (--range LOW..HIGH)")
        if not 0 < confidence < 100:
            raise UsageError(f"confidence {confidence:g} must be between 0 and 100, exclusive")


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: commas and semicolons separate tags (``ui;auth`` and
    ``ui, auth`` are two, typed or in a file's cell), blanks and repeats go."""
    out: list[str] = []
    for tag in tags:
        for part in str(tag).replace(";", ",").split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def tags_json(tags: Iterable[str]) -> str:
    tags = clean_tags(tags)
    if not tags:
        return "[]"
    import json  # lazily: 1.5 ms of start-up for a task without tags

    return json.dumps(tags)


def checked_new_task(
    task: NewTask, *, start: bool = False, actual_h: float | None = None
) -> NewTask:
    """Validate a task before anything is written; returns it with the title,
    person, team and project trimmed (as an import trims them, so that an
    export imports back the same) and the range's confidence defaulted
    (:func:`rules.range_confidence`)."""
    title = task.title.strip()
    if not title:
        raise UsageError("a task needs a title")
    person = clean_name(task.person)
    if not person:
        raise UsageError("a task needs a person")
    confidence = range_confidence(task.low_h, task.confidence)
    check_task_values(
        estimate_h=task.estimate_h,
        low_h=task.low_h,
        high_h=task.high_h,
        confidence=confidence,
        promise_h=task.promise_h,
        actual_h=actual_h,
    )
    if start and actual_h is not None:
        raise UsageError("a task is either started (--start) or done (--actual), not both")
    return task.replace(
        title=title,
        person=person,
        team=(task.team or "").strip() or None,
        project=(task.project or "").strip() or None,
        confidence=confidence,
    )


def team_of(conn: sqlite3.Connection, person: str) -> str | None:
    """A person's team: the team of their most recent task, under any of
    their names (METRICS.md); ``None`` when that task has no team or the
    person has no task."""
    best: tuple[str, int, str | None] | None = None
    for name in names_of(conn, person):
        row = conn.execute(
            "SELECT created_at, id, team FROM tasks WHERE person = ? "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            (name,),
        ).fetchone()
        if row is not None and (best is None or (row[0], row[1]) > best[:2]):
            best = (row[0], row[1], row[2])
    return best[2] if best and best[2] else None


def add_task(
    conn: sqlite3.Connection,
    task: NewTask,
    *,
    start: bool = False,
    actual_h: float | None = None,
    at: datetime | None = None,
    review: Review | None = None,
) -> int:
    """Store a new task and return its id, created at ``at`` (default now).
    With ``start`` its timer runs from ``at`` (stopping the person's other
    timer, its sitting reviewed by ``review``); with ``actual_h`` it is
    stored as done at ``at``. A task given no team joins the person's current
    team (that of their latest task), so that leaving out ``--team`` does not
    take someone out of their team. The name is stored as given (an alias
    maps it when read)."""
    task = checked_new_task(task, start=start, actual_h=actual_h)
    when = to_iso(at) if at else now_iso()
    replica = replica_id(conn)
    with transaction(conn):
        stamp = next_at()
        person = task.person
        team = task.team if task.team is not None else team_of(conn, person)
        if start:
            stop_running_for(conn, person, when, review=review)
        cursor = conn.execute(
            """
            INSERT INTO tasks (uid, title, person, team, project, estimate_h, low_h, high_h,
                confidence, promise_h, due, status, actual_h, created_at, started_at, done_at,
                updated_at, source, notes, tags, stamps)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                task.uid or new_uid(),
                task.title,
                person,
                team,
                task.project,
                task.estimate_h,
                task.low_h,
                task.high_h,
                task.confidence,
                task.promise_h,
                task.due,
                "done" if actual_h is not None else "started" if start else "open",
                actual_h,
                when,
                when if start else None,
                when if actual_h is not None else None,
                second_of(stamp),
                task.source,
                task.notes,
                tags_json(task.tags),
                single(stamp, replica),
            ),
        )
        task_id = inserted_id(cursor)
        if start:
            insert_interval(conn, task_id, when, stamp, replica)
        if actual_h is not None:  # a finished task joins the index of similar tasks
            similar.changed(conn, [task_id])
    return task_id


def _state(task: sqlite3.Row | dict, **values) -> dict:
    """The state register's columns (status, actual, started and done times)
    as written together: the task's, with ``values`` changed."""
    return {c: values.get(c, task[c]) for c in ("status", "actual_h", "started_at", "done_at")}


def write_registers(conn: sqlite3.Connection, task: sqlite3.Row | dict, values: dict) -> None:
    """Write ``values`` (column -> value) into the stored ``task``, stamping
    each register they belong to: the one way a local edit reaches a task."""
    registers = dict.fromkeys(REGISTER_OF[column] for column in values)
    stamps, at = stamp_task(conn, task, registers)
    assignments = "".join(f"{column} = ?, " for column in values)
    conn.execute(
        f"UPDATE tasks SET {assignments}stamps = ?, updated_at = ? WHERE id = ?",  # noqa: S608 (column names from fields)
        (*values.values(), stamps, second_of(at), task["id"]),
    )
    if not SILENT_COLUMNS.issuperset(values):  # what the index of similar tasks holds
        similar.changed(conn, [task["id"]])


def get_task(conn: sqlite3.Connection, task_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise NotFound(f"no task #{task_id}")
    return row


def _require_open(task: sqlite3.Row, action: str) -> None:
    if task["status"] == "done":
        raise StateError(f"task #{task['id']} is already done; cannot {action} it")
    if task["status"] == "dropped":
        raise StateError(f"task #{task['id']} was dropped; cannot {action} it")


def start_task(
    conn: sqlite3.Connection,
    task_id: int,
    at: datetime | None = None,
    review: Review | None = None,
) -> list[tuple[int, float]]:
    """Start the task's timer; one timer runs per person, so any other of the
    same person's timers stops at that moment (its sitting reviewed by
    ``review``). Returns those stopped."""
    when = to_iso(at) if at else now_iso()
    with transaction(conn):
        task = get_task(conn, task_id)
        _require_open(task, "start")
        if conn.execute(
            "SELECT 1 FROM intervals WHERE task_id = ? AND stopped_at IS NULL AND deleted = 0",
            (task_id,),
        ).fetchone():
            raise StateError(f"task #{task_id}'s timer is already running")
        last_stop = conn.execute(
            "SELECT max(stopped_at) FROM intervals WHERE task_id = ? AND deleted = 0", (task_id,)
        ).fetchone()[0]
        if last_stop and when < last_stop:
            raise UsageError(
                f"task #{task_id}'s timer last stopped at {local_text(last_stop)}, after "
                f"{local_text(when)}"
            )
        stopped = stop_running_for(conn, task["person"], when, except_task=task_id, review=review)
        insert_interval(conn, task_id, when, next_at(), replica_id(conn))
        write_registers(
            conn, task, _state(task, status="started", started_at=task["started_at"] or when)
        )
    return stopped


def record_started(conn: sqlite3.Connection, task_id: int, started_at: str) -> None:
    """Mark a task started by a timer interval recorded elsewhere (a
    Timewarrior import), inside the caller's transaction: its state register
    is written and stamped only when it changes."""
    task = get_task(conn, task_id)
    started = min(task["started_at"] or started_at, started_at)
    if task["status"] == "started" and task["started_at"] == started:
        return
    write_registers(conn, task, _state(task, status="started", started_at=started))


def stop_timer(
    conn: sqlite3.Connection,
    task_id: int | None = None,
    *,
    person: str | None = None,
    at: datetime | None = None,
    review: Review | None = None,
) -> list[tuple[int, float]]:
    """Stop a task's running timer, or (no id) the person's running timers
    (a long or overnight sitting reviewed by ``review``). Returns (task id,
    hours of the interval) for each one stopped."""
    when = to_iso(at) if at else now_iso()
    with transaction(conn):
        if task_id is not None:
            get_task(conn, task_id)
            running = [i for i in running_intervals(conn) if i["task_id"] == task_id]
            if not running:
                raise StateError(f"task #{task_id}'s timer is not running")
        else:
            running = running_intervals(conn, person)
            if not running:
                raise StateError("no timer is running" + (f" for {person}" if person else ""))
        return [(i["task_id"], close_interval(conn, i, when, review)) for i in running]


def finish_task(
    conn: sqlite3.Connection,
    task_id: int,
    actual_h: float | None = None,
    at: datetime | None = None,
    review: Review | None = None,
) -> tuple[float, bool]:
    """Mark a task done at ``at`` (default now), never before its timer ran.
    Without ``actual_h`` the timer's total is the actual (a long or overnight
    sitting it stops reviewed by ``review``). Returns (actual hours, whether
    they came from the timer)."""
    when = to_iso(at) if at else now_iso()
    with transaction(conn):
        task = get_task(conn, task_id)
        _require_open(task, "finish")
        check_done_time(conn, task, when, "done")
        stop_task_timer(conn, task_id, when, review)
        from_timer = actual_h is None
        if actual_h is None:
            actual_h = timer_total(conn, task_id)
            if actual_h <= 0:
                raise InputError(
                    f"task #{task_id} has no time on its timer: give the effort with --actual"
                )
            actual_h = max(actual_h, MIN_EFFORT_H)  # a sitting under a second is one
        check_task_values(estimate_h=task["estimate_h"], actual_h=actual_h)
        write_registers(conn, task, _state(task, status="done", actual_h=actual_h, done_at=when))
    return float(actual_h), from_timer


def check_done_time(
    conn: sqlite3.Connection, task: sqlite3.Row | dict, when: str, what: str
) -> None:
    """Refuse a done (or dropped) time before the task's timer ran: before a
    sitting started, or before the last one stopped."""
    first, last = timer_bounds(conn, task["id"])
    started = min(filter(None, (first, task["started_at"])), default=None)
    if started is not None and when < started:
        raise UsageError(
            f"the {what} time {local_text(when)} is before task #{task['id']}'s timer started "
            f"({local_text(started)})"
        )
    if last is not None and when < last:
        raise UsageError(
            f"the {what} time {local_text(when)} is before task #{task['id']}'s timer stopped "
            f"({local_text(last)})"
        )


def drop_task(conn: sqlite3.Connection, task_id: int, at: datetime | None = None) -> None:
    """Drop a task: it will not be done, and counts in no score (a promise on
    it counts as broken)."""
    when = to_iso(at) if at else now_iso()
    with transaction(conn):
        task = get_task(conn, task_id)
        _require_open(task, "drop")
        stop_task_timer(conn, task_id, when)
        write_registers(conn, task, _state(task, status="dropped", done_at=when))


def reestimate(
    conn: sqlite3.Connection, task_id: int, estimate_h: float, reason: str | None = None
) -> float:
    """Record a later estimate; the original stays what scores use. Returns
    the previous current estimate."""
    check_task_values(estimate_h=estimate_h)
    with transaction(conn):
        task = get_task(conn, task_id)
        _require_open(task, "re-estimate")
        previous = current_estimate(conn, task_id)
        stamp = next_at()
        conn.execute(
            "INSERT INTO reestimates (uid, task_id, estimate_h, at, reason, stamp_at, "
            "stamp_replica) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record_uid(), task_id, estimate_h, now_iso(), reason, stamp, replica_id(conn)),
        )
        conn.execute(
            "UPDATE tasks SET updated_at = max(updated_at, ?) WHERE id = ?",
            (second_of(stamp), task_id),
        )
    return previous


def current_estimate(conn: sqlite3.Connection, task_id: int) -> float:
    row = conn.execute(
        "SELECT estimate_h FROM reestimates WHERE task_id = ? AND deleted = 0 "
        "ORDER BY at DESC, stamp_at DESC, uid DESC LIMIT 1",
        (task_id,),
    ).fetchone()
    return float(row[0]) if row else float(get_task(conn, task_id)["estimate_h"])


#: What ``edit`` may change beside :data:`EDITABLE`: the state (with ``actual_h``).
STATE_EDITS = ("status", "done_at")


def edit_task(conn: sqlite3.Connection, task_id: int, changes: dict) -> dict:
    """Change a task's fields, its status, actual and done time among them
    (:func:`edited_state`); the result is checked as a whole. Returns the
    fields that changed, with their old values."""
    unknown = set(changes) - set(EDITABLE) - set(STATE_EDITS)
    if unknown:
        raise InputError(f"cannot edit {', '.join(sorted(unknown))}")
    with transaction(conn):
        task = dict(get_task(conn, task_id))
        new = {**task, **changes}
        if "title" in changes and not str(new["title"]).strip():
            raise UsageError("a task needs a title")
        if "person" in changes:
            new["person"] = clean_name(str(new["person"]))
            if not new["person"]:
                raise UsageError("a task needs a person")
        if new["low_h"] is None:
            new["high_h"] = new["confidence"] = None
        new["confidence"] = range_confidence(new["low_h"], new["confidence"])
        if {"status", "actual_h", "done_at"} & set(changes):
            new.update(edited_state(conn, task, changes))
        check_task_values(
            estimate_h=new["estimate_h"],
            low_h=new["low_h"],
            high_h=new["high_h"],
            confidence=new["confidence"],
            promise_h=new["promise_h"],
            actual_h=new["actual_h"],
        )
        if "tags" in changes:
            new["tags"] = tags_json(changes["tags"])
        changed = {k: task[k] for k in (*EDITABLE, *STATE_EDITS) if new[k] != task[k]}
        if changed:
            write_registers(conn, task, {column: new[column] for column in changed})
    return changed


def edited_state(conn: sqlite3.Connection, task: dict, changes: dict) -> dict:
    """The state register (status, actual, done time) after ``edit`` changes
    any of them: a done task needs an actual (given, kept, or its timer's
    total), done and dropped ones a done time (given, kept, or now; never
    before the timer ran), and open or started ones have neither."""
    task_id = task["id"]
    status = changes.get("status", task["status"])
    state = _state(task, status=status)
    if status in ("done", "dropped"):
        if (
            status != task["status"]
            and conn.execute(
                "SELECT 1 FROM intervals WHERE task_id = ? AND stopped_at IS NULL AND deleted = 0",
                (task_id,),
            ).fetchone()
        ):
            raise StateError(
                f"task #{task_id}'s timer is running: stop it first ('calibrate stop {task_id}')"
            )
        state["done_at"] = changes.get("done_at") or task["done_at"] or now_iso()
        if "done_at" in changes:
            check_done_time(conn, task, state["done_at"], status)
    elif "done_at" in changes:
        raise StateError(
            f"task #{task_id} is {status}: only a done or dropped task has a done time"
        )
    if status == "done":
        actual = changes.get("actual_h") or task["actual_h"] or timer_total(conn, task_id)
        if not actual:
            raise InputError(
                f"task #{task_id} has no time on its timer: give the effort with --actual"
            )
        state["actual_h"] = actual
    elif "actual_h" in changes:
        raise StateError(f"task #{task_id} is not done: finish it with 'calibrate done'")
    else:
        state["actual_h"] = None
        if status in ("open", "started"):
            state["done_at"] = None
    if status == "started" and not task["started_at"]:
        raise StateError(
            f"task #{task_id}'s timer never ran: start it with 'calibrate start {task_id}'"
        )
    return state


def reopen_task(conn: sqlite3.Connection, task_id: int) -> str:
    """Take a done or dropped task back to open (started, if its timer ever
    ran): its actual and done time are cleared, as a new stamped change.
    Returns the status it is back to."""
    with transaction(conn):
        task = get_task(conn, task_id)
        if task["status"] not in ("done", "dropped"):
            raise StateError(
                f"task #{task_id} is {task['status']}: only a done or dropped task can be reopened"
            )
        status = "started" if task["started_at"] else "open"
        write_registers(conn, task, _state(task, status=status, actual_h=None, done_at=None))
    return status


def delete_tasks(conn: sqlite3.Connection, task_ids: Sequence[int]) -> int:
    """Delete tasks (their intervals and re-estimates go with them), leaving a
    tombstone per uid (law 3: no old file brings them back)."""
    from calibrate.store.tombstones import bury

    with transaction(conn):
        uids = [get_task(conn, task_id)["uid"] for task_id in task_ids]
        bury(conn, uids)
    return len(task_ids)
