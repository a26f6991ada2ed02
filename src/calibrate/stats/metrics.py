"""Sections 1 and 2 of METRICS.md as pure functions over arrays: the point
figures and the 0-100 score.

No database and no click here: callers hand in numpy arrays (or anything
``np.asarray`` takes) and get plain numbers, dicts or pandas frames back, so
that the panel, the HTML report, ``rank`` and ``forecast`` share one
definition of each figure and tests can check it on hand-computed cases. The
rules themselves (what counts, the clip, the bounds, the size buckets, n0)
are :mod:`calibrate.rules`'.

Notation: E = original estimate (hours), A = actual (hours), r = log2(A / E).
A task *counts* when E > 0 and A > 0 (both finite); others are ignored.

Section 1, point estimates
    :func:`log_ratio`, :func:`point_summary` / :func:`log_ratio_summary`
    (n, bias = median r, MALR = mean |clip(r, -3, 3)|, typical miss 2^MALR,
    within 25%, over / exact / under), :func:`by_size` (the same per estimate
    bucket), :func:`point_stats_by` (the same for many groups at once).
Section 2, the 0-100 score
    :func:`score_from_stats` (shrunk toward a prior, with its 90% interval of
    the long-run score, from n and the sum and sum of squares of |clip(r)| and
    the drift variance of :mod:`.drift`; :func:`interval_m` on the m scale),
    :func:`prior_malr` (the comparison group's MALR, or the fallback),
    :func:`score_status`,
    :func:`padding_flags` (exact-hit and early shares far above the team's).

The other sections live beside this module: ranges (:mod:`.ranges`, with the
binomial helpers of :mod:`.binomial`), promises (:mod:`.promises`), trends
(:mod:`.trends`), percentile ranks (:mod:`.ranks`).

Figures that need more data than there is come back as ``None`` (``NaN`` in
frames), never as a division by zero.
"""

from __future__ import annotations

import math
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.rules import MIN_SCORE_N, RANKED_N, SCORE_N0, SIZE_LABELS
from calibrate.stats.arrays import floats, optional
from calibrate.stats.distributions import t_ppf_array

# --- section 1: point estimates -------------------------------------------------


def log_ratio(estimate_h, actual_h) -> np.ndarray:
    """r = log2(A / E) per task; NaN where the task does not count.

    r > 0 means the task overran. Log ratios, not A/E, are what every score
    averages: the arithmetic mean of A/E is biased toward overruns (section 1).
    """
    e, a = floats(estimate_h), floats(actual_h)
    ok = rules.counted_mask(e, a)
    out = np.full(e.shape, np.nan)
    out[ok] = np.log2(a[ok] / e[ok])
    return out


def clipped_abs(log_ratios) -> np.ndarray:
    """|clip(r, -3, 3)|: the per-task miss that MALR averages."""
    return np.abs(np.clip(floats(log_ratios), -rules.CLIP_LOG2, rules.CLIP_LOG2))


