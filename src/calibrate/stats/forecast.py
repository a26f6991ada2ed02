"""The ``forecast`` of METRICS.md section 7, pure numpy over arrays.

:func:`simulate` runs 10,000 Monte Carlo runs over the open tasks, each run
adding one shared log-shift ~ N(0, tau^2) to the non-exact draws of all its
tasks, because tasks overrun together (:func:`shift_variance` estimates
tau^2 from the between-week variance of the non-exact tasks only; the draws
are contracted first, so that the between-week variance the pools carry is
not counted twice); each person's remaining effort is laid, task after task,
on the team's working :class:`Calendar`. The draws come from the pools of
:mod:`.pools` through :mod:`.draws`; the backtest that says how far to trust
a forecast is :mod:`.backtest`'s. No database, no click.

Memory is bounded by chunking the open tasks (in work order, all runs of a
chunk at once): per chunk the exact quantiles of its tasks, and carried
across chunks only per-run vectors (the total, the latest finish day, the
running hours of the person whose tasks straddle the chunks). The same seed
gives the same numbers whatever the chunk size: the uniforms are read task
by task, the shift and the started tasks' draws come from streams of their
own, and every sum is added in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, TypedDict

import numpy as np

from calibrate import rules
from calibrate.stats.draws import column_quantiles, draw_log_ratios, uniforms
from calibrate.stats.pools import EXACT, POOL_KINDS, Components, Pools, size_bucket
from calibrate.stats.similar import with_neighbours

#: Monte Carlo runs of a forecast.
RUNS = 10_000
#: (runs x tasks) draws held at once: the chunk of tasks is this over the runs.
CHUNK_DRAWS = 2_000_000
#: The quantiles a forecast reports (:class:`Quantiles` names them).
FORECAST_QUANTILES = (0.50, 0.80, 0.95)
#: Under this chance a promise is flagged.
PROMISE_FLAG = 0.80


# --- the shared shift ------------------------------------------------------------------------


def shift_variance(log_ratios, weeks) -> float:
    """tau^2, the between-week variance of r, counted once (METRICS.md 7):
    over the weeks with 3+ non-exact counted tasks (|r| > 0.01: exact hits
    neither move with the shift nor say how large it is), max(0, var(weekly
    mean r) - mean(s_w^2 / n_w)); 0 with fewer than 4 such weeks."""
    r = np.asarray(log_ratios, dtype=float)
    w = np.asarray(weeks, dtype=np.int64)
    ok = np.isfinite(r) & (w >= 0) & (np.abs(r) > EXACT)
    r, w = r[ok], w[ok]
    if r.size == 0:
        return 0.0
    _, inverse, counts = np.unique(w, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    sums = np.bincount(inverse, weights=r)
    squares = np.bincount(inverse, weights=r * r)
    return tau2_from_sums(counts, sums, squares)


def tau2_from_sums(counts: np.ndarray, sums: np.ndarray, squares: np.ndarray) -> float:
    """:func:`shift_variance` from each week's count, sum and sum of squares of
    the non-exact r (:func:`calibrate.stats.hints.shift_variance` in plain Python)."""
    keep = counts >= rules.SHIFT_WEEK_MIN_TASKS
    if keep.sum() < rules.SHIFT_MIN_WEEKS:
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
    #: Its similar finished tasks (issue 16): their log ratios, how many of
    #: the query's tokens each holds, the query's token count; ``None``
    #: without (the size buckets alone).
    similar: tuple[tuple[float, ...], tuple[int, ...], int] | None = None


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


def similar_order(tasks: list[OpenTask]) -> list[int]:
    """Indices of ``tasks`` in the order a forecast asks the index for their
    similar tasks (at most :data:`calibrate.rules.SIMILAR_FORECAST_TASKS`):
    the tasks with a promise (effort or date) first, then everyone's next
    task before anyone's second (each person's :func:`work_order`), then by id."""
    rank = [0] * len(tasks)
    first, previous = 0, None
    for place, i in enumerate(work_order(tasks)):
        if tasks[i].person != previous:
            first, previous = place, tasks[i].person
        rank[i] = place - first
    promised = [t.promise_h is None and t.due is None for t in tasks]
    return sorted(range(len(tasks)), key=lambda i: (promised[i], rank[i], tasks[i].id))


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
    the chance its promise holds, and where its draws came from
    (``similar_n``: the similar finished tasks blended in, issue 16)."""

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
    similar_n: int


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
    chunk_tasks: int | None = None,
) -> Simulation:
    """Monte Carlo over the open ``tasks`` (METRICS.md section 7).

    Each run draws every task's log ratio from its pools, contracted toward
    its non-exact mean, adds one shared shift ~ N(0, tau2) to the non-exact
    draws and turns it into an actual E * 2^r; a started task's actual is
    drawn given that it exceeds the time already spent. Each person works
    their tasks one after another (:func:`work_order`) at
    ``calendar.focus_hours`` a working day from ``today``, people in
    parallel. The tasks are simulated ``chunk_tasks`` at a time (all runs of
    each; by default :data:`CHUNK_DRAWS` / runs), so memory does not grow
    with the tasks. Returns the figures (:class:`Forecast`) and the per-run
    arrays.
    """
    calendar = calendar or Calendar()
    if not tasks:
        raise ValueError("no open tasks to forecast")
    order = work_order(tasks)
    ordered = [tasks[i] for i in order]
    past = pools.past
    count = len(ordered)
    estimate = np.array([t.estimate_h for t in ordered], dtype=float)
    spent = np.array([t.spent_h for t in ordered], dtype=float)
    person_code = {name: i for i, name in enumerate(past.people)}
    team_code = {name: i for i, name in enumerate(past.teams)}
    people = np.array([person_code.get(t.person, -1) for t in ordered], dtype=np.int64)
    teams = np.array([team_code.get(t.team, -1) if t.team else -1 for t in ordered], dtype=np.int64)
    buckets = size_bucket(estimate)
    tau2 = max(tau2, 0.0)
    rng = np.random.default_rng(seed)
    shift = np.random.default_rng([seed, 1]).standard_normal(runs) * math.sqrt(tau2)
    started_rng = np.random.default_rng([seed, 2])
    shift32 = shift.astype(np.float32)[:, None]
    shift_order = np.argsort(-shift, kind="stable")
    chunk = chunk_tasks or max(1, CHUNK_DRAWS // runs)

    # each person's tasks are consecutive in work order: a task's rank within its person
    names = np.array([t.person for t in ordered], dtype=object)
    new_person = np.r_[True, names[1:] != names[:-1]]
    first_of = np.flatnonzero(new_person)
    rank = np.arange(count) - first_of[np.cumsum(new_person) - 1]

    totals = np.zeros(runs)
    finish_day = np.zeros(runs, dtype=np.int32)
    carry = np.zeros(runs, dtype=np.float32)
    remaining_q = np.empty((len(FORECAST_QUANTILES), count))
    finish_p80 = np.empty(count, dtype=np.int64)
    chance = np.full(count, np.nan)
    own_n = np.zeros(count, dtype=np.int64)
    pool_n = np.zeros(count, dtype=np.int64)
    pool_kind = np.zeros(count, dtype=np.int64)
    similar_n = np.zeros(count, dtype=np.int64)
    focus = np.float32(calendar.focus_hours)
    due_days = {j: int(calendar.days_through(today, t.due)) for j, t in enumerate(ordered) if t.due}
    for first in range(0, count, chunk):
        last = min(count, first + chunk)
        cols = slice(first, last)
        components = pools.components(people[cols], teams[cols], buckets[cols], len(past))
        near = [t.similar or ((), (), 0) for t in ordered[cols]]
        if any(found for _, found, _ in near):  # the reference-class blend
            components = with_neighbours(
                components, [r for r, _, _ in near], [f for _, f, _ in near], [n for *_, n in near]
            )
            similar_n[cols] = [sum(1 for f in found if f > 0) for _, found, _ in near]
        own_n[cols], pool_n[cols] = components.own_n, components.pool_n
        pool_kind[cols] = components.pool_kind
        lam = components.contraction(tau2)
        actual = draw_log_ratios(
            components, runs, rng, lam=lam, shift=shift32, u=uniforms(rng, last - first, runs)
        )
        np.exp2(actual, out=actual)
        actual *= estimate[cols].astype(np.float32)
        for j in np.flatnonzero(spent[cols] > 0).tolist():  # started: drawn above the time spent
            at = first + j
            below = np.flatnonzero(actual[:, j] <= spent[at])  # the others are draws of that
            u = started_rng.random((2, runs))
            if below.size:
                actual[below, j] = _conditional_actual(
                    components,
                    j,
                    lam[j],
                    (estimate[at], spent[at]),
                    shift,
                    shift_order,
                    u[:, below],
                    below,
                )
        effort_kept = {
            j: actual[:, j - first] <= np.float32(promised * (1 + 1e-6))
            for j in range(first, last)
            if (promised := ordered[j].promise_h) is not None
        }
        remaining = actual  # the same memory from here on
        remaining -= spent[cols].astype(np.float32)
        np.maximum(remaining, 0, out=remaining)
        for column in range(last - first):  # task by task: the same sums whatever the chunks
            totals += remaining[:, column]
        remaining_q[:, cols] = column_quantiles(remaining, FORECAST_QUANTILES)
        day = _working_days(remaining, rank[cols], not new_person[first], carry, focus)
        np.maximum(finish_day, day.max(axis=1), out=finish_day)
        finish_p80[cols] = column_quantiles(day, [0.8], method="higher")[0].astype(np.int64)
        for j in range(first, last):
            task = ordered[j]
            if task.promise_h is None and task.due is None:
                continue
            kept: np.ndarray | bool = effort_kept.get(j, True)
            if task.due is not None:
                kept = kept & (day[:, j - first] < due_days[j])
            chance[j] = np.mean(kept)
        del actual, remaining, day

    per_task: list[ForecastTask] = []
    finish_dates_p80 = calendar.dates(today, finish_p80)
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
                "finish_p80": str(finish_dates_p80[position]),
                "promise_h": task.promise_h,
                "due": task.due.isoformat() if task.due else None,
                "promise_chance": float(chance[position]) if promised else None,
                "flagged": bool(promised and chance[position] < PROMISE_FLAG),
                "own_n": int(own_n[position]),
                "pool": POOL_KINDS[int(pool_kind[position])],
                "pool_n": int(pool_n[position]),
                "similar_n": int(similar_n[position]),
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
        "shift_sd": math.sqrt(tau2),
        "people": int(first_of.size),
        "calendar": {
            "focus_hours": calendar.focus_hours,
            "weekmask": calendar.weekmask,
            "holidays": [d.isoformat() for d in sorted(calendar.holidays)],
        },
    }
    return Simulation(figures, totals, finish_day)


