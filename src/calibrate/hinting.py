"""The hint of ``add`` and ``suggest``: found, computed and kept fresh.

A hint (:class:`calibrate.stats.hints.Hint`) is computed from pools of log
ratios that :mod:`calibrate.store.caches` reads from the database, mixed by
:mod:`calibrate.stats.hints`, and kept in the ``hints`` table stamped with
the history it was computed at. This module, above both, decides when:
``add`` prints the stored row even when it is a little stale (it is a hint)
and computes it only when missing, or when it said "no history" and history
has come since (:func:`hint_for_add`); ``done`` refreshes the finished
task's row (:func:`refresh_task_hint`); ``suggest`` refreshes a stale row
before answering (:func:`current_hint`). Where the task has words that
similar finished tasks share, both blend those in (:func:`blended_hint`).

Standard library only: ``add`` imports it, and finds a stored hint with one
indexed ``SELECT``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import cast

from calibrate import rules
from calibrate.clock import local_date
from calibrate.durations import from_iso, now_iso, week_of_day
from calibrate.receipts import SimilarPool
from calibrate.stats.hints import (
    Hint,
    blend,
    from_pools,
    mixture,
    predictive_quantiles,
    shift_variance,
)
from calibrate.store import caches, ledgers
from calibrate.store.tasks import canonical_person, get_task, team_of

#: Day numbers count from 1970-01-01 (as :func:`calibrate.clock.local_days`).
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def lookup_hint(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The stored hint for ``person`` (aliases resolved) at this size, or ``None``."""
    row = caches.stored_hint(conn, person, rules.size_bucket(estimate_h))
    return None if row is None else Hint(**row)


