"""Section 3 of METRICS.md: ranges (prediction intervals), as pure functions.

A task logged with a range [L, H] at confidence c: the hit rate with its
Wilson interval, the misses below and above, the exact coverage test (the
binomial, or the Poisson binomial across confidence levels), the interval
score and the widen factor, overall and per confidence level with the
binomial band of the calibration chart.

The widen factor is the split-conformal order statistic (METRICS.md section
3): at confidence c, over n ranges with L < H, the ceil((n + 1) c / 100)-th
smallest of |y - centre| / halfwidth on log2 values (:func:`widen_factor`),
which holds the next range's actual at least c of the time; ``None`` ("not
enough ranges to say") when that rank exceeds n. A summary carries those
spreads as a histogram (:func:`spread_bins`), from which
:func:`widen_from_bins` gives the same factor to the bin width.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import numpy as np

from calibrate import rules
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
    widen_factor: float | None


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


def percent_of(confidence: float) -> float:
    """A confidence fraction as the percent the rules take (0.9 -> 90.0)."""
    return round(float(confidence) * 100, 6)


def widen_factor(spreads, confidence_percent: float) -> float | None:
    """The ceil((n + 1) c / 100)-th smallest of ``spreads`` (|y - centre| /
    halfwidth on log2 values), c in percent; ``None`` when that rank exceeds n."""
    values = np.sort(floats(spreads))
    rank = rules.conformal_rank(int(values.size), confidence_percent)
    if values.size == 0 or rank > values.size:
        return None
    return float(values[max(rank, 1) - 1])


def spread_bins(spreads) -> np.ndarray:
    """Each spread's bin in a summary's histogram: ceil(s / 0.01), the last bin
    (``SPREAD_CAP`` / 0.01) holding everything above the cap."""
    cap = round(rules.SPREAD_CAP / rules.SPREAD_BIN)
    scaled = floats(spreads) / rules.SPREAD_BIN
    return np.minimum(np.ceil(scaled - 1e-9), cap).astype(np.int64)


def widen_from_bins(pairs, confidence_percent: float) -> float | None:
    """:func:`widen_factor` from (bin, count) pairs of :func:`spread_bins`: the
    bin's upper edge, so at most 0.01 above the factor from the ranges themselves
    (the cap itself when the rank falls in the cap bin)."""
    counts: dict[int, int] = {}
    for bin_, count in pairs:
        counts[int(bin_)] = counts.get(int(bin_), 0) + int(count)
    total = sum(counts.values())
    rank = rules.conformal_rank(total, confidence_percent)
    if total == 0 or rank > total:
        return None
    seen = 0
    for bin_ in sorted(counts):
        seen += counts[bin_]
        if seen >= rank:
            return bin_ * rules.SPREAD_BIN
    return None


def spreads_of(low_h, high_h, actual_h) -> np.ndarray:
    """|y - centre| / halfwidth on log2 values, per range with 0 < L < H."""
    log_low, log_high = np.log2(floats(low_h)), np.log2(floats(high_h))
    centre = (log_low + log_high) / 2
    halfwidth = (log_high - log_low) / 2
    return np.abs(np.log2(floats(actual_h)) - centre) / halfwidth


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
    conformal factor (:func:`widen_factor`) at the mean confidence over all
    ranges ("make your ranges k times as wide on a log scale"; ``None``: not
    enough ranges to say); ``levels``: the same per confidence level (each
    with its own ``widen_factor``), with the binomial 90% band of the
    calibration chart.
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
    below, above = rules.range_hit_masks(low, high, actual)
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
    spread = spreads_of(low, high, actual)
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
        "widen_factor": widen_factor(spread, percent_of(nominal)),
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
                "widen_factor": widen_factor(spread[mine], percent_of(level)),
            }
        )
    return out
