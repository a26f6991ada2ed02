"""Where the advice's draws come from (METRICS.md section 7), as numpy arrays.

- :class:`Past` holds the counted tasks of the database in done order
  (oldest first), as log ratios r = log2(A / E) with the person, team, size
  bucket and week of each.
- :class:`Pools` indexes the past so that, for any task and any cut (only the
  tasks before position ``cut`` are known), its pools are found for many
  tasks at once: the person's last 200 counted tasks in the task's size
  bucket (n_b of them), drawn from with probability n_b / (n_b + 20); else
  the pool used: the last 2,000 there of the team without the person
  (everyone's but the person's where that leaves fewer than 30); an empty
  bucket widens to its neighbours, then to all sizes. The pool used (t_b
  tasks) is blended with the reference population's spread for the bucket
  (:func:`calibrate.rules.reference_spread`), weight t_b / (t_b + 30); with no
  history at all, the spread alone. The numbers are :mod:`calibrate.rules`';
  :mod:`calibrate.stats.hints` applies the same rule in plain Python for
  ``suggest`` and ``add``.

A task's draws come from four slices (:class:`Components`: own, pool, second
pool, reference) of one flat array of log ratios. The person's own pools and
the reference rows are slices of arrays kept in order (by person and bucket,
by person, the spread); the pool used leaves the person out, so it is not a
slice of any fixed order: each call gathers it, per distinct (person, pool,
cut), into a scratch part of the array (:meth:`Pools.components`: at most
2,000 values a distinct pool, so callers with many tasks call it chunk by
chunk). Drawing (:mod:`.draws`) is then index arithmetic.

Each :class:`Components` also carries the mean and variance of the non-exact
part of each task's mixture (r clipped at +-3), from prefix sums: the
contraction that keeps the shared shift from counting the between-week
variance twice (:meth:`Components.contraction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calibrate import rules

#: FogBugz-style own-history resampling uses the person's last this many tasks.
OWN_ONLY_POOL = 200
BUCKETS = len(rules.SIZE_LABELS)
#: |r| above this is not an exact hit (the rounding slack included).
EXACT = rules.EXACT_LOG2 + rules.BOUND_SLACK


def size_bucket(estimate_h) -> np.ndarray:
    """:func:`calibrate.rules.size_buckets` as int64 codes."""
    return rules.size_buckets(estimate_h).astype(np.int64)


def shipped_spread() -> np.ndarray:
    """The reference spread of every size bucket, (6, 99) quantiles of r."""
    return np.array([rules.reference_spread(b) for b in range(BUCKETS)], dtype=float)


# --- the past ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Past:
    """What is known from the past: the counted tasks in done order (oldest
    first), as log ratios with their person, team, size bucket and week.

    Codes index ``people``/``teams``; ``team`` is -1 for a task without a
    team; ``week`` is :func:`calibrate.stats.durations.week_index` of the local
    done date (-1 unknown).
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
    ) -> Past:
        """The past from plain arrays already in done order; ``person`` and
        ``team`` may be names (``None``: one person, no team)."""
        e = np.asarray(estimate_h, dtype=float)
        a = np.asarray(actual_h, dtype=float)
        n = e.size
        people: tuple[str, ...]
        teams: tuple[str, ...]
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


# --- components ------------------------------------------------------------------------------

#: What the non-personal part of a task's draws came from ("yours": nobody else
#: has any history, so the person's own tasks are the team's, the bucket's
#: first, else its neighbours', else all sizes').
POOL_KINDS = ("team", "everyone", "neighbours", "all sizes", "reference", "own", "yours")
#: The columns of :class:`Components`.
OWN, POOL, SECOND, REFERENCE = range(4)


def moments(
    total_w: np.ndarray, total_s: np.ndarray, total_q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of each task's non-exact draws from their weighted sums
    of weights, values and squares (0 where nothing weighs)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total_w > 0, total_s / total_w, 0.0)
        var = np.where(total_w > 0, total_q / total_w - mean * mean, 0.0)
    return mean, np.maximum(var, 0.0)


