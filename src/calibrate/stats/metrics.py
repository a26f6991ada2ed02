"""Every score ``calibrate`` shows, as pure functions over arrays (METRICS.md).

No database and no click here: callers hand in numpy arrays (or anything
``np.asarray`` takes) and get plain numbers, dicts or pandas frames back, so
that the panel, the HTML report, ``rank`` and ``forecast`` share one
definition of each figure and tests can check it on hand-computed cases.

Notation: E = original estimate (hours), A = actual (hours), r = log2(A / E).
A task *counts* when E > 0 and A > 0 (both finite); others are ignored.

Section 1, point estimates
    :func:`log_ratio`, :func:`point_summary` / :func:`log_ratio_summary`
    (n, bias = median r, MALR = mean |clip(r, -3, 3)|, typical miss 2^MALR,
    within 25%, over / exact / under), :func:`by_size` (the same per estimate
    bucket), :func:`point_stats_by` (the same for many groups at once).
Section 2, the 0-100 score
    :func:`score_from_stats` (shrunk toward the team, with its 90% interval,
    from n and the sum and sum of squares of |clip(r)|), :func:`score_status`,
    :func:`padding_flags` (exact-hit and early shares far above the team's).
Section 3, ranges
    :func:`range_summary` (hit rate with a Wilson interval, misses below and
    above, the exact binomial coverage test, interval score, widen factor,
    per confidence level with the binomial band), :func:`wilson`,
    :func:`binomial_pmf`, :func:`binomial_cdf`, :func:`binomial_band`.
Section 4, promises
    :func:`promise_outcomes` (kept, broken, exceeded per task),
    :func:`promise_summary` (promise rate, keep rate shrunk toward the team with
    its Wilson interval, exceed rate, promise slack, the three gauges against
    their target bands and the one-line advice).
Section 6, trends
    :func:`week_index`, :func:`weekly_trend` (rolling 8-week figures per ISO
    week), :func:`theil_sen` and :func:`trend_summary` (slope of weekly m with
    its 90% interval).

Figures that need more data than there is come back as ``None`` (``NaN`` in
frames), never as a division by zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from statistics import NormalDist

import numpy as np
import pandas as pd

from calibrate.durations import WEEK_ZERO, week_index, week_monday  # noqa: F401 (the week numbers)
from calibrate.store.settings import SETTINGS

# --- constants (METRICS.md) ---------------------------------------------------

#: |r| is clipped at 3 (a factor of 8) so one disaster cannot drown a year of work.
CLIP_LOG2 = 3.0
#: |r| at or under this is an "exact" hit (about 0.7%).
EXACT_LOG2 = 0.01
WITHIN_LOW = 0.8
WITHIN_HIGH = 1.25
#: Slack for rounding at the inclusive bounds (4h against 5h is exactly 0.8).
BOUND_SLACK = 1e-9
#: Shrinkage strength of the score toward the team: a prior worth 20 tasks.
SCORE_N0 = 20
#: No score below this many counted tasks; provisional below RANKED_N.
MIN_SCORE_N = 10
RANKED_N = 30
#: z for two-sided 90% intervals (METRICS.md writes 1.645).
Z90 = 1.645
#: Estimate buckets (upper bounds, inclusive) for the by-size table.
SIZE_EDGES_H = (1.0, 2.0, 4.0, 8.0, 16.0)
SIZE_LABELS = ("<=1h", "1-2h", "2-4h", "4-8h", "8-16h", ">16h")
#: Shrinkage strength of the keep rate toward the team: a prior worth 10 promises.
KEEP_N0 = 10
#: A promise is exceeded when A <= this share of the promised effort.
EXCEED_EFFORT_SHARE = 0.8
#: Rolling window of the weekly trend, and the n under which a week is faded.
TREND_WINDOW_WEEKS = 8
TREND_FADED_BELOW = 5
#: Weeks with counted tasks needed before a trend is called.
MIN_TREND_WEEKS = 4
#: A person's exact-hit or early share is "far above" the team's when it
#: exceeds it by this much and by two binomial standard errors.
FLAG_MARGIN = 0.15

#: The promise target bands (section 4), as the settings define their defaults.
BAND_KEYS = (
    "promise-rate-min",
    "promise-rate-max",
    "keep-rate-min",
    "keep-rate-flag",
    "exceed-rate-min",
)
DEFAULT_BANDS = {key: SETTINGS[key].default for key in BAND_KEYS}


def _floats(values) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _opt(value) -> float | None:
    """A Python float, or ``None`` for NaN / missing."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


