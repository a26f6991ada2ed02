"""Hints: what a task of a given size really takes, in plain Python.

A :class:`Hint` holds, for one person and size bucket, the P50, P80 and P90
of A/E that METRICS.md section 7 predicts and where they came from: the
person's own pool in the bucket, the pool used (the team's without the
person, ...) and the reference population's spread, mixed (:func:`mixture`),
then the one predictive distribution of a task (:func:`predictive_quantiles`:
the non-exact values contracted toward their mean and spread by the person's
shared shift, exactly what ``forecast`` draws for that task). ``calibrate
add`` prints one and ``suggest`` answers with one, neither with numpy: so the
rule is applied here over plain lists of at most 2,300 log ratios, with the
numbers of :mod:`calibrate.rules`. It gives the same quantiles as the numpy
:mod:`calibrate.stats.pools` and :func:`calibrate.stats.draws.predictive_quantiles`
(a test checks).

No database here: :mod:`calibrate.store.caches` reads the pools and keeps the
hints in their table, :mod:`calibrate.hinting` decides when one is computed,
and :mod:`calibrate.words` says them.

Standard library only: this module is imported by ``add``.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypedDict

from calibrate import rules

#: |r| above this is not an exact hit (the rounding slack included).
EXACT = rules.EXACT_LOG2 + rules.BOUND_SLACK
#: Bisection steps of :func:`predictive_quantiles` (as the numpy version's).
PREDICTIVE_STEPS = 40
#: Beyond this many shift deviations a value's share of F is 0 or all of it.
_REACH = 8.5
#: The reference spread carrying at least this share of a piece of advice
#: makes it thin: the words say what it rests on ("from only 3 of your tasks").
THIN_REFERENCE_SHARE = 0.10
#: ... and so does resting on fewer than this many of the person's own tasks.
THIN_OWN = rules.MIN_SCORE_N


#: A hint for a task of one size (:meth:`Hint.as_dict`): P50, P80 and P90
#: in hours and as A/E, the promise, and what they rest on (``similar_n``:
#: the similar finished tasks blended in, weighing ``similar_weight``; 0
#: for the size buckets alone).
#: (The call form of TypedDict: its types are not texts for typing to compile
#: when ``add`` imports this module.)
HintFigures = TypedDict(  # noqa: UP013 (the call form, said above)
    "HintFigures",
    {
        "person": str,
        "team": str | None,
        "estimate_h": float,
        "bucket": str,
        "p50_h": float,
        "p80_h": float,
        "p90_h": float,
        "promise_h": float,
        "ratio_p50": float,
        "ratio_p80": float,
        "ratio_p90": float,
        "own_n": int,
        "own_weight": float,
        "pool": str,
        "pool_n": int,
        "reference_weight": float,
        "thin": bool,
        "similar_n": int,
        "similar_weight": float,
    },
)


class Hint:
    """A hint for one person and size bucket: quantiles of A/E and where they came from.

    A plain class, not a dataclass: ``add`` imports this module.
    """

    __slots__ = (
        "bucket",
        "own_n",
        "p50",
        "p80",
        "p90",
        "person",
        "pool",
        "pool_n",
        "similar_n",
        "similar_weight",
        "stamp",
        "team",
    )

    def __init__(
        self,
        person: str,
        bucket: int,
        *,
        own_n: int,
        pool_n: int,
        pool: str,
        team: str | None,
        p50: float,
        p80: float,
        p90: float,
        stamp: str,
        similar_n: int = 0,
        similar_weight: float = 0.0,
    ):
        self.person, self.bucket, self.team, self.stamp = person, bucket, team, stamp
        self.similar_n, self.similar_weight = similar_n, similar_weight
        self.own_n, self.pool_n, self.pool = own_n, pool_n, pool
        self.p50, self.p80, self.p90 = p50, p80, p90

    @property
    def has_history(self) -> bool:
        return self.pool != "reference" or self.own_n > 0

    @property
    def own_weight(self) -> float:
        return own_weight(self.own_n)

    @property
    def reference_weight(self) -> float:
        """The share of the advice that comes from real developers' spread."""
        return (1 - self.own_weight) * (1 - blend_weight(self.pool_n))

    @property
    def thin(self) -> bool:
        """Thin evidence: few of the person's own tasks, or much of the
        reference spread; the words then say what the advice rests on."""
        return self.own_n < THIN_OWN or self.reference_weight >= THIN_REFERENCE_SHARE

    def hours(self, estimate_h: float) -> tuple[float, float, float]:
        """P50, P80 and P90 of the predicted actual of a task estimated at ``estimate_h``."""
        return estimate_h * self.p50, estimate_h * self.p80, estimate_h * self.p90

    def as_dict(self, estimate_h: float) -> HintFigures:
        p50, p80, p90 = self.hours(estimate_h)
        return {
            "person": self.person,
            "team": self.team,
            "estimate_h": estimate_h,
            "bucket": rules.SIZE_LABELS[self.bucket],
            "p50_h": p50,
            "p80_h": p80,
            "p90_h": p90,
            "promise_h": promise_hours(p90),
            "ratio_p50": self.p50,
            "ratio_p80": self.p80,
            "ratio_p90": self.p90,
            "own_n": self.own_n,
            "own_weight": self.own_weight,
            "pool": self.pool,
            "pool_n": self.pool_n,
            "reference_weight": self.reference_weight,
            "thin": self.thin,
            "similar_n": self.similar_n,
            "similar_weight": self.similar_weight,
        }


