"""What the database keeps derived from its history, and when that is stale.

Two tables, each row stamped with the *history stamp* it was computed at
(:func:`history_stamp`): two cheap reads, a counter that triggers bump on
every change to a counted task (the ``history_state`` table) and the id of
the newest task with an actual (new rows: ``add --actual``, imports, merges).

- ``hints``: one :class:`~calibrate.stats.hints.Hint` per person and size
  bucket, read by ``add`` in one indexed ``SELECT`` (:func:`lookup_hint`).
  ``add`` prints the row it finds even when it is a little stale (it is a
  hint), computing it only when missing, or when it said "no history" and
  history has come since (:func:`hint_for_add`); ``done`` refreshes the
  finished task's row (:func:`refresh_task_hint`); ``suggest`` refreshes a
  stale row before answering (:func:`current_hint`). The pools a hint is
  computed from are read here (:func:`hint_pools`: the most recent counted
  tasks, METRICS.md section 7); the mixing is :mod:`calibrate.stats.hints`'.
- ``advice_cache``: values keyed by name (the forecast's arrays of the past,
  quoted backtests), returned only at the stamp they were stored at
  (:func:`read_cache`, :func:`write_cache`).

Deleting a person's tasks deletes their rows (triggers). Writes are best
effort: a read-only or locked database answers without storing.

Standard library only: this module is on ``add``'s start-up path.
"""

from __future__ import annotations

import math
import sqlite3

from calibrate import rules
from calibrate.stats.hints import Hint, from_pools
from calibrate.store.tasks import canonical_person, team_of

# --- freshness -----------------------------------------------------------------------