# --- section 1: point estimates -------------------------------------------------


def counted(estimate_h, actual_h) -> np.ndarray:
    """Mask of tasks that count: E > 0 and A > 0, both finite (METRICS.md)."""
    e, a = _floats(estimate_h), _floats(actual_h)
    with np.errstate(invalid="ignore"):
        return np.isfinite(e) & np.isfinite(a) & (e > 0) & (a > 0)


def log_ratio(estimate_h, actual_h) -> np.ndarray:
    """r = log2(A / E) per task; NaN where the task does not count.

    r > 0 means the task overran. Log ratios, not A/E, are what every score
    averages: the arithmetic mean of A/E is biased toward overruns (section 1).
    """
    e, a = _floats(estimate_h), _floats(actual_h)
    ok = counted(e, a)
    out = np.full(e.shape, np.nan)
    out[ok] = np.log2(a[ok] / e[ok])
    return out


def clipped_abs(log_ratios) -> np.ndarray:
    """|clip(r, -3, 3)|: the per-task miss that MALR averages."""
    return np.abs(np.clip(_floats(log_ratios), -CLIP_LOG2, CLIP_LOG2))


def _shares(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-task booleans: within 25%, over, exact, under (section 1)."""
    ratio = np.exp2(r)
    within = (ratio >= WITHIN_LOW - BOUND_SLACK) & (ratio <= WITHIN_HIGH + BOUND_SLACK)
    exact = np.abs(r) <= EXACT_LOG2 + BOUND_SLACK
    over = (r > 0) & ~exact
    under = (r < 0) & ~exact
    return within, over, exact, under


POINT_KEYS = (
    "n",
    "bias",
    "bias_factor",
    "malr",
    "typical_miss",
    "score_raw",
    "within_25",
    "over",
    "exact",
    "under",
    "ratio_p10",
    "ratio_p90",
    "sum_abs",
    "sum_sq",
)


def log_ratio_summary(log_ratios) -> dict:
    """Section 1 over log ratios r (NaN entries are ignored).

    Keys: ``n``; ``bias`` (median r, log2) and ``bias_factor`` (2^bias: "tasks
    take 1.3x your estimate"); ``malr`` (mean |clip(r)|, log2) and
    ``typical_miss`` (2^malr); ``score_raw`` (100 * 2^-malr, unshrunk;
    ``None`` under :data:`MIN_SCORE_N` tasks); ``within_25``, ``over``,
    ``exact``, ``under`` (shares 0-1);
    ``ratio_p10``/``ratio_p90`` (quantiles of A/E); ``sum_abs``/``sum_sq``
    (sufficient statistics of |clip(r)| for :func:`score_from_stats`).
    Everything but n and the sums is ``None`` when n is 0.
    """
    r = _floats(log_ratios)
    r = r[np.isfinite(r)]
    out: dict = dict.fromkeys(POINT_KEYS)
    abs_r = clipped_abs(r)
    out.update(n=int(r.size), sum_abs=float(abs_r.sum()), sum_sq=float(np.square(abs_r).sum()))
    if r.size == 0:
        return out
    within, over, exact, under = _shares(r)
    bias = float(np.median(r))
    malr = float(abs_r.mean())
    p10, p90 = np.quantile(r, [0.1, 0.9])
    out.update(
        bias=bias,
        bias_factor=2.0**bias,
        malr=malr,
        typical_miss=2.0**malr,
        score_raw=100.0 * 2.0**-malr if r.size >= MIN_SCORE_N else None,
        within_25=float(within.mean()),
        over=float(over.mean()),
        exact=float(exact.mean()),
        under=float(under.mean()),
        ratio_p10=float(2.0**p10),
        ratio_p90=float(2.0**p90),
    )
    return out


def point_summary(estimate_h, actual_h) -> dict:
    """Section 1 for one scope: see :func:`log_ratio_summary` for the keys."""
    return log_ratio_summary(log_ratio(estimate_h, actual_h))


def size_bucket(estimate_h) -> np.ndarray:
    """Index into :data:`SIZE_LABELS` per estimate (<=1h, 1-2h, ... >16h;
    upper bounds inclusive)."""
    return np.searchsorted(np.array(SIZE_EDGES_H), _floats(estimate_h), side="left")


def by_size(estimate_h, actual_h) -> list[dict]:
    """Section 1 per estimate bucket: one :func:`point_summary` dict per
    bucket (all six, empty ones with n = 0), plus its ``bucket`` label."""
    e, a = _floats(estimate_h), _floats(actual_h)
    r = log_ratio(e, a)
    buckets = size_bucket(e)
    rows = []
    for index, label in enumerate(SIZE_LABELS):
        row = {"bucket": label, **log_ratio_summary(r[buckets == index])}
        rows.append(row)
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
    within, over, exact, under = _shares(r)
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


def _score_arrays(n, sum_abs, sum_sq, team_malr, n0, min_n):
    n = np.asarray(n, dtype=float)
    sum_abs = np.asarray(sum_abs, dtype=float)
    sum_sq = np.asarray(sum_sq, dtype=float)
    enough = n >= max(min_n, 1)
    safe_n = np.where(enough, n, 1.0)
    m = sum_abs / safe_n
    var = np.where(safe_n > 1, (sum_sq - sum_abs * m) / np.maximum(safe_n - 1, 1), 0.0)
    sd = np.sqrt(np.maximum(var, 0.0))
    half = Z90 * sd / np.sqrt(safe_n)
    m_low, m_high = np.maximum(m - half, 0.0), m + half
    if team_malr is None:
        weight, prior = np.ones_like(m), np.zeros_like(m)
    else:
        prior = np.asarray(team_malr, dtype=float)
        no_prior = ~np.isfinite(prior)
        weight = np.where(no_prior, 1.0, safe_n / (safe_n + n0))
        prior = np.where(no_prior, 0.0, prior)

    def shrink(value):
        return np.maximum(weight * value + (1 - weight) * prior, 0.0)

    score = 100.0 * np.exp2(-shrink(m))
    low = 100.0 * np.exp2(-shrink(m_high))
    high = 100.0 * np.exp2(-shrink(m_low))
    nan = np.nan
    return (np.where(enough, score, nan), np.where(enough, low, nan), np.where(enough, high, nan))


def score_from_stats(
    n, sum_abs, sum_sq, team_malr=None, n0: float = SCORE_N0, min_n: int = MIN_SCORE_N
):
    """The 0-100 score and its 90% interval from sufficient statistics (section 2).

    S = 100 * 2^-m_shrunk with m_shrunk = (n m + n0 m_team) / (n + n0), m =
    sum_abs / n. The interval is m -+ 1.645 sd / sqrt(n) (sd of |clip(r)|,
    sample standard deviation from ``sum_sq``), floored at 0, shrunk like m and
    mapped through S (a higher m gives a lower S). ``team_malr=None`` (or NaN)
    gives the raw, unshrunk score and interval.

    Works on scalars, returning ``(score, low, high)`` floats or ``(None,
    None, None)`` when n < ``min_n``; and on arrays (many people at once),
    returning three arrays with NaN where n < ``min_n``.
    """
    scalar = np.ndim(n) == 0 and np.ndim(sum_abs) == 0 and np.ndim(team_malr) == 0
    score, low, high = _score_arrays(n, sum_abs, sum_sq, team_malr, n0, min_n)
    if scalar:
        return _opt(score), _opt(low), _opt(high)
    return score, low, high


def score_status(n: int) -> str:
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
    return bool(share > team_share + max(FLAG_MARGIN, noise))


def padding_flags(
    n: int,
    exact: float | None,
    under: float | None,
    team_exact: float | None,
    team_under: float | None,
) -> dict:
    """Section 2's flags for one person against their team.

    ``exact_hits``: the exact-hit share far above the team's suggests actuals
    written to match the estimates. ``early``: the share finished under the
    estimate far above the team's suggests padding. "Far above" is more than
    :data:`FLAG_MARGIN` and two binomial standard errors over the team's share;
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


# --- binomial helpers ----------------------------------------------------------------


def wilson(successes, n, z: float = Z90):
    """Wilson score interval for a share (90% by default): ``(low, high)``.

    Scalars give floats, or ``(None, None)`` when n is 0; arrays give arrays
    with NaN where n is 0.
    """
    scalar = np.ndim(successes) == 0 and np.ndim(n) == 0
    k = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    safe = np.where(total > 0, total, 1.0)
    p = k / safe
    z2 = z * z
    denom = 1.0 + z2 / safe
    centre = (p + z2 / (2 * safe)) / denom
    half = z / denom * np.sqrt(np.maximum(p * (1 - p) / safe + z2 / (4 * safe * safe), 0.0))
    low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if scalar:
        return _opt(low), _opt(high)
    return low, high


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """P(X = k) for k = 0..n, X ~ Binomial(n, p); exact to rounding for any n
    (log-space recurrence, no factorials)."""
    n = int(n)
    if n < 0:
        raise ValueError("n must be >= 0")
    if p <= 0 or p >= 1:
        pmf = np.zeros(n + 1)
        pmf[0 if p <= 0 else n] = 1.0
        return pmf
    k = np.arange(1, n + 1, dtype=float)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(n - k + 1) - np.log(k))])
    kk = np.arange(n + 1, dtype=float)
    log_pmf = log_choose + kk * math.log(p) + (n - kk) * math.log1p(-p)
    return np.exp(log_pmf)


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size * b.size <= 4_000_000:
        return np.convolve(a, b)
    size = a.size + b.size - 1
    fft_size = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, fft_size) * np.fft.rfft(b, fft_size), fft_size)[:size]
    return np.clip(out, 0.0, None)