def shares(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-task booleans of finite log ratios: within 25%, over, exact, under
    (section 1, by :mod:`calibrate.rules`' masks)."""
    return rules.within_mask(r), rules.over_mask(r), rules.exact_mask(r), rules.under_mask(r)


class Figures(TypedDict):
    """Section 1's figures of a set of tasks, as a week of the trend gives them too."""

    n: int
    bias: float | None
    bias_factor: float | None
    malr: float | None
    typical_miss: float | None
    score_raw: float | None
    within_25: float | None
    over: float | None
    exact: float | None
    under: float | None


class Point(Figures):
    """:class:`Figures` with the quantiles of A/E and the sums a score is made of
    (:func:`log_ratio_summary`)."""

    ratio_p10: float | None
    ratio_p90: float | None
    sum_abs: float
    sum_sq: float


class SizeRow(Point):
    """:class:`Point` of one estimate bucket (:func:`by_size`), labelled."""

    bucket: str


#: The keys of :class:`Figures` and of a :class:`Point`, in order.
FIGURE_KEYS = tuple(Figures.__annotations__)
POINT_KEYS = tuple(Point.__annotations__)


def log_ratio_summary(log_ratios) -> Point:
    """Section 1 over log ratios r (NaN entries are ignored).

    Keys (:class:`Point`): ``n``; ``bias`` (median r, log2) and ``bias_factor`` (2^bias: "tasks
    take 1.3x your estimate"); ``malr`` (mean |clip(r)|, log2) and
    ``typical_miss`` (2^malr); ``score_raw`` (100 * 2^-malr, unshrunk;
    ``None`` under :data:`MIN_SCORE_N` tasks); ``within_25``, ``over``,
    ``exact``, ``under`` (shares 0-1);
    ``ratio_p10``/``ratio_p90`` (quantiles of A/E); ``sum_abs``/``sum_sq``
    (sufficient statistics of |clip(r)| for :func:`score_from_stats`).
    Everything but n and the sums is ``None`` when n is 0.
    """
    r = floats(log_ratios)
    r = r[np.isfinite(r)]
    abs_r = clipped_abs(r)
    sum_abs, sum_sq = float(abs_r.sum()), float(np.square(abs_r).sum())
    if r.size == 0:
        return {
            "n": 0,
            "bias": None,
            "bias_factor": None,
            "malr": None,
            "typical_miss": None,
            "score_raw": None,
            "within_25": None,
            "over": None,
            "exact": None,
            "under": None,
            "ratio_p10": None,
            "ratio_p90": None,
            "sum_abs": sum_abs,
            "sum_sq": sum_sq,
        }
    within, over, exact, under = shares(r)
    bias = float(np.median(r))
    malr = float(abs_r.mean())
    p10, p90 = np.quantile(r, [0.1, 0.9])
    return {
        "n": int(r.size),
        "bias": bias,
        "bias_factor": 2.0**bias,
        "malr": malr,
        "typical_miss": 2.0**malr,
        "score_raw": 100.0 * 2.0**-malr if r.size >= MIN_SCORE_N else None,
        "within_25": float(within.mean()),
        "over": float(over.mean()),
        "exact": float(exact.mean()),
        "under": float(under.mean()),
        "ratio_p10": float(2.0**p10),
        "ratio_p90": float(2.0**p90),
        "sum_abs": sum_abs,
        "sum_sq": sum_sq,
    }


def point_summary(estimate_h, actual_h) -> Point:
    """Section 1 for one scope: see :func:`log_ratio_summary` for the keys."""
    return log_ratio_summary(log_ratio(estimate_h, actual_h))


def by_size(estimate_h, actual_h) -> list[SizeRow]:
    """Section 1 per estimate bucket: one :func:`point_summary` dict per
    bucket (all six, empty ones with n = 0), plus its ``bucket`` label."""
    e, a = floats(estimate_h), floats(actual_h)
    r = log_ratio(e, a)
    buckets = rules.size_buckets(e)
    rows: list[SizeRow] = []
    for index, label in enumerate(SIZE_LABELS):
        rows.append({"bucket": label, **log_ratio_summary(r[buckets == index])})
    return rows


def point_stats_by(keys, estimate_h, actual_h) -> pd.DataFrame:
    """Section 1 for many groups at once (people, teams, weeks), vectorised.

    ``keys`` is one label per task (or a list of such arrays for several
    levels). Returns a frame indexed by group with columns ``n``, ``bias``,
    ``bias_factor``, ``malr``, ``typical_miss``, ``score_raw``, ``within_25``,
    ``over``, ``exact``, ``under``, ``sum_abs``, ``sum_sq`` (``score_raw`` NaN
    under :data:`MIN_SCORE_N` tasks); groups without a counted task are left out.
    """
    r = log_ratio(estimate_h, actual_h)
    ok = np.isfinite(r)
    r = r[ok]
    abs_r = clipped_abs(r)
    within, over, exact, under = shares(r)
    key_list = keys if isinstance(keys, list) else [keys]
    key_cols = {f"_k{i}": np.asarray(k).reshape(-1)[ok] for i, k in enumerate(key_list)}
    frame = pd.DataFrame(
        {
            **key_cols,
            "r": r,
            "abs": abs_r,
            "sq": abs_r * abs_r,
            "within": within,
            "over": over,
            "exact": exact,
            "under": under,
        }
    )
    grouped = frame.groupby(list(key_cols), sort=True)
    stats = grouped.agg(
        n=("r", "size"),
        bias=("r", "median"),
        malr=("abs", "mean"),
        sum_abs=("abs", "sum"),
        sum_sq=("sq", "sum"),
        within_25=("within", "mean"),
        over=("over", "mean"),
        exact=("exact", "mean"),
        under=("under", "mean"),
    )
    stats.index.names = [None] * len(key_list) if len(key_list) > 1 else [None]
    stats["bias_factor"] = np.exp2(stats["bias"])
    stats["typical_miss"] = np.exp2(stats["malr"])
    stats["score_raw"] = np.where(
        stats["n"] >= MIN_SCORE_N, 100.0 * np.exp2(-stats["malr"]), np.nan
    )
    columns = [key for key in POINT_KEYS if not key.startswith("ratio_")]  # no quantiles
    return stats[columns]


# --- section 2: the score ----------------------------------------------------------


def _sd(n: np.ndarray, sum_abs: np.ndarray, sum_sq: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof 1) of |clip(r)| from n and its sums."""
    m = sum_abs / n
    var = np.where(n > 1, (sum_sq - sum_abs * m) / np.maximum(n - 1, 1), 0.0)
    return np.sqrt(np.maximum(var, 0.0))


def interval_m(
    n,
    sum_abs,
    sum_sq,
    prior_malr=None,
    drift=0.0,
    n0: float = SCORE_N0,
    min_n: int = MIN_SCORE_N,
    group_prior=True,
    shrink_drift: bool = rules.SHRINK_DRIFT,
):
    """Section 2's point and 90% interval on the m scale: ``(m_s, m_low,
    m_high)`` arrays (NaN where n < ``min_n``).

    m_s = (n m + n0 m_prior) / (n + n0) (m alone without a prior: NaN or
    ``None``); se^2 = sd^2 / (n + n0) + the ``drift`` variance of the scope
    (:mod:`calibrate.stats.drift`); with ``shrink_drift`` (the rule,
    :data:`calibrate.rules.SHRINK_DRIFT`) a shrunk interval whose prior is
    its comparison group's MALR (``group_prior``, per entry) adds only
    (n / (n + n0))^2 of it, the share of a window's drift the shrunk point
    carries (the empirical-Bayes posterior variance); with the reference's
    median as the prior, all of it. m_s -+ t(0.95, n - 1) se from 30 tasks, and under 30 the
    log form m_s exp(-+ t se / m_s) with m_s floored at 0.01 (below the floor,
    the same interval shifted to hold m_s). m_low may fall below 0 (a score
    above 100, shown as 100)."""
    n = np.asarray(n, dtype=float)
    sum_abs = np.asarray(sum_abs, dtype=float)
    sum_sq = np.asarray(sum_sq, dtype=float)
    enough = n >= max(min_n, 2)
    safe_n = np.where(enough, n, 2.0)
    m = sum_abs / safe_n
    sd = _sd(safe_n, sum_abs, sum_sq)
    if prior_malr is None:
        prior = np.full(m.shape, np.nan)
    else:
        prior = np.broadcast_to(np.asarray(prior_malr, dtype=float), m.shape)
    shrunk = np.isfinite(prior)
    weight_n0 = np.where(shrunk, float(n0), 0.0)
    m_s = np.where(shrunk, (safe_n * m + weight_n0 * np.where(shrunk, prior, 0.0)), safe_n * m)
    m_s = m_s / (safe_n + weight_n0)
    drift_var = np.broadcast_to(np.asarray(drift, dtype=float), m.shape)
    if shrink_drift:
        scaled = shrunk & np.broadcast_to(np.asarray(group_prior, dtype=bool), m.shape)
        drift_var = np.where(scaled, drift_var * np.square(safe_n / (safe_n + n0)), drift_var)
    se = np.sqrt(np.square(sd) / (safe_n + weight_n0) + drift_var)
    t = t_ppf_array(0.5 + rules.INTERVAL_LEVEL / 2, safe_n - 1)
    base = np.maximum(m_s, rules.LOG_FORM_FLOOR)
    log_form = safe_n < rules.LOG_FORM_BELOW
    # The log form m_s exp(-+ t se / m_s), written as m_s - base (1 - exp(-k)) and
    # m_s + base (exp(k) - 1): the same for m_s >= 0.01, and for a point under the
    # floor an interval that still holds it (and shrinks to it without spread).
    k = t * se / base
    with np.errstate(over="ignore"):
        low = np.where(log_form, m_s - base * -np.expm1(-k), m_s - t * se)
        high = np.where(log_form, m_s + base * np.expm1(k), m_s + t * se)
    nan = np.nan
    return np.where(enough, m_s, nan), np.where(enough, low, nan), np.where(enough, high, nan)


def score_of_m(m) -> np.ndarray:
    """S = 100 * 2^-m, never above 100 (NaN stays NaN)."""
    with np.errstate(over="ignore"):
        return np.minimum(100.0 * np.exp2(-np.asarray(m, dtype=float)), rules.SCORE_MAX)


def score_from_stats(
    n,
    sum_abs,
    sum_sq,
    prior_malr=None,
    drift=0.0,
    n0: float = SCORE_N0,
    min_n: int = MIN_SCORE_N,
    group_prior=True,
):
    """The 0-100 score and its 90% interval from sufficient statistics (section 2).

    S = 100 * 2^-m_s with m_s = (n m + n0 m_prior) / (n + n0), m = sum_abs / n;
    the prior is the MALR of the group the score is shrunk toward (the team
    without the person; everyone without the team). The interval
    (:func:`interval_m`) holds the long-run score: it adds the ``drift``
    variance of the scope to the sampling noise, and is mapped through S (a
    higher m gives a lower S; S never above 100). ``prior_malr=None`` (or NaN)
    gives the raw, unshrunk score and interval (n0 = 0). ``group_prior``:
    whether the prior is the comparison group's MALR (not the reference
    population's median): see :func:`interval_m`.

    Works on scalars, returning ``(score, low, high)`` floats or ``(None,
    None, None)`` when n < ``min_n``; and on arrays (many people at once),
    returning three arrays with NaN where n < ``min_n``.
    """
    scalar = np.ndim(n) == 0 and np.ndim(sum_abs) == 0 and np.ndim(prior_malr) == 0
    m_s, m_low, m_high = interval_m(n, sum_abs, sum_sq, prior_malr, drift, n0, min_n, group_prior)
    score, low, high = score_of_m(m_s), score_of_m(m_high), score_of_m(m_low)
    if scalar:
        return optional(score), optional(low), optional(high)
    return score, low, high


def prior_malr(group_n, group_sum_abs, fallback):
    """The prior a score is shrunk toward (section 2): the comparison group's
    MALR (the team without the person, everyone without the team) where the
    group holds at least :data:`~calibrate.rules.PRIOR_MIN_N` counted tasks in
    the window, else ``fallback`` (the reference population's median m,
    size-matched). Scalars or arrays."""
    n = np.asarray(group_n, dtype=float)
    total = np.asarray(group_sum_abs, dtype=float)
    enough = from_group(n)
    value = np.where(enough, total / np.where(enough, n, 1.0), np.asarray(fallback, dtype=float))
    return float(value) if np.ndim(value) == 0 else value


def from_group(group_n):
    """Whether the prior is the comparison group's MALR (30+ counted tasks in
    the group), not the reference population's median."""
    enough = np.asarray(group_n, dtype=float) >= rules.PRIOR_MIN_N
    return bool(enough) if np.ndim(enough) == 0 else enough