def history_stamp(conn: sqlite3.Connection) -> str:
    """Changes whenever the counted history does: ``version:last id``.

    ``version`` is bumped by triggers on every update or delete that touches
    a counted task's estimate, actual, status, person, team or done time; the
    newest id with an actual catches inserted history (ids only grow).
    """
    version = conn.execute("SELECT version FROM history_state WHERE id = 1").fetchone()
    last = conn.execute(
        "SELECT id FROM tasks WHERE actual_h IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return f"{version[0] if version else 0}:{last[0] if last else 0}"


# --- hints: reading --------------------------------------------------------------------

_LOOKUP_SQL = (
    "SELECT person, bucket, own_n, pool_n, pool, team, p50, p80, p90, stamp FROM hints "
    "WHERE person = coalesce((SELECT person FROM aliases WHERE alias = ?), ?) AND bucket = ?"
)


def lookup_hint(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The stored hint for ``person`` (aliases resolved) at this size, or ``None``.

    One indexed ``SELECT``: this is what ``add`` costs when the row exists.
    """
    row = conn.execute(_LOOKUP_SQL, (person, person, rules.size_bucket(estimate_h))).fetchone()
    if row is None:
        return None
    return Hint(
        row[0],
        row[1],
        own_n=row[2],
        pool_n=row[3],
        pool=row[4],
        team=row[5],
        p50=row[6],
        p80=row[7],
        p90=row[8],
        stamp=row[9],
    )


def hint_for_add(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The hint ``add`` prints: the stored row (even if slightly stale), computed
    and stored only when missing, or when it said "no history" and the history
    has changed since. ``None`` without history to speak from."""
    hint = lookup_hint(conn, person, estimate_h)
    if hint is None or (not hint.has_history and hint.stamp != history_stamp(conn)):
        hint = refresh_hint(conn, canonical_person(conn, person), rules.size_bucket(estimate_h))
    return hint if hint.has_history else None


def current_hint(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint:
    """The hint for ``suggest``: recomputed when the history changed since it was stored."""
    hint = lookup_hint(conn, person, estimate_h)
    if hint is None or hint.stamp != history_stamp(conn):
        hint = refresh_hint(conn, canonical_person(conn, person), rules.size_bucket(estimate_h))
    return hint


# --- hints: computing ------------------------------------------------------------------

_COUNTED = rules.counted_sql()


def _log_ratios(conn: sqlite3.Connection, where: str, params: list, limit: int) -> list[float]:
    sql = (
        f"SELECT estimate_h, actual_h FROM tasks WHERE {_COUNTED} AND {where} "  # noqa: S608
        "ORDER BY done_at DESC, id DESC LIMIT ?"
    )
    return [math.log2(a / e) for e, a in conn.execute(sql, [*params, limit])]


def hint_pools(
    conn: sqlite3.Connection, person: str, team: str | None, bucket: int
) -> tuple[list[float], list[float], str]:
    """(own log ratios, pool log ratios, pool kind) for a task by ``person`` in
    ``team`` in size ``bucket``, knowing all history (METRICS.md section 7)."""
    size, size_params = rules.size_bounds_sql(bucket)
    own = _log_ratios(conn, f"person = ? AND {size}", [person, *size_params], rules.OWN_POOL)
    pool: list[float] = []
    kind = "everyone"
    if team is not None:
        pool = _log_ratios(conn, f"team = ? AND {size}", [team, *size_params], rules.TEAM_POOL)
        kind = "team"
        if len(pool) < rules.TEAM_MIN:
            pool, kind = [], "everyone"
    if not pool:
        pool = _log_ratios(conn, size, size_params, rules.TEAM_POOL)
    if not pool:
        kind = "neighbours"
        for neighbour in (bucket - 1, bucket + 1):
            if 0 <= neighbour <= len(rules.SIZE_EDGES_H):
                where, params = rules.size_bounds_sql(neighbour)
                pool += _log_ratios(conn, where, params, rules.TEAM_POOL)
    if not pool:
        kind = "all sizes"
        pool = _log_ratios(conn, "1", [], rules.TEAM_POOL)
    if not pool:
        kind = "reference"
        pool = rules.reference_log_ratios()
    return own, pool, kind


def compute_hint(
    conn: sqlite3.Connection, person: str, bucket: int, stamp: str | None = None
) -> Hint:
    """The hint for ``person`` (already canonical) in size ``bucket``, from the database."""
    stamp = stamp or history_stamp(conn)
    team = team_of(conn, person)
    own, pool, kind = hint_pools(conn, person, team, bucket)
    return from_pools(person, bucket, team, own, pool, kind, stamp)


def refresh_hint(conn: sqlite3.Connection, person: str, bucket: int) -> Hint:
    """Compute and store the hint (a read-only database just skips the storing)."""
    hint = compute_hint(conn, person, bucket)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return hint  # read-only or locked: the hint still stands, uncached
    try:
        conn.execute(
            "INSERT OR REPLACE INTO hints (person, bucket, own_n, pool_n, pool, team, p50, "
            "p80, p90, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hint.person,
                hint.bucket,
                hint.own_n,
                hint.pool_n,
                hint.pool,
                hint.team,
                hint.p50,
                hint.p80,
                hint.p90,
                hint.stamp,
            ),
        )
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    return hint


def refresh_task_hint(conn: sqlite3.Connection, task_id: int) -> Hint | None:
    """After ``done``: refresh the finished task's person and size."""
    row = conn.execute("SELECT person, estimate_h FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        return None
    return refresh_hint(conn, row[0], rules.size_bucket(row[1]))


# --- advice_cache ----------------------------------------------------------------------


def read_cache(conn: sqlite3.Connection, key: str, stamp: str) -> bytes | None:
    """A cached value if it was stored at this history stamp (``None`` otherwise,
    or in a database without the cache table)."""
    try:
        row = conn.execute("SELECT stamp, value FROM advice_cache WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    if row is None or row[0] != stamp:
        return None
    return row[1] if isinstance(row[1], bytes) else str(row[1]).encode()


def write_cache(conn: sqlite3.Connection, key: str, stamp: str, value: bytes) -> None:
    """Keep a value for the next command; a read-only or locked database keeps none."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return
    try:
        conn.execute(
            "INSERT OR REPLACE INTO advice_cache (key, stamp, value) VALUES (?, ?, ?)",
            (key, stamp, value),
        )
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def cached_backtest(conn: sqlite3.Connection, key: str, stamp: str) -> dict | None:
    """A quoted backtest's figures stored at this stamp, or ``None``."""
    import json

    value = read_cache(conn, f"backtest:{key}", stamp)
    return None if value is None else json.loads(value)


def store_backtest(conn: sqlite3.Connection, key: str, stamp: str, result: dict) -> None:
    import json

    write_cache(conn, f"backtest:{key}", stamp, json.dumps(result, sort_keys=True).encode())
