"""Section 6 of METRICS.md: trends, as pure functions over arrays.

Weeks are numbered from a Monday (:func:`calibrate.durations.week_index`);
:func:`weekly_trend` gives, per ISO week, the section-1 figures over the
rolling window of weeks ending there; :func:`trend_summary` fits the Theil-Sen
line (:func:`theil_sen`) through each week's own MALR and says whether it is
improving.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.durations import week_monday
from calibrate.stats.arrays import floats
from calibrate.stats.metrics import FIGURE_KEYS, clipped_abs, shares

TREND_COLUMNS = ("week", "start", "n_week", "m_week", *FIGURE_KEYS, "faded")


def weekly_trend(
    weeks,
    log_ratios,
    *,
    first_week: int | None = None,
    last_week: int | None = None,
    window: int = rules.TREND_WINDOW_WEEKS,
    faded_below: int = rules.TREND_FADED_BELOW,
) -> pd.DataFrame:
    """Section 6: per week, the section-1 figures over the rolling ``window``
    weeks ending that week.

    ``weeks`` are :func:`~calibrate.durations.week_index` numbers, one per task (negative: no
    date, ignored). Every week from ``first_week`` to ``last_week`` (default:
    the data's span) gets a row, empty ones included: ``week``, ``start``
    (its Monday), ``n_week`` and ``m_week`` (the week's own count and MALR),
    ``n`` and the rolling ``bias``, ``bias_factor``, ``malr``,
    ``typical_miss``, ``score_raw``, ``within_25``, ``over``, ``exact``,
    ``under`` (NaN when the window is empty), and ``faded`` (rolling n under
    ``faded_below``: shown faded, not hidden). Sums come from cumulative
    counts; only the rolling median loops, once per week.
    """
    week_arr = np.asarray(weeks, dtype=np.int64).reshape(-1)
    r = floats(log_ratios)
    ok = np.isfinite(r) & (week_arr >= 0)
    week_arr, r = week_arr[ok], r[ok]
    if first_week is None and week_arr.size:
        first_week = int(week_arr.min())
    if last_week is None and week_arr.size:
        last_week = int(week_arr.max())
    if first_week is None or last_week is None or last_week < first_week:
        return pd.DataFrame({name: [] for name in TREND_COLUMNS})
    inside = (week_arr >= first_week) & (week_arr <= last_week)
    week_arr, r = week_arr[inside], r[inside]
    span = last_week - first_week + 1
    offset = week_arr - first_week
    abs_r = clipped_abs(r)
    within, over, exact, under = shares(r)

    def weekly(weights=None) -> np.ndarray:
        return np.bincount(offset, weights=weights, minlength=span).astype(float)

    def rolling(per_week: np.ndarray) -> np.ndarray:
        cumulative = np.concatenate([[0.0], np.cumsum(per_week)])
        ends = np.arange(1, span + 1)
        return cumulative[ends] - cumulative[np.maximum(ends - window, 0)]

    n_week = weekly()
    sum_week = weekly(abs_r)
    n_roll = rolling(n_week)
    safe = np.where(n_roll > 0, n_roll, np.nan)
    malr = rolling(sum_week) / safe
    order = np.argsort(offset, kind="stable")
    sorted_offset, sorted_r = offset[order], r[order]
    starts = np.searchsorted(sorted_offset, np.arange(span) - window + 1, side="left")
    ends = np.searchsorted(sorted_offset, np.arange(span), side="right")
    bias = np.array(
        [np.median(sorted_r[s:e]) if e > s else np.nan for s, e in zip(starts, ends, strict=True)]
    )
    frame = pd.DataFrame(
        {
            "week": np.arange(first_week, last_week + 1),
            "start": [week_monday(w) for w in range(first_week, last_week + 1)],
            "n_week": n_week.astype(int),
            "m_week": sum_week / np.where(n_week > 0, n_week, np.nan),
            "n": n_roll.astype(int),
            "bias": bias,
            "bias_factor": np.exp2(bias),
            "malr": malr,
            "typical_miss": np.exp2(malr),
            "score_raw": 100.0 * np.exp2(-malr),
            "within_25": rolling(weekly(within)) / safe,
            "over": rolling(weekly(over)) / safe,
            "exact": rolling(weekly(exact)) / safe,
            "under": rolling(weekly(under)) / safe,
        }
    )
    frame["faded"] = frame["n"] < faded_below
    return frame


class Line(TypedDict):
    """A Theil-Sen line (:func:`theil_sen`): ``None`` under 2 distinct x."""

    n: int
    slope: float | None
    low: float | None
    high: float | None
    intercept: float | None


TrendVerdict = Literal["improving", "worsening", "no clear change"]


class TrendSummary(TypedDict):
    """Section 6's trend line over the weeks (:func:`trend_summary`)."""

    weeks_used: int
    slope: float | None
    low: float | None
    high: float | None
    intercept: float | None
    verdict: TrendVerdict | None


def theil_sen(x, y, confidence: float = rules.INTERVAL_LEVEL) -> Line:
    """Theil-Sen line through (x, y) with the slope's ``confidence`` interval.

    The slope is the median of all pairwise slopes over pairs with distinct x;
    the intercept is median(y - slope x) (scipy's ``method="joint"``). The
    interval is Sen (1968), eq. 2.6, as ``scipy.stats.theilslopes(y, x,
    alpha=confidence)``: with N pairwise slopes sorted, n points and
    C = z sqrt(n (n - 1) (2n + 5) / 18), z = Phi^-1(1/2 + confidence/2), its
    ends are the order statistics of 1-based ranks (N - C) / 2 and
    (N + C) / 2 + 1, clipped to the slopes there are. Two differences from
    scipy: those ranks are rounded outward (floor below, ceil above) where
    scipy rounds to the nearest, so the interval is scipy's or one order
    statistic wider at each end, never narrower; and C has no tie correction
    (trend weeks never tie in x). ``tests/test_against_scipy.py`` shows both.
    Returns ``slope``, ``low``, ``high``, ``intercept`` and ``n`` (points),
    all ``None`` under 2 points with distinct x.
    """
    xs, ys = floats(x), floats(y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    out: Line = {"n": int(xs.size), "slope": None, "low": None, "high": None, "intercept": None}
    i, j = np.triu_indices(xs.size, k=1)
    dx = xs[j] - xs[i]
    keep = dx != 0
    if not keep.any():
        return out
    slopes = np.sort((ys[j] - ys[i])[keep] / dx[keep])
    pairs = slopes.size
    slope = float(np.median(slopes))
    n = xs.size
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    # Ranks M1 = (N - C) / 2 and M2 + 1 = (N + C) / 2 + 1 (1-based), rounded outward.
    lower = int(np.clip(math.floor((pairs - c) / 2) - 1, 0, pairs - 1))
    upper = int(np.clip(math.ceil((pairs + c) / 2), 0, pairs - 1))
    return {
        "n": out["n"],
        "slope": slope,
        "low": float(slopes[lower]),
        "high": float(slopes[upper]),
        "intercept": float(np.median(ys - slope * xs)),
    }


def trend_summary(trend: pd.DataFrame, confidence: float = rules.INTERVAL_LEVEL) -> TrendSummary:
    """The trend line of section 6 over a :func:`weekly_trend` frame.

    The Theil-Sen slope of each week's own m (``m_week``, weeks with counted
    tasks) against the week number: the rolling values overlap, which would
    make the interval falsely narrow. ``verdict``: "improving" (m falls: the
    whole interval below 0), "worsening" (above 0), "no clear change", or
    ``None`` with fewer than 4 such weeks. Slopes are in log2 a week.
    """
    if len(trend):
        used = trend[trend["n_week"] > 0]
        xs, ys = used["week"].to_numpy(dtype=float), used["m_week"].to_numpy(dtype=float)
    else:
        xs = ys = np.array([])
    line = theil_sen(xs, ys, confidence)
    slope, low, high = line["slope"], line["low"], line["high"]
    verdict: TrendVerdict | None
    if xs.size < rules.MIN_TREND_WEEKS or slope is None or low is None or high is None:
        verdict = None
    elif high < 0:
        verdict = "improving"
    elif low > 0:
        verdict = "worsening"
    else:
        verdict = "no clear change"
    return {
        "weeks_used": int(xs.size),
        "slope": slope,
        "low": low,
        "high": high,
        "intercept": line["intercept"],
        "verdict": verdict,
    }
