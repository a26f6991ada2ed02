"""The ``forecast`` of METRICS.md section 7, pure numpy over arrays.

:func:`simulate` runs 10,000 Monte Carlo runs over the open tasks, each run
adding one shared log-shift ~ N(0, tau^2) to all its tasks, because tasks
overrun together (:func:`shift_variance` estimates tau^2 from the between-week
variance only); each person's remaining effort is laid, task after task, on
the team's working :class:`Calendar`. The draws come from the pools of
:mod:`.pools` through :mod:`.draws`; the backtest that says how far to trust
a forecast is :mod:`.backtest`'s. No database, no click: 500 open tasks times
10,000 runs take a few tenths of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, TypedDict

import numpy as np

from calibrate.stats.draws import column_quantiles, draw_log_ratios, mixture
from calibrate.stats.pools import POOL_KINDS, Components, Pools, size_bucket

#: Monte Carlo runs of a forecast.
RUNS = 10_000
#: The shift's variance needs weeks with at least this many counted tasks,
#: and at least this many such weeks.
SHIFT_WEEK_MIN_TASKS = 3
SHIFT_MIN_WEEKS = 4
#: The quantiles a forecast reports (:class:`Quantiles` names them).
FORECAST_QUANTILES = (0.50, 0.80, 0.95)
#: Under this chance a promise is flagged.
PROMISE_FLAG = 0.80


# --- the shared shift ------------------------------------------------------------------------


def shift_variance(log_ratios, weeks) -> float:
    """tau^2, the between-week variance of r, counted once (METRICS.md 7):
    max(0, var(weekly mean r) - mean(s_w^2 / n_w)) over weeks with 3+ counted
    tasks; 0 with fewer than 4 such weeks."""
    r = np.asarray(log_ratios, dtype=float)
    w = np.asarray(weeks, dtype=np.int64)
    ok = np.isfinite(r) & (w >= 0)
    r, w = r[ok], w[ok]
    if r.size == 0:
        return 0.0
    _, inverse, counts = np.unique(w, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=r)
    squares = np.bincount(inverse, weights=r * r)
    return tau2_from_sums(counts, sums, squares)


def tau2_from_sums(counts: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> float:
    """:func:`shift_variance` from each week's count, sum and sum of squares of r."""
    keep = counts >= SHIFT_WEEK_MIN_TASKS
    if keep.sum() < SHIFT_MIN_WEEKS:
        return 0.0
    n, s, q = counts[keep].astype(float), sums[keep], squares[keep]
    means = s / n
    within = (q - n * means * means) / (n - 1)  # s_w^2, each week's sample variance
    between = float(np.var(means, ddof=1)) - float(np.mean(within / n))
    return max(0.0, between)


# --- the forecast ------------------------------------------------------------------------------


#: Finish dates stop about a century ahead (a forecast that far says enough).
MAX_WORKING_DAYS = 100 * 366


@dataclass(frozen=True)
class Calendar:
    """A team's working calendar: focused hours a working day, which weekdays
    are worked (numpy's weekmask, "Mon Tue Wed Thu Fri") and holidays."""

    focus_hours: float = 6.0
    weekmask: str = "Mon Tue Wed Thu Fri"
    holidays: tuple[date, ...] | list[date] = ()

    def _options(self) -> dict:
        return {
            "weekmask": self.weekmask,
            "holidays": np.array(sorted(self.holidays), dtype="datetime64[D]"),
        }

    def dates(self, start: date, working_days) -> np.ndarray:
        """The date of working day number ``working_days`` (0: the first
        working day on or after ``start``), at most about a century ahead
        (:data:`MAX_WORKING_DAYS`): further dates would leave the calendar."""
        offsets = np.minimum(np.asarray(working_days, dtype=np.int64), MAX_WORKING_DAYS)
        return np.busday_offset(
            np.datetime64(start, "D"), offsets, roll="forward", **self._options()
        )

    def days_through(self, start: date, end) -> np.ndarray:
        """Working days from ``start`` through ``end`` inclusive (<= 0 when ``end``
        is before ``start``); ``end`` is a date or an array of them."""
        end = np.asarray(end, dtype="datetime64[D]") + np.timedelta64(1, "D")
        return np.busday_count(np.datetime64(start, "D"), end, **self._options())


@dataclass
class OpenTask:
    """An open task to forecast; ``spent_h`` is the time already on its timer."""

    id: int
    person: str
    team: str | None
    estimate_h: float
    spent_h: float = 0.0
    promise_h: float | None = None
    due: date | None = None
    started: bool = False
    title: str = ""


def work_order(tasks: list[OpenTask]) -> list[int]:
    """Indices of ``tasks`` in the order each person works them: earliest due
    date first (undated last), then started ones, then by id."""
    far = date.max
    return sorted(
        range(len(tasks)),
        key=lambda i: (
            tasks[i].person,
            tasks[i].due or far,
            not (tasks[i].started or tasks[i].spent_h > 0),
            tasks[i].id,
        ),
    )


