"""Time tracked elsewhere (Timewarrior's ``timew export``) onto the tasks here.

Each interval of the file (:mod:`calibrate.exchange.formats.timewarrior`)
belongs to the task its tags name: ``cal:12`` is task #12 of this database; any
other tag is compared with the tasks' uids and keys (``WEB-7`` names the task
imported as ``jira:WEB-7``, a Taskwarrior uuid the task imported from it). It
becomes one of that task's timer intervals, so that ``done`` takes its actual
from the timer with nothing typed. Left out, and counted by reason: intervals
with no such tag or naming two tasks, intervals still being tracked, time
that overlaps time already on the task's timer, and intervals of tasks already
done or dropped (their actual stands). An interval already stored (the same
task and start) is unchanged, so importing the same export again adds nothing.
One import is one transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from calibrate import store
from calibrate.durations import format_duration, hours_between, now_iso
from calibrate.exchange.formats.timewarrior import Interval
from calibrate.store.tasks import record_started
from calibrate.text import count

#: ``cal:12``: the tag that names a task of this database by its id.
_TASK_TAG = re.compile(r"^cal:(\d{1,18})$", re.IGNORECASE)
NO_TAG = "no tag names a task here (tag it in Timewarrior with cal:ID or the task's key)"
TWO_TASKS = "its tags name more than one task"
RUNNING = "still being tracked (import again after 'timew stop')"
OVERLAPS = "overlaps time already on the task's timer"
CLOSED = "on a task already done or dropped (its actual stands)"


@dataclass
class IntervalResult:
    """What an import of intervals did (or, dry, would do)."""

    file: str
    rows: int = 0
    added: int = 0
    unchanged: int = 0
    hours: float = 0.0
    tasks: set[int] = field(default_factory=set)
    skipped: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "format": "timewarrior",
            "rows": self.rows,
            "added": self.added,
            "unchanged": self.unchanged,
            "hours": self.hours,
            "tasks": sorted(self.tasks),
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
            "dry_run": self.dry_run,
        }

    def lines(self) -> list[str]:
        verb = "Would import" if self.dry_run else "Imported"
        out = [
            f"{verb} {self.file} (timewarrior): {count(self.added, 'interval')} "
            f"({format_duration(self.hours)}) added to {count(len(self.tasks), 'task')}, "
            f"{self.unchanged:,} unchanged, {sum(self.skipped.values()):,} skipped"
        ]
        for reason, number in self.skipped.most_common():
            out.append(f"  skipped {number:,}: {reason}")
        return out


class _DryRun(Exception):
    """Raised at the end of a dry run to roll the transaction back."""


def import_intervals(
    conn: sqlite3.Connection, intervals: list[Interval], name: str, *, dry_run: bool = False
) -> IntervalResult:
    """Store ``intervals`` as timer intervals of the tasks their tags name,
    in one transaction (rolled back when ``dry_run``)."""
    result = IntervalResult(file=name, rows=len(intervals), dry_run=dry_run)
    try:
        with store.transaction(conn):
            finder = _TaskFinder(conn)
            for interval in intervals:
                _import_one(conn, finder, interval, result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


def _import_one(
    conn: sqlite3.Connection, finder: _TaskFinder, interval: Interval, result: IntervalResult
) -> None:
    named = {task for tag in interval.tags for task in finder.tasks(tag)}
    if not named:
        result.skipped[NO_TAG] += 1
        return
    if len(named) > 1:
        result.skipped[TWO_TASKS] += 1
        return
    task_id = named.pop()
    if interval.end is None:
        result.skipped[RUNNING] += 1
        return
    if conn.execute(
        "SELECT 1 FROM intervals WHERE task_id = ? AND started_at = ?", (task_id, interval.start)
    ).fetchone():
        result.unchanged += 1
        return
    status = conn.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()[0]
    if status in ("done", "dropped"):
        result.skipped[CLOSED] += 1
        return
    if conn.execute(
        "SELECT 1 FROM intervals WHERE task_id = ? AND started_at < ? "
        "AND coalesce(stopped_at, ?) > ?",
        (task_id, interval.end, now_iso(), interval.start),
    ).fetchone():
        result.skipped[OVERLAPS] += 1
        return
    conn.execute(
        "INSERT INTO intervals (task_id, started_at, stopped_at) VALUES (?, ?, ?)",
        (task_id, interval.start, interval.end),
    )
    record_started(conn, task_id, interval.start)  # stamped: it travels (law 1)
    result.added += 1
    result.hours += hours_between(interval.start, interval.end)
    result.tasks.add(task_id)


class _TaskFinder:
    """The tasks a tag names: ``cal:ID``, else a uid, else a key under any
    source of this database (``SOURCE:TAG``), each tag looked up once."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.found: dict[str, set[int]] = {}
        self._sources: list[str] | None = None

    def sources(self) -> list[str]:
        if self._sources is None:
            self._sources = [
                row[0]
                for row in self.conn.execute("SELECT DISTINCT source FROM tasks")
                if row[0] is not None
            ]
        return self._sources

    def tasks(self, tag: str) -> set[int]:
        if tag not in self.found:
            self.found[tag] = self._look_up(tag.strip())
        return self.found[tag]

    def _look_up(self, tag: str) -> set[int]:
        if not tag:
            return set()
        by_id = _TASK_TAG.match(tag)
        if by_id:
            row = self.conn.execute("SELECT id FROM tasks WHERE id = ?", (int(by_id[1]),))
            return {found[0] for found in row}
        uids = [tag, *(f"{source}:{tag}" for source in self.sources())]
        found: set[int] = set()
        for start in range(0, len(uids), 500):
            chunk = uids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT id FROM tasks WHERE uid IN ({marks})",  # noqa: S608 (only marks)
                    chunk,
                )
            )
        return found
