"""The timer: a task's sittings (timer intervals), started, stopped and summed.

A sitting is a record of its own (a uid and a stamp, law 1): stopping it
writes its stop time under a later stamp, and an undone one is marked
deleted the same way. One timer runs per person.

Times typed on a command make sense (PRODUCT.md, "A day's use"): a stop
before its start is refused, and a sitting that a typed command closes after
more than :data:`LONG_SITTING_H` hours, or through the night (any of the
local hours :data:`NIGHT_HOURS`), is *reviewed*: the command's ``review``
(:data:`Review`) keeps it, trims it, or refuses it (:class:`LongSitting`).
Merges and imports never review: clocks differ between machines.

Standard library only: ``start``, ``stop`` and ``done`` are everyday commands.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta

from calibrate.clock import local_date, local_moment, local_text
from calibrate.durations import format_duration, from_iso, hours_between, to_iso
from calibrate.errors import UsageError
from calibrate.store.names import names_of
from calibrate.store.stamps import next_at, replica_id, second_of

#: A sitting longer than this many hours is asked about (a timer left running).
LONG_SITTING_H = 12.0
#: A sitting through any of these local hours (from, to) is asked about too.
NIGHT_HOURS = (2, 5)


class Sitting:
    """A sitting about to be closed: whose, from when, until when, and why it
    is asked about (``"over 12 hours"`` or ``"through the night"``)."""

    __slots__ = ("hours", "started_at", "stopped_at", "task_id", "uid", "why")

    def __init__(self, task_id: int, uid: str, started_at: str, stopped_at: str, why: str):
        self.task_id, self.uid, self.why = task_id, uid, why
        self.started_at, self.stopped_at = started_at, stopped_at
        self.hours = hours_between(started_at, stopped_at)

    def words(self) -> str:
        """``92h33m (2026-11-27 17:02 to 2026-12-01 13:35)``."""
        return (
            f"{format_duration(self.hours)} ({local_text(self.started_at)} to "
            f"{local_text(self.stopped_at)})"
        )


class LongSitting(UsageError):
    """A long or overnight sitting with nothing to say whether to keep or trim
    it: refused in a pipe, with the options that decide (exit 2); a command on
    a terminal asks instead and tries again."""

    def __init__(self, sitting: Sitting, decide: str | None = None):
        self.sitting = sitting
        decide = decide or "give --keep to keep it, or --trim-to DURATION|TIME to trim it"
        super().__init__(
            f"task #{sitting.task_id}'s timer ran {sitting.words()}, {sitting.why}: {decide}"
        )


#: What a typed command does with a sitting it is asked about: the stop time to
#: write instead (UTC ISO text: trimmed), ``None`` to keep it, or raise
#: :class:`LongSitting`.
Review = Callable[[Sitting], "str | None"]


def record_uid() -> str:
    """The uid of a timer interval or a re-estimate: 32 random hex digits."""
    return uuid.uuid4().hex


def night_or_long(started_at: str, stopped_at: str) -> str | None:
    """Why a sitting from ``started_at`` to ``stopped_at`` is asked about, or
    ``None``: over :data:`LONG_SITTING_H` hours, or through the local hours
    :data:`NIGHT_HOURS` of any day (the offset in force then)."""
    start, stop = from_iso(started_at), from_iso(stopped_at)
    if (stop - start).total_seconds() > LONG_SITTING_H * 3600:
        return f"over {LONG_SITTING_H:g} hours"
    day, last = local_date(start), local_date(stop)
    first_hour, last_hour = NIGHT_HOURS
    while day <= last:
        night_start = local_moment(datetime.combine(day, time(first_hour)), strict=False)
        night_end = local_moment(datetime.combine(day, time(last_hour)), strict=False)
        if start < night_end and stop > night_start:
            return f"through the night ({first_hour:02d}:00-{last_hour:02d}:00)"
        day += timedelta(days=1)
    return None


def trimmed_stop(sitting: Sitting, *, hours: float | None = None, until: str | None = None) -> str:
    """The stop time of ``sitting`` trimmed to last ``hours``, or to end at
    ``until`` (UTC ISO text); refused unless it lies inside the sitting."""
    if hours is not None:
        stop = from_iso(sitting.started_at) + timedelta(hours=hours)
        until = to_iso(stop)
    assert until is not None
    if not sitting.started_at < until <= sitting.stopped_at:
        raise UsageError(
            f"task #{sitting.task_id}'s sitting cannot be trimmed to end at {local_text(until)}: "
            f"it ran {sitting.words()}; give a shorter length, or a time inside it"
        )
    return until


def running_intervals(conn: sqlite3.Connection, person: str | None = None) -> list[sqlite3.Row]:
    """The running sittings (of ``person``'s tasks, under every name of theirs)."""
    sql = (
        "SELECT intervals.id, intervals.uid, intervals.task_id, intervals.started_at, "
        "intervals.stamp_at, tasks.title FROM intervals JOIN tasks ON tasks.id = intervals.task_id "
        "WHERE intervals.stopped_at IS NULL AND intervals.deleted = 0"
    )
    params: list = []
    if person is not None:
        names = names_of(conn, person)
        sql += f" AND tasks.person IN ({', '.join('?' * len(names))})"
        params = names
    return conn.execute(sql + " ORDER BY intervals.started_at", params).fetchall()


def insert_interval(
    conn: sqlite3.Connection, task_id: int, started_at: str, stamp: str, replica: str
) -> None:
    conn.execute(
        "INSERT INTO intervals (uid, task_id, started_at, stamp_at, stamp_replica) "
        "VALUES (?, ?, ?, ?, ?)",
        (record_uid(), task_id, started_at, stamp, replica),
    )


def close_interval(
    conn: sqlite3.Connection, interval: sqlite3.Row, when: str, review: Review | None = None
) -> float:
    """Stop a running sitting at ``when`` (reviewed when long or overnight);
    returns its hours."""
    if when < interval["started_at"]:
        raise UsageError(
            f"the stop time {local_text(when)} is before task #{interval['task_id']}'s timer "
            f"started ({local_text(interval['started_at'])})"
        )
    if review is not None:
        why = night_or_long(interval["started_at"], when)
        if why is not None:
            sitting = Sitting(
                interval["task_id"], interval["uid"], interval["started_at"], when, why
            )
            when = review(sitting) or when
    stamp = next_at(interval["stamp_at"] or "")
    conn.execute(
        "UPDATE intervals SET stopped_at = ?, stamp_at = ?, stamp_replica = ? WHERE id = ?",
        (when, stamp, replica_id(conn), interval["id"]),
    )
    conn.execute(
        "UPDATE tasks SET updated_at = max(updated_at, ?) WHERE id = ?",
        (second_of(stamp), interval["task_id"]),
    )
    return hours_between(interval["started_at"], when)


def stop_task_timer(
    conn: sqlite3.Connection, task_id: int, when: str, review: Review | None = None
) -> None:
    """Stop the task's timer at ``when`` if it is running (it is done or dropped)."""
    for interval in running_intervals(conn):
        if interval["task_id"] == task_id:
            close_interval(conn, interval, when, review)


def stop_running_for(
    conn: sqlite3.Connection,
    person: str,
    when: str,
    *,
    except_task: int | None = None,
    review: Review | None = None,
) -> list[tuple[int, float]]:
    """Stop every running sitting of ``person`` (but ``except_task``'s)."""
    stopped = []
    for interval in running_intervals(conn, person):
        if interval["task_id"] != except_task:
            stopped.append((interval["task_id"], close_interval(conn, interval, when, review)))
    return stopped


def timer_total(conn: sqlite3.Connection, task_id: int, until: str | None = None) -> float:
    """Hours on the task's timer; a running interval counts up to ``until``."""
    total = 0.0
    for row in conn.execute(
        "SELECT started_at, stopped_at FROM intervals WHERE task_id = ? AND deleted = 0",
        (task_id,),
    ):
        stop = row["stopped_at"] or until
        if stop:
            total += max(0.0, hours_between(row["started_at"], stop))
    return total


def timer_bounds(conn: sqlite3.Connection, task_id: int) -> tuple[str | None, str | None]:
    """(first start, last start or stop) of the task's sittings: a done time
    before the last is refused."""
    row = conn.execute(
        "SELECT min(started_at), max(max(started_at, coalesce(stopped_at, started_at))) "
        "FROM intervals WHERE task_id = ? AND deleted = 0",
        (task_id,),
    ).fetchone()
    return row[0], row[1]
