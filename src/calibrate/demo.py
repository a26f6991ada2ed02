"""The synthetic team history behind ``calibrate demo``, the tests and the benchmarks.

A year of a few teams' work, made to look like real estimate-versus-actual data
so that every score, chart and rank has something honest to show. The shape of
the data was fitted (``scripts/fit_demo.py``) to the public SiP dataset's
figures in METRICS.md:

- log ratios r = log2(actual / estimate) that are heavy-tailed (Student t), with
  overruns that shrink and spread that grows with the size of the task (small
  tasks overrun, big ones come in early, and big ones miss by more);
- a spike at exactly 1: Parkinson's law (work fills the estimate) and people
  writing down the estimate as the actual, commonest on small tasks;
- actuals rounded the way timesheets are (quarter hours, half or whole hours on
  big tasks), a share of them timed to the minute;
- people who differ in bias and skill, some of whom improve over the year (their
  spread shrinks week by week), a few newcomers with little history;
- ranges on about 30% of tasks, mostly too narrow (90% ranges hold the actual
  about two times in three, as untrained people's do: 55-70%);
- promises on 15-45% of each person's tasks, of effort and/or a date, most kept
  (about 85%), some broken, many exceeded; a few dropped tasks (3%), and a few
  open and started ones.

Times follow a working clock (9:00-17:00 UTC, Monday to Friday): done times are
spread evenly over whole ISO weeks ending now, and each task was logged, started
and finished in that order, at the pace of a few hours of work a day.

The data are synthetic: no real person's work is in them.

Numbers are drawn with numpy, vectorised per person (a loop over people, none
over tasks); rows go in with ``executemany`` in batches inside one transaction,
generated a chunk of people at a time so memory stays bounded for a million
tasks.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from calibrate import store
from calibrate.durations import utc_now, week_start
from calibrate.errors import InputError, StateError

SOURCE = "demo"
DEFAULT_PEOPLE = 12
DEFAULT_WEEKS = 52
DEFAULT_TASKS_PER_WEEK = 5.0
PEOPLE_PER_TEAM = 4
#: Tasks generated before a chunk of rows is written (bounds memory).
CHUNK_TASKS = 60_000
INSERT_BATCH = 20_000
#: Above this many tasks, indexes are rebuilt after the insert rather than kept up.
REBUILD_INDEXES_OVER = 200_000

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

# --- names -------------------------------------------------------------------
FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
    "Kemi", "Liam", "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Amir", "Bea", "Carlos", "Dana",
    "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Marco", "Noor",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Okafor", "Martin", "Patel", "Yilmaz", "Haddad", "Berg", "Laurent", "Costa",
    "Weber", "Adeyemi", "Murphy", "Cohen", "Rao", "Ivanova", "Garcia", "Kim", "Moreau",
    "Nakamura", "Singh", "Khan", "Novak", "Chen", "Lopez", "Demir", "Eriksen", "Rossi",
    "Dubois", "Tanaka", "Ahmed", "Fischer", "Nguyen", "Santos", "Kowalski", "Ali", "Park",
)  # fmt: skip
TEAM_NAMES = (
    "Platform", "Payments", "Mobile", "Growth", "Data", "Search", "Web", "Infra",
    "Identity", "Billing", "Checkout", "Insights", "Messaging", "Core API", "Devices",
    "Partners", "Security", "Support Tools", "Onboarding", "Catalog",
)  # fmt: skip
PROJECTS = (
    "billing-v2", "mobile-app", "search", "onboarding", "data-pipeline", "website",
    "api-gateway", "reporting", "payments", "auth", "notifications", "admin-console",
    "checkout", "analytics", "infra-migration", "design-system", "partner-api", "sync",
)  # fmt: skip
#: (verb, tag, weight on small tasks, weight on big tasks)
VERBS = (
    ("Fix", "bug", 0.26, 0.08),
    ("Add", "feature", 0.12, 0.14),
    ("Implement", "feature", 0.05, 0.18),
    ("Refactor", "refactor", 0.05, 0.10),
    ("Clean up", "refactor", 0.06, 0.02),
    ("Document", "docs", 0.07, 0.03),
    ("Write tests for", "test", 0.08, 0.06),
    ("Investigate", "spike", 0.09, 0.05),
    ("Upgrade", "ops", 0.05, 0.07),
    ("Migrate", "ops", 0.02, 0.10),
    ("Review", "review", 0.07, 0.02),
    ("Speed up", "perf", 0.04, 0.07),
    ("Harden", "security", 0.04, 0.08),
)
OBJECTS = (
    "the login form", "CSV export", "password reset emails", "search pagination",
    "the billing webhook", "the user settings page", "API rate limiting",
    "the nightly backup job", "invoice PDF layout", "dashboard filters",
    "session timeout handling", "the onboarding flow", "the audit log",
    "notification preferences", "image upload", "the release pipeline",
    "database indexes", "checkout error messages", "SSO sign-in", "push notifications",
    "the admin user list", "currency formatting", "the sync worker", "feature flags",
    "the import wizard", "email templates", "the public API docs", "the retry queue",
    "timezone handling in reports", "the mobile settings screen", "search relevance",
    "the partner sandbox", "cache invalidation", "the GDPR export", "the status page",
    "two-factor setup", "the order history page", "log retention", "the CI runners",
    "the pricing table",
)  # fmt: skip
EXTRA_TAGS = ("frontend", "backend", "infra", "customer", "urgent")


@dataclass(frozen=True)
class DemoPerson:
    """One synthetic developer: who they are and how they estimate.

    ``bias`` shifts their log ratios (a median ratio of 2^bias), ``skill``
    scales their spread (below 1 is better), ``improve`` is how much of that
    spread they lose over the window, and the rest say how they use ranges and
    promises.
    """

    index: int
    name: str
    team: str
    projects: tuple[str, ...]
    bias: float
    skill: float
    improve: float
    exact_tendency: float
    timer_share: float
    activity: float
    active_weeks: float
    size_tilt: float
    range_share: float
    range_width: float
    promise_share: float
    promise_pad: float


def team_name(k: int) -> str:
    """The k-th team's name; past the vocabulary, numbered ("Platform 2")."""
    base = TEAM_NAMES[k % len(TEAM_NAMES)]
    return base if k < len(TEAM_NAMES) else f"{base} {k // len(TEAM_NAMES) + 1}"