def hits_pmf(confidences) -> np.ndarray:
    """Distribution of the number of hits when task i hits with probability
    c_i (Poisson binomial): exact binomials per distinct level, convolved."""
    c = _floats(confidences)
    pmf = np.ones(1)
    levels, counts = np.unique(c, return_counts=True)
    for level, count in zip(levels, counts, strict=True):
        pmf = _convolve(pmf, binomial_pmf(int(count), float(level)))
    return pmf


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(min(1.0, binomial_pmf(n, p)[: k + 1].sum()))


def binomial_band(n: int, p: float, level: float = 0.90) -> tuple[float, float] | tuple[None, None]:
    """The central ``level`` band of the observed share X/n when X ~
    Binomial(n, p): the band around the diagonal of the calibration chart."""
    if n <= 0:
        return None, None
    cdf = np.cumsum(binomial_pmf(n, p))
    tail = (1.0 - level) / 2
    low = int(np.searchsorted(cdf, tail - 1e-12, side="left"))
    high = int(np.searchsorted(cdf, 1.0 - tail - 1e-12, side="left"))
    return low / n, min(high, n) / n


# --- section 3: ranges ----------------------------------------------------------------

RANGE_KEYS = (
    "n",
    "hits",
    "below",
    "above",
    "hit_rate",
    "hit_low",
    "hit_high",
    "miss_below",
    "miss_above",
    "nominal",
    "p_value",
    "p_value_wide",
    "verdict",
    "interval_score",
    "widen_factor",
)
#: The coverage test's threshold: "too narrow" when P(X <= hits) < 0.05.
COVERAGE_ALPHA = 0.05