class Quantiles(TypedDict):
    """Hours at the :data:`FORECAST_QUANTILES`."""

    p50: float
    p80: float
    p95: float


class FinishDates(TypedDict):
    """Finish dates (ISO) at the :data:`FORECAST_QUANTILES`."""

    p50: str
    p80: str
    p95: str


class ForecastTask(TypedDict):
    """One open task of a forecast: its remaining effort, finish date at P80,
    the chance its promise holds, and where its draws came from."""

    id: int
    title: str
    person: str
    estimate_h: float
    spent_h: float
    remaining_p50_h: float
    remaining_p80_h: float
    remaining_p95_h: float
    finish_p80: str
    promise_h: float | None
    due: str | None
    promise_chance: float | None
    flagged: bool
    own_n: int
    pool: str
    pool_n: int


class HistogramDay(TypedDict):
    date: str
    runs: int


class CalendarFigures(TypedDict):
    focus_hours: float
    weekmask: str
    holidays: list[str]


class Forecast(TypedDict):
    """The figures of a forecast (:func:`simulate`), JSON-ready."""

    runs: int
    seed: int
    today: str
    tasks: list[ForecastTask]
    estimate_h: float
    spent_h: float
    remaining_h: Quantiles
    finish: FinishDates
    histogram: list[HistogramDay]
    shift_sd: float
    people: int
    calendar: CalendarFigures


class Simulation(NamedTuple):
    """What :func:`simulate` returns: the figures, and the per-run arrays."""

    figures: Forecast
    totals: np.ndarray  # remaining hours of all the tasks, per run
    finish_day: np.ndarray  # working day the last task ends, per run