def make_people(people: int, teams: int, weeks: int, seed: int) -> list[DemoPerson]:
    """Draw the cast: unique names, teams of near-equal size, and each person's traits."""
    rng = np.random.default_rng([seed, 0])
    pairs = len(FIRST_NAMES) * len(LAST_NAMES)
    picks = rng.permutation(max(pairs, people))[:people]
    team_names = [team_name(k) for k in range(teams)]
    team_projects = [
        tuple(rng.choice(PROJECTS, size=int(rng.integers(2, 4)), replace=False).tolist())
        for _ in range(teams)
    ]
    team_of = rng.permutation(np.arange(people) % teams)

    # Traits are stratified (one draw in each of n equal slices of their range,
    # shuffled), so that even a cast of twelve spans the range like a crowd does.
    def spread_over(low: float, high: float) -> np.ndarray:
        return low + (high - low) * (rng.permutation(people) + rng.random(people)) / people

    bias = spread_over(-0.3, 0.35)  # median ratios from 0.81x to 1.27x
    skill = np.exp(spread_over(np.log(0.72), np.log(1.4)))
    exact_tendency = np.exp(spread_over(np.log(0.6), np.log(1.6)))
    improves = spread_over(0.0, 1.0) < 0.35
    improve = rng.uniform(0.3, 0.55, people)
    newcomer = (spread_over(0.0, 1.0) < 0.1) & (weeks > 8)
    active_weeks = rng.uniform(min(5, weeks), min(20, weeks), people)
    traits = dict(
        activity=spread_over(0.6, 1.4),
        timer_share=spread_over(0.0, 0.4),
        size_tilt=spread_over(-0.3, 0.3),
        range_share=spread_over(0.12, 0.48),
        range_width=spread_over(0.45, 0.95),
        promise_share=spread_over(0.15, 0.45),
        promise_pad=spread_over(0.6, 1.4),
    )
    cast = []
    for i in range(people):
        pick = int(picks[i])
        if pick < pairs:
            name = f"{FIRST_NAMES[pick % len(FIRST_NAMES)]} {LAST_NAMES[pick // len(FIRST_NAMES)]}"
        else:  # more people than name pairs: number the rest
            name = f"{FIRST_NAMES[pick % len(FIRST_NAMES)]} {pick // len(FIRST_NAMES)}"
        cast.append(
            DemoPerson(
                index=i,
                name=name,
                team=team_names[team_of[i]],
                projects=team_projects[team_of[i]],
                bias=float(bias[i]),
                skill=float(skill[i]),
                improve=float(improve[i]) if improves[i] else 0.0,
                exact_tendency=float(exact_tendency[i]),
                active_weeks=float(active_weeks[i]) if newcomer[i] else float(weeks),
                **{key: float(values[i]) for key, values in traits.items()},
            )
        )
    return cast


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
) -> np.ndarray:
    """Draw r = log2(actual/estimate) before rounding, 0 for exact hits.

    ``progress`` is each task's place in the window (0 at its start, 1 at
    today): an improving person's spread shrinks from (1 + improve/2) to
    (1 - improve/2) times their usual one.
    """
    size = np.log2(estimate_h)
    exact_chance = exact_tendency * np.interp(size, np.log2(ESTIMATE_GRID), EXACT_CHANCE)
    exact = rng.random(estimate_h.size) < exact_chance
    centre = CENTRE_AT_1H + CENTRE_SLOPE * size + bias
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
            bias=person.bias, skill=person.skill, improve=person.improve,
            exact_tendency=person.exact_tendency,
        )  # fmt: skip
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
    finished = int(rng.poisson(tasks_per_week * person.activity * active_weeks))
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
    dropped = rng.random(finished) < 0.03
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

    status = np.concatenate([
        np.where(dropped, "dropped", "done"), np.where(is_started, "started", "open")
    ])  # fmt: skip
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
    # A date promise allows for the wait before work starts (a day or two) and
    # for the padded effort at the pace the person expects.
    date_pad = pad + rng.normal(0.0, 0.3, total)
    planned_h = (
        WORKDAY_H * (1.5 + rng.exponential(1.5, total))
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
        person=person, estimate_h=estimate_h, actual_h=actual_h, status=status,
        created_h=created_h, started_h=started_h, done_h=done_h, low_h=low_h, high_h=high_h,
        confidence=confidence, promise_h=promise_h, due_h=due_h, verb=verb, subject=subject,
        extra_tag=extra_tag, project=project, interval_h=interval_h,
    )  # fmt: skip