def hint_for_add(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The hint ``add`` prints: the stored row (even if slightly stale), computed
    and stored only when missing, made by an older rule, or when it said "no
    history" and the history has changed since. ``None`` without history to
    speak from."""
    hint = lookup_hint(conn, person, estimate_h)
    if (
        hint is None
        or not caches.current_version(hint.stamp)
        or (not hint.has_history and hint.stamp != caches.advice_stamp(conn))
    ):
        hint = refresh_hint(conn, canonical_person(conn, person), rules.size_bucket(estimate_h))
    return hint if hint.has_history else None


def current_hint(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint:
    """The hint for ``suggest``: recomputed when the history changed since it was stored."""
    hint = lookup_hint(conn, person, estimate_h)
    if hint is None or hint.stamp != caches.advice_stamp(conn):
        hint = refresh_hint(conn, canonical_person(conn, person), rules.size_bucket(estimate_h))
    return hint


def compute_hint(
    conn: sqlite3.Connection, person: str, bucket: int, stamp: str | None = None
) -> Hint:
    """The hint for ``person`` (already canonical) in size ``bucket``, from the
    database: the pools (:func:`calibrate.store.caches.hint_pools`) and the
    person's shared-shift variance, as their own ``forecast`` would use it."""
    return _computed(conn, person, bucket, stamp)[0]


def _computed(
    conn: sqlite3.Connection, person: str, bucket: int, stamp: str | None = None
) -> tuple[Hint, bytes]:
    """The hint, and what it was mixed from, packed (:func:`_pack`)."""
    stamp = stamp or caches.advice_stamp(conn)
    team = team_of(conn, person)
    own, pool, kind = caches.hint_pools(conn, person, team, bucket)
    tau2 = person_shift_variance(conn, person)
    hint = from_pools(person, bucket, team, own, pool, kind, stamp, tau2)
    return hint, _pack(tau2, own, pool, rules.reference_spread(bucket))


def _pools_key(person: str, bucket: int) -> str:
    return f"hint-pools:{bucket}:{person}"


def _pack(tau2: float, own: list[float], pool: list[float], spread: Sequence[float]) -> bytes:
    """tau^2, the pools and the reference spread of a hint as doubles, kept
    beside it (in ``advice_cache``, at its stamp) so that ``add`` can blend in
    the similar tasks without reading the pools again (tens of milliseconds
    on 100,000 tasks) nor the reference table. Packed when the hint is
    computed; ``add`` only unpacks (:func:`_unpack`: no ``array`` to import)."""
    from array import array

    return array("d", [tau2, len(own), len(pool), *own, *pool, *spread]).tobytes()


def _unpack(data: bytes) -> tuple[float, list[float], list[float], list[float]]:
    # the doubles of _pack, in this machine's order (typeshed says ints: any format's list)
    values = cast("list[float]", memoryview(data).cast("d").tolist())
    own_n, pool_n = int(values[1]), int(values[2])
    mid = 3 + own_n
    return values[0], values[3:mid], values[mid : mid + pool_n], values[mid + pool_n :]


def blended_hint(conn: sqlite3.Connection, hint: Hint, pool: SimilarPool | None) -> Hint:
    """The hint with the task's reference-class pool blended in (issue 16,
    METRICS.md section 7): the mixture of ``hint``'s person and size (read
    again from the database) weighs 1 - w, the similar tasks of ``pool``
    weigh w = S / (S + 10) (:func:`calibrate.stats.hints.blend`), then the
    one predictive distribution as without them. ``hint`` itself where no
    similar task shares a word (or without FTS5: ``pool`` is ``None``)."""
    if pool is None or not any(pool.found) or not hint.has_history:
        return hint
    kept = caches.read_cache(conn, _pools_key(hint.person, hint.bucket), hint.stamp)
    if kept is not None:  # what the hint was mixed from, kept beside it
        tau2, own, pools, spread = _unpack(kept)
    else:
        own, pools, _ = caches.hint_pools(conn, hint.person, hint.team, hint.bucket)
        tau2 = person_shift_variance(conn, hint.person)
        spread = list(rules.reference_spread(hint.bucket))
    pairs = mixture(own, pools, spread, merged=True)
    pairs, weight = blend(pairs, pool.log_ratios, pool.found, pool.query_n)
    if weight <= 0:
        return hint
    q50, q80, q90 = (2.0**r for r in predictive_quantiles(pairs, tau2))
    return Hint(
        hint.person,
        hint.bucket,
        own_n=len(own),
        pool_n=len(pools),
        pool=hint.pool,
        team=hint.team,
        p50=q50,
        p80=q80,
        p90=q90,
        stamp=hint.stamp,
        similar_n=sum(1 for n in pool.found if n > 0),
        similar_weight=weight,
    )


def person_shift_variance(conn: sqlite3.Connection, person: str) -> float:
    """tau^2 of ``person``'s counted tasks by local week of their done date
    (:func:`calibrate.stats.hints.shift_variance`)."""
    pairs = []
    for done, r in caches.done_ratios(conn, person):
        week = -1
        if done:
            try:
                day = local_date(from_iso(done))
            except (ValueError, OverflowError, OSError):
                day = None
            if day is not None:
                week = week_of_day(day.toordinal() - EPOCH_ORDINAL)
        pairs.append((week, r))
    return shift_variance(pairs)


def refresh_hint(conn: sqlite3.Connection, person: str, bucket: int) -> Hint:
    """Compute and store the hint (a read-only database just skips the storing)."""
    hint, packed = _computed(conn, person, bucket)
    caches.store_hint(conn, {name: getattr(hint, name) for name in caches.HINT_COLUMNS})
    caches.write_cache(conn, _pools_key(person, bucket), hint.stamp, packed)
    return hint


def refresh_task_hint(conn: sqlite3.Connection, task_id: int) -> Hint:
    """After ``done``: refresh the finished task's person and size."""
    task = get_task(conn, task_id)
    person = canonical_person(conn, task["person"])  # the hint is kept under the person
    return refresh_hint(conn, person, rules.size_bucket(task["estimate_h"]))


def keep_advice(
    conn: sqlite3.Connection, task_id: int, hint: Hint, estimate_h: float, source: str
) -> str | None:
    """Keep the advice just given for an open task in the advice ledger (the
    first only: METRICS.md section 8); the one note to say when the database
    could not be written, else ``None``."""
    kept = ledgers.record_advice(conn, task_id, hint.hours(estimate_h), source, given_at=now_iso())
    return None if kept else ledgers.SKIPPED_NOTE