def simulate(
    pools: Pools,
    tasks: list[OpenTask],
    *,
    tau2: float = 0.0,
    runs: int = RUNS,
    seed: int = 0,
    today: date,
    calendar: Calendar | None = None,
    chunk_runs: int = 2_000,
) -> Simulation:
    """Monte Carlo over the open ``tasks`` (METRICS.md section 7).

    Each run draws every task's log ratio from its pools, adds one shared
    shift ~ N(0, tau2) and turns it into an actual E * 2^(r + shift); a
    started task's actual is drawn given that it exceeds the time already
    spent. Each person works their tasks one after another (:func:`work_order`)
    at ``calendar.focus_hours`` a working day from ``today``, people in
    parallel. Returns the figures (:class:`Forecast`) and the per-run arrays.
    """
    calendar = calendar or Calendar()
    if not tasks:
        raise ValueError("no open tasks to forecast")
    order = work_order(tasks)
    ordered = [tasks[i] for i in order]
    past = pools.past
    estimate = np.array([t.estimate_h for t in ordered], dtype=float)
    spent = np.array([t.spent_h for t in ordered], dtype=float)
    components = pools.components(
        [past.person_code(t.person) for t in ordered],
        [past.team_code(t.team) for t in ordered],
        size_bucket(estimate),
        len(past),
    )
    rng = np.random.default_rng(seed)
    shift = rng.standard_normal(runs) * math.sqrt(max(tau2, 0.0))
    count = len(ordered)
    # float32 throughout the (runs, tasks) arrays: half the memory traffic of float64
    actual = np.empty((runs, count), dtype=np.float32)
    shift32 = shift.astype(np.float32)[:, None]
    estimate32 = estimate.astype(np.float32)
    for first in range(0, runs, chunk_runs):
        last = min(runs, first + chunk_runs)
        r = draw_log_ratios(pools, components, last - first, rng)
        r += shift32[first:last]
        np.exp2(r, out=r)
        np.multiply(r, estimate32, out=actual[first:last])
    shift_order = np.argsort(-shift, kind="stable")
    for j in np.flatnonzero(spent > 0).tolist():  # started: drawn above the time already spent
        actual[:, j] = _conditional_actual(
            pools, components, j, estimate[j], spent[j], shift, rng, shift_order
        )

    effort_kept = {
        j: actual[:, j] <= np.float32(task.promise_h * (1 + 1e-6))
        for j, task in enumerate(ordered)
        if task.promise_h is not None
    }
    remaining = actual  # the same memory from here on: actual is no longer needed
    np.subtract(remaining, spent.astype(np.float32), out=remaining)
    np.maximum(remaining, 0.0, out=remaining)
    totals = remaining.sum(axis=1, dtype=np.float64)
    remaining_q = column_quantiles(remaining, FORECAST_QUANTILES)

    person_of = np.array([t.person for t in ordered], dtype=object)
    first_of_person = np.r_[True, person_of[1:] != person_of[:-1]]
    starts = np.flatnonzero(first_of_person)
    ends = np.r_[starts[1:], count]
    cumulative = np.cumsum(remaining, axis=1, out=remaining)
    before = cumulative[:, starts[1:] - 1].copy()  # each person's work starts from zero
    for k, (start, end) in enumerate(zip(starts[1:], ends[1:], strict=True)):
        cumulative[:, start:end] -= before[:, k : k + 1]
    # working day of each task's end (0: the first working day), in place
    np.divide(cumulative, np.float32(calendar.focus_hours), out=cumulative)
    cumulative -= np.float32(1e-5)
    np.ceil(cumulative, out=cumulative)
    day = cumulative.astype(np.int32)
    day -= 1
    np.maximum(day, 0, out=day)
    del cumulative, remaining, actual
    finish_day = day.max(axis=1)
    finish_p80 = calendar.dates(today, column_quantiles(day, [0.8], method="higher")[0])

    chance = np.full(count, np.nan)
    for j, task in enumerate(ordered):
        if task.promise_h is None and task.due is None:
            continue
        kept: np.ndarray | bool = effort_kept.get(j, True)
        if task.due is not None:
            kept = kept & (day[:, j] < int(calendar.days_through(today, task.due)))
        chance[j] = np.mean(kept)
    per_task: list[ForecastTask] = []
    p50, p80, p95 = (remaining_q[k] for k in range(len(FORECAST_QUANTILES)))
    for position, task in enumerate(ordered):
        promised = task.promise_h is not None or task.due is not None
        per_task.append(
            {
                "id": task.id,
                "title": task.title,
                "person": task.person,
                "estimate_h": task.estimate_h,
                "spent_h": task.spent_h,
                "remaining_p50_h": float(p50[position]),
                "remaining_p80_h": float(p80[position]),
                "remaining_p95_h": float(p95[position]),
                "finish_p80": str(finish_p80[position]),
                "promise_h": task.promise_h,
                "due": task.due.isoformat() if task.due else None,
                "promise_chance": float(chance[position]) if promised else None,
                "flagged": bool(promised and chance[position] < PROMISE_FLAG),
                "own_n": int(components.own_n[position]),
                "pool": POOL_KINDS[int(components.pool_kind[position])],
                "pool_n": int(components.pool_n[position]),
            }
        )
    per_task.sort(key=lambda row: row["id"])
    total_q = np.quantile(totals, FORECAST_QUANTILES)
    day_q = np.quantile(finish_day, FORECAST_QUANTILES, method="higher")
    finish_dates = calendar.dates(today, finish_day)
    days, counts = np.unique(finish_dates, return_counts=True)
    total_50, total_80, total_95 = map(float, total_q)
    day_50, day_80, day_95 = (str(calendar.dates(today, d)) for d in day_q)
    figures: Forecast = {
        "runs": runs,
        "seed": seed,
        "today": today.isoformat(),
        "tasks": per_task,
        "estimate_h": float(estimate.sum()),
        "spent_h": float(spent.sum()),
        "remaining_h": {"p50": total_50, "p80": total_80, "p95": total_95},
        "finish": {"p50": day_50, "p80": day_80, "p95": day_95},
        "histogram": [{"date": str(d), "runs": int(c)} for d, c in zip(days, counts, strict=True)],
        "shift_sd": math.sqrt(max(tau2, 0.0)),
        "people": int(starts.size),
        "calendar": {
            "focus_hours": calendar.focus_hours,
            "weekmask": calendar.weekmask,
            "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
        },
    }
    return Simulation(figures, totals, finish_day)


def _conditional_actual(
    pools: Pools,
    components: Components,
    task: int,
    estimate_h: float,
    spent_h: float,
    shift: np.ndarray,
    rng: np.random.Generator,
    shift_order: np.ndarray | None = None,
) -> np.ndarray:
    """Actuals of a started task given that they exceed ``spent_h``: inverse-CDF
    draws from its mixture above each run's threshold. A task already past
    every ratio of its pool is taken as finishing now. ``shift_order`` (the
    runs by decreasing shift) makes the thresholds' search cache-friendly."""
    values, cumulative = mixture(pools, components, task)
    threshold = math.log2(spent_h / estimate_h) - shift
    order = np.argsort(-shift, kind="stable") if shift_order is None else shift_order
    below = np.empty(shift.size, dtype=np.int64)
    below[order] = np.searchsorted(values, threshold[order], side="right")
    floor = np.where(below > 0, cumulative[np.maximum(below - 1, 0)], 0.0)
    u = floor + rng.random(shift.size) * (1.0 - floor)
    index = np.minimum(np.searchsorted(cumulative, u, side="left"), values.size - 1)
    actual = estimate_h * np.exp2(values[index] + shift)
    return np.maximum(actual, spent_h)