# --- into the database ----------------------------------------------------------

#: The columns each row binds; ``updated_at`` and ``source`` are filled in by the
#: statement itself (fewer values to bind is most of the speed of a big insert).
TASK_COLUMNS = (
    "uid", "title", "person", "team", "project", "estimate_h", "low_h", "high_h", "confidence",
    "promise_h", "due", "status", "actual_h", "created_at", "started_at", "done_at", "tags",
)  # fmt: skip
INSERT_TASK = (
    f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}, updated_at, source) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join(f'?{k}' for k in range(1, len(TASK_COLUMNS) + 1))}, "
    f"coalesce(?16, ?15, ?14), '{SOURCE}')"
)
INSERT_INTERVAL = (
    "INSERT INTO intervals (task_id, started_at, stopped_at) "
    "SELECT id, ?, ? FROM tasks WHERE uid = ?"
)

#: Every title (verb x subject) and tag list, made once and picked by index.
TITLES = np.array([f"{verb} {subject}" for verb, *_ in VERBS for subject in OBJECTS], dtype=object)
TAG_LISTS = np.array(
    [
        json.dumps([tag] if extra < 0 else [tag, EXTRA_TAGS[extra]])
        for _, tag, *_ in VERBS
        for extra in range(-1, len(EXTRA_TAGS))
    ],
    dtype=object,
)


