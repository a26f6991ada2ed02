"""The demo's numbers: estimates, actuals, ranges and promises drawn to look like
real data (fitted to SiP's figures with ``scripts/fit_demo.py``), on a working
clock, one person's tasks at a time (:func:`person_tasks`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from calibrate.demo.people import EXTRA_TAGS, OBJECTS, VERBS, DemoPerson

# --- the working clock --------------------------------------------------------
# Times are drawn on a clock of working hours (9:00-17:00 UTC, Monday-Friday)
# and turned into calendar times at the end, so that work never happens at night.
WORKDAY_START_H = 9
WORKDAY_H = 8.0
EPOCH = np.datetime64("2000-01-03", "D")  # a Monday

# --- estimates: a grid people really use, heavier on small tasks --------------
# Bucket shares follow SiP: <=1h 30%, 1-2h 16%, 2-4h 19%, 4-8h 15%, 8-16h 8%, >16h 12%.
ESTIMATE_GRID = np.array([0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 40], dtype=float)
ESTIMATE_WEIGHTS = np.array(
    [0.12, 0.18, 0.16, 0.09, 0.10, 0.07, 0.08, 0.04, 0.035, 0.07, 0.055], dtype=float
)
PROMISE_GRID = np.array(
    [0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 60, 80, 100, 120, 160],
    dtype=float,
)

# --- log ratios: fitted to SiP's figures (see scripts/fit_demo.py) -------------
#: Chance that the actual is written as exactly the estimate, at each estimate
#: of the grid (interpolated on log2 between them): about half of small tasks,
#: almost none of week-long ones. Rounding the actuals adds a few more hits.
EXACT_CHANCE = np.array([0.50, 0.50, 0.38, 0.30, 0.28, 0.17, 0.15, 0.04, 0.03, 0.005, 0.0])
#: Centre of r away from the spike, CENTRE_AT_1H + CENTRE_SLOPE * log2(estimate):
#: small tasks overrun a little, big ones come in early.
CENTRE_AT_1H = 0.18
CENTRE_SLOPE = -0.15
#: Spread of r away from the spike (the scale of a Student t), at each estimate
#: of the grid: about flat up to a day, growing for tasks of several days.
SPREAD = np.array([0.90, 0.94, 0.92, 0.90, 0.90, 0.92, 0.92, 0.90, 0.92, 1.02, 1.12])
#: Big tasks that come in early can come in very early: the early side of their
#: noise is stretched by this much per doubling of the estimate above 4h.
EARLY_STRETCH = 0.2
#: Degrees of freedom of the Student t: tails heavier than a log-normal's.
TAIL_DF = 5.0
#: Share of misses near 2x or 0.5x written down as exactly that factor.
ROUND_FACTOR_CHANCE = 0.25
#: No task takes more than about 11x or less than 1/32 of its estimate.
LOG_RATIO_LIMITS = (-5.0, 3.5)

# --- the numbers --------------------------------------------------------------


def draw_estimates(rng: np.random.Generator, size: int, size_tilt: float = 0.0) -> np.ndarray:
    """Estimates from the grid; ``size_tilt`` > 0 gives a person bigger tasks."""
    weights = ESTIMATE_WEIGHTS * ESTIMATE_GRID**size_tilt
    return rng.choice(ESTIMATE_GRID, size=size, p=weights / weights.sum())


def draw_log_ratios(
    rng: np.random.Generator,
    estimate_h: np.ndarray,
    progress: np.ndarray,
    *,
    bias: float = 0.0,
    skill: float = 1.0,
    improve: float = 0.0,
    exact_tendency: float = 1.0,
    start_bias: float = 0.0,
) -> np.ndarray:
    """Draw r = log2(actual/estimate) before rounding, 0 for exact hits.

    ``progress`` is each task's place in the window (0 at its start, 1 at
    today): an improving person's spread shrinks from (1 + improve/2) to
    (1 - improve/2) times their usual one, and a ``start_bias`` added to
    their bias at the start fades to nothing by today.
    """
    size = np.log2(estimate_h)
    exact_chance = exact_tendency * np.interp(size, np.log2(ESTIMATE_GRID), EXACT_CHANCE)
    exact = rng.random(estimate_h.size) < exact_chance
    centre = CENTRE_AT_1H + CENTRE_SLOPE * size + bias + start_bias * (1.0 - progress)
    spread = (
        np.interp(size, np.log2(ESTIMATE_GRID), SPREAD) * skill * (1.0 + improve * (0.5 - progress))
    )
    noise = rng.standard_t(TAIL_DF, estimate_h.size)
    noise = np.where(noise < 0, noise * (1.0 + EARLY_STRETCH * np.maximum(size - 2.0, 0.0)), noise)
    log_ratio = np.clip(centre + spread * noise, *LOG_RATIO_LIMITS)
    return np.where(exact, 0.0, log_ratio)


def round_actuals(
    rng: np.random.Generator, actual_h: np.ndarray, timer_share: float = 0.0
) -> np.ndarray:
    """Round like timesheets: quarter hours, half or whole hours on long tasks;
    a ``timer_share`` of tasks timed to the minute instead (at least 5 minutes)."""
    step = np.where(actual_h < 8, 0.25, np.where(rng.random(actual_h.size) < 0.5, 0.5, 1.0))
    rounded = np.maximum(np.round(actual_h / step) * step, step)
    timed = np.maximum(np.round(actual_h * 60.0) / 60.0, 5 / 60)
    return np.where(rng.random(actual_h.size) < timer_share, timed, rounded)


def draw_actuals(
    rng: np.random.Generator,
    estimate_h: np.ndarray,
    progress: np.ndarray,
    person: DemoPerson | None = None,
) -> np.ndarray:
    """Actual hours for tasks of these estimates, by this person (or an average one)."""
    traits = {}
    timer_share = 0.15
    if person is not None:
        traits = dict(
            bias=person.bias,
            skill=person.skill,
            improve=person.improve,
            exact_tendency=person.exact_tendency,
            start_bias=person.start_bias,
        )
        timer_share = person.timer_share
    log_ratio = draw_log_ratios(rng, estimate_h, progress, **traits)
    # "It took twice as long" / "half the time": some misses are written as
    # round factors of the estimate, as in real timesheets.
    near_double = (log_ratio > np.log2(1.6)) & (log_ratio < np.log2(2.5))
    near_half = (log_ratio > np.log2(0.4)) & (log_ratio < np.log2(0.62))
    rounded_factor = rng.random(estimate_h.size) < ROUND_FACTOR_CHANCE
    log_ratio = np.where(rounded_factor & near_double, 1.0, log_ratio)
    log_ratio = np.where(rounded_factor & near_half, -1.0, log_ratio)
    # Exact hits and round factors are written as they are; the rest rounded.
    as_written = (log_ratio == 0.0) | (rounded_factor & (near_double | near_half))
    actual_h = round_actuals(rng, estimate_h * np.exp2(log_ratio), timer_share)
    return np.where(as_written, estimate_h * np.exp2(log_ratio), actual_h)


def draw_ranges(
    rng: np.random.Generator, estimate_h: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Low, high and confidence of ranges around the estimates, skewed to the
    right as people's are and, like theirs, too narrow for what they claim."""
    confidence = rng.choice(np.array([90.0, 80.0, 50.0]), size=estimate_h.size, p=[0.8, 0.15, 0.05])
    half_width = width * rng.uniform(0.7, 1.3, estimate_h.size)
    half_width *= np.where(confidence == 90, 1.0, np.where(confidence == 80, 0.8, 0.5))
    low_h = estimate_h * np.exp2(-half_width * rng.uniform(0.6, 1.0, estimate_h.size))
    high_h = estimate_h * np.exp2(half_width * rng.uniform(1.0, 1.5, estimate_h.size))
    low_h = np.maximum(np.floor(low_h * 4) / 4, 0.25)
    low_h = np.minimum(low_h, estimate_h - 0.25)
    high_step = np.where(high_h < 8, 0.25, 1.0)
    high_h = np.maximum(np.ceil(high_h / high_step) * high_step, estimate_h + 0.25)
    return low_h, high_h, confidence