def own_weight(own_n: int) -> float:
    """The person's own pool weighs n_b / (n_b + 20)."""
    return own_n / (own_n + rules.OWN_PRIOR)


def blend_weight(pool_n: int) -> float:
    """The pool used weighs t_b / (t_b + 30) against the reference spread."""
    return pool_n / (pool_n + rules.REFERENCE_PRIOR)


def mixture(
    own: Sequence[float], pool: Sequence[float], spread: Sequence[float], *, merged: bool = False
) -> list[tuple[float, float]]:
    """The mixture of METRICS.md section 7 as (r, weight) pairs: each own value
    weighs w / n_b (w = n_b / (n_b + 20)), each value of the pool used (1 - w)
    b / t_b (b = t_b / (t_b + 30)), each value of the reference ``spread``
    (1 - w) (1 - b) / len(spread). ``merged``: equal values of a pool as one
    pair of their summed weight (the same distribution, fewer pairs: rounded
    hours repeat)."""
    w = own_weight(len(own))
    b = blend_weight(len(pool))
    pairs = _weighted(own, w, merged)
    if pool:
        pairs += _weighted(pool, (1 - w) * b, merged)
    if spread and b < 1:
        pairs += [(r, (1 - w) * (1 - b) / len(spread)) for r in spread]
    return pairs


def _weighted(values: Sequence[float], total: float, merged: bool) -> list[tuple[float, float]]:
    """``values`` sharing the weight ``total`` equally, as (r, weight) pairs."""
    if not values:
        return []
    each = total / len(values)
    if not merged:
        return [(r, each) for r in values]
    return [(r, each * n) for r, n in Counter(values).items()]


def blend(
    pairs: list[tuple[float, float]],
    neighbour_r: Sequence[float],
    found: Sequence[int],
    query_n: int,
) -> tuple[list[tuple[float, float]], float]:
    """The reference-class blend (issue 16): the mixture ``pairs`` (weights
    summing to 1) weigh 1 - w, the neighbours' log ratios w, each in
    proportion to how many of the query's ``query_n`` tokens it holds
    (``found``); w = S / (S + 10), S the similarities' sum
    (:func:`calibrate.rules.similar_weight`). Returns (pairs, w); without a
    neighbour holding a token, the mixture as it was and 0. The numpy twin is
    :func:`calibrate.stats.similar.with_neighbours`."""
    kept = [(r, n) for r, n in zip(neighbour_r, found, strict=True) if n > 0]
    if not kept or query_n <= 0:
        return pairs, 0.0
    tokens = sum(n for _, n in kept)
    w = rules.similar_weight(tokens / query_n)
    blended = [(r, weight * (1 - w)) for r, weight in pairs]
    blended += [(r, w * n / tokens) for r, n in kept]
    return blended, w