def _working_days(
    remaining: np.ndarray,
    rank: np.ndarray,
    continues: bool,
    carry: np.ndarray,
    focus: np.float32,
) -> np.ndarray:
    """The working day (0: the first) each task of a chunk ends on, per run:
    each person's remaining hours summed task after task (``rank``: the task's
    place within its person), from ``carry`` (updated in place) for the person
    who continues from the previous chunk (``continues``: the chunk does not
    start a person). Sums are built by rank, so that the additions are the
    same, (((carry + a) + b) + c), whatever the chunks."""
    nth = rank.copy()
    if continues:  # the person carried over: ranks counted from the chunk's start
        starts = np.flatnonzero(nth == 0)
        through = starts[0] if starts.size else nth.size
        nth[:through] -= nth[0]
    cumulative = np.empty_like(remaining)
    fresh = nth == 0
    cumulative[:, fresh] = remaining[:, fresh]
    if continues:
        cumulative[:, 0] = carry + remaining[:, 0]
    for k in range(1, int(nth.max()) + 1 if nth.size else 0):
        at = np.flatnonzero(nth == k)
        cumulative[:, at] = cumulative[:, at - 1] + remaining[:, at]
    carry[:] = cumulative[:, -1]
    np.divide(cumulative, focus, out=cumulative)
    cumulative -= np.float32(1e-5)
    np.ceil(cumulative, out=cumulative)
    day = cumulative.astype(np.int32)
    day -= 1
    np.maximum(day, 0, out=day)
    return day