def round_up_promise(hours: np.ndarray) -> np.ndarray:
    """Promised efforts are round numbers: the next value of the promise grid."""
    index = np.searchsorted(PROMISE_GRID, hours - 1e-9)
    beyond = np.ceil(hours / 40.0) * 40.0
    return np.where(
        index < PROMISE_GRID.size, PROMISE_GRID[np.minimum(index, PROMISE_GRID.size - 1)], beyond
    )


# --- the calendar -------------------------------------------------------------


def working_clock(moment: datetime) -> float:
    """Working hours from :data:`EPOCH` to ``moment`` (UTC); nights and weekends
    do not count, so a moment out of hours maps to the end of the last working day."""
    day = np.datetime64(moment.date(), "D")
    days_before = int(np.busday_count(EPOCH, day))
    if not np.is_busday(day):
        return days_before * WORKDAY_H
    hour = moment.hour + moment.minute / 60.0 - WORKDAY_START_H
    return days_before * WORKDAY_H + min(max(hour, 0.0), WORKDAY_H)


def clock_to_iso(clock_h: np.ndarray) -> np.ndarray:
    """Working-clock hours to UTC ISO text (``2026-11-30T14:05:00Z``), to the minute."""
    minutes = np.round(clock_h * 60.0).astype(np.int64)
    day_index, minute_of_day = np.divmod(minutes, int(WORKDAY_H * 60))
    days = np.busday_offset(EPOCH, day_index, roll="forward")
    moments = days.astype("datetime64[m]") + (minute_of_day + WORKDAY_START_H * 60)
    return np.datetime_as_string(moments.astype("datetime64[s]"), unit="s", timezone="UTC")


