"""The one-line advice after ``add``, and ``suggest``: a small precomputed table.

``calibrate add`` prints what a task of its size really takes, and it must do
so without numpy and within its start-up budget. So the advice of METRICS.md
section 7 (P50, P80 and P90 of the predicted actual, from the person's own
pool in the size bucket mixed with the team's) is kept per person and size
bucket in the ``hints`` table, computed here in pure Python from at most
2,200 log ratios, and read back with one indexed ``SELECT``.

Freshness: each row carries the *history stamp* it was computed at.
:func:`history_stamp` is two cheap reads: a counter that triggers bump on
every change to a counted task (``m003_advice`` in :mod:`migrations`), and
the id of the newest task with an actual (new rows: ``add --actual``, imports,
merges). ``add`` prints the row it finds even when it is a little stale (it
is a hint), computing it only when missing (or when it said "no history" and
history has come since); ``done`` refreshes the finished task's row;
``suggest`` refreshes a stale row before answering. Deleting a person's tasks
deletes their rows (a trigger).

The rules match :mod:`calibrate.forecast` exactly (a test checks that both
give the same quantiles): the person's last 200 counted tasks in the bucket
(n_b) weigh n_b / (n_b + 20); the rest comes from the team's last 2,000 there,
everyone's when the team has fewer than 30 there, the neighbouring buckets
when that is empty, all sizes after that, and with no history at all the
reference population's spread.

Standard library only: this module is imported by ``add``.
"""

from __future__ import annotations

import math
import sqlite3

from calibrate.errors import NotFound
from calibrate.store.tasks import canonical_person, team_of

#: Upper bounds (inclusive) of the size buckets; the same as
#: ``metrics.SIZE_EDGES_H`` (a test checks), repeated here to keep numpy away.
SIZE_EDGES_H = (1.0, 2.0, 4.0, 8.0, 16.0)
SIZE_LABELS = ("<=1h", "1-2h", "2-4h", "4-8h", "8-16h", ">16h")
OWN_POOL = 200
OWN_PRIOR = 20
TEAM_POOL = 2000
TEAM_MIN = 30
QUANTILES = (0.50, 0.80, 0.90)
#: The reference population's spread of A/E (METRICS.md section 1, [SiP]):
#: median 1.00, P10 0.36, P90 2.0; drawn as a two-piece normal on log2(A/E).
REFERENCE_MEDIAN_RATIO = 1.00
REFERENCE_P10_RATIO = 0.36
REFERENCE_P90_RATIO = 2.0
REFERENCE_POINTS = 1000
#: Where the non-personal part of the advice came from.
POOLS = ("team", "everyone", "neighbours", "all sizes", "reference")

COUNTED_SQL = "estimate_h > 0 AND actual_h > 0 AND status != 'dropped'"


class Hint:
    """Advice for one person and size bucket: quantiles of A/E and where they came from.

    A plain class, not a dataclass: ``add`` imports this module.
    """

    __slots__ = ("bucket", "own_n", "p50", "p80", "p90", "person", "pool", "pool_n", "stamp",
                 "team")  # fmt: skip

    def __init__(self, person: str, bucket: int, *, own_n: int, pool_n: int, pool: str,
                 team: str | None, p50: float, p80: float, p90: float, stamp: str):  # fmt: skip
        self.person, self.bucket, self.team, self.stamp = person, bucket, team, stamp
        self.own_n, self.pool_n, self.pool = own_n, pool_n, pool
        self.p50, self.p80, self.p90 = p50, p80, p90

    @property
    def has_history(self) -> bool:
        return self.pool != "reference"

    def hours(self, estimate_h: float) -> tuple[float, float, float]:
        """P50, P80 and P90 of the predicted actual of a task estimated at ``estimate_h``."""
        return estimate_h * self.p50, estimate_h * self.p80, estimate_h * self.p90

    def as_dict(self, estimate_h: float) -> dict:
        p50, p80, p90 = self.hours(estimate_h)
        return {
            "person": self.person,
            "team": self.team,
            "estimate_h": estimate_h,
            "bucket": SIZE_LABELS[self.bucket],
            "p50_h": p50,
            "p80_h": p80,
            "p90_h": p90,
            "promise_h": promise_hours(p90),
            "ratio_p50": self.p50,
            "ratio_p80": self.p80,
            "ratio_p90": self.p90,
            "own_n": self.own_n,
            "own_weight": self.own_n / (self.own_n + OWN_PRIOR),
            "pool": self.pool,
            "pool_n": self.pool_n,
        }