def _conditional_actual(
    components: Components,
    task: int,
    lam: float,
    hours: tuple[float, float],
    shift: np.ndarray,
    shift_order: np.ndarray,
    u: np.ndarray,
    runs: np.ndarray,
) -> np.ndarray:
    """Actuals of a started task, for the ``runs`` given, drawn given that
    they exceed ``spent_h``: from its mixture after the contraction, the shift
    on the non-exact values only, above each run's threshold.

    Exact, without a search over random targets: the mixture splits into
    parts of equal-weight values (each slice's exact and non-exact values,
    sorted once); per run, each part's eligible values are its top c (one
    binary search per part, the queries in shift order), a part is chosen by
    its eligible mass, then one of its eligible values uniformly. A task
    already past every value of its mixture is taken as finishing now.
    (Runs whose unconditional draw already exceeds the time spent keep it:
    conditioned on that, it is a draw of the same law.) ``hours``: the
    task's estimate and the time spent."""
    estimate_h, spent_h = hours
    threshold = math.log2(spent_h / estimate_h)
    size = runs.size
    shifted = shift[runs]
    where = np.full(shift.size, -1, dtype=np.int64)
    where[runs] = np.arange(size)
    order = where[shift_order]
    order = order[order >= 0]  # positions in `runs`, by decreasing shift
    mean = float(components.mean_ne[task])
    parts, counts, weights, moves = [], [], [], []
    for k in range(components.prob.shape[1]):
        length = int(components.length[task, k])
        prob = float(components.prob[task, k])
        if not length or prob <= 0:
            continue
        start = int(components.start[task, k])
        values = components.values[start : start + length]
        non_exact = np.abs(values) > EXACT
        exact = np.sort(values[~non_exact])
        if exact.size:  # exact values do not move with the shift
            parts.append(exact)
            counts.append(np.full(size, exact.size - np.searchsorted(exact, threshold, "right")))
            weights.append(prob / length)
            moves.append(False)
        moved = mean + lam * (np.sort(values[non_exact]) - mean)  # still sorted
        if moved.size:
            eligible = np.empty(size, dtype=np.int64)
            eligible[order] = moved.size - np.searchsorted(
                moved, threshold - shifted[order], side="right"
            )
            parts.append(moved)
            counts.append(eligible)
            weights.append(prob / length)
            moves.append(True)
    if not parts:
        return np.full(size, spent_h, dtype=np.float32)
    c = np.vstack(counts)  # (parts, runs)
    mass = np.cumsum(c * np.asarray(weights)[:, None], axis=0)
    total = mass[-1]
    which = np.minimum((u[0][None, :] * total[None, :] >= mass).sum(axis=0), len(parts) - 1)
    sizes = np.array([part.size for part in parts])
    offsets = np.cumsum(sizes) - sizes
    flat = np.concatenate(parts)
    chosen = c[which, np.arange(size)]
    pick = offsets[which] + sizes[which] - chosen
    pick += np.minimum((u[1] * chosen).astype(np.int64), np.maximum(chosen - 1, 0))
    r = flat[np.minimum(pick, flat.size - 1)] + np.where(np.asarray(moves)[which], shifted, 0.0)
    actual = np.where((total > 1e-15) & (chosen > 0), estimate_h * np.exp2(r), spent_h)
    return np.maximum(actual, spent_h).astype(np.float32)