def range_summary(low_h, high_h, actual_h, confidence=0.90) -> dict:
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
    low, high, actual = _floats(low_h), _floats(high_h), _floats(actual_h)
    conf = np.broadcast_to(_floats(confidence), low.shape) if low.size else _floats([])
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
    out: dict = dict.fromkeys(RANGE_KEYS)
    out["levels"] = []
    low, high, actual, conf = low[ok], high[ok], actual[ok], conf[ok]
    n = int(low.size)
    out["n"] = n
    if n == 0:
        out.update(hits=0, below=0, above=0)
        return out
    below = actual < low
    above = actual > high
    hit = ~below & ~above
    hits = int(hit.sum())
    hit_low, hit_high = wilson(hits, n)
    pmf = hits_pmf(conf)
    p_value = float(min(1.0, pmf[: hits + 1].sum()))
    p_value_wide = float(min(1.0, pmf[hits:].sum()))
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
    out.update(
        hits=hits,
        below=int(below.sum()),
        above=int(above.sum()),
        hit_rate=hits / n,
        hit_low=hit_low,
        hit_high=hit_high,
        miss_below=float(below.mean()),
        miss_above=float(above.mean()),
        nominal=nominal,
        p_value=p_value,
        p_value_wide=p_value_wide,
        verdict=verdict,
        interval_score=float(interval_score.mean()),
        widen_factor=float(np.quantile(spread, nominal)),
    )
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