def _nullable(values: np.ndarray) -> list:
    """A float array as a list with ``None`` for NaN (SQL NULL)."""
    listed = values.tolist()
    return [None if v != v else v for v in listed] if np.isnan(values).any() else listed


def _iso_or_none(clock_h: np.ndarray, to_text: Callable[[np.ndarray], np.ndarray]) -> list:
    known = ~np.isnan(clock_h)
    out = np.full(clock_h.size, None, dtype=object)
    if known.any():
        out[known] = to_text(clock_h[known])
    return out.tolist()


def _rows(batch: list[TaskColumns], seed: int, first_index: int) -> tuple[list, list]:
    """Task rows (in the order they were logged) and timer intervals for a chunk."""
    cat = {
        name: np.concatenate([getattr(cols, name) for cols in batch])
        for name in TaskColumns.__dataclass_fields__
        if name != "person"
    }
    owner = np.concatenate([np.full(cols.estimate_h.size, k) for k, cols in enumerate(batch)])
    order = np.argsort(cat["created_h"], kind="stable")
    cat = {name: values[order] for name, values in cat.items()}
    owner = owner[order]
    size = owner.size
    names = np.array([cols.person.name for cols in batch], dtype=object)[owner]
    teams = np.array([cols.person.team for cols in batch], dtype=object)[owner]
    project_table = [cols.person.projects for cols in batch]
    projects = [
        project_table[k][p] for k, p in zip(owner.tolist(), cat["project"].tolist(), strict=True)
    ]
    uids = [f"demo:{seed}:{i:07d}" for i in range(first_index, first_index + size)]
    titles = TITLES[cat["verb"] * len(OBJECTS) + cat["subject"]]
    tags = TAG_LISTS[cat["verb"] * (len(EXTRA_TAGS) + 1) + cat["extra_tag"] + 1]
    created_at = clock_to_iso(cat["created_h"]).tolist()
    started_at = _iso_or_none(cat["started_h"], clock_to_iso)
    done_at = _iso_or_none(cat["done_h"], clock_to_iso)
    rows = list(
        zip(
            uids, titles.tolist(), names.tolist(), teams.tolist(), projects,
            cat["estimate_h"].tolist(), _nullable(cat["low_h"]), _nullable(cat["high_h"]),
            _nullable(cat["confidence"]), _nullable(cat["promise_h"]),
            _iso_or_none(cat["due_h"], clock_to_date), cat["status"].tolist(),
            _nullable(cat["actual_h"]), created_at, started_at, done_at, tags.tolist(),
            strict=True,
        )
    )  # fmt: skip
    intervals = []
    for i in np.flatnonzero(~np.isnan(cat["interval_h"])).tolist():
        start = datetime.fromisoformat(started_at[i].replace("Z", "+00:00"))
        stop = start.timestamp() + round(cat["interval_h"][i] * 60) * 60
        stopped_at = datetime.fromtimestamp(stop, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        intervals.append((started_at[i], stopped_at, uids[i]))
    return rows, intervals


@contextlib.contextmanager
def _indexes_rebuilt(conn: sqlite3.Connection, *, large: bool) -> Iterator[None]:
    """For a large generation, drop the tasks table's plain indexes and build
    them again at the end (inside the caller's transaction): building an index
    once, sorted, is twice as fast as keeping it up to date row by row. The
    definitions are read back from the schema, so migrations stay in charge."""
    if not large:
        yield
        return
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        conn.execute(sql)


def _chunks(
    cast: list[DemoPerson], *, chunk_people: int, seed: int, tally: Counter[str], **draw
) -> Iterator[tuple[list, list, int]]:
    """Rows and timer intervals a chunk of people at a time, counting what was
    made into ``tally``; yields (task rows, intervals, people done so far)."""
    written = 0
    for start in range(0, len(cast), chunk_people):
        batch = [
            person_tasks(person, seed=seed, **draw) for person in cast[start : start + chunk_people]
        ]
        for cols in batch:
            for status, count in zip(*np.unique(cols.status, return_counts=True), strict=True):
                tally[str(status)] += int(count)
            tally["with_range"] += int(np.count_nonzero(~np.isnan(cols.low_h)))
            tally["with_promise"] += int(
                np.count_nonzero(~np.isnan(cols.promise_h) | ~np.isnan(cols.due_h))
            )
        rows, intervals = _rows(batch, seed, written)
        written += len(rows)
        tally["tasks"] = written
        yield rows, intervals, min(start + chunk_people, len(cast))


def _end_moment(today: date | None) -> datetime:
    """Now (to the minute) when ``today`` is not given, else 17:00 UTC that day."""
    if today is None:
        return utc_now().replace(second=0, microsecond=0)
    return datetime.combine(today, time(17, 0), tzinfo=UTC)


def _check(people: int, teams: int | None, weeks: int, tasks_per_week, tasks, open_tasks) -> int:
    if people < 1:
        raise InputError(f"people must be at least 1, not {people}")
    if weeks < 1:
        raise InputError(f"weeks must be at least 1, not {weeks}")
    teams = max(1, round(people / PEOPLE_PER_TEAM)) if teams is None else teams
    if not 1 <= teams <= people:
        raise InputError(
            f"teams must be between 1 and the number of people ({people}), not {teams}"
        )
    if tasks_per_week is not None and tasks is not None:
        raise InputError("give tasks_per_week or tasks, not both")
    if tasks_per_week is not None and not tasks_per_week > 0:
        raise InputError(f"tasks_per_week must be more than zero, not {tasks_per_week}")
    if tasks is not None and not tasks > 0:
        raise InputError(f"tasks must be more than zero, not {tasks}")
    if open_tasks < 0:
        raise InputError(f"open_tasks_per_person cannot be negative ({open_tasks})")
    return teams


def generate(
    conn: sqlite3.Connection,
    *,
    people: int = DEFAULT_PEOPLE,
    teams: int | None = None,
    weeks: int = DEFAULT_WEEKS,
    seed: int = 0,
    tasks_per_week: float | None = None,
    tasks: int | None = None,
    today: date | None = None,
    open_tasks_per_person: int = 3,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Fill ``conn`` with a synthetic history and return a summary of it.

    ``people`` in ``teams`` (default: about four a team) finish about
    ``tasks_per_week`` tasks each a week (default 5) over ``weeks`` weeks ending
    ``today`` (default: now); ``tasks`` asks for an approximate total instead.
    Each person also has ``open_tasks_per_person`` open tasks (the first one
    started, with time on its timer). The same arguments give the same rows.
    Everything lands in one transaction, or nothing does. ``progress`` is
    called with the number of people done after each chunk.
    """
    teams = _check(people, teams, weeks, tasks_per_week, tasks, open_tasks_per_person)
    first = conn.execute(
        "SELECT 1 FROM tasks WHERE uid >= ? AND uid < ? LIMIT 1",
        (f"demo:{seed}:", f"demo:{seed};"),
    ).fetchone()
    if first:
        raise StateError(f"this database already holds the demo data of seed {seed}")
    end = _end_moment(today)
    end_h = working_clock(end) - 1 / 60
    # The window is whole ISO weeks (METRICS.md): this week so far and the ones
    # before it, starting on a Monday; at least one working day.
    first_monday = week_start(end.date()) - timedelta(weeks=weeks - 1)
    first_monday_h = working_clock(datetime.combine(first_monday, time(0, 0), tzinfo=UTC))
    start_h = min(first_monday_h, end_h - WORKDAY_H)
    span_weeks = (end_h - start_h) / (5 * WORKDAY_H)
    cast = make_people(people, teams, weeks, seed)
    if tasks is not None:
        exposure = sum(p.activity * min(p.active_weeks, span_weeks) for p in cast)
        tasks_per_week = max(tasks - people * open_tasks_per_person, 1) / exposure
    elif tasks_per_week is None:
        tasks_per_week = DEFAULT_TASKS_PER_WEEK
    per_person = tasks_per_week * weeks + open_tasks_per_person
    chunk_people = max(1, int(CHUNK_TASKS // max(per_person, 1)))
    tally: Counter[str] = Counter()
    chunks = _chunks(
        cast, chunk_people=chunk_people, seed=seed, tally=tally, tasks_per_week=tasks_per_week,
        start_h=start_h, end_h=end_h, open_tasks=open_tasks_per_person,
    )  # fmt: skip
    large = per_person * people > REBUILD_INDEXES_OVER
    with store.transaction(conn), _indexes_rebuilt(conn, large=large):
        for rows, intervals, people_done in chunks:
            for offset in range(0, len(rows), INSERT_BATCH):
                conn.executemany(INSERT_TASK, rows[offset : offset + INSERT_BATCH])
            conn.executemany(INSERT_INTERVAL, intervals)
            if progress is not None:
                progress(people_done)
    first_day = clock_to_date(np.array([start_h]))[0]
    return {
        "tasks": tally["tasks"],
        **{status: tally[status] for status in ("done", "dropped", "open", "started")},
        "people": people,
        "teams": teams,
        "weeks": weeks,
        "seed": seed,
        "first_day": str(first_day),
        "last_day": end.date().isoformat(),
        "with_range": tally["with_range"],
        "with_promise": tally["with_promise"],
    }


# --- the demo file ---------------------------------------------------------------


def foreign_content(path: Path) -> str | None:
    """Why the file at ``path`` must not be replaced by a demo, or ``None`` when
    it may be: it does not exist, is empty, or holds demo data only."""
    if not path.exists():
        return None
    if path.is_dir():
        return "is a directory"
    if path.stat().st_size == 0:
        return None
    with open(path, "rb") as handle:
        if not handle.read(16).startswith(b"SQLite format 3"):
            return "is not a calibrate database"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not tables:
                return None
            if "tasks" not in tables:
                return "is another program's database"
            others = conn.execute(
                "SELECT count(*) FROM tasks WHERE source IS NOT ?", (SOURCE,)
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        return f"cannot be read as a database ({error})"
    if others:
        return f"holds {others:,} task{'s that are' if others != 1 else ' that is'} not demo data"
    return None


def build_demo_database(path: Path, *, force: bool = False, **generate_args) -> dict:
    """Build a fresh demo database at ``path`` and return :func:`generate`'s summary.

    An earlier demo file there is replaced; a file holding anything else is
    refused (unless ``force``), so a demo never lands in someone's real data.
    The new file is built beside the old one and moved over it at the end: a
    failure half-way leaves the old file as it was.
    """
    path = Path(path)
    reason = foreign_content(path)
    if reason and not force:
        raise StateError(
            f"{path} {reason}; the demo will not replace it "
            "(give another --db, or --force to replace the file)"
        )
    if path.is_dir():
        raise InputError(f"{path} is a directory: give a file path for the demo database")
    building = path.with_name(f".{path.name}.building-{os.getpid()}")
    _remove_database_files(building)
    try:
        conn = store.connect(building)
        try:
            summary = generate(conn, **generate_args)
        finally:
            conn.close()
        _remove_database_files(path, keep_main=True)
        os.replace(building, path)
    finally:
        _remove_database_files(building)
    return summary


def _remove_database_files(path: Path, *, keep_main: bool = False) -> None:
    """Remove a database file's journal companions (and the file itself)."""
    suffixes = ("-wal", "-shm", "-journal") if keep_main else ("", "-wal", "-shm", "-journal")
    for suffix in suffixes:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
