"""The ledgers of METRICS.md section 8: the advice given for tasks, and the
chances ``forecast`` gave open promises.

- ``advice_ledger``: the P50, P80 and P90 (hours) of a piece of advice given
  for a task before it was done (the hint at ``add``, or ``suggest --task
  ID``), with the advice rule's version, where it came from and when. Only
  the first is written here (:func:`record_advice` writes none once the task
  has one); after merges a task may carry several, and the earliest is its
  first advice (:func:`graded_advice`). Advice given after the fact (``add
  --actual``, a task already done) is never written.
- ``forecast_ledger``: per open promise and local day, the chance a forecast
  (``forecast``, or the report's) gave it and the promise as it stood then
  (:func:`record_chances`: at most one a promise a day, the first).

Both are records of the replicated history (PRODUCT.md, "How tasks travel"):
each a uid and a stamp, merged as a set, exported and imported with their
task (:mod:`calibrate.store.state`). A chance's uid is derived from its
task's uid and its day, so one promise's chance of one day is one record in
every file. Writes are best effort: a read-only or locked database records
nothing, and the command says so once (:data:`SKIPPED_NOTE`, :data:`UNWRITTEN`).

Standard library only: ``add`` writes the hint's advice.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Sequence

from calibrate import rules
from calibrate.store.stamps import next_at, replica_id

#: Said once when a ledger (or a cache) could not be written: a read-only or
#: busy database. ``add`` and ``suggest`` print :data:`SKIPPED_NOTE`; ``forecast``
#: and the report give :data:`UNWRITTEN` as one of their warnings.
UNWRITTEN = (
    "the database could not be written (read-only or busy): the chances of this "
    "forecast are not kept in its ledger, nor its history cached"
)
SKIPPED_NOTE = (
    "Note: the database could not be written (read-only or busy): this advice is not "
    "kept in its ledger"
)
#: Where a piece of advice came from.
SOURCES = ("add", "suggest")


def advice_uid() -> str:
    """A piece of advice's uid: 32 random hex digits."""
    return uuid.uuid4().hex


def chance_uid(task_uid: str, day: str) -> str:
    """A chance's uid: the same for the same promise and day in every file."""
    import hashlib

    text = f"{task_uid}\x00chance\x00{day}"
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def has_advice(conn: sqlite3.Connection, task_id: int) -> bool:
    """Whether the task has advice in its ledger already."""
    try:
        row = conn.execute(
            "SELECT 1 FROM advice_ledger WHERE task_id = ? AND deleted = 0 LIMIT 1", (task_id,)
        ).fetchone()
    except sqlite3.OperationalError:  # a database from before the ledgers
        return True
    return row is not None


def record_advice(
    conn: sqlite3.Connection,
    task_id: int,
    hours: Sequence[float],
    source: str,
    *,
    given_at: str,
) -> bool:
    """Keep the first advice for ``task_id``: its P50, P80, P90 in ``hours``,
    given by ``source`` (add | suggest) at ``given_at`` (UTC ISO), with
    the advice rule's version. Nothing when the task has advice already, or
    is done or dropped (advice after the fact). Returns ``False`` only when
    the database could not be written (read-only, locked)."""
    p50, p80, p90 = (float(h) for h in hours)
    sql = (
        "INSERT INTO advice_ledger (uid, task_id, p50_h, p80_h, p90_h, version, source, "
        "given_at, stamp_at, stamp_replica) "
        "SELECT ?, id, ?, ?, ?, ?, ?, ?, ?, ? FROM tasks WHERE id = ? "
        "AND status IN ('open', 'started') AND NOT EXISTS "
        "(SELECT 1 FROM advice_ledger WHERE task_id = ? AND deleted = 0)"
    )
    params = (
        advice_uid(),
        p50,
        p80,
        p90,
        rules.ADVICE_VERSION,
        source,
        given_at,
        next_at(),
        replica_id(conn),
        task_id,
        task_id,
    )
    return _write(conn, sql, [params])


def record_chances(
    conn: sqlite3.Connection,
    chances: Iterable[tuple[int, float, float | None, str | None]],
    day: str,
) -> bool:
    """Keep each open promise's chance of ``day`` (a local ISO date): rows of
    (task id, chance, promised hours or ``None``, due date or ``None``); a
    promise that has one for that day keeps it. Returns ``False`` only when
    the database could not be written."""
    rows = list(chances)
    if not rows:
        return True
    stamp, replica = next_at(), replica_id(conn)
    uids = dict(
        _select_many(conn, "SELECT id, uid FROM tasks WHERE id IN ({marks})", [r[0] for r in rows])
    )
    params = [
        (chance_uid(uids[task], day), task, day, chance, promise_h, due, stamp, replica)
        for task, chance, promise_h, due in rows
        if task in uids
    ]
    sql = (
        "INSERT OR IGNORE INTO forecast_ledger (uid, task_id, day, chance, promise_h, due, "
        "stamp_at, stamp_replica) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    return _write(conn, sql, params)


def graded_advice(
    conn: sqlite3.Connection, where: str = "1", params: Sequence = ()
) -> list[tuple[float, float, float, float]]:
    """(actual, P50, P80, P90) in hours of each counted task matching
    ``where`` (on ``tasks``) that has advice: its first (the earliest given;
    ties by uid), graded against its actual now (so again after a reopen)."""
    sql = (  # from the ledger (small) to its tasks, not from every task of the scope
        "SELECT t.actual_h, a.p50_h, a.p80_h, a.p90_h "  # noqa: S608 (a clause from the caller)
        "FROM advice_ledger AS a CROSS JOIN tasks AS t ON t.id = a.task_id "
        "WHERE a.deleted = 0 AND NOT EXISTS (SELECT 1 FROM advice_ledger AS b "
        "WHERE b.task_id = a.task_id AND b.deleted = 0 AND (b.given_at < a.given_at "
        "OR (b.given_at = a.given_at AND b.uid < a.uid))) "
        f"AND {rules.counted_sql('t')} AND t.status = 'done' AND ({where})"
    )
    try:
        return [tuple(row) for row in conn.execute(sql, list(params))]
    except sqlite3.OperationalError:  # a database from before the ledgers
        return []


def recorded_chances(conn: sqlite3.Connection, where: str = "1", params: Sequence = ()) -> list:
    """Every chance recorded for the tasks matching ``where`` (on ``tasks``):
    rows of (task id, day, chance, promised hours, due date, the task's
    status, actual hours, done time)."""
    sql = (
        "SELECT t.id, f.day, f.chance, f.promise_h, f.due, t.status, t.actual_h, t.done_at "  # noqa: S608 (a clause from the caller)
        "FROM forecast_ledger AS f CROSS JOIN tasks AS t ON t.id = f.task_id "
        f"WHERE f.deleted = 0 AND ({where}) ORDER BY t.id, f.day"
    )
    try:
        return conn.execute(sql, list(params)).fetchall()
    except sqlite3.OperationalError:  # a database from before the ledgers
        return []


def _select_many(conn: sqlite3.Connection, sql: str, values: list) -> list:
    out = []
    for first in range(0, len(values), 500):
        chunk = values[first : first + 500]
        out += conn.execute(sql.format(marks=", ".join("?" * len(chunk))), chunk).fetchall()
    return out


def _write(conn: sqlite3.Connection, sql: str, rows: list) -> bool:
    """Run one write in its own transaction, or skip it: a read-only or locked
    database (or a database from before the ledgers) is left as it was."""
    if not rows:
        return True
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    try:
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return False
    return True