def mixture_quantiles(
    own: list[float], pool: list[float], probs=rules.ADVICE_QUANTILES
) -> list[float]:
    """Quantiles of the own pool mixed with ``pool`` alone (no reference
    spread, no shift): each own value weighs w / n_b, each pool value (1 - w) /
    len(pool), w = n_b / (n_b + 20). The quantile at p is the smallest value
    whose cumulative weight reaches p (the same rule as
    :func:`calibrate.stats.draws.mixture_quantiles`)."""
    n_b = len(own)
    w = own_weight(n_b)
    weighted = [(r, w / n_b) for r in own] if n_b else []
    weighted += [(r, (1 - w) / len(pool)) for r in pool]
    return _discrete_quantiles(weighted, probs)


def _discrete_quantiles(pairs: list[tuple[float, float]], probs) -> list[float]:
    ordered = sorted(pairs, key=lambda pair: pair[0])
    cumulative, total = [], 0.0
    for _, weight in ordered:
        total += weight
        cumulative.append(total)
    out = []
    for p in probs:
        target = p * total - 1e-12 * total
        index = bisect.bisect_left(cumulative, target)
        out.append(ordered[min(index, len(ordered) - 1)][0])
    return out


def contraction(pairs: Iterable[tuple[float, float]], tau2: float) -> tuple[float, float]:
    """(m, lambda) of a mixture: the mean m of its non-exact values (r clipped
    at +-3) and lambda = sqrt(1 - tau^2 / s^2), s^2 their variance (1 without
    a spread, 0 when the shift alone would be wider)."""
    total = s = q = 0.0
    for r, w in pairs:
        if abs(r) > EXACT:
            c = max(-rules.CONTRACT_CLIP, min(rules.CONTRACT_CLIP, r))
            total += w
            s += w * c
            q += w * c * c
    if total <= 0:
        return 0.0, 1.0
    mean = s / total
    var = max(q / total - mean * mean, 0.0)
    if var <= 0:
        return mean, 1.0
    return mean, math.sqrt(min(1.0, max(0.0, 1.0 - tau2 / var)))


def predictive_quantiles(
    pairs: list[tuple[float, float]], tau2: float, probs=rules.ADVICE_QUANTILES
) -> list[float]:
    """Quantiles of r of the one predictive distribution of a task (METRICS.md
    section 7): its mixture ``pairs`` with the non-exact values contracted
    toward their mean, m + lambda (v - m) (:func:`contraction`), each spread
    by the shared shift N(0, tau^2); exact hits stay where they are:

        F(x) = sum_exact w [v <= x] + sum_non-exact w Phi((x - v') / tau),

    the quantile the smallest x with F(x) >= p, by bisection (with tau^2 = 0,
    the mixture's own quantile). What ``forecast`` draws for that task."""
    if tau2 <= 0:
        return _discrete_quantiles(pairs, probs)
    mean, lam = contraction(pairs, tau2)
    total = sum(w for _, w in pairs)
    tau = math.sqrt(tau2)
    merged: dict[float, float] = {}  # equal values as one (rounded hours repeat): fewer erfc
    for r, w in pairs:
        merged[r] = merged.get(r, 0.0) + w
    exact = sorted((r, w / total) for r, w in merged.items() if abs(r) <= EXACT)
    smooth = sorted(
        (mean + lam * (r - mean), w / total) for r, w in merged.items() if abs(r) > EXACT
    )
    exact_at = [r for r, _ in exact]
    exact_below = _running([w for _, w in exact])
    smooth_at = [v for v, _ in smooth]
    smooth_weight = [w for _, w in smooth]
    smooth_below = _running(smooth_weight)
    scale = 1 / (tau * math.sqrt(2.0))
    everything = exact_at + smooth_at

    def cdf(x: float) -> float:
        f = exact_below[bisect.bisect_right(exact_at, x)]
        first = bisect.bisect_left(smooth_at, x - _REACH * tau)
        last = bisect.bisect_right(smooth_at, x + _REACH * tau)
        f += smooth_below[first]  # far below: all of their weight
        for v, w in zip(smooth_at[first:last], smooth_weight[first:last], strict=True):
            f += w * 0.5 * math.erfc((v - x) * scale)
        return f

    out = []
    for p in probs:
        low = min(everything) - 8 * tau - 1
        high = max(everything) + 8 * tau + 1
        for _ in range(PREDICTIVE_STEPS):
            middle = (low + high) / 2
            if cdf(middle) < p:
                low = middle
            else:
                high = middle
        # an exact hit inside the last bracket is where F jumps past p: the quantile itself
        atom = bisect.bisect_right(exact_at, low)
        out.append(exact_at[atom] if atom < len(exact_at) and exact_at[atom] <= high else high)
    return out


