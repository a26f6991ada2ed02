"""What the database keeps derived from its history, and when that is stale.

Two tables, each row stamped with the *history stamp* it was computed at
(:func:`history_stamp`): two cheap reads, a counter that triggers bump on
every change to a counted task (the ``history_state`` table) and the id of
the newest task with an actual (new rows: ``add --actual``, imports, merges).

- ``hints``: one row per person and size bucket (:data:`HINT_COLUMNS`), read
  by ``add`` in one indexed ``SELECT`` (:func:`stored_hint`) and written by
  :func:`store_hint`; the pools a hint is computed from are read here too
  (:func:`hint_pools`: the most recent counted tasks, METRICS.md section 7;
  :func:`done_ratios`: what the person's shared shift is estimated from). A
  hint's stamp carries the advice rule's version too (:func:`advice_stamp`),
  so a hint computed by an older rule is never served as current.
  When a hint is computed and refreshed is :mod:`calibrate.hinting`'s
  business, the mixing :mod:`calibrate.stats.hints`': storage knows rows,
  not statistics.
- ``advice_cache``: values keyed by name (the forecast's arrays of the past,
  quoted backtests), returned only at the stamp they were stored at
  (:func:`read_cache`, :func:`write_cache`).

Deleting a person's tasks deletes their rows (triggers). Writes are best
effort (:func:`_write_if_free`): a read-only or locked database answers
without storing.

Standard library only: this module is on ``add``'s start-up path.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from calibrate import rules
from calibrate.store.names import canonical_person, names_of

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


def advice_stamp(conn: sqlite3.Connection) -> str:
    """The stamp of what advice is derived from: the advice rule's version
    (:data:`calibrate.rules.ADVICE_VERSION`) and :func:`history_stamp`."""
    return f"a{rules.ADVICE_VERSION}/{history_stamp(conn)}"


def current_version(stamp: str) -> bool:
    """Whether a stored stamp was made by this version of the advice rule."""
    return stamp.startswith(f"a{rules.ADVICE_VERSION}/")


# --- hints ---------------------------------------------------------------------------

#: A row of the ``hints`` table (the fields of :class:`calibrate.stats.hints.Hint`).
HINT_COLUMNS = ("person", "bucket", "own_n", "pool_n", "pool", "team", "p50", "p80", "p90", "stamp")
_LOOKUP_SQL = (
    f"SELECT {', '.join(HINT_COLUMNS)} FROM hints "  # noqa: S608 (fixed names)
    "WHERE person = ? AND bucket = ?"
)
_STORE_SQL = (
    f"INSERT OR REPLACE INTO hints ({', '.join(HINT_COLUMNS)}) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join('?' * len(HINT_COLUMNS))})"
)


def stored_hint(conn: sqlite3.Connection, person: str, bucket: int) -> dict[str, Any] | None:
    """The stored hint row for ``person`` (aliases resolved) in size ``bucket``,
    by :data:`HINT_COLUMNS`, or ``None``.

    One indexed ``SELECT``: this is what ``add`` costs when the row exists.
    """
    row = conn.execute(_LOOKUP_SQL, (canonical_person(conn, person), bucket)).fetchone()
    return None if row is None else dict(zip(HINT_COLUMNS, row, strict=True))


def store_hint(conn: sqlite3.Connection, row: Mapping[str, Any]) -> None:
    """Keep a hint row (:data:`HINT_COLUMNS`) in place of the one before."""
    _write_if_free(conn, _STORE_SQL, [row[name] for name in HINT_COLUMNS])


# --- hints: their pools ------------------------------------------------------------------

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
    ``team`` in size ``bucket``, knowing all history (METRICS.md section 7):
    the person's last 200 in the bucket; the pool used, which leaves the
    person out: the team's last 2,000 there, everyone's where that leaves
    fewer than 30, the neighbouring sizes' where the bucket is empty, then all
    sizes; where nobody else has any history, the person is the team (a
    database of one: kind ``yours``); ``reference`` with an empty pool (the
    reference spread itself is mixed in by :mod:`calibrate.stats.hints`). The
    same rule as
    :meth:`calibrate.stats.pools.Pools.components`."""
    size, size_params = rules.size_bounds_sql(bucket)
    names = names_of(conn, person)  # every name the person's tasks are stored under
    marks = ", ".join("?" * len(names))
    own = _log_ratios(
        conn, f"person IN ({marks}) AND {size}", [*names, *size_params], rules.OWN_POOL
    )
    pool, kind = _pool_used(conn, (f"person NOT IN ({marks})", names), team, bucket)
    if kind == "reference":  # nobody else has any history: the person is the team
        pool, kind = _pool_used(conn, ("1", []), None, bucket)
        kind = "yours" if pool else "reference"
    return own, pool, kind


def _pool_used(
    conn: sqlite3.Connection, others: tuple[str, list], team: str | None, bucket: int
) -> tuple[list[float], str]:
    who, who_params = others
    size, size_params = rules.size_bounds_sql(bucket)
    pool: list[float] = []
    kind = "everyone"
    if team is not None:
        where = f"team = ? AND {who} AND {size}"
        pool = _log_ratios(conn, where, [team, *who_params, *size_params], rules.TEAM_POOL)
        kind = "team"
        if len(pool) < rules.TEAM_MIN:
            pool, kind = [], "everyone"
    if not pool:
        pool = _log_ratios(conn, f"{who} AND {size}", [*who_params, *size_params], rules.TEAM_POOL)
    if not pool:
        kind = "neighbours"
        for neighbour in (bucket - 1, bucket + 1):
            if 0 <= neighbour <= len(rules.SIZE_EDGES_H):
                where, params = rules.size_bounds_sql(neighbour)
                pool += _log_ratios(
                    conn, f"{who} AND {where}", [*who_params, *params], rules.TEAM_POOL
                )
    if not pool:
        kind = "all sizes"
        pool = _log_ratios(conn, who, who_params, rules.TEAM_POOL)
    return pool, kind if pool else "reference"


def done_ratios(conn: sqlite3.Connection, person: str) -> list[tuple[str | None, float]]:
    """(done time, log ratio) of every counted task of ``person`` (under any of
    their names): what the person's shared-shift variance is computed from."""
    names = names_of(conn, person)
    sql = (
        f"SELECT done_at, estimate_h, actual_h FROM tasks WHERE {_COUNTED} "  # noqa: S608
        f"AND person IN ({', '.join('?' * len(names))})"
    )
    return [(done, math.log2(a / e)) for done, e, a in conn.execute(sql, names)]


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
    _write_if_free(
        conn,
        "INSERT OR REPLACE INTO advice_cache (key, stamp, value) VALUES (?, ?, ?)",
        (key, stamp, value),
    )


def _write_if_free(conn: sqlite3.Connection, sql: str, params: Sequence) -> None:
    """Run one write in its own transaction, or skip it: a read-only or locked
    database (or any failed write) leaves the cache as it was."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return
    try:
        conn.execute(sql, params)
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