ScoreStatus = Literal["not enough history", "provisional", "ranked"]


def score_status(n: int) -> ScoreStatus:
    """``"not enough history"`` (under 10), ``"provisional"`` (10-29) or ``"ranked"``."""
    if n < MIN_SCORE_N:
        return "not enough history"
    if n < RANKED_N:
        return "provisional"
    return "ranked"


def _far_above(share, team_share, n) -> bool | None:
    if share is None or team_share is None or n < MIN_SCORE_N:
        return None
    noise = 2.0 * math.sqrt(team_share * (1.0 - team_share) / n)
    return bool(share > team_share + max(rules.FLAG_MARGIN, noise))


class PaddingFlag(TypedDict):
    """One of :func:`padding_flags`: a person's share, their team's, and the verdict."""

    share: float | None
    team: float | None
    flag: bool | None


class PaddingFlags(TypedDict):
    exact_hits: PaddingFlag
    early: PaddingFlag


def padding_flags(
    n: int,
    exact: float | None,
    under: float | None,
    team_exact: float | None,
    team_under: float | None,
) -> PaddingFlags:
    """Section 2's flags for one person against their team.

    ``exact_hits``: the exact-hit share far above the team's suggests actuals
    written to match the estimates. ``early``: the share finished under the
    estimate far above the team's suggests padding. "Far above" is more than
    :data:`calibrate.rules.FLAG_MARGIN` and two binomial standard errors over the team's share;
    ``flag`` is ``None`` below 10 tasks.
    """
    return {
        "exact_hits": {
            "share": exact,
            "team": team_exact,
            "flag": _far_above(exact, team_exact, n),
        },
        "early": {"share": under, "team": team_under, "flag": _far_above(under, team_under, n)},
    }
