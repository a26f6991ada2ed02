"""Advice from history: draws of log ratios, Monte Carlo forecasts and the backtest.

METRICS.md section 7, as pure numpy over arrays (no database, no click):

- :class:`History` holds the counted tasks of the database in done order
  (oldest first), as log ratios r = log2(A / E) with the person, team, size
  bucket and week of each.
- :class:`Pools` indexes that history so that, for any task and any cut (only
  the tasks before position ``cut`` are known), its pools are found by binary
  search, for many tasks at once: the person's last 200 counted tasks in the
  task's size bucket (n_b of them), drawn from with probability n_b / (n_b +
  20), else the team's last 2,000 there (everyone's where the team has fewer
  than 30 there); an empty bucket widens to its neighbours, then to all sizes;
  with no history at all, the reference population's spread.
- :func:`draw_log_ratios` draws from those pools, vectorised over runs and
  tasks, seeded; :func:`mixture` gives the same distribution exactly, as sorted
  values with their probabilities, for quantiles (``suggest``).
- :func:`simulate` is the ``forecast``: 10,000 runs over the open tasks, each
  run adding one shared log-shift ~ N(0, tau^2) to all its tasks, because tasks
  overrun together (:func:`shift_variance` estimates tau^2 from the between-week
  variance only); each person's remaining effort is laid, task after task, on
  the team's working :class:`Calendar`.
- :func:`backtest` replays history by the protocol of section 7 and reports
  the observed coverage of the nominal 50% and 80% intervals and ``keep_90``
  per method (``own``: FogBugz-style resampling of the person's last 200 tasks;
  ``team``: the pool alone; ``mixture``: the tool's), so that every forecast
  can say how far to trust it.

The (runs, tasks) arrays are float32 and quantiles are taken by sorting (numpy's
vectorised sort beats the partition np.quantile uses): 500 open tasks times
10,000 runs take a few tenths of a second.

Pools are slices of one flat array of log ratios, kept in several orders (by
person and bucket, by team and bucket, by bucket, by time): a pool is then
a start and a length, and drawing from it is an index arithmetic, not a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from calibrate.stats.hints import (
    OWN_POOL,
    OWN_PRIOR,
    SIZE_EDGES_H,
    SIZE_LABELS,
    TEAM_MIN,
    TEAM_POOL,
    reference_log_ratios,
)

# --- the method's constants (METRICS.md section 7) -------------------------------------

#: FogBugz-style own-history resampling uses the person's last this many tasks.
OWN_ONLY_POOL = 200
#: Monte Carlo runs of a forecast.
RUNS = 10_000
#: Runs per block in the backtest (its quantiles need fewer than a forecast).
BACKTEST_RUNS = 1_000
#: The backtest's blocks: 10 consecutive tasks, the first starting at task 100.
BLOCK = 10
BACKTEST_START = 100
#: The shift's variance needs weeks with at least this many counted tasks,
#: and at least this many such weeks.
SHIFT_WEEK_MIN_TASKS = 3
SHIFT_MIN_WEEKS = 4
#: Nominal intervals checked by the backtest, as (low, high) quantiles.
INTERVAL_50 = (0.25, 0.75)
INTERVAL_80 = (0.10, 0.90)
#: The quantiles a forecast reports, and the one a safe promise is made at.
FORECAST_QUANTILES = (0.50, 0.80, 0.95)
PROMISE_QUANTILE = 0.90
#: Under this chance a promise is flagged.
PROMISE_FLAG = 0.80

BUCKETS = len(SIZE_LABELS)
METHODS = ("own", "team", "mixture")


def size_bucket(estimate_h) -> np.ndarray:
    """Index into :data:`~calibrate.hints.SIZE_LABELS` (upper bounds inclusive),
    as :func:`calibrate.metrics.size_bucket`."""
    return np.searchsorted(
        np.asarray(SIZE_EDGES_H), np.asarray(estimate_h, dtype=float), side="left"
    ).astype(np.int64)


# --- history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """Counted tasks in done order (oldest first); codes index ``people``/``teams``.

    ``team`` is -1 for a task without a team; ``week`` is
    :func:`calibrate.metrics.week_index` of the local done date (-1 unknown).
    """

    log_ratio: np.ndarray
    estimate_h: np.ndarray
    actual_h: np.ndarray
    person: np.ndarray
    team: np.ndarray
    week: np.ndarray
    people: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    bucket: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bucket", size_bucket(self.estimate_h))

    def __len__(self) -> int:
        return int(self.log_ratio.size)

    @classmethod
    def from_arrays(
        cls,
        estimate_h,
        actual_h,
        person=None,
        team=None,
        week=None,
    ) -> History:
        """A history from plain arrays already in done order; ``person`` and
        ``team`` may be names (``None``: one person, no team)."""
        e = np.asarray(estimate_h, dtype=float)
        a = np.asarray(actual_h, dtype=float)
        n = e.size
        if person is None:
            person_codes, people = np.zeros(n, dtype=np.int64), ("",)
        else:
            person_codes, people = name_codes(person)
        if team is None:
            team_codes, teams = np.full(n, -1, dtype=np.int64), ()
        else:
            team_codes, teams = name_codes(team)
        week = np.full(n, -1, dtype=np.int64) if week is None else np.asarray(week, np.int64)
        return cls(
            log_ratio=np.log2(a / e),
            estimate_h=e,
            actual_h=a,
            person=person_codes,
            team=team_codes,
            week=week,
            people=people,
            teams=teams,
        )

    def person_code(self, name: str | None) -> int:
        return self.people.index(name) if name in self.people else -1

    def team_code(self, name: str | None) -> int:
        return self.teams.index(name) if name in self.teams else -1


def name_codes(values) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes of names (their rank in sorted order) and the sorted names;
    ``None`` and empty names get -1. Dict lookups mapped in C: a million names
    in a few hundredths of a second."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    distinct = set(values)
    names = sorted({str(v) for v in distinct if v is not None and v != ""})
    rank = {name: i for i, name in enumerate(names)}
    lookup = {v: -1 if v is None or v == "" else rank[str(v)] for v in distinct}
    codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, tuple(names)


# --- pools ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Components:
    """Where each task's draws come from: up to three slices of
    :attr:`Pools.values` (columns: own, pool, second pool) with their
    probabilities; a slice of length 0 has probability 0."""

    start: np.ndarray  # (tasks, 3) int
    length: np.ndarray  # (tasks, 3) int
    prob: np.ndarray  # (tasks, 3) float
    own_n: np.ndarray  # (tasks,) the person's tasks in the bucket, n_b
    pool_n: np.ndarray  # (tasks,) tasks in the pool(s) drawn from besides
    pool_kind: np.ndarray  # (tasks,) see POOL_KINDS

    def __len__(self) -> int:
        return int(self.own_n.size)


#: What the non-personal part of a task's draws came from.
POOL_KINDS = ("team", "everyone", "neighbours", "all sizes", "reference", "own")


class _Ordering:
    """The history sorted by (key, position), for "the last k before cut" lookups."""

    def __init__(self, key: np.ndarray, offset: int, n: int):
        position = np.arange(key.size, dtype=np.int64)
        valid = key >= 0
        order = np.argsort(key[valid], kind="stable")  # stable: positions stay in order
        self.index = position[valid][order]  # history positions, grouped by key
        self.offset = offset  # where this ordering starts in Pools.values
        self.stride = n + 1
        self.composite = key[valid][order] * self.stride + self.index

    def slices(self, key: np.ndarray, cut: np.ndarray, limit: int) -> tuple[np.ndarray, ...]:
        """(start in Pools.values, length, count before cut) of the last
        ``limit`` tasks with ``key`` before ``cut``; keys < 0 give empty slices."""
        key = np.asarray(key, dtype=np.int64)
        safe = np.maximum(key, 0)
        low = np.searchsorted(self.composite, safe * self.stride, side="left")
        high = np.searchsorted(self.composite, safe * self.stride + cut, side="left")
        count = np.where(key >= 0, high - low, 0)
        length = np.minimum(count, limit)
        return self.offset + high - length, length, count


class Pools:
    """The history arranged for pool lookups (METRICS.md section 7).

    ``values`` holds the log ratios several times over: grouped by (person,
    bucket), by (team, bucket), by bucket, by person (all sizes), in done
    order, and finally the reference spread.
    """

    def __init__(self, history: History):
        self.history = history
        n = len(history)
        r = history.log_ratio
        keys = {
            "own": np.where(history.person >= 0, history.person * BUCKETS + history.bucket, -1),
            "team": np.where(history.team >= 0, history.team * BUCKETS + history.bucket, -1),
            "bucket": history.bucket,
            "person": history.person,
        }
        parts, offset = [], 0
        self.orderings: dict[str, _Ordering] = {}
        for name, key in keys.items():
            ordering = _Ordering(np.asarray(key, dtype=np.int64), offset, n)
            self.orderings[name] = ordering
            parts.append(r[ordering.index])
            offset += ordering.index.size
        self.time_offset = offset
        parts.append(r)
        offset += n
        self.reference_offset = offset
        self.reference = np.asarray(reference_log_ratios())
        parts.append(self.reference)
        self.values = np.concatenate(parts) if parts else np.array([])
        self.values32 = self.values.astype(np.float32)  # what draws read: half the traffic

    def components(
        self,
        person,
        team,
        bucket,
        cut,
        *,
        method: str = "mixture",
    ) -> Components:
        """The pools of tasks by ``person`` (codes, -1 unknown) in ``team``
        (codes, -1: none, so everyone's) in size ``bucket``, knowing only the
        history before position ``cut`` (arrays or scalars, broadcast).

        ``method``: ``mixture`` (the tool's), ``team`` (the pool alone, no
        personal part) or ``own`` (the person's last 200 tasks of any size,
        FogBugz-style; the reference spread when they have none).
        """
        person, team, bucket, cut = (
            np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (person, team, bucket, cut)
        )
        person, team, bucket, cut = np.broadcast_arrays(person, team, bucket, cut)
        tasks = person.size
        start = np.zeros((tasks, 3), dtype=np.int64)
        length = np.zeros((tasks, 3), dtype=np.int64)
        prob = np.zeros((tasks, 3))
        kind = np.zeros(tasks, dtype=np.int64)
        if method == "own":
            own_start, own_len, _ = self.orderings["person"].slices(person, cut, OWN_ONLY_POOL)
            has = own_len > 0
            start[:, 0] = np.where(has, own_start, self.reference_offset)
            length[:, 0] = np.where(has, own_len, self.reference.size)
            prob[:, 0] = 1.0
            kind[:] = np.where(has, POOL_KINDS.index("own"), POOL_KINDS.index("reference"))
            return Components(start, length, prob, own_len, np.zeros(tasks, np.int64), kind)

        own_key = np.where(person >= 0, person * BUCKETS + bucket, -1)
        own_start, own_len, _ = self.orderings["own"].slices(own_key, cut, OWN_POOL)
        if method == "team":
            own_len = np.zeros_like(own_len)
        weight = own_len / (own_len + OWN_PRIOR)
        start[:, 0], length[:, 0], prob[:, 0] = own_start, own_len, weight

        team_key = np.where(team >= 0, team * BUCKETS + bucket, -1)
        pool_start, pool_len, team_count = self.orderings["team"].slices(team_key, cut, TEAM_POOL)
        use_team = team_count >= TEAM_MIN
        every_start, every_len, _ = self.orderings["bucket"].slices(bucket, cut, TEAM_POOL)
        pool_start = np.where(use_team, pool_start, every_start)
        pool_len = np.where(use_team, pool_len, every_len)
        kind[:] = np.where(use_team, POOL_KINDS.index("team"), POOL_KINDS.index("everyone"))
        second_start = np.zeros(tasks, dtype=np.int64)
        second_len = np.zeros(tasks, dtype=np.int64)

        empty = pool_len == 0
        if empty.any():  # widen to the neighbouring buckets, then to all sizes
            below_start, below_len, _ = self.orderings["bucket"].slices(
                np.where(bucket > 0, bucket - 1, -1), cut, TEAM_POOL
            )
            above_start, above_len, _ = self.orderings["bucket"].slices(
                np.where(bucket < BUCKETS - 1, bucket + 1, -1), cut, TEAM_POOL
            )
            neighbours = empty & ((below_len + above_len) > 0)
            pool_start = np.where(neighbours, below_start, pool_start)
            pool_len = np.where(neighbours, below_len, pool_len)
            second_start = np.where(neighbours, above_start, second_start)
            second_len = np.where(neighbours, above_len, second_len)
            kind[neighbours] = POOL_KINDS.index("neighbours")
            rest = empty & ~neighbours
            all_len = np.minimum(cut, TEAM_POOL)
            anything = rest & (all_len > 0)
            pool_start = np.where(anything, self.time_offset + cut - all_len, pool_start)
            pool_len = np.where(anything, all_len, pool_len)
            kind[anything] = POOL_KINDS.index("all sizes")
            nothing = rest & (all_len == 0)
            pool_start = np.where(nothing, self.reference_offset, pool_start)
            pool_len = np.where(nothing, self.reference.size, pool_len)
            kind[nothing] = POOL_KINDS.index("reference")

        total = pool_len + second_len
        share = np.divide(pool_len, total, out=np.ones(tasks), where=total > 0)
        start[:, 1], length[:, 1], prob[:, 1] = pool_start, pool_len, (1 - weight) * share
        start[:, 2], length[:, 2] = second_start, second_len
        prob[:, 2] = (1 - weight) * (1 - share)
        pool_n = np.where(kind == POOL_KINDS.index("reference"), 0, total)
        return Components(start, length, prob, own_len, pool_n, kind)

    def for_task(self, person: str | None, team: str | None, estimate_h, **kw) -> Components:
        """Components of tasks by a named person and team, knowing all history."""
        h = self.history
        bucket = size_bucket(estimate_h)
        return self.components(h.person_code(person), h.team_code(team), bucket, len(h), **kw)


def draw_log_ratios(
    pools: Pools, components: Components, runs: int, rng: np.random.Generator
) -> np.ndarray:
    """(runs, tasks) draws of r (float32), each task from its own mixture of slices.

    One uniform per draw picks the slice (by the cumulative probabilities)
    and, rescaled within that slice's share, the element in it: exact, and
    half the random numbers of drawing the two separately.
    """
    tasks = len(components)
    if tasks == 0:
        return np.zeros((runs, 0), dtype=np.float32)
    prob = components.prob
    cumulative = np.cumsum(prob, axis=1)
    low = cumulative - prob  # where each slice's share of [0, 1) starts
    # thresholds between slices; past the last used slice, never (rounding at 1)
    first_cut = np.where(prob[:, 1] + prob[:, 2] > 0, cumulative[:, 0], np.inf)
    second_cut = np.where(prob[:, 2] > 0, cumulative[:, 1], np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(prob > 0, components.length / prob, 0.0)
    last = components.start + np.maximum(components.length - 1, 0)
    # flat per-(slice, task) tables, read with np.take (faster than 2-D fancy indexing)
    low_t, start_t, scale_t, last_t = (
        x.T.reshape(-1) for x in (low, components.start, scale, last)
    )
    u = rng.random((runs, tasks))
    column = (u >= first_cut).astype(np.int64) + (u >= second_cut)
    flat = column * tasks + np.arange(tasks)
    offset = ((u - np.take(low_t, flat)) * np.take(scale_t, flat)).astype(np.int64)
    index = np.minimum(np.take(start_t, flat) + offset, np.take(last_t, flat))
    return np.take(pools.values32, index)


def mixture(pools: Pools, components: Components, task: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One task's draw distribution exactly: sorted log ratios and the
    cumulative probability at each (the last is 1)."""
    values, weights = [], []
    for k in range(3):
        length = int(components.length[task, k])
        prob = float(components.prob[task, k])
        if length and prob > 0:
            start = int(components.start[task, k])
            values.append(pools.values[start : start + length])
            weights.append(np.full(length, prob / length))
    v = np.concatenate(values)
    w = np.concatenate(weights)
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    return v[order], cumulative / cumulative[-1]


def mixture_quantiles(sorted_values: np.ndarray, cumulative: np.ndarray, probs) -> np.ndarray:
    """Quantiles of a weighted empirical distribution: the smallest value whose
    cumulative probability reaches each level (the same rule as :mod:`hints`)."""
    probs = np.asarray(probs, dtype=float)
    index = np.searchsorted(cumulative, probs - 1e-12, side="left")
    return sorted_values[np.minimum(index, sorted_values.size - 1)]


# --- the shared shift ------------------------------------------------------------------------


def shift_variance(log_ratios, weeks) -> float:
    """tau^2, the between-week variance of r, counted once (METRICS.md 7):
    max(0, var(weekly mean r) - mean(s_w^2 / n_w)) over weeks with 3+ counted
    tasks; 0 with fewer than 4 such weeks."""
    r = np.asarray(log_ratios, dtype=float)
    w = np.asarray(weeks, dtype=np.int64)
    ok = np.isfinite(r) & (w >= 0)
    r, w = r[ok], w[ok]
    if r.size == 0:
        return 0.0
    _, inverse, counts = np.unique(w, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=r)
    squares = np.bincount(inverse, weights=r * r)
    return _tau2(counts, sums, squares)


def _tau2(counts: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> float:
    keep = counts >= SHIFT_WEEK_MIN_TASKS
    if keep.sum() < SHIFT_MIN_WEEKS:
        return 0.0
    n, s, q = counts[keep].astype(float), sums[keep], squares[keep]
    means = s / n
    within = (q - n * means * means) / (n - 1)  # s_w^2, each week's sample variance
    between = float(np.var(means, ddof=1)) - float(np.mean(within / n))
    return max(0.0, between)


# --- the backtest ------------------------------------------------------------------------------


def block_starts(scope_size: int, max_blocks: int | None = None) -> np.ndarray:
    """Scope indices where blocks start: 100, 110, ... (whole blocks only);
    with ``max_blocks``, the most recent ones."""
    starts = np.arange(BACKTEST_START, scope_size - BLOCK + 1, BLOCK, dtype=np.int64)
    if max_blocks is not None and starts.size > max_blocks:
        starts = starts[-max_blocks:]
    return starts


def _block_tau2(history: History, scope: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """tau^2 known at each block start, from the scope's tasks before it."""
    weeks = history.week[scope]
    r = history.log_ratio[scope]
    codes, inverse = np.unique(weeks, return_inverse=True)
    known = weeks >= 0
    counts = np.zeros(codes.size)
    sums = np.zeros(codes.size)
    squares = np.zeros(codes.size)
    out = np.zeros(starts.size)
    done = 0
    for b, s in enumerate(starts):
        new = slice(done, int(s))
        mask = known[new]
        idx = inverse[new][mask]
        np.add.at(counts, idx, 1)
        np.add.at(sums, idx, r[new][mask])
        np.add.at(squares, idx, r[new][mask] ** 2)
        done = int(s)
        out[b] = _tau2(counts, sums, squares)
    return out


def backtest(
    history: History,
    scope: np.ndarray | None = None,
    *,
    methods=METHODS,
    runs: int = BACKTEST_RUNS,
    seed: int = 0,
    max_blocks: int | None = None,
    shift_methods=("team", "mixture"),
    progress=None,
    pools: Pools | None = None,
) -> dict:
    """Replay history by METRICS.md section 7's protocol.

    ``scope`` holds the history positions of the scope's counted tasks (all
    of them when ``None``), in done order. For each block of 10 consecutive
    scope tasks from task 100 on, each method predicts knowing only the
    history before the block's first task. Returns ``{"methods": {name:
    {"coverage_50", "coverage_80", "keep_90", "blocks"}}}`` (fractions; ``None``
    without a block). ``own`` is FogBugz-style own-history resampling; the
    shared shift is applied to the methods in ``shift_methods``. ``progress``,
    if given, is called with (blocks done, blocks to do) over all methods;
    ``pools`` may pass :class:`Pools` of this history already built.
    """
    n = len(history)
    scope = np.arange(n, dtype=np.int64) if scope is None else np.asarray(scope, dtype=np.int64)
    starts = block_starts(scope.size, max_blocks)
    out: dict = {
        "methods": {},
        "blocks": int(starts.size),
        "tasks": int(scope.size),
        "first_task": int(starts[0]) if starts.size else None,
        "runs": runs,
    }
    if starts.size == 0:
        for method in methods:
            out["methods"][method] = {
                "coverage_50": None, "coverage_80": None, "keep_90": None, "blocks": 0,
            }  # fmt: skip
        return out
    tau = np.sqrt(_block_tau2(history, scope, starts))
    members = scope[starts[:, None] + np.arange(BLOCK)[None, :]]  # (blocks, 10)
    cuts = np.repeat(scope[starts], BLOCK)
    flat = members.reshape(-1)
    pools = pools if pools is not None else Pools(history)
    estimate = history.estimate_h[flat]
    actual = history.actual_h[flat]
    actual_totals = actual.reshape(-1, BLOCK).sum(axis=1)
    chunk_blocks = max(1, 4_000_000 // (runs * BLOCK))
    for m_index, method in enumerate(methods):
        rng = np.random.default_rng([seed, m_index])
        components = pools.components(
            history.person[flat], history.team[flat], history.bucket[flat], cuts, method=method
        )
        inside_50 = inside_80 = kept = 0
        for first in range(0, starts.size, chunk_blocks):
            last = min(starts.size, first + chunk_blocks)
            tasks = slice(first * BLOCK, last * BLOCK)
            part = Components(
                components.start[tasks], components.length[tasks], components.prob[tasks],
                components.own_n[tasks], components.pool_n[tasks], components.pool_kind[tasks],
            )  # fmt: skip
            r = draw_log_ratios(pools, part, runs, rng)  # (runs, tasks), float32
            p90 = estimate[tasks] * np.exp2(column_quantiles(r, [PROMISE_QUANTILE])[0])
            kept += int((actual[tasks] <= p90 * (1 + 1e-5)).sum())  # float32 rounding
            r = r.reshape(runs, last - first, BLOCK)
            if method in shift_methods:
                noise = rng.standard_normal((runs, last - first, 1), dtype=np.float32)
                r += noise * tau[first:last, None].astype(np.float32)
            np.exp2(r, out=r)
            r *= estimate[tasks].reshape(1, -1, BLOCK).astype(np.float32)
            totals = r.sum(axis=2, dtype=np.float64)
            q = column_quantiles(totals, [*INTERVAL_50, *INTERVAL_80])
            truth = actual_totals[first:last]
            inside_50 += int(((truth >= q[0]) & (truth <= q[1])).sum())
            inside_80 += int(((truth >= q[2]) & (truth <= q[3])).sum())
            if progress is not None:
                progress(m_index * starts.size + last, len(methods) * starts.size)
        out["methods"][method] = {
            "coverage_50": inside_50 / starts.size,
            "coverage_80": inside_80 / starts.size,
            "keep_90": kept / (starts.size * BLOCK),
            "blocks": int(starts.size),
        }
    return out


# --- the forecast ------------------------------------------------------------------------------


#: Finish dates stop about a century ahead (a forecast that far says enough).
MAX_WORKING_DAYS = 100 * 366


@dataclass(frozen=True)
class Calendar:
    """A team's working calendar: focused hours a working day, which weekdays
    are worked (numpy's weekmask, "Mon Tue Wed Thu Fri") and holidays."""

    focus_hours: float = 6.0
    weekmask: str = "Mon Tue Wed Thu Fri"
    holidays: tuple[date, ...] | list[date] = ()

    def _options(self) -> dict:
        return {
            "weekmask": self.weekmask,
            "holidays": np.array(sorted(self.holidays), dtype="datetime64[D]"),
        }

    def dates(self, start: date, working_days) -> np.ndarray:
        """The date of working day number ``working_days`` (0: the first
        working day on or after ``start``), at most about a century ahead
        (:data:`MAX_WORKING_DAYS`): further dates would leave the calendar."""
        offsets = np.minimum(np.asarray(working_days, dtype=np.int64), MAX_WORKING_DAYS)
        return np.busday_offset(
            np.datetime64(start, "D"), offsets, roll="forward", **self._options()
        )

    def days_through(self, start: date, end) -> np.ndarray:
        """Working days from ``start`` through ``end`` inclusive (<= 0 when ``end``
        is before ``start``); ``end`` is a date or an array of them."""
        end = np.asarray(end, dtype="datetime64[D]") + np.timedelta64(1, "D")
        return np.busday_count(np.datetime64(start, "D"), end, **self._options())


@dataclass
class OpenTask:
    """An open task to forecast; ``spent_h`` is the time already on its timer."""

    id: int
    person: str
    team: str | None
    estimate_h: float
    spent_h: float = 0.0
    promise_h: float | None = None
    due: date | None = None
    started: bool = False
    title: str = ""


def work_order(tasks: list[OpenTask]) -> list[int]:
    """Indices of ``tasks`` in the order each person works them: earliest due
    date first (undated last), then started ones, then by id."""
    far = date.max
    return sorted(
        range(len(tasks)),
        key=lambda i: (
            tasks[i].person,
            tasks[i].due or far,
            not (tasks[i].started or tasks[i].spent_h > 0),
            tasks[i].id,
        ),
    )


def simulate(
    pools: Pools,
    tasks: list[OpenTask],
    *,
    tau2: float = 0.0,
    runs: int = RUNS,
    seed: int = 0,
    today: date,
    calendar: Calendar | None = None,
    chunk_runs: int = 2_000,
) -> dict:
    """Monte Carlo over the open ``tasks`` (METRICS.md section 7).

    Each run draws every task's log ratio from its pools, adds one shared
    shift ~ N(0, tau2) and turns it into an actual E * 2^(r + shift); a
    started task's actual is drawn given that it exceeds the time already
    spent. Each person works their tasks one after another (:func:`work_order`)
    at ``calendar.focus_hours`` a working day from ``today``, people in
    parallel. Returns the per-run arrays and per-task figures (see the keys).
    """
    calendar = calendar or Calendar()
    if not tasks:
        raise ValueError("no open tasks to forecast")
    order = work_order(tasks)
    ordered = [tasks[i] for i in order]
    history = pools.history
    estimate = np.array([t.estimate_h for t in ordered], dtype=float)
    spent = np.array([t.spent_h for t in ordered], dtype=float)
    components = pools.components(
        [history.person_code(t.person) for t in ordered],
        [history.team_code(t.team) for t in ordered],
        size_bucket(estimate),
        len(history),
    )
    rng = np.random.default_rng(seed)
    shift = rng.standard_normal(runs) * math.sqrt(max(tau2, 0.0))
    count = len(ordered)
    # float32 throughout the (runs, tasks) arrays: half the memory traffic of float64
    actual = np.empty((runs, count), dtype=np.float32)
    shift32 = shift.astype(np.float32)[:, None]
    estimate32 = estimate.astype(np.float32)
    for first in range(0, runs, chunk_runs):
        last = min(runs, first + chunk_runs)
        r = draw_log_ratios(pools, components, last - first, rng)
        r += shift32[first:last]
        np.exp2(r, out=r)
        np.multiply(r, estimate32, out=actual[first:last])
    shift_order = np.argsort(-shift, kind="stable")
    for j in np.flatnonzero(spent > 0):  # started: drawn above the time already spent
        actual[:, j] = _conditional_actual(
            pools, components, j, estimate[j], spent[j], shift, rng, shift_order
        )

    promise_h = [t.promise_h for t in ordered]
    effort_kept = {
        j: actual[:, j] <= np.float32(promise_h[j] * (1 + 1e-6))
        for j in range(count)
        if promise_h[j] is not None
    }
    remaining = actual  # the same memory from here on: actual is no longer needed
    np.subtract(remaining, spent.astype(np.float32), out=remaining)
    np.maximum(remaining, 0.0, out=remaining)
    totals = remaining.sum(axis=1, dtype=np.float64)
    remaining_q = column_quantiles(remaining, FORECAST_QUANTILES)

    person_of = np.array([t.person for t in ordered], dtype=object)
    first_of_person = np.r_[True, person_of[1:] != person_of[:-1]]
    starts = np.flatnonzero(first_of_person)
    ends = np.r_[starts[1:], count]
    cumulative = np.cumsum(remaining, axis=1, out=remaining)
    before = cumulative[:, starts[1:] - 1].copy()  # each person's work starts from zero
    for k, (start, end) in enumerate(zip(starts[1:], ends[1:], strict=True)):
        cumulative[:, start:end] -= before[:, k : k + 1]
    # working day of each task's end (0: the first working day), in place
    np.divide(cumulative, np.float32(calendar.focus_hours), out=cumulative)
    cumulative -= np.float32(1e-5)
    np.ceil(cumulative, out=cumulative)
    day = cumulative.astype(np.int32)
    day -= 1
    np.maximum(day, 0, out=day)
    del cumulative, remaining, actual
    finish_day = day.max(axis=1)
    finish_p80 = calendar.dates(today, column_quantiles(day, [0.8], method="higher")[0])

    chance = np.full(count, np.nan)
    for j, task in enumerate(ordered):
        if task.promise_h is None and task.due is None:
            continue
        kept = effort_kept.get(j, True)
        if task.due is not None:
            kept = kept & (day[:, j] < int(calendar.days_through(today, task.due)))
        chance[j] = np.mean(kept)
    per_task = []
    for position, task in enumerate(ordered):
        promised = task.promise_h is not None or task.due is not None
        per_task.append(
            {
                "id": task.id,
                "title": task.title,
                "person": task.person,
                "estimate_h": task.estimate_h,
                "spent_h": task.spent_h,
                **{
                    f"remaining_p{round(q * 100)}_h": float(remaining_q[k, position])
                    for k, q in enumerate(FORECAST_QUANTILES)
                },
                "finish_p80": str(finish_p80[position]),
                "promise_h": task.promise_h,
                "due": task.due.isoformat() if task.due else None,
                "promise_chance": float(chance[position]) if promised else None,
                "flagged": bool(promised and chance[position] < PROMISE_FLAG),
                "own_n": int(components.own_n[position]),
                "pool": POOL_KINDS[int(components.pool_kind[position])],
                "pool_n": int(components.pool_n[position]),
            }
        )
    per_task.sort(key=lambda row: row["id"])
    total_q = np.quantile(totals, FORECAST_QUANTILES)
    day_q = np.quantile(finish_day, FORECAST_QUANTILES, method="higher")
    finish_dates = calendar.dates(today, finish_day)
    days, counts = np.unique(finish_dates, return_counts=True)
    labels = [f"p{round(q * 100)}" for q in FORECAST_QUANTILES]
    return {
        "runs": runs,
        "seed": seed,
        "today": today.isoformat(),
        "tasks": per_task,
        "estimate_h": float(estimate.sum()),
        "spent_h": float(spent.sum()),
        "remaining_h": dict(zip(labels, map(float, total_q), strict=True)),
        "finish": {k: str(calendar.dates(today, d)) for k, d in zip(labels, day_q, strict=True)},
        "histogram": [{"date": str(d), "runs": int(c)} for d, c in zip(days, counts, strict=True)],
        "shift_sd": math.sqrt(max(tau2, 0.0)),
        "people": int(starts.size),
        "calendar": {
            "focus_hours": calendar.focus_hours,
            "weekmask": calendar.weekmask,
            "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
        },
        "totals": totals,
        "finish_day": finish_day,
    }


def column_quantiles(matrix: np.ndarray, probs, method: str = "linear") -> np.ndarray:
    """Quantiles of each column of a (runs, columns) matrix, as np.quantile's
    ``linear`` (or ``higher``) method, by sorting: numpy's vectorised sort is
    several times faster than the partition np.quantile uses."""
    ordered = np.sort(np.ascontiguousarray(matrix.T), axis=1)
    n = ordered.shape[1]
    out = np.empty((len(probs), ordered.shape[0]))
    for k, q in enumerate(probs):
        position = q * (n - 1)
        low = math.floor(position)
        high = min(low + 1, n - 1)
        if method == "higher":
            out[k] = ordered[:, math.ceil(position)]
        else:
            weight = position - low
            out[k] = ordered[:, low] * (1 - weight) + ordered[:, high] * weight
    return out


def _conditional_actual(
    pools: Pools,
    components: Components,
    task: int,
    estimate_h: float,
    spent_h: float,
    shift: np.ndarray,
    rng: np.random.Generator,
    shift_order: np.ndarray | None = None,
) -> np.ndarray:
    """Actuals of a started task given that they exceed ``spent_h``: inverse-CDF
    draws from its mixture above each run's threshold. A task already past
    every ratio of its pool is taken as finishing now. ``shift_order`` (the
    runs by decreasing shift) makes the thresholds' search cache-friendly."""
    values, cumulative = mixture(pools, components, task)
    threshold = math.log2(spent_h / estimate_h) - shift
    order = np.argsort(-shift, kind="stable") if shift_order is None else shift_order
    below = np.empty(shift.size, dtype=np.int64)
    below[order] = np.searchsorted(values, threshold[order], side="right")
    floor = np.where(below > 0, cumulative[np.maximum(below - 1, 0)], 0.0)
    u = floor + rng.random(shift.size) * (1.0 - floor)
    index = np.minimum(np.searchsorted(cumulative, u, side="left"), values.size - 1)
    actual = estimate_h * np.exp2(values[index] + shift)
    return np.maximum(actual, spent_h)