@dataclass(frozen=True)
class Components:
    """Where each task's draws come from: four slices of :attr:`values`
    (columns: own, pool, second pool, reference) with their probabilities; a
    slice of length 0 has probability 0. ``mean_ne``, ``var_ne`` and
    ``share_ne`` are the mean, variance (r clipped at +-3) and total
    probability of the non-exact values of each task's mixture."""

    start: np.ndarray  # (tasks, 4) int
    length: np.ndarray  # (tasks, 4) int
    prob: np.ndarray  # (tasks, 4) float
    own_n: np.ndarray  # (tasks,) the person's tasks in the bucket, n_b
    pool_n: np.ndarray  # (tasks,) tasks in the pool used, t_b (0: the spread alone)
    pool_kind: np.ndarray  # (tasks,) see POOL_KINDS
    values: np.ndarray
    values32: np.ndarray  # what draws read: half the traffic
    mean_ne: np.ndarray
    var_ne: np.ndarray
    share_ne: np.ndarray

    def __len__(self) -> int:
        return int(self.own_n.size)

    @property
    def reference_weight(self) -> np.ndarray:
        """The share of each task's draws that comes from the reference spread."""
        return self.prob[:, REFERENCE]

    def contraction(self, tau2) -> np.ndarray:
        """lambda = sqrt(1 - tau^2 / s^2) per task (1 without a spread; 0 when
        the shift alone would be wider than the pool), for the shift variance
        ``tau2`` (a scalar or one per task)."""
        tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), self.var_ne.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.var_ne > 0, tau2 / self.var_ne, 0.0)
        return np.sqrt(np.clip(1.0 - ratio, 0.0, 1.0))

    def take(self, rows) -> Components:
        """The components of some of the tasks (an index or a slice)."""
        return Components(
            self.start[rows],
            self.length[rows],
            self.prob[rows],
            self.own_n[rows],
            self.pool_n[rows],
            self.pool_kind[rows],
            self.values,
            self.values32,
            self.mean_ne[rows],
            self.var_ne[rows],
            self.share_ne[rows],
        )


class _Ordering:
    """The past sorted by (key, position), for "the last k before cut" lookups."""

    def __init__(self, key: np.ndarray, n: int, offset: int = 0):
        position = np.arange(key.size, dtype=np.int64)
        valid = key >= 0
        order = np.argsort(key[valid], kind="stable")  # stable: positions stay in order
        self.index = position[valid][order]  # positions in the past, grouped by key
        self.offset = offset  # where this ordering starts in the base values
        self.stride = n + 1
        self.composite = key[valid][order] * self.stride + self.index

    def bounds(self, key: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first, end) in :attr:`index` of the tasks with ``key`` before ``cut``
        (empty for keys < 0)."""
        key = np.asarray(key, dtype=np.int64)
        safe = np.maximum(key, 0)
        low = np.searchsorted(self.composite, safe * self.stride, side="left")
        high = np.searchsorted(self.composite, safe * self.stride + cut, side="left")
        return low, np.where(key >= 0, high, low)

    def slices(self, key: np.ndarray, cut: np.ndarray, limit: int) -> tuple[np.ndarray, ...]:
        """(start in the base values, length, count before cut) of the last
        ``limit`` tasks with ``key`` before ``cut``; keys < 0 give empty slices."""
        low, high = self.bounds(key, cut)
        count = high - low
        length = np.minimum(count, limit)
        return self.offset + high - length, length, count


@dataclass
class _Scratch:
    """The pools gathered by one :meth:`Pools.components` call."""

    parts: list[np.ndarray] = field(default_factory=list)
    size: int = 0

    def add(self, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Append pools (their values back to back, of ``lengths``); their starts."""
        starts = self.size + np.cumsum(lengths) - lengths
        self.parts.append(values)
        self.size += int(values.size)
        return starts


