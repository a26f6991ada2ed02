"""One task's verdicts (rules.py, plain Python) against the statistics' arrays.

``list``, ``show`` and ``status`` judge a task's promise with
:func:`calibrate.rules.promise_verdict` and its range with
:func:`calibrate.rules.range_verdict`; the scores judge whole scopes with
:func:`calibrate.stats.promises.promise_outcomes` and
:func:`calibrate.rules.range_hit_masks`. Both are METRICS.md sections 3 and
4: on generated tasks they must give the same answers, so that a user told
"43% kept" finds exactly the broken ones with ``list --promise broken``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest

from calibrate import rules
from calibrate.stats.promises import promise_outcomes

TODAY = date(2026, 12, 2)  # a Wednesday
HOLIDAYS = ["2026-12-04", "2026-12-24"]


def generated_tasks(seed: int, count: int = 3000) -> list[dict]:
    """Tasks of every kind: statuses, effort and date promises, done before,
    on and after their due dates (around weekends and holidays), actuals
    around the promise and at its bounds exactly."""
    rng = random.Random(seed)
    tasks = []
    for _ in range(count):
        status = rng.choice(["open", "started", "done", "done", "dropped", "imported"])
        promise = rng.choice([None, None, 1.0, 2.5, 4.0, 10.0])
        due = rng.choice([None, TODAY + timedelta(days=rng.randint(-12, 12))])
        actual = None
        done = None
        if status in ("done", "imported") or (status == "dropped" and rng.random() < 0.3):
            base = promise or 3.0
            actual = rng.choice(
                [base, base * 0.8, base * 1.0000000001, base * rng.uniform(0.1, 2.5), None]
            )
            if status == "done" and actual is None:
                actual = 1.0
            done = rng.choice([None, TODAY - timedelta(days=rng.randint(-3, 20))])
            if status == "done" and done is None and rng.random() < 0.7:
                done = TODAY
        tasks.append(
            {
                "status": "open" if status == "imported" else status,
                "promise_h": promise,
                "due": due,
                "done_date": done,
                "actual_h": actual,
            }
        )
    return tasks


def scalar(task: dict, weekmask: str, holidays) -> str | None:
    return rules.promise_verdict(
        **task, used_h=0.0, today=TODAY, weekmask=weekmask, holidays=holidays
    )


@pytest.mark.parametrize(
    ("seed", "weekmask", "holidays"),
    [(1, "1111100", ()), (2, "Mon Tue Wed Thu Fri", HOLIDAYS), (3, "Mon Wed Sat", HOLIDAYS)],
)
def test_the_verdict_of_each_task_is_the_outcome_the_scores_count(seed, weekmask, holidays):
    tasks = generated_tasks(seed)
    outcomes = promise_outcomes(
        status=[t["status"] for t in tasks],
        promise_h=[np.nan if t["promise_h"] is None else t["promise_h"] for t in tasks],
        due=[np.datetime64("NaT") if t["due"] is None else t["due"] for t in tasks],
        done_date=[
            np.datetime64("NaT") if t["done_date"] is None else t["done_date"] for t in tasks
        ],
        actual_h=[np.nan if t["actual_h"] is None else t["actual_h"] for t in tasks],
        today=TODAY,
        weekmask=weekmask,
        holidays=holidays,
    )
    seen = set()
    for task, outcome in zip(tasks, outcomes.itertuples(), strict=True):
        verdict = scalar(task, weekmask, holidays)
        if not outcome.has_promise:
            expected = {None}
        elif not outcome.resolved:
            expected = {"pending", "at-risk"}
        elif outcome.exceeded:
            expected = {"exceeded"}
        elif outcome.kept:
            expected = {"kept"}
        else:
            expected = {"broken"}
        assert verdict in expected, (task, outcome)
        seen.add(verdict)
    assert seen == {None, *rules.PROMISE_VERDICTS}  # every verdict was met


def test_the_range_verdict_is_the_scores_hit_or_miss():
    rng = random.Random(5)
    lows = [rng.choice([1.0, 2.0, 0.5]) for _ in range(2000)]
    highs = [low * rng.choice([2.0, 3.0]) for low in lows]
    actuals = [
        rng.choice([low, high, low * (1 - 1e-12), high * (1 + 1e-12), rng.uniform(0.1, 8)])
        for low, high in zip(lows, highs, strict=True)
    ]
    below, above = rules.range_hit_masks(lows, highs, actuals)
    for i, (low, high, actual) in enumerate(zip(lows, highs, actuals, strict=True)):
        expected = "below" if below[i] else "above" if above[i] else "inside"
        assert rules.range_verdict(low, high, actual) == expected
    assert rules.range_verdict(1.0, 3.0, 3.0) == "inside"  # a timer total at the high bound
    assert rules.range_verdict(None, None, 3.0) is None
    assert rules.range_verdict(1.0, 3.0, None) is None


@pytest.mark.parametrize(
    ("task", "used", "verdict"),
    [
        # open: at risk once 80% of the promised effort is used
        ({"status": "started", "promise_h": 5.0}, 3.9, "pending"),
        ({"status": "started", "promise_h": 5.0}, 4.0, "at-risk"),
        ({"status": "started", "promise_h": 5.0}, 6.0, "at-risk"),  # broken only when done
        # open: at risk when due within one working day (Wednesday: Thursday is one)
        ({"status": "open", "due": date(2026, 12, 3)}, 0, "at-risk"),
        ({"status": "open", "due": TODAY}, 0, "at-risk"),
        ({"status": "open", "due": date(2026, 12, 4)}, 0, "pending"),
        ({"status": "open", "due": date(2026, 12, 1)}, 0, "broken"),  # past due
        ({"status": "dropped", "promise_h": 2.0}, 0, "broken"),
        # done: kept, with margin, or not
        ({"status": "done", "promise_h": 5.0, "actual_h": 5.0, "done_date": TODAY}, 0, "kept"),
        ({"status": "done", "promise_h": 5.0, "actual_h": 4.0, "done_date": TODAY}, 0, "exceeded"),
        ({"status": "done", "promise_h": 5.0, "actual_h": 5.5, "done_date": TODAY}, 0, "broken"),
        ({"status": "done", "due": TODAY, "actual_h": 9.0, "done_date": TODAY}, 0, "kept"),
        (
            {"status": "done", "due": date(2026, 12, 3), "actual_h": 9.0, "done_date": TODAY},
            0,
            "exceeded",  # a working day early
        ),
        (
            {"status": "done", "due": TODAY, "actual_h": 9.0, "done_date": date(2026, 12, 3)},
            0,
            "broken",  # a day late
        ),
        ({"status": "done", "actual_h": 9.0, "done_date": TODAY}, 0, None),  # no promise
    ],
)
def test_verdicts_by_hand(task, used, verdict):
    full = {"promise_h": None, "due": None, "done_date": None, "actual_h": None, **task}
    assert rules.promise_verdict(**full, used_h=used, today=TODAY) == verdict


def test_working_days_skip_weekends_and_holidays():
    friday, monday = date(2026, 12, 4), date(2026, 12, 7)
    assert rules.working_days_between(friday, monday) == 1
    assert rules.working_days_between(date(2026, 12, 3), monday, holidays=["2026-12-04"]) == 1
    assert rules.working_days_between(monday, friday) == 0
    assert rules.working_days_between(monday, monday + timedelta(days=400), at_most=2) == 3
    assert rules.working_days_between(monday, monday + timedelta(days=28)) == int(
        np.busday_count(monday + timedelta(days=1), monday + timedelta(days=29))
    )
    assert rules.working_weekdays("Mon Wed Sat") == {0, 2, 5}
    assert rules.working_weekdays("1111100") == {0, 1, 2, 3, 4}
