"""Section 3 of METRICS.md: ranges (prediction intervals), as pure functions.

A task logged with a range [L, H] at confidence c: the hit rate with its
Wilson interval, the misses below and above, the exact coverage test (the
binomial, or the Poisson binomial across confidence levels), the interval
score and the widen factor, overall and per confidence level with the
binomial band of the calibration chart.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import numpy as np

from calibrate.rules import DEFAULT_CONFIDENCE_SHARE
from calibrate.stats.arrays import floats
from calibrate.stats.binomial import binomial_band, binomial_cdf, hits_pmf, wilson


class RangeLevel(TypedDict):
    """Section 3 at one confidence level, with the binomial 90% band of the chart."""

    confidence: float
    n: int
    hits: int
    hit_rate: float
    hit_low: float
    hit_high: float
    band_low: float | None
    band_high: float | None
    p_value: float


class RangeSummary(TypedDict):
    """Section 3 for the tasks with a range (:func:`range_summary`); the
    figures are ``None`` without such a task."""

    n: int
    hits: int
    below: int
    above: int
    hit_rate: float | None
    hit_low: float | None
    hit_high: float | None
    miss_below: float | None
    miss_above: float | None
    nominal: float | None
    p_value: float | None
    p_value_wide: float | None
    verdict: Literal["too narrow", "too wide", "calibrated"] | None
    interval_score: float | None
    widen_factor: float | None
    levels: list[RangeLevel]


#: The coverage test's threshold: "too narrow" when P(X <= hits) < 0.05.
COVERAGE_ALPHA = 0.05


def range_summary(low_h, high_h, actual_h, confidence=DEFAULT_CONFIDENCE_SHARE) -> RangeSummary:
    """Section 3 for the tasks that have a range [L, H] at confidence c.

    ``confidence`` is a fraction in (0, 1), one per task or one for all.
    Tasks without a valid range (0 < L < H) or actual are ignored. Keys:
    ``n``, ``hits``, ``below``, ``above``; ``hit_rate`` with its Wilson 90%
    interval ``hit_low``/``hit_high``; ``miss_below``/``miss_above`` (shares);
    ``nominal`` (mean c); ``p_value`` = P(X <= hits), X the hits of calibrated
    ranges (binomial, or Poisson binomial across levels); ``p_value_wide`` =
    P(X >= hits); ``verdict``: "too narrow" when p_value < 0.05, "too wide"
    when p_value_wide < 0.05, else "calibrated"; ``interval_score`` (mean, on
    log2 values, Gneiting and Raftery 2007); ``widen_factor`` k: the
    nominal-quantile of |y - centre| / halfwidth on log2 values ("scale your
    ranges by k"); ``levels``: the same per confidence level, with the
    binomial 90% band of the calibration chart.
    """
    low, high, actual = floats(low_h), floats(high_h), floats(actual_h)
    conf = np.broadcast_to(floats(confidence), low.shape) if low.size else floats([])
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(low)
            & np.isfinite(high)
            & np.isfinite(actual)
            & np.isfinite(conf)
            & (low > 0)
            & (high > low)
            & (actual > 0)
            & (conf > 0)
            & (conf < 1)
        )
    low, high, actual, conf = low[ok], high[ok], actual[ok], conf[ok]
    n = int(low.size)
    if n == 0:
        return {
            "n": 0,
            "hits": 0,
            "below": 0,
            "above": 0,
            "hit_rate": None,
            "hit_low": None,
            "hit_high": None,
            "miss_below": None,
            "miss_above": None,
            "nominal": None,
            "p_value": None,
            "p_value_wide": None,
            "verdict": None,
            "interval_score": None,
            "widen_factor": None,
            "levels": [],
        }
    below = actual < low
    above = actual > high
    hit = ~below & ~above
    hits = int(hit.sum())
    hit_low, hit_high = wilson(hits, n)
    pmf = hits_pmf(conf)
    p_value = float(min(1.0, pmf[: hits + 1].sum()))
    p_value_wide = float(min(1.0, pmf[hits:].sum()))
    verdict: Literal["too narrow", "too wide", "calibrated"]
    if p_value < COVERAGE_ALPHA:
        verdict = "too narrow"
    elif p_value_wide < COVERAGE_ALPHA:
        verdict = "too wide"
    else:
        verdict = "calibrated"
    log_low, log_high, log_actual = np.log2(low), np.log2(high), np.log2(actual)
    alpha = 1.0 - conf
    interval_score = (
        (log_high - log_low)
        + (2 / alpha) * (log_low - log_actual) * (log_actual < log_low)
        + (2 / alpha) * (log_actual - log_high) * (log_actual > log_high)
    )
    centre = (log_low + log_high) / 2
    halfwidth = (log_high - log_low) / 2
    spread = np.abs(log_actual - centre) / halfwidth
    nominal = float(conf.mean())
    out: RangeSummary = {
        "n": n,
        "hits": hits,
        "below": int(below.sum()),
        "above": int(above.sum()),
        "hit_rate": hits / n,
        "hit_low": hit_low,
        "hit_high": hit_high,
        "miss_below": float(below.mean()),
        "miss_above": float(above.mean()),
        "nominal": nominal,
        "p_value": p_value,
        "p_value_wide": p_value_wide,
        "verdict": verdict,
        "interval_score": float(interval_score.mean()),
        "widen_factor": float(np.quantile(spread, nominal)),
        "levels": [],
    }
    for level in np.unique(conf):
        mine = conf == level
        level_n = int(mine.sum())
        level_hits = int(hit[mine].sum())
        level_low, level_high = wilson(level_hits, level_n)
        band_low, band_high = binomial_band(level_n, float(level))
        out["levels"].append(
            {
                "confidence": float(level),
                "n": level_n,
                "hits": level_hits,
                "hit_rate": level_hits / level_n,
                "hit_low": level_low,
                "hit_high": level_high,
                "band_low": band_low,
                "band_high": band_high,
                "p_value": binomial_cdf(level_hits, level_n, float(level)),
            }
        )
    return out