# --- section 4: promises ----------------------------------------------------------------


def _dates(values) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[D]").reshape(-1)


def promise_outcomes(
    *,
    status,
    promise_h,
    due,
    done_date,
    actual_h,
    today: date,
    weekmask: str | Sequence[str] = "1111100",
    holidays: Sequence[str] = (),
) -> pd.DataFrame:
    """Per task: has it a promise, is that promise due, kept, exceeded (section 4).

    Arrays, one entry per task: ``status`` (open | started | done | dropped),
    ``promise_h`` (promised effort, NaN for none), ``due`` (promised date,
    NaT for none), ``done_date`` (the *local* date it was finished, NaT if
    not), ``actual_h`` (NaN if none). ``today`` is the local date;
    ``weekmask`` and ``holidays`` give the working days (numpy busday rules).

    A task is finished when done, or not dropped with an actual and a done
    date (imported finished work). A promise is *due* (resolved) when its task
    is finished (and its outcome is known), dropped (broken), or open past its
    due date (broken from the day after). Kept: finished on or before the due
    date and, for an effort promise, A <= promised. Exceeded: kept with A <=
    0.8 x promised, or finished at least one working day before the due date
    (a working day in (done date, due]). ``slack`` is promised / A for kept
    effort promises.
    """
    status = np.asarray(status, dtype=object).reshape(-1)
    promise = _floats(promise_h)
    due_d = _dates(due)
    done_d = _dates(done_date)
    actual = _floats(actual_h)
    today_d = np.datetime64(today, "D")
    has_effort = np.isfinite(promise)
    has_due = ~np.isnat(due_d)
    has_promise = has_effort | has_due
    has_actual = np.isfinite(actual) & (actual > 0)
    dropped = status == "dropped"
    finished = (status == "done") | (~dropped & has_actual & ~np.isnat(done_d))
    open_ = ~finished & ~dropped
    overdue = open_ & has_due & (due_d < today_d)
    known = finished & (~has_effort | has_actual) & (~has_due | ~np.isnat(done_d))
    resolved = has_promise & (known | dropped | overdue)
    with np.errstate(invalid="ignore"):
        on_time = ~has_due | (done_d <= due_d)
        within_effort = ~has_effort | (actual <= promise * (1 + BOUND_SLACK))
        early_effort = has_effort & (actual <= EXCEED_EFFORT_SHARE * promise * (1 + BOUND_SLACK))
    kept = resolved & known & on_time & within_effort
    early_date = np.zeros(kept.shape, dtype=bool)
    dated = kept & has_due
    if dated.any():
        calendar = np.busdaycalendar(weekmask=weekmask, holidays=list(holidays))
        early_date[dated] = (
            np.busday_count(done_d[dated] + 1, due_d[dated] + 1, busdaycal=calendar) >= 1
        )
    exceeded = kept & (early_effort | early_date)
    slack = np.full(kept.shape, np.nan)
    effort_kept = kept & has_effort
    slack[effort_kept] = promise[effort_kept] / actual[effort_kept]
    return pd.DataFrame(
        {
            "has_promise": has_promise,
            "resolved": resolved,
            "kept": kept,
            "broken": resolved & ~kept,
            "exceeded": exceeded,
            "slack": slack,
        }
    )