class Pools:
    """The past arranged for pool lookups (METRICS.md section 7).

    The base values hold the log ratios grouped by (person, bucket), by
    person (all sizes), and finally the reference spread (one row of 99 a
    size bucket); the pools that leave the person out are gathered per call.
    ``spread``: the (6, 99) reference quantiles (the shipped ones by default;
    the coverage suite passes others fitted without the tested).
    """

    def __init__(self, past: Past, spread: np.ndarray | None = None):
        self.past = past
        n = len(past)
        r = past.log_ratio
        self.spread = shipped_spread() if spread is None else np.asarray(spread, dtype=float)
        self.own = _Ordering(
            np.where(past.person >= 0, past.person * BUCKETS + past.bucket, -1), n, 0
        )
        self.person = _Ordering(past.person, n, self.own.index.size)
        self.reference_offset = self.person.offset + self.person.index.size
        self.spread_size = self.spread.shape[1]
        self.base = np.concatenate(
            [r[self.own.index], r[self.person.index], self.spread.reshape(-1)]
        )
        self.base32 = self.base.astype(np.float32)
        self.base_prefix = _prefix_sums(self.base)
        # the orderings the pools without the person are gathered from
        self.team = _Ordering(np.where(past.team >= 0, past.team * BUCKETS + past.bucket, -1), n)
        self.bucket = _Ordering(past.bucket, n)
        self.time = _Ordering(np.zeros(n, dtype=np.int64), n)

    @property
    def reference(self) -> np.ndarray:
        """The reference spread, one row per size bucket."""
        return self.spread

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
        past before position ``cut`` (arrays or scalars, broadcast).

        ``method``: ``mixture`` (the tool's), ``team`` (the pool used alone,
        no personal part) or ``own`` (the person's last 200 tasks of any size,
        FogBugz-style, no blend; the reference spread when they have none).
        """
        person, team, bucket, cut = (
            np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (person, team, bucket, cut)
        )
        person, team, bucket, cut = (
            np.ascontiguousarray(x) for x in np.broadcast_arrays(person, team, bucket, cut)
        )
        tasks = person.size
        start = np.zeros((tasks, 4), dtype=np.int64)
        length = np.zeros((tasks, 4), dtype=np.int64)
        prob = np.zeros((tasks, 4))
        kind = np.zeros(tasks, dtype=np.int64)
        reference_start = self.reference_offset + bucket * self.spread_size
        scratch = _Scratch()
        if method == "own":
            own_start, own_len, _ = self.person.slices(person, cut, OWN_ONLY_POOL)
            has = own_len > 0
            start[:, OWN], length[:, OWN], prob[:, OWN] = own_start, own_len, has
            start[:, REFERENCE], length[:, REFERENCE] = reference_start, self.spread_size
            prob[:, REFERENCE] = ~has
            kind[:] = np.where(has, POOL_KINDS.index("own"), POOL_KINDS.index("reference"))
            pool_n = np.zeros(tasks, np.int64)
            return self._finish(start, length, prob, own_len, pool_n, kind, scratch)

        own_key = np.where(person >= 0, person * BUCKETS + bucket, -1)
        own_start, own_len, own_count = self.own.slices(own_key, cut, rules.OWN_POOL)
        if method == "team":
            own_len = np.zeros_like(own_len)
        weight = own_len / (own_len + rules.OWN_PRIOR)
        start[:, OWN], length[:, OWN], prob[:, OWN] = own_start, own_len, weight

        pool_start, pool_len, second_start, second_len, kind = self._pool_used(
            scratch, person, team, bucket, cut, own_count
        )
        # nobody else has any history: the person is the team (a database of one)
        alone = np.flatnonzero((kind == POOL_KINDS.index("reference")) & (person >= 0))
        if alone.size:
            nobody = np.full(alone.size, -1, dtype=np.int64)
            found = self._pool_used(scratch, nobody, nobody, bucket[alone], cut[alone], nobody * 0)
            pool_start[alone], pool_len[alone], second_start[alone] = found[:3]
            second_len[alone] = found[3]
            kind[alone] = np.where(
                found[4] == POOL_KINDS.index("reference"),
                POOL_KINDS.index("reference"),
                POOL_KINDS.index("yours"),
            )

        total = pool_len + second_len  # t_b, the pool used
        blend = total / (total + rules.REFERENCE_PRIOR)
        share = np.divide(pool_len, total, out=np.ones(tasks), where=total > 0)
        scratch_offset = self.base.size
        start[:, POOL], length[:, POOL] = scratch_offset + pool_start, pool_len
        start[:, SECOND], length[:, SECOND] = scratch_offset + second_start, second_len
        prob[:, POOL] = (1 - weight) * blend * share
        prob[:, SECOND] = (1 - weight) * blend * (1 - share)
        start[:, REFERENCE], length[:, REFERENCE] = reference_start, self.spread_size
        prob[:, REFERENCE] = (1 - weight) * (1 - blend)
        return self._finish(start, length, prob, own_len, total, kind, scratch)

    def _pool_used(self, scratch: _Scratch, person, team, bucket, cut, theirs):
        """The pool used (METRICS.md section 7), leaving ``person`` out (-1:
        nobody): the team's last 2,000 in the bucket (``team`` -1: none), else
        everyone's, else the neighbouring buckets', else all sizes'. ``theirs``:
        the person's tasks in the bucket before the cut. Returns (pool start,
        length, second pool start, length, kind), starts in the scratch."""
        tasks = person.size
        limit = rules.TEAM_POOL
        pool_start = np.zeros(tasks, dtype=np.int64)
        pool_len = np.zeros(tasks, dtype=np.int64)
        kind = np.full(tasks, POOL_KINDS.index("everyone"), dtype=np.int64)
        rows = np.flatnonzero(team >= 0)
        if rows.size:
            key = team[rows] * BUCKETS + bucket[rows]
            starts, lengths = self._without(
                scratch, self.team, key, person[rows], cut[rows], theirs[rows], rules.TEAM_POOL
            )
            enough = lengths >= rules.TEAM_MIN
            chosen = rows[enough]
            pool_start[chosen], pool_len[chosen] = starts[enough], lengths[enough]
            kind[chosen] = POOL_KINDS.index("team")
        rows = np.flatnonzero(kind != POOL_KINDS.index("team"))
        if rows.size:
            starts, lengths = self._without(
                scratch, self.bucket, bucket[rows], person[rows], cut[rows], theirs[rows], limit
            )
            pool_start[rows], pool_len[rows] = starts, lengths
        second_start = np.zeros(tasks, dtype=np.int64)
        second_len = np.zeros(tasks, dtype=np.int64)
        empty = np.flatnonzero(pool_len == 0)
        if empty.size:  # widen to the neighbouring buckets, then to all sizes
            sides = []
            for step in (-1, 1):
                side = bucket[empty] + step
                key = np.where((side >= 0) & (side < BUCKETS), side, -1)
                who = person[empty]
                _, _, mine = self.own.slices(
                    np.where(who >= 0, who * BUCKETS + key, -1), cut[empty], 0
                )
                sides.append(
                    self._without(scratch, self.bucket, key, who, cut[empty], mine, rules.TEAM_POOL)
                )
            (below_start, below_len), (above_start, above_len) = sides
            neighbours = (below_len + above_len) > 0
            rows = empty[neighbours]
            pool_start[rows], pool_len[rows] = below_start[neighbours], below_len[neighbours]
            second_start[rows], second_len[rows] = above_start[neighbours], above_len[neighbours]
            kind[rows] = POOL_KINDS.index("neighbours")
            rest = empty[~neighbours]
            if rest.size:
                _, _, mine = self.person.slices(person[rest], cut[rest], 0)
                everything = np.zeros(rest.size, np.int64)
                starts, lengths = self._without(
                    scratch, self.time, everything, person[rest], cut[rest], mine, rules.TEAM_POOL
                )
                pool_start[rest], pool_len[rest] = starts, lengths
                kind[rest] = np.where(
                    lengths > 0, POOL_KINDS.index("all sizes"), POOL_KINDS.index("reference")
                )
        return pool_start, pool_len, second_start, second_len, kind

    def _without(
        self,
        scratch: _Scratch,
        ordering: _Ordering,
        key: np.ndarray,
        person: np.ndarray,
        cut: np.ndarray,
        theirs: np.ndarray,
        limit: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gather, for each query, the last ``limit`` tasks of ``ordering``'s
        ``key`` before ``cut`` that are not ``person``'s (``theirs``: at least
        as many as the person has among them). Distinct queries are gathered
        once. Returns each query's (start in the scratch, length)."""
        queries = np.column_stack([key, person, cut])
        distinct, inverse = np.unique(queries, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        mine = np.zeros(distinct.shape[0], dtype=np.int64)
        np.maximum.at(mine, inverse, theirs)
        low, high = ordering.bounds(distinct[:, 0], distinct[:, 2])
        first = np.maximum(low, high - limit - mine)
        spans = high - first
        if spans.sum() == 0:
            zeros = np.zeros(key.size, dtype=np.int64)
            return zeros, zeros
        segment = np.repeat(np.arange(spans.size), spans)
        offsets = np.cumsum(spans) - spans
        flat = np.arange(segment.size) - offsets[segment] + first[segment]
        positions = ordering.index[flat]
        keep = self.past.person[positions] != distinct[segment, 1]
        kept = np.cumsum(keep)
        before = np.where(offsets > 0, kept[np.maximum(offsets - 1, 0)], 0)
        ends = np.where(spans > 0, kept[np.maximum(offsets + spans - 1, 0)], before)
        lengths = np.minimum(ends - before, limit)
        # the kept ones from each to its segment's end, inclusive: keep the last `lengths`
        after = ends[segment] - kept + keep
        chosen = keep & (after <= lengths[segment])
        starts = scratch.add(self.past.log_ratio[positions[chosen]], lengths)
        return starts[inverse], lengths[inverse]

    def _finish(self, start, length, prob, own_n, pool_n, kind, scratch: _Scratch) -> Components:
        extra = np.concatenate(scratch.parts) if scratch.parts else np.zeros(0)
        values = np.concatenate([self.base, extra]) if extra.size else self.base
        values32 = (
            np.concatenate([self.base32, extra.astype(np.float32)]) if extra.size else self.base32
        )
        extra_prefix = _prefix_sums(extra)
        # the non-exact moments of each task's mixture, from prefix sums: the own
        # and reference columns are slices of the base values, the others of the scratch
        total_w = np.zeros(len(own_n))
        total_s = np.zeros(len(own_n))
        total_q = np.zeros(len(own_n))
        for column in range(4):
            prefix, offset = (
                (self.base_prefix, 0)
                if column in (OWN, REFERENCE)
                else (extra_prefix, self.base.size)
            )
            first = start[:, column] - offset
            last = first + length[:, column]
            used = length[:, column] > 0
            first, last = np.where(used, first, 0), np.where(used, last, 0)
            counts, sums, squares = (p[last] - p[first] for p in prefix)
            with np.errstate(divide="ignore", invalid="ignore"):
                per_value = np.where(used, prob[:, column] / np.maximum(length[:, column], 1), 0)
            total_w += per_value * counts
            total_s += per_value * sums
            total_q += per_value * squares
        mean, var = moments(total_w, total_s, total_q)
        return Components(
            start, length, prob, own_n, pool_n, kind, values, values32, mean, var, total_w
        )

    def for_task(self, person: str | None, team: str | None, estimate_h, **kw) -> Components:
        """Components of tasks by a named person and team, knowing all the past."""
        past = self.past
        bucket = size_bucket(estimate_h)
        return self.components(
            past.person_code(person), past.team_code(team), bucket, len(past), **kw
        )


def _prefix_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prefix counts, sums and sums of squares of the non-exact values (r
    clipped at +-3), each with a leading 0: a slice's in O(1)."""
    non_exact = np.abs(values) > EXACT
    clipped = np.where(non_exact, np.clip(values, -rules.CONTRACT_CLIP, rules.CONTRACT_CLIP), 0.0)
    return (
        np.concatenate([[0], np.cumsum(non_exact)]),
        np.concatenate([[0.0], np.cumsum(clipped)]),
        np.concatenate([[0.0], np.cumsum(clipped * clipped)]),
    )