def clock_to_date(clock_h: np.ndarray) -> np.ndarray:
    """Working-clock hours to ISO dates (``2026-12-04``)."""
    day_index = np.floor(np.asarray(clock_h) / WORKDAY_H).astype(np.int64)
    return np.datetime_as_string(np.busday_offset(EPOCH, day_index, roll="forward"), unit="D")


# --- one person's tasks -----------------------------------------------------


@dataclass
class TaskColumns:
    """A batch of generated tasks as parallel arrays, one per database column."""

    person: DemoPerson
    estimate_h: np.ndarray
    actual_h: np.ndarray  # NaN when not done
    status: np.ndarray
    created_h: np.ndarray  # working-clock hours
    started_h: np.ndarray  # NaN when not started
    done_h: np.ndarray  # NaN when neither done nor dropped
    low_h: np.ndarray
    high_h: np.ndarray
    confidence: np.ndarray
    promise_h: np.ndarray
    due_h: np.ndarray  # working-clock hour whose date is the due date; NaN when none
    verb: np.ndarray
    subject: np.ndarray
    extra_tag: np.ndarray  # -1 for none
    project: np.ndarray
    interval_h: np.ndarray  # hours on a started task's (stopped) timer, else NaN


def person_tasks(
    person: DemoPerson,
    *,
    seed: int,
    tasks_per_week: float,
    start_h: float,
    end_h: float,
    open_tasks: int,
) -> TaskColumns:
    """Everything about one person's tasks, drawn at once with numpy."""
    rng = np.random.default_rng([seed, 1, person.index])
    own_start_h = max(start_h, end_h - person.active_weeks * 5 * WORKDAY_H)
    active_weeks = (end_h - own_start_h) / (5 * WORKDAY_H)
    drawn = int(rng.poisson(tasks_per_week * person.activity * active_weeks))
    finished = drawn if person.finished_tasks is None else person.finished_tasks
    total = finished + open_tasks

    estimate_h = draw_estimates(rng, total, person.size_tilt)
    # Finished work: done times spread evenly over the person's window, ending today.
    done_h = np.sort(rng.uniform(own_start_h, end_h, finished))
    progress = (done_h - start_h) / (end_h - start_h)
    actual_h = draw_actuals(rng, estimate_h[:finished], progress, person)
    pace = rng.uniform(2.5, 6.5, total)  # hours a working day spent on the task
    wait_h = rng.exponential(12.0, total)  # working hours between logging and starting
    started_h = done_h - actual_h * WORKDAY_H / pace[:finished]
    created_h = started_h - wait_h[:finished]
    # A few tasks are dropped half-way; none of a fixed count (it counts finished work).
    dropped = (rng.random(finished) < 0.03) & (person.finished_tasks is None)
    never_started = dropped & (rng.random(finished) < 0.5)
    done_h = np.where(
        dropped, started_h + rng.uniform(0.1, 0.9, finished) * (done_h - started_h), done_h
    )

    # Open work: logged over the last two weeks, the first one already started.
    open_created = end_h - rng.uniform(0.5, 10 * WORKDAY_H, open_tasks)
    open_started = open_created + rng.uniform(0.0, 1.0, open_tasks) * (end_h - 0.25 - open_created)
    is_started = np.arange(open_tasks) == 0
    timed_h = estimate_h[finished:] * rng.uniform(0.2, 0.8, open_tasks)
    left_today = WORKDAY_H - np.mod(open_started, WORKDAY_H)
    timed_h = np.maximum(np.minimum(np.minimum(timed_h, end_h - open_started), left_today), 0.1)
    interval_h = np.where(is_started, timed_h, np.nan)

    status = np.concatenate(
        [np.where(dropped, "dropped", "done"), np.where(is_started, "started", "open")]
    )
    created_h = np.concatenate([created_h, open_created])
    started_h = np.concatenate(
        [np.where(never_started, np.nan, started_h), np.where(is_started, open_started, np.nan)]
    )
    done_h = np.concatenate([done_h, np.full(open_tasks, np.nan)])
    actual_h = np.concatenate([np.where(dropped, np.nan, actual_h), np.full(open_tasks, np.nan)])
    interval_h = np.concatenate([np.full(finished, np.nan), interval_h])

    # Ranges on some tasks.
    has_range = rng.random(total) < person.range_share
    low_h, high_h, confidence = draw_ranges(rng, estimate_h, person.range_width)
    low_h = np.where(has_range, low_h, np.nan)
    high_h = np.where(has_range, high_h, np.nan)
    confidence = np.where(has_range, confidence, np.nan)

    # Promises: of effort, of a date, or both, padded by the person's habit.
    has_promise = rng.random(total) < person.promise_share
    kind = rng.choice(3, size=total, p=[0.4, 0.25, 0.35])  # effort, date, both
    pad = person.promise_pad + rng.normal(0.0, 0.25, total)
    promise_h = np.maximum(round_up_promise(estimate_h * np.exp2(pad)), estimate_h)
    promise_h = np.where(has_promise & (kind != 1), promise_h, np.nan)
    # A date promise allows for the wait before work starts (a day or two, the
    # person's ``date_slack``) and for the padded effort at the pace they expect.
    date_pad = pad + rng.normal(0.0, 0.3, total)
    planned_h = (
        WORKDAY_H * person.date_slack * (1.0 + rng.exponential(1.0, total))
        + estimate_h * np.exp2(date_pad) * WORKDAY_H / pace
    )
    due_h = np.where(has_promise & (kind != 0), created_h + planned_h, np.nan)

    verb_weights = np.array([[v[2] for v in VERBS], [v[3] for v in VERBS]])
    verb_weights /= verb_weights.sum(axis=1, keepdims=True)
    big = estimate_h > 4
    verb = np.where(
        big,
        rng.choice(len(VERBS), size=total, p=verb_weights[1]),
        rng.choice(len(VERBS), size=total, p=verb_weights[0]),
    )
    subject = rng.integers(0, len(OBJECTS), total)
    extra_tag = np.where(rng.random(total) < 0.3, rng.integers(0, len(EXTRA_TAGS), total), -1)
    project = rng.integers(0, len(person.projects), total)
    return TaskColumns(
        person=person,
        estimate_h=estimate_h,
        actual_h=actual_h,
        status=status,
        created_h=created_h,
        started_h=started_h,
        done_h=done_h,
        low_h=low_h,
        high_h=high_h,
        confidence=confidence,
        promise_h=promise_h,
        due_h=due_h,
        verb=verb,
        subject=subject,
        extra_tag=extra_tag,
        project=project,
        interval_h=interval_h,
    )
