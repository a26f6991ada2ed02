"""Where the advice's draws come from (METRICS.md section 7), as numpy arrays.

- :class:`Past` holds the counted tasks of the database in done order
  (oldest first), as log ratios r = log2(A / E) with the person, team, size
  bucket and week of each.
- :class:`Pools` indexes the past so that, for any task and any cut (only the
  tasks before position ``cut`` are known), its pools are found by binary
  search, for many tasks at once: the person's last 200 counted tasks in the
  task's size bucket (n_b of them), drawn from with probability n_b / (n_b +
  20), else the team's last 2,000 there (everyone's where the team has fewer
  than 30 there); an empty bucket widens to its neighbours, then to all sizes;
  with no history at all, the reference population's spread. The numbers are
  :mod:`calibrate.rules`'; :mod:`calibrate.stats.hints` applies the same rule
  in plain Python for ``suggest`` and ``add``.

Pools are slices of one flat array of log ratios, kept in several orders (by
person and bucket, by team and bucket, by bucket, by person, by time): a pool
is then a start and a length, and drawing from it (:mod:`.draws`) is an index
arithmetic, not a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calibrate import rules

#: FogBugz-style own-history resampling uses the person's last this many tasks.
OWN_ONLY_POOL = 200
BUCKETS = len(rules.SIZE_LABELS)


def size_bucket(estimate_h) -> np.ndarray:
    """:func:`calibrate.rules.size_buckets` as int64 codes."""
    return rules.size_buckets(estimate_h).astype(np.int64)


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
    """The past sorted by (key, position), for "the last k before cut" lookups."""

    def __init__(self, key: np.ndarray, offset: int, n: int):
        position = np.arange(key.size, dtype=np.int64)
        valid = key >= 0
        order = np.argsort(key[valid], kind="stable")  # stable: positions stay in order
        self.index = position[valid][order]  # positions in the past, grouped by key
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
    """The past arranged for pool lookups (METRICS.md section 7).

    ``values`` holds the log ratios several times over: grouped by (person,
    bucket), by (team, bucket), by bucket, by person (all sizes), in done
    order, and finally the reference spread.
    """

    def __init__(self, past: Past):
        self.past = past
        n = len(past)
        r = past.log_ratio
        keys = {
            "own": np.where(past.person >= 0, past.person * BUCKETS + past.bucket, -1),
            "team": np.where(past.team >= 0, past.team * BUCKETS + past.bucket, -1),
            "bucket": past.bucket,
            "person": past.person,
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
        self.reference = np.asarray(rules.reference_log_ratios())
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
        past before position ``cut`` (arrays or scalars, broadcast).

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
        own_start, own_len, _ = self.orderings["own"].slices(own_key, cut, rules.OWN_POOL)
        if method == "team":
            own_len = np.zeros_like(own_len)
        weight = own_len / (own_len + rules.OWN_PRIOR)
        start[:, 0], length[:, 0], prob[:, 0] = own_start, own_len, weight

        team_key = np.where(team >= 0, team * BUCKETS + bucket, -1)
        pool_start, pool_len, team_count = self.orderings["team"].slices(
            team_key, cut, rules.TEAM_POOL
        )
        use_team = team_count >= rules.TEAM_MIN
        every_start, every_len, _ = self.orderings["bucket"].slices(bucket, cut, rules.TEAM_POOL)
        pool_start = np.where(use_team, pool_start, every_start)
        pool_len = np.where(use_team, pool_len, every_len)
        kind[:] = np.where(use_team, POOL_KINDS.index("team"), POOL_KINDS.index("everyone"))
        second_start = np.zeros(tasks, dtype=np.int64)
        second_len = np.zeros(tasks, dtype=np.int64)

        empty = pool_len == 0
        if empty.any():  # widen to the neighbouring buckets, then to all sizes
            below_start, below_len, _ = self.orderings["bucket"].slices(
                np.where(bucket > 0, bucket - 1, -1), cut, rules.TEAM_POOL
            )
            above_start, above_len, _ = self.orderings["bucket"].slices(
                np.where(bucket < BUCKETS - 1, bucket + 1, -1), cut, rules.TEAM_POOL
            )
            neighbours = empty & ((below_len + above_len) > 0)
            pool_start = np.where(neighbours, below_start, pool_start)
            pool_len = np.where(neighbours, below_len, pool_len)
            second_start = np.where(neighbours, above_start, second_start)
            second_len = np.where(neighbours, above_len, second_len)
            kind[neighbours] = POOL_KINDS.index("neighbours")
            rest = empty & ~neighbours
            all_len = np.minimum(cut, rules.TEAM_POOL)
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
        """Components of tasks by a named person and team, knowing all the past."""
        past = self.past
        bucket = size_bucket(estimate_h)
        return self.components(
            past.person_code(person), past.team_code(team), bucket, len(past), **kw
        )
