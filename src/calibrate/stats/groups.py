"""Where you misjudge: which groups of tasks (a tag, a project, a size, a
weekday) are clearly different from a person's usual, as pure functions.

A group's typical ratio is the median r of its tasks, with the
distribution-free 90% interval of that median from the binomial order
statistics (:func:`median_interval`). Whether it is *clearly different* is a
permutation test of the difference between the group's median r and the
median r of the scope's other tasks (tags overlap, so each group is tested
against the tasks outside it): group membership is shuffled 2,000 times
(seeded) among tasks of the same ISO week, so that drift over time and the
weeks full of exact hits (r = 0) do not manufacture findings
(:func:`permutation_test`); the p-values of the groups shown are then
corrected together by Benjamini-Hochberg at q = 0.10
(:func:`benjamini_hochberg`), so that twenty tags do not produce a finding by
chance.

The permutation test works on ranks, vectorised over the shuffles: one
within-week shuffle of every task's rank per run, then per group the sorted
ranks of its members give both medians (the complement's by counting, without
gathering it), so 2,000 shuffles of thousands of tasks stay well under a second.
"""

from __future__ import annotations

import numpy as np

from calibrate import rules
from calibrate.stats.binomial import median_ranks

#: Ranks held at once by the permutation test (shuffles x tasks).
CHUNK_RANKS = 4_000_000


def median_interval(log_ratios, level: float = rules.INTERVAL_LEVEL) -> tuple[float, float] | None:
    """The distribution-free ``level`` interval of the median of ``log_ratios``
    (NaN ignored): the order statistics :func:`median_ranks` names; ``None``
    with too few values."""
    r = np.asarray(log_ratios, dtype=float)
    r = np.sort(r[np.isfinite(r)])
    ranks = median_ranks(int(r.size), level)
    if ranks is None:
        return None
    low, high = ranks
    return float(r[low - 1]), float(r[high - 1])


def benjamini_hochberg(p_values, q: float = rules.GROUP_FDR_Q) -> tuple[np.ndarray, np.ndarray]:
    """The Benjamini-Hochberg step-up procedure over ``p_values`` (NaN: not
    tested, never rejected, and not counted among the tests): ``(adjusted,
    rejected)``, the adjusted p-values (min over j >= i of m p_(j) / j,
    capped at 1: ``scipy.stats.false_discovery_control``) and which are
    rejected at false discovery rate ``q`` (adjusted <= q)."""
    p = np.asarray(p_values, dtype=float).reshape(-1)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = tested.size
    if m:
        order = tested[np.argsort(p[tested], kind="stable")]
        scaled = p[order] * m / np.arange(1, m + 1)
        adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    rejected = np.isfinite(adjusted) & (adjusted <= q + 1e-12)
    return adjusted, rejected


def _medians(sorted_ranks: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``sorted_ranks`` (the 0-based ranks of a group's members
    among all n tasks, ascending), the median of the group's values and of the
    other tasks' values, ``values`` being every task's value in rank order."""
    k = sorted_ranks.shape[1]
    inside = (values[sorted_ranks[:, (k - 1) // 2]] + values[sorted_ranks[:, k // 2]]) / 2
    # The complement's j-th smallest (0-based) has rank j + #{i: g_i - i <= j}:
    # g_i - i is how many of the other tasks rank below the group's i-th.
    below = sorted_ranks - np.arange(k, dtype=sorted_ranks.dtype)
    rest = n - k
    j_low, j_high = (rest - 1) // 2, rest // 2
    at_low = j_low + (below <= j_low).sum(axis=1)
    at_high = j_high + (below <= j_high).sum(axis=1)
    return inside, (values[at_low] + values[at_high]) / 2


def permutation_test(
    log_ratios,
    members,
    strata,
    *,
    shuffles: int = rules.GROUP_SHUFFLES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each group's median r less the median r of the tasks outside it, and
    its two-sided permutation p-value: membership shuffled ``shuffles`` times
    among tasks of the same stratum (the ISO week), p = (1 + #{|d*| >= |d|})
    / (shuffles + 1).

    ``log_ratios``: (n,) finite; ``members``: (groups, n) booleans;
    ``strata``: (n,) integers. A group with no task inside or outside gets NaN
    for both. Seeded: the same inputs give the same p-values."""
    r = np.asarray(log_ratios, dtype=float).reshape(-1)
    member = np.asarray(members, dtype=bool).reshape(-1, r.size)
    stratum = np.asarray(strata).reshape(-1)
    n, groups = r.size, member.shape[0]
    diff, p = np.full(groups, np.nan), np.full(groups, np.nan)
    counts = member.sum(axis=1)
    testable = np.flatnonzero((counts > 0) & (counts < n))
    if testable.size == 0:
        return diff, p
    by_value = np.argsort(r, kind="stable")
    values = r[by_value]
    kind = np.int16 if n <= np.iinfo(np.int16).max else np.int32  # less to sort
    rank = np.empty(n, dtype=kind)
    rank[by_value] = np.arange(n, dtype=kind)
    # Tasks in stratum order: each stratum a contiguous block to shuffle within.
    by_stratum = np.argsort(stratum, kind="stable")
    rank = rank[by_stratum]
    member = member[:, by_stratum]
    edges = np.flatnonzero(np.diff(stratum[by_stratum])) + 1
    blocks = [
        (int(a), int(b)) for a, b in zip(np.r_[0, edges], np.r_[edges, n], strict=True) if b - a > 1
    ]
    positions = [np.flatnonzero(member[g]) for g in range(groups)]
    for g in testable:
        inside, rest = _medians(np.sort(rank[positions[g]])[None, :], values, n)
        diff[g] = inside[0] - rest[0]
    beyond = np.zeros(groups, dtype=np.int64)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(shuffles, CHUNK_RANKS // max(n, 1)))
    done = 0
    while done < shuffles:
        runs = min(chunk, shuffles - done)
        shuffled = np.broadcast_to(rank, (runs, n)).copy()
        for a, b in blocks:  # a random order of each week's tasks, per run
            order = rng.random((runs, b - a), dtype=np.float32).argsort(axis=1)
            shuffled[:, a:b] = rank[a:b][order]
        for g in testable:
            picked = np.sort(shuffled[:, positions[g]], axis=1)
            inside, rest = _medians(picked, values, n)
            beyond[g] += int((np.abs(inside - rest) >= abs(diff[g]) - 1e-12).sum())
        done += runs
    p[testable] = (1 + beyond[testable]) / (shuffles + 1)
    return diff, p