def _band_status(value: float | None, low: float | None, high: float | None) -> str | None:
    if value is None:
        return None
    if low is not None and value < low - BOUND_SLACK:
        return "below"
    if high is not None and value > high + BOUND_SLACK:
        return "above"
    return "in band"


def promise_summary(
    outcomes: pd.DataFrame | None,
    *,
    logged: int,
    promised: int,
    team_keep_rate: float | None = None,
    bands: Mapping[str, float] | None = None,
    n0: float = KEEP_N0,
) -> dict:
    """Section 4 for one scope: rates, gauges and advice.

    ``outcomes`` is :func:`promise_outcomes`'s frame for the promises whose
    outcome fell in the window; ``logged`` and ``promised`` count the tasks
    logged in the window and those of them with a promise (the promise rate).
    ``team_keep_rate`` is the team's raw keep rate (``None``: no shrinkage).
    ``bands`` holds the settings promise-rate-min/max, keep-rate-min,
    keep-rate-flag and exceed-rate-min.

    Keys: ``logged``, ``promised``, ``promise_rate``; ``due``, ``kept``,
    ``broken``, ``exceeded``; ``keep_rate`` = (k + 10 p_team) / (n + 10) with
    ``keep_low``/``keep_high`` (the Wilson 90% interval of k/n, shrunk the same
    way) and ``keep_rate_raw`` (k/n) with ``keep_raw_low``/``keep_raw_high``;
    ``exceed_rate``; ``slack`` (median promised / A over kept effort
    promises) with ``slack_n``; ``gauges`` (promise_rate, keep_rate,
    exceed_rate: value, target band, status); ``advice`` (lines of text).
    Rates are ``None`` when their denominator is 0.
    """
    band = {**DEFAULT_BANDS, **(bands or {})}
    if outcomes is None or not len(outcomes):
        due = kept = exceeded = 0
        slack_values = np.array([])
    else:
        resolved = outcomes[outcomes["resolved"]]
        due = len(resolved)
        kept = int(resolved["kept"].sum())
        exceeded = int(resolved["exceeded"].sum())
        slack_values = resolved["slack"].dropna().to_numpy()
    promise_rate = promised / logged if logged else None
    keep_raw = kept / due if due else None
    keep_raw_low, keep_raw_high = wilson(kept, due)
    prior = team_keep_rate if team_keep_rate is not None and due else None

    def shrink(value):
        if value is None or prior is None:
            return value
        return (due * value + n0 * prior) / (due + n0)

    out = {
        "logged": int(logged),
        "promised": int(promised),
        "promise_rate": promise_rate,
        "due": due,
        "kept": kept,
        "broken": due - kept,
        "exceeded": exceeded,
        "keep_rate": shrink(keep_raw),
        "keep_low": shrink(keep_raw_low),
        "keep_high": shrink(keep_raw_high),
        "keep_rate_raw": keep_raw,
        "keep_raw_low": keep_raw_low,
        "keep_raw_high": keep_raw_high,
        "team_keep_rate": team_keep_rate,
        "exceed_rate": exceeded / due if due else None,
        "slack": float(np.median(slack_values)) if slack_values.size else None,
        "slack_n": int(slack_values.size),
    }
    keep_status = _band_status(out["keep_rate"], band["keep-rate-min"], None)
    if out["keep_rate"] is not None and out["keep_rate"] < band["keep-rate-flag"] - BOUND_SLACK:
        keep_status = "flag"
    out["gauges"] = {
        "promise_rate": {
            "value": promise_rate,
            "min": band["promise-rate-min"],
            "max": band["promise-rate-max"],
            "status": _band_status(
                promise_rate, band["promise-rate-min"], band["promise-rate-max"]
            ),
        },
        "keep_rate": {
            "value": out["keep_rate"],
            "min": band["keep-rate-min"],
            "flag": band["keep-rate-flag"],
            "status": keep_status,
        },
        "exceed_rate": {
            "value": out["exceed_rate"],
            "min": band["exceed-rate-min"],
            "status": _band_status(out["exceed_rate"], band["exceed-rate-min"], None),
        },
    }
    out["advice"] = promise_advice(out, band)
    return out


