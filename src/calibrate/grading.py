"""The forecast ledger graded (METRICS.md section 8): how the chances that
``forecast`` gave open promises held, once the promises resolved.

Each recorded chance is judged against the promise as it stood when the
chance was given (its effort and date), by section 4's rule
(:func:`calibrate.stats.promises.promise_outcomes`: kept when finished on or
before the date and within the effort; broken when dropped, or open past the
date), and graded by :func:`calibrate.stats.ledger.forecast_record` (the
Brier score and reliability by tenths). The advice ledger is graded by the
score panel (:mod:`calibrate.panel`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date

import numpy as np

from calibrate.selection import Selection
from calibrate.stats import promises
from calibrate.stats.ledger import ForecastRecord, forecast_record
from calibrate.store import ledgers, settings
from calibrate.store.load import local_dates


def graded_chances(
    conn: sqlite3.Connection | None, selection: Selection, today: date, values: Mapping
) -> ForecastRecord:
    """The forecast ledger of the scope's tasks (all history: the ledger is
    young), graded where the promise has resolved."""
    scope = Selection(
        person=selection.person,
        team=selection.team,
        everyone=selection.everyone,
        names=selection.names,
    )
    rows = ledgers.recorded_chances(conn, *scope.where("t")) if conn is not None else []
    if not rows:
        return forecast_record([], [], [])
    task, _, chance, promise_h, due, status, actual_h, done_at = zip(*rows, strict=True)
    outcomes = promises.promise_outcomes(
        status=np.array(status, dtype=object),
        promise_h=np.array([np.nan if p is None else p for p in promise_h], dtype=float),
        due=np.array([d or "NaT" for d in due], dtype="datetime64[D]"),
        done_date=local_dates(list(done_at)),
        actual_h=np.array([np.nan if a is None else a for a in actual_h], dtype=float),
        today=today,
        **settings.calendar(values),
    )
    resolved = outcomes["resolved"].to_numpy(dtype=bool)
    kept = outcomes["kept"].to_numpy(dtype=bool)
    return forecast_record(
        np.array(chance, dtype=float)[resolved], kept[resolved], np.array(task)[resolved]
    )
