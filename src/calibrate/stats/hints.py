"""Hints: what a task of a given size really takes, in plain Python.

A :class:`Hint` holds, for one person and size bucket, the P50, P80 and P90
of A/E that METRICS.md section 7 predicts (the person's own pool in the
bucket mixed with the team's) and where they came from. ``calibrate add``
prints one and ``suggest`` answers with one, neither with numpy: so the rule
is applied here over plain lists of at most 2,200 log ratios
(:func:`mixture_quantiles`, :func:`from_pools`), with the numbers of
:mod:`calibrate.rules`. It gives the same quantiles as the numpy
:mod:`calibrate.stats.pools` and :mod:`calibrate.stats.draws` (a test checks).

No database here: :mod:`calibrate.store.caches` reads the pools and keeps the
hints in their table, :mod:`calibrate.hinting` decides when one is computed,
and :mod:`calibrate.words` says them.

Standard library only: this module is imported by ``add``.
"""

from __future__ import annotations

import math
from typing import TypedDict

from calibrate import rules


class HintFigures(TypedDict):
    """A hint for a task of one size (:meth:`Hint.as_dict`): P50, P80 and P90
    in hours and as A/E, the promise, and the pools they came from."""

    person: str
    team: str | None
    estimate_h: float
    bucket: str
    p50_h: float
    p80_h: float
    p90_h: float
    promise_h: float
    ratio_p50: float
    ratio_p80: float
    ratio_p90: float
    own_n: int
    own_weight: float
    pool: str
    pool_n: int


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
    ):
        self.person, self.bucket, self.team, self.stamp = person, bucket, team, stamp
        self.own_n, self.pool_n, self.pool = own_n, pool_n, pool
        self.p50, self.p80, self.p90 = p50, p80, p90

    @property
    def has_history(self) -> bool:
        return self.pool != "reference"

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
            "own_weight": self.own_n / (self.own_n + rules.OWN_PRIOR),
            "pool": self.pool,
            "pool_n": self.pool_n,
        }


def mixture_quantiles(
    own: list[float], pool: list[float], probs=rules.ADVICE_QUANTILES
) -> list[float]:
    """Quantiles of the mixture: each own value weighs w / n_b, each pool value
    (1 - w) / len(pool), w = n_b / (n_b + 20). The quantile at p is the smallest
    value whose cumulative weight reaches p (the same rule as
    :func:`calibrate.stats.draws.mixture_quantiles`)."""
    n_b = len(own)
    w = n_b / (n_b + rules.OWN_PRIOR)
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


def from_pools(
    person: str,
    bucket: int,
    team: str | None,
    own: list[float],
    pool: list[float],
    kind: str,
    stamp: str = "",
) -> Hint:
    """The hint from pools in hand (log ratios): the person's own in the
    bucket, and the pool of ``kind`` (team, everyone, neighbours, all sizes,
    reference) it is mixed with."""
    q50, q80, q90 = (2.0**r for r in mixture_quantiles(own, pool))
    pool_n = 0 if kind == "reference" else len(pool)
    return Hint(
        person,
        bucket,
        own_n=len(own),
        pool_n=pool_n,
        pool=kind,
        team=team,
        p50=q50,
        p80=q80,
        p90=q90,
        stamp=stamp,
    )


def reference_hint(person: str, estimate_h: float) -> Hint:
    """A hint without any history (no database yet): the reference spread."""
    return from_pools(
        person, rules.size_bucket(estimate_h), None, [], rules.reference_log_ratios(), "reference"
    )


def promise_hours(p90_h: float) -> float:
    """P90 rounded up to a step one can promise: quarter hours under 1h, half
    hours under 10h, whole hours above."""
    step = 0.25 if p90_h < 1 else 0.5 if p90_h < 10 else 1.0
    return math.ceil(p90_h / step - 1e-9) * step