def promise_advice(summary: Mapping, band: Mapping[str, float]) -> list[str]:
    """Section 4's one-line advice: too many promises, too few kept, none made."""
    advice = []
    rate = summary["promise_rate"]
    if summary["logged"] and summary["promised"] == 0:
        advice.append("You made no promises: make some, on the tasks others wait for.")
    elif rate is not None and rate > band["promise-rate-max"] + BOUND_SLACK:
        advice.append(
            f"You promise on {rate:.0%} of your tasks: promise less, and keep the ones you make."
        )
    elif rate is not None and rate < band["promise-rate-min"] - BOUND_SLACK:
        advice.append(
            f"You promise on only {rate:.0%} of your tasks: make a few more, on the tasks "
            "others wait for."
        )
    keep = summary["keep_rate"]
    if keep is not None and keep < band["keep-rate-flag"] - BOUND_SLACK:
        advice.append(
            f"Fewer than {band['keep-rate-flag']:.0%} of your promises are kept: promise at "
            "your P90 (see 'calibrate suggest')."
        )
    slack = summary["slack"]
    if slack is not None and slack > 1.0 + BOUND_SLACK:
        advice.append(
            f"Your safe promises cost {slack:.1f}x the work; narrower estimates make them cheaper."
        )
    return advice


# --- section 6: trends ----------------------------------------------------------------------


TREND_COLUMNS = (
    "week",
    "start",
    "n_week",
    "m_week",
    "n",
    "bias",
    "bias_factor",
    "malr",
    "typical_miss",
    "score_raw",
    "within_25",
    "over",
    "exact",
    "under",
    "faded",
)


def weekly_trend(
    weeks,
    log_ratios,
    *,
    first_week: int | None = None,
    last_week: int | None = None,
    window: int = TREND_WINDOW_WEEKS,
    faded_below: int = TREND_FADED_BELOW,
) -> pd.DataFrame:
    """Section 6: per week, the section-1 figures over the rolling ``window``
    weeks ending that week.

    ``weeks`` are :func:`week_index` numbers, one per task (negative: no
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
    r = _floats(log_ratios)
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
    within, over, exact, under = _shares(r)

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


def theil_sen(x, y, confidence: float = 0.90) -> dict:
    """Theil-Sen line through (x, y) with the slope's ``confidence`` interval.

    The slope is the median of all pairwise slopes; the interval takes the
    order statistics of those slopes that Kendall's tau variance gives (Sen
    1968); the intercept is median(y - slope x). Returns ``slope``, ``low``,
    ``high``, ``intercept`` and ``n`` (points), all ``None`` under 2 points
    with distinct x.
    """
    xs, ys = _floats(x), _floats(y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    out = {"n": int(xs.size), "slope": None, "low": None, "high": None, "intercept": None}
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
    out.update(
        slope=slope,
        low=float(slopes[lower]),
        high=float(slopes[upper]),
        intercept=float(np.median(ys - slope * xs)),
    )
    return out


def trend_summary(trend: pd.DataFrame, confidence: float = 0.90) -> dict:
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
    out = {
        "weeks_used": int(xs.size),
        **{k: line[k] for k in ("slope", "low", "high", "intercept")},
    }
    if xs.size < MIN_TREND_WEEKS or line["slope"] is None:
        out["verdict"] = None
    elif line["high"] < 0:
        out["verdict"] = "improving"
    elif line["low"] > 0:
        out["verdict"] = "worsening"
    else:
        out["verdict"] = "no clear change"
    return out