def _running(weights: list[float]) -> list[float]:
    """Prefix sums with a leading 0."""
    out, total = [0.0], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def shift_variance(week_ratios: Iterable[tuple[int, float]]) -> float:
    """tau^2, the shared shift's variance (METRICS.md section 7), from (week,
    r) pairs: over the weeks with 3+ non-exact tasks (|r| > 0.01), max(0,
    var(weekly mean r) - mean(s_w^2 / n_w)); 0 with fewer than 4 such weeks.
    The plain-Python twin of :func:`calibrate.stats.forecast.tau2_from_sums`."""
    weeks: dict[int, list[float]] = {}
    for week, r in week_ratios:
        if week < 0 or not abs(r) > EXACT or not math.isfinite(r):
            continue
        sums = weeks.setdefault(week, [0.0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += r
        sums[2] += r * r
    kept = [sums for sums in weeks.values() if sums[0] >= rules.SHIFT_WEEK_MIN_TASKS]
    if len(kept) < rules.SHIFT_MIN_WEEKS:
        return 0.0
    means = [s / n for n, s, _ in kept]
    within = [(q - n * m * m) / (n - 1) / n for (n, _, q), m in zip(kept, means, strict=True)]
    average = sum(means) / len(means)
    between = sum((m - average) ** 2 for m in means) / (len(means) - 1)
    return max(0.0, between - sum(within) / len(within))


def from_pools(
    person: str,
    bucket: int,
    team: str | None,
    own: list[float],
    pool: list[float],
    kind: str,
    stamp: str = "",
    tau2: float = 0.0,
) -> Hint:
    """The hint from pools in hand (log ratios): the person's own in the
    bucket, the pool used of ``kind`` (team, everyone, neighbours, all sizes;
    ``reference`` with an empty pool), the bucket's reference spread, and the
    person's shift variance ``tau2``."""
    pairs = mixture(own, pool, rules.reference_spread(bucket))
    q50, q80, q90 = (2.0**r for r in predictive_quantiles(pairs, tau2))
    return Hint(
        person,
        bucket,
        own_n=len(own),
        pool_n=len(pool),
        pool=kind,
        team=team,
        p50=q50,
        p80=q80,
        p90=q90,
        stamp=stamp,
    )


def reference_hint(person: str, estimate_h: float) -> Hint:
    """A hint without any history (no database yet): the reference spread."""
    return from_pools(person, rules.size_bucket(estimate_h), None, [], [], "reference")


def promise_hours(p90_h: float) -> float:
    """P90 rounded up to a step one can promise: quarter hours under 1h, half
    hours under 10h, whole hours above."""
    step = 0.25 if p90_h < 1 else 0.5 if p90_h < 10 else 1.0
    return math.ceil(p90_h / step - 1e-9) * step
