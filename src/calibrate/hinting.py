"""The hint of ``add`` and ``suggest``: found, computed and kept fresh.

A hint (:class:`calibrate.stats.hints.Hint`) is computed from pools of log
ratios that :mod:`calibrate.store.caches` reads from the database, mixed by
:mod:`calibrate.stats.hints`, and kept in the ``hints`` table stamped with
the history it was computed at. This module, above both, decides when:
``add`` prints the stored row even when it is a little stale (it is a hint)
and computes it only when missing, or when it said "no history" and history
has come since (:func:`hint_for_add`); ``done`` refreshes the finished
task's row (:func:`refresh_task_hint`); ``suggest`` refreshes a stale row
before answering (:func:`current_hint`).

Standard library only: ``add`` imports it, and finds a stored hint with one
indexed ``SELECT``.
"""

from __future__ import annotations

import sqlite3

from calibrate import rules
from calibrate.stats.hints import Hint, from_pools
from calibrate.store import caches
from calibrate.store.tasks import canonical_person, get_task, team_of


def lookup_hint(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The stored hint for ``person`` (aliases resolved) at this size, or ``None``."""
    row = caches.stored_hint(conn, person, rules.size_bucket(estimate_h))
    return None if row is None else Hint(**row)


def hint_for_add(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The hint ``add`` prints: the stored row (even if slightly stale), computed
    and stored only when missing, or when it said "no history" and the history
    has changed since. ``None`` without history to speak from."""
    hint = lookup_hint(conn, person, estimate_h)
    if hint is None or (not hint.has_history and hint.stamp != caches.history_stamp(conn)):
        hint = refresh_hint(conn, canonical_person(conn, person), rules.size_bucket(estimate_h))
    return hint if hint.has_history else None


def current_hint(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint:
    """The hint for ``suggest``: recomputed when the history changed since it was stored."""
    hint = lookup_hint(conn, person, estimate_h)
    if hint is None or hint.stamp != caches.history_stamp(conn):
        hint = refresh_hint(conn, canonical_person(conn, person), rules.size_bucket(estimate_h))
    return hint


def compute_hint(
    conn: sqlite3.Connection, person: str, bucket: int, stamp: str | None = None
) -> Hint:
    """The hint for ``person`` (already canonical) in size ``bucket``, from the database."""
    stamp = stamp or caches.history_stamp(conn)
    team = team_of(conn, person)
    own, pool, kind = caches.hint_pools(conn, person, team, bucket)
    return from_pools(person, bucket, team, own, pool, kind, stamp)


def refresh_hint(conn: sqlite3.Connection, person: str, bucket: int) -> Hint:
    """Compute and store the hint (a read-only database just skips the storing)."""
    hint = compute_hint(conn, person, bucket)
    caches.store_hint(conn, {name: getattr(hint, name) for name in caches.HINT_COLUMNS})
    return hint


def refresh_task_hint(conn: sqlite3.Connection, task_id: int) -> Hint:
    """After ``done``: refresh the finished task's person and size."""
    task = get_task(conn, task_id)
    person = canonical_person(conn, task["person"])  # the hint is kept under the person
    return refresh_hint(conn, person, rules.size_bucket(task["estimate_h"]))