def bucket_of(estimate_h: float) -> int:
    """The size bucket of an estimate (<=1h is 0, ... >16h is 5)."""
    for index, edge in enumerate(SIZE_EDGES_H):
        if estimate_h <= edge:
            return index
    return len(SIZE_EDGES_H)


def _bucket_sql(bucket: int) -> tuple[str, list]:
    clauses, params = [], []
    if bucket > 0:
        clauses.append("estimate_h > ?")
        params.append(SIZE_EDGES_H[bucket - 1])
    if bucket < len(SIZE_EDGES_H):
        clauses.append("estimate_h <= ?")
        params.append(SIZE_EDGES_H[bucket])
    return " AND ".join(clauses) or "1", params


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


# --- reading ---------------------------------------------------------------------------

_LOOKUP_SQL = (
    "SELECT person, bucket, own_n, pool_n, pool, team, p50, p80, p90, stamp FROM hints "
    "WHERE person = coalesce((SELECT person FROM aliases WHERE alias = ?), ?) AND bucket = ?"
)


def lookup(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The stored hint for ``person`` (aliases resolved) at this size, or ``None``.

    One indexed ``SELECT``: this is what ``add`` costs when the row exists.
    """
    row = conn.execute(_LOOKUP_SQL, (person, person, bucket_of(estimate_h))).fetchone()
    if row is None:
        return None
    return Hint(
        row[0], row[1], own_n=row[2], pool_n=row[3], pool=row[4], team=row[5],
        p50=row[6], p80=row[7], p90=row[8], stamp=row[9],
    )  # fmt: skip


def for_add(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint | None:
    """The hint ``add`` prints: the stored row (even if slightly stale), computed
    and stored only when missing, or when it said "no history" and the history
    has changed since. ``None`` without history to speak from."""
    hint = lookup(conn, person, estimate_h)
    if hint is None or (not hint.has_history and hint.stamp != history_stamp(conn)):
        hint = refresh(conn, canonical_person(conn, person), bucket_of(estimate_h))
    return hint if hint.has_history else None


def current(conn: sqlite3.Connection, person: str, estimate_h: float) -> Hint:
    """The hint for ``suggest``: recomputed when the history changed since it was stored."""
    hint = lookup(conn, person, estimate_h)
    if hint is None or hint.stamp != history_stamp(conn):
        hint = refresh(conn, canonical_person(conn, person), bucket_of(estimate_h))
    return hint


# --- people and teams ----------------------------------------------------------------------


def require_person(conn: sqlite3.Connection, person: str) -> str:
    """The person's canonical name; an error naming who is here when nobody by
    that name has a task (a typo should not give advice from nobody's history)."""
    name = canonical_person(conn, person)
    if conn.execute("SELECT 1 FROM tasks WHERE person = ? LIMIT 1", (name,)).fetchone():
        return name
    raise NotFound(f"nobody called {person!r} has tasks here{_known(conn, 'person')}")


def require_team(conn: sqlite3.Connection, team: str) -> str:
    """The team, or an error naming the teams here."""
    if conn.execute("SELECT 1 FROM tasks WHERE team = ? LIMIT 1", (team,)).fetchone():
        return team
    raise NotFound(f"no team {team!r} has tasks here{_known(conn, 'team')}")


def _known(conn: sqlite3.Connection, column: str, shown: int = 8) -> str:
    sql = (
        f"SELECT DISTINCT {column} FROM tasks WHERE {column} IS NOT NULL "  # noqa: S608 (fixed)
        f"ORDER BY {column} LIMIT ?"
    )
    names = [row[0] for row in conn.execute(sql, (shown + 1,))]
    if not names:
        return " (the database has no tasks)" if column == "person" else " (no task has a team)"
    more = ", ..." if len(names) > shown else ""
    return f" (known: {', '.join(names[:shown])}{more})"


# --- computing ---------------------------------------------------------------------------


def _log_ratios(conn: sqlite3.Connection, where: str, params: list, limit: int) -> list[float]:
    sql = (
        f"SELECT estimate_h, actual_h FROM tasks WHERE {COUNTED_SQL} AND {where} "  # noqa: S608
        "ORDER BY done_at DESC, id DESC LIMIT ?"
    )
    return [math.log2(a / e) for e, a in conn.execute(sql, [*params, limit])]


def pools(
    conn: sqlite3.Connection, person: str, team: str | None, bucket: int
) -> tuple[list[float], list[float], str]:
    """(own log ratios, pool log ratios, pool kind) for a task by ``person`` in
    ``team`` in size ``bucket``, knowing all history (METRICS.md section 7)."""
    size, size_params = _bucket_sql(bucket)
    own = _log_ratios(conn, f"person = ? AND {size}", [person, *size_params], OWN_POOL)
    pool: list[float] = []
    kind = "everyone"
    if team is not None:
        pool = _log_ratios(conn, f"team = ? AND {size}", [team, *size_params], TEAM_POOL)
        kind = "team"
        if len(pool) < TEAM_MIN:
            pool, kind = [], "everyone"
    if not pool:
        pool = _log_ratios(conn, size, size_params, TEAM_POOL)
    if not pool:
        kind = "neighbours"
        for neighbour in (bucket - 1, bucket + 1):
            if 0 <= neighbour <= len(SIZE_EDGES_H):
                where, params = _bucket_sql(neighbour)
                pool += _log_ratios(conn, where, params, TEAM_POOL)
    if not pool:
        kind = "all sizes"
        pool = _log_ratios(conn, "1", [], TEAM_POOL)
    if not pool:
        kind = "reference"
        pool = reference_log_ratios()
    return own, pool, kind


def mixture_quantiles(own: list[float], pool: list[float], probs=QUANTILES) -> list[float]:
    """Quantiles of the mixture: each own value weighs w / n_b, each pool value
    (1 - w) / len(pool), w = n_b / (n_b + 20). The quantile at p is the smallest
    value whose cumulative weight reaches p (the same rule as
    ``forecast.mixture_quantiles``)."""
    n_b = len(own)
    w = n_b / (n_b + OWN_PRIOR)
    weighted = [(r, w / n_b) for r in own] if n_b else []
    weighted += [(r, (1 - w) / len(pool)) for r in pool]
    weighted.sort(key=lambda pair: pair[0])
    cumulative, total = [], 0.0
    for _, weight in weighted:
        total += weight
        cumulative.append(total)
    out = []
    for p in probs:
        target = p * total - 1e-12 * total
        index = next((i for i, c in enumerate(cumulative) if c >= target), len(weighted) - 1)
        out.append(weighted[index][0])
    return out


def compute(conn: sqlite3.Connection, person: str, bucket: int, stamp: str | None = None) -> Hint:
    """The hint for ``person`` (already canonical) in size ``bucket``, from the database."""
    stamp = stamp or history_stamp(conn)
    team = team_of(conn, person)
    own, pool, kind = pools(conn, person, team, bucket)
    return from_pools(person, bucket, team, own, pool, kind, stamp)


def from_pools(person: str, bucket: int, team: str | None, own: list[float], pool: list[float],
               kind: str, stamp: str = "") -> Hint:  # fmt: skip
    """The hint from pools already in hand (log ratios)."""
    q50, q80, q90 = (2.0**r for r in mixture_quantiles(own, pool))
    pool_n = 0 if kind == "reference" else len(pool)
    return Hint(person, bucket, own_n=len(own), pool_n=pool_n, pool=kind, team=team,
                p50=q50, p80=q80, p90=q90, stamp=stamp)  # fmt: skip


def reference_hint(person: str, estimate_h: float) -> Hint:
    """Advice without any history (no database yet): the reference spread."""
    return from_pools(person, bucket_of(estimate_h), None, [], reference_log_ratios(), "reference")


def refresh(conn: sqlite3.Connection, person: str, bucket: int) -> Hint:
    """Compute and store the hint (a read-only database just skips the storing)."""
    hint = compute(conn, person, bucket)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return hint  # read-only or locked: the advice still stands, uncached
    try:
        conn.execute(
            "INSERT OR REPLACE INTO hints (person, bucket, own_n, pool_n, pool, team, p50, "
            "p80, p90, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (hint.person, hint.bucket, hint.own_n, hint.pool_n, hint.pool, hint.team,
             hint.p50, hint.p80, hint.p90, hint.stamp),
        )  # fmt: skip
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    return hint


def refresh_task(conn: sqlite3.Connection, task_id: int) -> Hint | None:
    """After ``done``: refresh the finished task's person and size."""
    row = conn.execute("SELECT person, estimate_h FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        return None
    return refresh(conn, row[0], bucket_of(row[1]))


def reference_log_ratios(points: int = REFERENCE_POINTS) -> list[float]:
    """Evenly spaced quantiles of the reference spread: a two-piece normal on
    log2(A/E) through its P10, median and P90."""
    from statistics import NormalDist

    normal = NormalDist()
    z90 = normal.inv_cdf(0.9)
    centre = math.log2(REFERENCE_MEDIAN_RATIO)
    below = (centre - math.log2(REFERENCE_P10_RATIO)) / z90
    above = (math.log2(REFERENCE_P90_RATIO) - centre) / z90
    out = []
    for i in range(points):
        z = normal.inv_cdf((i + 0.5) / points)
        out.append(centre + z * (below if z < 0 else above))
    return out


# --- words ---------------------------------------------------------------------------------


def nice_hours(hours: float) -> str:
    """Hours as people say them: 45m, 4.1h, 12h."""
    minutes = round(hours * 60)
    if minutes >= 10:
        minutes = 5 * round(minutes / 5)
    if minutes < 60:
        return f"{max(minutes, 1)}m"
    if hours < 10:
        return f"{hours:.1f}".rstrip("0").rstrip(".") + "h"
    return f"{hours:.0f}h"


def day_words(iso_day: str, today) -> str:
    """A date as people read it in a plan: "Wed 2 Dec" (with the year when it
    is not this year's)."""
    from datetime import date

    day = date.fromisoformat(iso_day)
    shown = f"{day:%a} {day.day} {day:%b}"
    return shown if day.year == today.year else f"{shown} {day.year}"


def promise_hours(p90_h: float) -> float:
    """P90 rounded up to a step one can promise: quarter hours under 1h, half
    hours under 10h, whole hours above."""
    step = 0.25 if p90_h < 1 else 0.5 if p90_h < 10 else 1.0
    return math.ceil(p90_h / step - 1e-9) * step


def _pool_words(hint: Hint) -> str:
    n = f"{hint.pool_n:,}"
    if hint.pool == "team":
        return f"{n} of team {hint.team}'s"
    if hint.pool == "everyone":
        return f"{n} of everyone's"
    if hint.pool == "neighbours":
        return f"{n} of everyone's of neighbouring sizes"
    return f"{n} of everyone's, of all sizes"


def sources(hint: Hint, *, you: bool = True) -> str:
    """Where the advice comes from, in words: "23 of your tasks and 410 of team X's"."""
    whose = "your" if you else f"{hint.person}'s"
    if hint.pool == "reference":
        return "the reference population's spread: no finished task here yet"
    own = f"{hint.own_n:,} of {whose} tasks" if hint.own_n else f"none of {whose} tasks"
    return f"{own} and {_pool_words(hint)}"


def advice(hint: Hint, estimate_h: float, *, you: bool = True) -> str:
    """The sentence of ``suggest`` (and, shorter, of ``add``)."""
    p50, p80, p90 = hint.hours(estimate_h)
    subject = "you estimate" if you else f"{hint.person} estimates"
    return (
        f"Tasks {subject} at {nice_hours(estimate_h)} take {nice_hours(p50)} (median); "
        f"80% take under {nice_hours(p80)}; 90% under {nice_hours(p90)} "
        f"(from {sources(hint, you=you)}). Promise {nice_hours(promise_hours(p90))}."
    )


def add_line(hint: Hint, estimate_h: float) -> str:
    """The one line ``add`` prints on stderr."""
    p50, p80, p90 = hint.hours(estimate_h)
    return (
        f"Hint: tasks you estimate at {nice_hours(estimate_h)} take {nice_hours(p50)} "
        f"(median), 80% under {nice_hours(p80)}, 90% under {nice_hours(p90)}; "
        f"promise {nice_hours(promise_hours(p90))}."
    )
