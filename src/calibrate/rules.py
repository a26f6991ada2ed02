"""The rules of METRICS.md, each written once, as data.

What counts, when a task is within 25% or an exact hit, the six size buckets,
when a promise is judged, the mid-rank percentile and every default a score
uses live here, and nowhere else. Everything that applies a rule builds its
form from this module: the SQL clauses the loaders filter with
(:func:`counted_sql`, :func:`size_bucket_sql`, :func:`promise_window`), the
scalar forms the everyday commands use without numpy (:func:`size_bucket`,
:func:`midrank_percentile`) and the array forms the statistics use
(:func:`counted_mask`, :func:`size_buckets`, :func:`within_mask`,
:func:`exact_mask`, :func:`midrank_percentiles`: numpy is imported inside
them, so this module stays on the start-up path of ``calibrate add`` with the
standard library alone).

Notation (METRICS.md): E = original estimate (hours), A = actual (hours),
r = log2(A / E); r > 0 means the task overran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

#: METRICS.md's version; summaries and the reference table carry it.
SCORE_VERSION = 2

# --- section 1: what counts, and the point figures -------------------------------------

#: A task counts in every score when E > 0, A > 0 and it is not dropped,
#: whatever status an import gave it (an imported row with an actual is finished).
COUNTED_SQL = "{t}estimate_h > 0 AND {t}actual_h > 0 AND {t}status != 'dropped'"
#: |r| is clipped at 3 (a factor of 8) so one disaster cannot drown a year of work.
CLIP_LOG2 = 3.0
#: |r| at or under this is an exact hit (about 0.7%); over and under are beyond it.
EXACT_LOG2 = 0.01
#: Within 25%: WITHIN_LOW <= A/E <= WITHIN_HIGH, bounds inclusive.
WITHIN_LOW = 0.8
WITHIN_HIGH = 1.25
#: Slack for rounding at inclusive bounds (4h against 5h is exactly 0.8).
BOUND_SLACK = 1e-9


def counted_sql(alias: str = "") -> str:
    """The counted-task rule as a SQL condition (``alias``: a table alias)."""
    return COUNTED_SQL.format(t=f"{alias}." if alias else "")


def counted_mask(estimate_h, actual_h, status=None):
    """The counted-task rule over arrays: E > 0 and A > 0, both finite, and,
    given the ``status`` texts, not dropped (without them, the loaders' SQL
    has left the dropped tasks out already)."""
    import numpy as np

    e = np.asarray(estimate_h, dtype=float).reshape(-1)
    a = np.asarray(actual_h, dtype=float).reshape(-1)
    with np.errstate(invalid="ignore"):
        counted = np.isfinite(e) & np.isfinite(a) & (e > 0) & (a > 0)
    if status is not None:
        counted &= np.asarray(status, dtype=object).reshape(-1) != "dropped"
    return counted


def exact_mask(log_ratios):
    """Exact hits: |r| <= 0.01 (with the rounding slack)."""
    import numpy as np

    return np.abs(np.asarray(log_ratios, dtype=float)) <= EXACT_LOG2 + BOUND_SLACK


def over_mask(log_ratios):
    """Overruns beyond an exact hit: r > 0.01."""
    import numpy as np

    return np.asarray(log_ratios, dtype=float) > EXACT_LOG2 + BOUND_SLACK


def under_mask(log_ratios):
    """Underruns beyond an exact hit: r < -0.01."""
    import numpy as np

    return np.asarray(log_ratios, dtype=float) < -(EXACT_LOG2 + BOUND_SLACK)


def within_mask(log_ratios):
    """Within 25%: 0.8 <= A/E <= 1.25, bounds inclusive (with the slack)."""
    import numpy as np

    ratio = np.exp2(np.asarray(log_ratios, dtype=float))
    return (ratio >= WITHIN_LOW - BOUND_SLACK) & (ratio <= WITHIN_HIGH + BOUND_SLACK)


# --- size buckets (sections 1, 5 and 7) -------------------------------------------------

#: Upper bounds (inclusive) of the estimate buckets; the last bucket is open.
SIZE_EDGES_H = (1.0, 2.0, 4.0, 8.0, 16.0)
SIZE_LABELS = ("<=1h", "1-2h", "2-4h", "4-8h", "8-16h", ">16h")


def size_bucket(estimate_h: float) -> int:
    """Index into :data:`SIZE_LABELS` of one estimate (upper bounds inclusive):
    how many upper bounds lie below it (``bisect_left``, without importing it
    on ``add``'s start-up path)."""
    return sum(edge < estimate_h for edge in SIZE_EDGES_H)


def size_buckets(estimate_h):
    """:func:`size_bucket` over an array."""
    import numpy as np

    edges = np.asarray(SIZE_EDGES_H)
    return np.searchsorted(edges, np.asarray(estimate_h, dtype=float).reshape(-1), side="left")


def size_bucket_sql(column: str = "estimate_h") -> str:
    """:func:`size_bucket` as a SQL expression over ``column``."""
    whens = " ".join(
        f"WHEN {column} <= {edge!r} THEN {index}" for index, edge in enumerate(SIZE_EDGES_H)
    )
    return f"(CASE {whens} ELSE {len(SIZE_EDGES_H)} END)"


def size_bounds_sql(bucket: int, column: str = "estimate_h") -> tuple[str, list[float]]:
    """A SQL condition for the estimates in ``bucket`` that can use an index on
    ``column`` (a range, not :func:`size_bucket_sql`), and its parameters."""
    clauses, params = [], []
    if bucket > 0:
        clauses.append(f"{column} > ?")
        params.append(SIZE_EDGES_H[bucket - 1])
    if bucket < len(SIZE_EDGES_H):
        clauses.append(f"{column} <= ?")
        params.append(SIZE_EDGES_H[bucket])
    return " AND ".join(clauses) or "1", params


# --- section 2: the score ---------------------------------------------------------------

#: Shrinkage strength of the score toward its prior, in tasks (empirical Bayes on
#: CESAW: within-person variance of |clip(r)| 0.79, between people 0.083).
SCORE_N0 = 10
#: No score below this many counted tasks; provisional below RANKED_N.
MIN_SCORE_N = 10
RANKED_N = 30
#: The prior of a score is its comparison group's MALR (the team without the
#: person, everyone without the team) when that group has at least this many
#: counted tasks in the window; else the reference population's median m.
PRIOR_MIN_N = 30
#: The level of every interval the tool states about itself (the score's, a
#: share's Wilson interval, the binomial band, the trend's slope): 90%.
INTERVAL_LEVEL = 0.90
#: z of those two-sided 90% intervals, as METRICS.md writes it (1.645, not the
#: exact 1.6448536...: the figures shown are computed with this value).
Z90 = 1.645
#: The score's interval is m_s -+ t(0.95, n - 1) se from this many tasks; under
#: it, the log form m_s * exp(-+ t se / m_s), with m_s floored at LOG_FORM_FLOOR.
LOG_FORM_BELOW = 30
LOG_FORM_FLOOR = 0.01
#: The score never shows above this.
SCORE_MAX = 100.0

#: The drift of accuracy between periods (METRICS.md section 2): a person's
#: window m scatters around their long-run m by tau_p^2 * L / (L + n) beyond
#: the sampling noise; a team's people drift partly together, tau_t^2 * L_t /
#: (L_t + n) more. Fitted by ``scripts/fit_drift.py`` on ../shared/data
#: (regenerate: ``.venv/bin/python scripts/fit_drift.py``; a test checks that a
#: rerun gives these numbers): the person term on CESAW and SiP pooled, window
#: sizes 30, 100, 300; the team term on CESAW teams, window sizes 100, 300,
#: 1,000 (fitted on 30, 100, 300 it decays too fast and fails the 1,000-task
#: row: docs/metrics.md, "How far to trust these numbers").
DRIFT_PERSON_TAU2 = 0.06075
DRIFT_PERSON_L = 252.0
DRIFT_TEAM_TAU2 = 0.02248
DRIFT_TEAM_L = 1744.6
#: Window sizes of the two fits, and the other tasks a window's person (team)
#: needs beside it to be used.
DRIFT_PERSON_SIZES = (30, 100, 300)
DRIFT_TEAM_SIZES = (100, 300, 1000)
DRIFT_REST_MIN = 300
#: The shrunk score carries only n / (n + n0) of a window's drift, so its
#: interval adds that share, squared, of the drift variance when its prior is
#: the comparison group's MALR (the empirical-Bayes posterior variance); with
#: the reference population's median as the prior (another population: the
#: datasets' medians differ by 0.3 log2), and in the raw interval, all of it.
#: A deviation from METRICS.md section 2 (which adds all of it everywhere), made
#: because the coverage suite finds that interval too wide at 10 tasks:
#: docs/metrics.md, "How far to trust these numbers", has the figures all ways.
SHRINK_DRIFT = True

#: A person's exact-hit or early share is "far above" the team's when it exceeds
#: it by this much and by two binomial standard errors.
FLAG_MARGIN = 0.15

# --- section 3: ranges ------------------------------------------------------------------

#: The confidence of a range given without one, in percent.
DEFAULT_CONFIDENCE = 90.0
#: The same as a fraction, as the statistics take it.
DEFAULT_CONFIDENCE_SHARE = DEFAULT_CONFIDENCE / 100


#: A range holds its actual when L <= A <= H, each bound with this relative slack
#: (so a timer total equal to the high bound counts as inside).
RANGE_SLACK = BOUND_SLACK
#: The widen factor's histogram in summaries: bins of this width over
#: |y - centre| / halfwidth, the last bin (the cap) holding everything above.
SPREAD_BIN = 0.01
SPREAD_CAP = 50.0
#: The clip(r) histogram of summaries (for medians): bins of this width, the
#: end bins the caps at -3 and 3.
HISTOGRAM_BIN = 0.01


def range_hit_masks(low_h, high_h, actual_h):
    """``(below, above)``: the actual under L, and over H, beyond the slack;
    a hit is neither."""
    import numpy as np

    low = np.asarray(low_h, dtype=float)
    high = np.asarray(high_h, dtype=float)
    actual = np.asarray(actual_h, dtype=float)
    below = actual < low * (1 - RANGE_SLACK)
    above = actual > high * (1 + RANGE_SLACK)
    return below, above


def conformal_rank(n: int, confidence_percent: float) -> int:
    """The rank k of the split-conformal widen factor: ceil((n + 1) c / 100) in
    exact arithmetic (c in percent, a whole number or a short decimal); more
    than n when there are too few ranges to say."""
    from fractions import Fraction

    c = Fraction(str(round(float(confidence_percent), 6)))
    return math.ceil((n + 1) * c / 100)


def range_confidence(low_h: float | None, confidence: float | None) -> float | None:
    """The confidence a task's range is held at: the one given, else
    :data:`DEFAULT_CONFIDENCE` when there is a range (a ``low_h``)."""
    return DEFAULT_CONFIDENCE if low_h is not None and confidence is None else confidence


def confidence_sql(column: str = "confidence") -> str:
    """A range's confidence in percent, the default where none was given."""
    return f"coalesce({column}, {DEFAULT_CONFIDENCE!r})"


# --- section 4: promises ----------------------------------------------------------------

HAS_PROMISE_SQL = "({t}promise_h IS NOT NULL OR {t}due IS NOT NULL)"
#: A kept promise is exceeded when A <= this share of the promised effort (or
#: it was done at least one working day early).
EXCEED_EFFORT_SHARE = 0.8
#: The keep rate is the posterior Beta(k + w p, n - k + w (1 - p)), a prior worth
#: KEEP_PRIOR_WEIGHT promises at the rest of the team's rate p, clamped to
#: KEEP_PRIOR_CLAMP; with fewer than KEEP_PRIOR_MIN promises due in the rest of
#: the team, Jeffreys: Beta(k + 1/2, n - k + 1/2).
KEEP_PRIOR_WEIGHT = 4.0
KEEP_PRIOR_CLAMP = (0.02, 0.98)
KEEP_PRIOR_MIN = 20
JEFFREYS = 0.5
#: The promise target bands: settings of these names, with these defaults.
DEFAULT_BANDS = {
    "promise-rate-min": 0.20,
    "promise-rate-max": 0.50,
    "keep-rate-min": 0.85,
    "keep-rate-flag": 0.80,
    "exceed-rate-min": 0.10,
}


def has_promise_sql(alias: str = "") -> str:
    """A task carries a promise: an effort, a date, or both."""
    return HAS_PROMISE_SQL.format(t=f"{alias}." if alias else "")


def has_promise_mask(promise_h, due):
    """:func:`has_promise_sql` over arrays: ``promise_h`` (NaN for none) and
    ``due`` (``datetime64``, NaT for none; or texts, ``None`` for none)."""
    import numpy as np

    due = np.asarray(due).reshape(-1)
    none = np.array(None, dtype=object)  # compared element by element
    has_due = ~np.isnat(due) if due.dtype.kind == "M" else np.not_equal(due, none)
    return np.isfinite(np.asarray(promise_h, dtype=float).reshape(-1)) | has_due


def promise_window(
    since_utc: str | None,
    until_utc: str | None,
    first_day: str | None,
    end_day: str | None,
    alias: str = "",
) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for promises judged in a window.

    A promise is judged when its task is done or dropped (by ``done_at``, a UTC
    moment, against the window's UTC bounds), else on its due date (a local
    date, against the window's first and end days): an open task past its due
    date is broken from that day.
    """
    t = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[Any] = []
    if since_utc is not None:
        clauses.append(
            f"(CASE WHEN {t}done_at IS NOT NULL THEN {t}done_at >= ? ELSE {t}due >= ? END)"
        )
        params += [since_utc, first_day]
    if until_utc is not None:
        clauses.append(
            f"(CASE WHEN {t}done_at IS NOT NULL THEN {t}done_at < ? ELSE {t}due < ? END)"
        )
        params += [until_utc, end_day]
    return clauses, params


def promise_window_mask(done, due, since=None, until=None, first_day=None, end_day=None):
    """:func:`promise_window` over arrays: ``done`` the tasks' UTC done
    moments (``datetime64``, NaT when not done or not readable), ``due``
    their due dates (``datetime64[D]``, NaT without one), and the window's
    UTC bounds and local first and end days as ``datetime64`` (``None``: open)."""
    import numpy as np

    done = np.asarray(done).reshape(-1)
    due = np.asarray(due, dtype="datetime64[D]").reshape(-1)
    has_done = ~np.isnat(done)
    by_done, by_due = has_done.copy(), ~np.isnat(due)
    if since is not None:
        by_done &= done >= since
        by_due &= due >= first_day
    if until is not None:
        by_done &= done < until
        by_due &= due < end_day
    return np.where(has_done, by_done, by_due)


# --- section 4, one task at a time: the verdicts of list, show and status ----------------

#: What a task's promise is, as ``list``, ``show`` and their JSON say it (people
#: read the last one "at risk"): the outcome of a resolved promise, else pending,
#: or at risk (open, and either AT_RISK_EFFORT_SHARE of a promised effort used
#: or the due date within AT_RISK_WORKING_DAYS working days).
PROMISE_VERDICTS = ("kept", "exceeded", "broken", "pending", "at-risk")
AT_RISK_EFFORT_SHARE = 0.8
AT_RISK_WORKING_DAYS = 1
#: Where a finished task's actual fell against its range (section 3's slack).
RANGE_VERDICTS = ("inside", "below", "above")
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def working_weekdays(weekmask: str = "1111100") -> frozenset[int]:
    """The working weekdays (Monday is 0) of a numpy weekmask: ``"1111100"``
    or day names, ``"Mon Tue Wed Thu Fri"`` (:func:`calibrate.store.settings.calendar`)."""
    text = weekmask.strip()
    if len(text) == 7 and set(text) <= {"0", "1"}:
        return frozenset(i for i, flag in enumerate(text) if flag == "1")
    return frozenset(
        _DAY_NAMES.index(w[:3].lower()) for w in text.split() if w[:3].lower() in _DAY_NAMES
    )


def working_days_between(
    first: date,
    last: date,
    weekmask: str = "1111100",
    holidays: Sequence[str] = (),
    *,
    at_most: int | None = None,
) -> int:
    """Working days in (first, last] (numpy's ``busday_count(first + 1, last +
    1)``); 0 when ``last`` is not after ``first``. Counting stops past
    ``at_most`` (the verdicts ask only whether there are 0, 1 or 2)."""
    from datetime import timedelta

    workdays = working_weekdays(weekmask)
    if not workdays or last <= first:
        return 0
    off = set(holidays)
    count, day = 0, first
    span = (last - first).days
    for _ in range(span if at_most is None else min(span, 7 * (at_most + 1 + len(off)))):
        day += timedelta(days=1)
        if day.weekday() in workdays and day.isoformat() not in off:
            count += 1
            if at_most is not None and count > at_most:
                break
    return count


def promise_verdict(
    *,
    status: str,
    promise_h: float | None,
    due: date | None,
    done_date: date | None,
    actual_h: float | None,
    used_h: float,
    today: date,
    weekmask: str = "1111100",
    holidays: Sequence[str] = (),
) -> str | None:
    """One task's promise verdict (:data:`PROMISE_VERDICTS`), ``None`` without
    a promise: section 4's rules for one task, in plain Python (``list`` and
    ``show`` need no numpy). :func:`calibrate.stats.promises.promise_outcomes`
    is its twin over arrays (a test holds them to the same answers): kept,
    exceeded and broken there are the verdicts here, and an unresolved promise
    is pending, or at risk.

    ``done_date`` is the local date the task was finished (``None`` if not);
    ``used_h`` the effort spent so far (the actual, else the timer's total);
    ``weekmask`` and ``holidays`` the working days (numpy's terms).
    """
    if promise_h is None and due is None:
        return None
    if status == "dropped":
        return "broken"
    actual = actual_h if actual_h is not None and actual_h > 0 else None
    if not (status == "done" or (actual is not None and done_date is not None)):  # open
        if due is not None and due < today:
            return "broken"
        used_up = promise_h is not None and used_h >= AT_RISK_EFFORT_SHARE * promise_h * (
            1 - BOUND_SLACK
        )
        near = (
            due is not None
            and working_days_between(today, due, weekmask, holidays, at_most=AT_RISK_WORKING_DAYS)
            <= AT_RISK_WORKING_DAYS
        )
        return "at-risk" if used_up or near else "pending"
    if (promise_h is not None and actual is None) or (due is not None and done_date is None):
        return "pending"  # finished, but its outcome is not known
    on_time = due is None or done_date is None or done_date <= due
    within = promise_h is None or actual is None or actual <= promise_h * (1 + BOUND_SLACK)
    if not (on_time and within):
        return "broken"
    early_effort = (
        promise_h is not None
        and actual is not None
        and actual <= EXCEED_EFFORT_SHARE * promise_h * (1 + BOUND_SLACK)
    )
    early_date = (
        due is not None
        and done_date is not None
        and working_days_between(done_date, due, weekmask, holidays, at_most=1) >= 1
    )
    return "exceeded" if early_effort or early_date else "kept"


def range_verdict(low_h: float | None, high_h: float | None, actual_h: float | None) -> str | None:
    """Where a finished task's actual fell against its range (section 3:
    inside, below or above, the bounds with :data:`RANGE_SLACK`); ``None``
    without a range or an actual. :func:`range_hit_masks` is its array twin."""
    if low_h is None or high_h is None or actual_h is None or not actual_h > 0:
        return None
    if actual_h < low_h * (1 - RANGE_SLACK):
        return "below"
    if actual_h > high_h * (1 + RANGE_SLACK):
        return "above"
    return "inside"


# --- section 5: percentile ranks --------------------------------------------------------

#: Scores are compared rounded to this many decimals, so that a score computed
#: two ways (from tasks, from a summary) ties with itself.
COMPARE_DECIMALS = 9


def midrank_percent(below, equal, size):
    """P = 100 * (below + 0.5 * equal) / N from the counts (scalars or arrays):
    the formula every form below applies."""
    return 100.0 * (below + 0.5 * equal) / size


def midrank_percentile(value: float, population: Sequence[float]) -> float:
    """P = 100 * (below + 0.5 * equal) / N of ``value`` among ``population``
    (sorted ascending, compared at :data:`COMPARE_DECIMALS`)."""
    import bisect

    if not population:
        raise ValueError("an empty population has no percentiles")
    key = round(value, COMPARE_DECIMALS)
    below = bisect.bisect_left(population, key)
    equal = bisect.bisect_right(population, key) - below
    return midrank_percent(below, equal, len(population))


def midrank_counts(values, population):
    """The array form: ``(below, equal, N)`` of each of ``values`` among
    ``population`` (any order; NaN entries left out), both compared at
    :data:`COMPARE_DECIMALS`. A value that is itself in the population counts
    among the equal ones."""
    import numpy as np

    pool = np.sort(np.round(np.asarray(population, dtype=float).reshape(-1), COMPARE_DECIMALS))
    pool = pool[np.isfinite(pool)]
    wanted = np.round(np.asarray(values, dtype=float).reshape(-1), COMPARE_DECIMALS)
    below = np.searchsorted(pool, wanted, side="left")
    equal = np.searchsorted(pool, wanted, side="right") - below
    return below, equal, int(pool.size)


def midrank_percentiles(values, population):
    """:func:`midrank_percentile` of each of ``values`` among ``population``
    (arrays; NaN where the value is NaN or the population is empty)."""
    import numpy as np

    below, equal, size = midrank_counts(values, population)
    if size == 0:
        return np.full(below.shape, np.nan)
    finite = np.isfinite(np.asarray(values, dtype=float).reshape(-1))
    return np.where(finite, midrank_percent(below, equal, size), np.nan)


def top_percent(percentile: float) -> float:
    """ "Top X%" of a percentile: X = 100 - P."""
    return 100.0 - percentile


#: The "in the top X%" claims, made only when a place's whole range lies inside.
CLAIM_LEVELS = (5, 10, 25, 50)
#: A reference developer's size bucket counts in the size matching from this
#: many tasks, its m shrunk toward their overall m with weight n_b / (n_b + this).
REFERENCE_BUCKET_MIN = 5
REFERENCE_BUCKET_N0 = 10


def claim_for(top_worst: float | None) -> int | None:
    """The smallest X of :data:`CLAIM_LEVELS` whose top X% holds the whole
    range (its worse end ``top_worst``, as a top-X% figure), else ``None``."""
    if top_worst is None:
        return None
    for level in CLAIM_LEVELS:
        if top_worst <= level + BOUND_SLACK:
            return level
    return None


# --- section 6: trends ------------------------------------------------------------------

#: Rolling window of the weekly trend, and the n under which a week is faded.
TREND_WINDOW_WEEKS = 8
TREND_FADED_BELOW = 5
#: Weeks with counted tasks needed before a trend is called.
MIN_TREND_WEEKS = 4

# --- where you misjudge (score --by): groups of tasks -----------------------------------

#: A group's bias and typical miss are shown from GROUP_MIN_TASKS counted tasks,
#: its keep rate from GROUP_MIN_PROMISES promises due; it is "clearly different"
#: where a permutation test (GROUP_SHUFFLES seeded shuffles within ISO weeks)
#: survives Benjamini-Hochberg at false discovery rate GROUP_FDR_Q across the
#: groups shown.
GROUP_MIN_TASKS = 10
GROUP_MIN_PROMISES = 10
GROUP_SHUFFLES = 2000
GROUP_FDR_Q = 0.10
#: The test (difference and p-value) looks at the scope's newest GROUP_TEST_TASKS
#: counted tasks (by ISO week) at most; a group's figures come from all of them.
#: Its cost grows with shuffles x tasks: a whole 100,000-task database took 24 s
#: of a report; 5,000 tasks still find a group 1.5x off from 10 of its tasks.
GROUP_TEST_TASKS = 5_000

# --- section 7: advice ------------------------------------------------------------------

#: A person's own pool: their last OWN_POOL counted tasks in the size bucket,
#: weighted n / (n + OWN_PRIOR) against the team's pool.
OWN_POOL = 200
OWN_PRIOR = 20
#: The team's pool: its last TEAM_POOL counted tasks in the bucket (without the
#: person), everyone's when the team has fewer than TEAM_MIN there.
TEAM_POOL = 2000
TEAM_MIN = 30
#: The shared shift's variance tau^2 comes from the weeks with at least
#: SHIFT_WEEK_MIN_TASKS non-exact counted tasks, and needs SHIFT_MIN_WEEKS such weeks.
SHIFT_WEEK_MIN_TASKS = 3
SHIFT_MIN_WEEKS = 4
#: What a calibrated forecast's backtest shows (METRICS.md section 7): its 80%
#: intervals hold 0.75 to 0.88 of the blocks, and P90 keeps 0.86 to 0.95 of the tasks.
BACKTEST_AIM_80 = (0.75, 0.88)
BACKTEST_AIM_KEEP_90 = (0.86, 0.95)
#: The backtest's ``no_estimates`` method draws each task's effort from the
#: scope's last NO_ESTIMATES_POOL actuals; estimates are worth making where the
#: tool's forecasts are at least WORTH_TIGHTER narrower (both calibrated).
NO_ESTIMATES_POOL = 200
WORTH_TIGHTER = 0.10
#: The quantiles a hint quotes: P50, P80, P90; a promise is made at P90.
ADVICE_QUANTILES = (0.50, 0.80, 0.90)
PROMISE_QUANTILE = 0.90
#: The pool used (team, everyone, neighbours or all sizes; t_b tasks) is blended
#: with the reference population's spread for the task's size bucket, weight
#: t_b / (t_b + REFERENCE_PRIOR): advice from a handful of tasks is as wide as
#: real developers' until evidence narrows it (with no history at all, the
#: reference alone). The spread is the quantiles of r at SPREAD_LEVELS per size
#: bucket, CESAW and SiP pooled, each developer with 5+ tasks there weighted
#: equally, shipped in the reference table (``advice_spread``, built by
#: ``scripts/build_reference.py``).
REFERENCE_PRIOR = 30
SPREAD_LEVELS = tuple(round(k / 100, 2) for k in range(1, 100))
#: The shared shift and its contraction (METRICS.md section 7): the pools already
#: carry the between-week variance tau^2, so each non-exact draw is pulled
#: toward the mean of its task's non-exact mixture by lambda = sqrt(1 - tau^2 /
#: s^2) (s^2 that mixture's variance of r clipped at CONTRACT_CLIP) before the
#: shift is added to it: each task keeps its pool's spread and the shift adds
#: only what tasks share. Exact hits (|r| <= 0.01) neither move nor count in tau^2.
CONTRACT_CLIP = CLIP_LOG2
#: The version of the advice rule stored with each piece of advice in the
#: ledger (METRICS.md section 8): 2 is METRICS.md version 2's section 7; 3
#: adds issue 16's reference-class blend (the similar tasks, where the task
#: has words). Stored hints (the size buckets' part) are recomputed by it.
ADVICE_VERSION = 3

#: Similar past tasks (issue 16): ``suggest`` names SIMILAR_RECEIPTS counted
#: tasks most like the one asked about by their words (FTS5, bm25; own first,
#: then the team's, never an opted-out person's); words in more than
#: SIMILAR_STOP_SHARE of the indexed tasks stay out of the query. The blend:
#: the SIMILAR_K most similar, each weighted by its similarity (the share of
#: the query's tokens, at most SIMILAR_MAX_TOKENS, it holds), weigh w = S / (S +
#: SIMILAR_PRIOR) against the mixture above. It passes issue 16's rule
#: (scripts/replay_similar.py): suggest, add's hint and forecast blend it in
#: (a forecast of more than SIMILAR_FORECAST_TASKS open tasks asks the index
#: for that many of them only).
SIMILAR_RECEIPTS = 3
#: The receipts' team step looks among the most recently added finished tasks
#: (task ids), this many: where the person has no match of their own, bm25
#: over every task sharing a word costs ``add`` tens of milliseconds.
SIMILAR_TEAM_WINDOW = 5_000
SIMILAR_K = 20
SIMILAR_PRIOR = 10.0
SIMILAR_STOP_SHARE = 0.10
SIMILAR_MAX_TOKENS = 32
#: A forecast asks the index for at most this many open tasks (one query
#: each, 1-2 ms on 200,000 tasks): the promised ones first, then everyone's
#: next task before anyone's second (stats.forecast.similar_order); the rest
#: draw from their size buckets alone.
SIMILAR_FORECAST_TASKS = 500


def similar_weight(total_similarity: float) -> float:
    """w = S / (S + SIMILAR_PRIOR): the reference-class pool's weight for
    neighbours whose similarities add up to S (0 without any)."""
    return total_similarity / (total_similarity + SIMILAR_PRIOR) if total_similarity > 0 else 0.0


_SPREAD: list[tuple[float, ...]] = []


def reference_spread(bucket: int) -> tuple[float, ...]:
    """The reference spread of r for size ``bucket`` (99 quantiles, ascending),
    read from the shipped reference table once (plain Python: ``add`` may need it)."""
    if not _SPREAD:
        import json
        import os

        try:  # beside this file (importlib.resources would cost add 20 ms)
            path = os.path.join(os.path.dirname(__file__), "reference", "reference.json")
            with open(path, encoding="utf-8") as file:
                text = file.read()
            spread = json.loads(text)["advice_spread"]["buckets"]
            rows = [tuple(float(q) for q in spread[label]["quantiles"]) for label in SIZE_LABELS]
        except (OSError, ValueError, KeyError, TypeError) as error:
            from calibrate.errors import DatabaseError

            raise DatabaseError(
                f"the reference table of real developers is missing or damaged ({error}); "
                "reinstall calibrate"
            ) from None
        _SPREAD.extend(rows)
    return _SPREAD[bucket]
