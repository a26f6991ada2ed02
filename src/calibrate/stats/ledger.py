"""The tool grades itself (METRICS.md section 8): its advice and its chances.

- :func:`advice_record`: the first advice given for each task (its P50, P80
  and P90 in hours, from the ledger), against the actual once the task is
  done: per quantile the share of actuals at or under it, with its Wilson 90%
  interval, and the pinball loss on log2 ratios (mean over the three
  quantiles and the tasks).
- :func:`forecast_record`: the chances ``forecast`` gave open promises (at
  most one a promise a day), against whether each promise was kept once it
  resolved: the Brier score, and reliability by tenths of chance.

Pure functions over arrays; the ledgers themselves are
:mod:`calibrate.store.ledgers`'.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from calibrate import rules
from calibrate.stats.arrays import optional
from calibrate.stats.binomial import wilson

#: The quantiles of a piece of advice, as METRICS.md's keys name them.
ADVICE_LEVELS = ((50, 0.50), (80, 0.80), (90, 0.90))


class AdviceRecord(TypedDict):
    """``advice_record`` of ``score --json``: exactly METRICS.md section 8's keys."""

    n: int
    held_50: float | None
    held_50_low: float | None
    held_50_high: float | None
    held_80: float | None
    held_80_low: float | None
    held_80_high: float | None
    held_90: float | None
    held_90_low: float | None
    held_90_high: float | None
    pinball: float | None


def pinball(y: np.ndarray, q: np.ndarray, level: float) -> np.ndarray:
    """The pinball (quantile) loss of predicting ``q`` at ``level`` when ``y`` came."""
    miss = np.asarray(y, dtype=float) - np.asarray(q, dtype=float)
    return np.maximum(level * miss, (level - 1) * miss)


def advice_record(actual_h, p50_h, p80_h, p90_h) -> AdviceRecord:
    """How the advice held: one entry per graded task (its actual and the
    three quantiles of its first advice, in hours). An actual at or under a
    quantile (with the rounding slack of section 1) holds it."""
    actual = np.asarray(actual_h, dtype=float).reshape(-1)
    quantiles = {50: p50_h, 80: p80_h, 90: p90_h}
    n = int(actual.size)
    out: dict = {"n": n}
    losses = []
    for key, level in ADVICE_LEVELS:
        q = np.asarray(quantiles[key], dtype=float).reshape(-1)
        held = actual <= q * (1 + rules.BOUND_SLACK)
        low, high = wilson(int(held.sum()), n)
        out[f"held_{key}"] = float(held.mean()) if n else None
        out[f"held_{key}_low"], out[f"held_{key}_high"] = low, high
        if n:
            losses.append(pinball(np.log2(actual), np.log2(q), level))
    out["pinball"] = float(np.mean(losses)) if n else None
    return {  # in METRICS.md's order
        "n": out["n"],
        "held_50": out["held_50"],
        "held_50_low": out["held_50_low"],
        "held_50_high": out["held_50_high"],
        "held_80": out["held_80"],
        "held_80_low": out["held_80_low"],
        "held_80_high": out["held_80_high"],
        "held_90": out["held_90"],
        "held_90_low": out["held_90_low"],
        "held_90_high": out["held_90_high"],
        "pinball": out["pinball"],
    }


class ReliabilityBin(TypedDict):
    """Chances given from ``low`` to ``high`` (the last tenth includes 1): how
    many, their mean, and the share of those promises kept, with its Wilson
    90% interval."""

    low: float
    high: float
    n: int
    chance: float
    kept: float
    kept_low: float | None
    kept_high: float | None


class ForecastRecord(TypedDict):
    """How ``forecast``'s chances for promises held, once they resolved."""

    n: int
    promises: int
    brier: float | None
    reliability: list[ReliabilityBin]


def forecast_record(chance, kept, promise) -> ForecastRecord:
    """The Brier score (mean of (chance - kept)^2) over every recorded chance
    of a resolved promise, and reliability by tenths of chance (the bins
    with any chance in them); ``promise`` identifies each chance's promise
    (to count them)."""
    p = np.asarray(chance, dtype=float).reshape(-1)
    outcome = np.asarray(kept, dtype=bool).reshape(-1)
    n = int(p.size)
    bins: list[ReliabilityBin] = []
    tenth = np.minimum(np.floor(p * 10 + 1e-9), 9).astype(int)
    for k in range(10):
        chosen = tenth == k
        count = int(chosen.sum())
        if not count:
            continue
        low, high = wilson(int(outcome[chosen].sum()), count)
        bins.append(
            {
                "low": k / 10,
                "high": (k + 1) / 10,
                "n": count,
                "chance": float(p[chosen].mean()),
                "kept": float(outcome[chosen].mean()),
                "kept_low": optional(low),
                "kept_high": optional(high),
            }
        )
    return {
        "n": n,
        "promises": int(np.unique(np.asarray(promise).reshape(-1)).size) if n else 0,
        "brier": float(np.mean((p - outcome) ** 2)) if n else None,
        "reliability": bins,
    }
