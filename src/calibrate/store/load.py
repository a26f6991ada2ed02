"""What the scores need from the database, loaded with SQL into numpy and pandas.

SQL does the filtering (scope and window through :class:`Selection`, the
"counted task" rule), the counting (tasks logged, promises made) and the
reference sums a score is shrunk toward; Python receives only the columns a
panel needs, fetched in chunks straight into numpy arrays. :mod:`metrics`
then computes every figure from those arrays without touching the database.

Times are stored in UTC; weeks and days are the user's local ones
(METRICS.md), so done dates are converted with :func:`local_zone` here.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.errors import DatabaseError
from calibrate.selection import Selection
from calibrate.stats import metrics, promises, trends
from calibrate.store.tasks import canonical_person, team_of

#: A task counts in every score when E > 0, A > 0 and it is not dropped.
COUNTED_SQL = "estimate_h > 0 AND actual_h > 0 AND status != 'dropped'"
HAS_PROMISE_SQL = "(promise_h IS NOT NULL OR due IS NOT NULL)"
#: Rows fetched per round trip: bounds the Python objects alive at once.
FETCH_ROWS = 100_000
#: Above this share of all tasks in the window, a full scan beats the index.
SCAN_SHARE = 0.10
DEFAULT_CONFIDENCE = 0.90


# --- time zone and dates ---------------------------------------------------------


def local_zone():
    """The user's time zone, as a ``ZoneInfo`` when it can be named (so that
    summer time is right for every date), else today's fixed offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    candidates = [name] if name else []
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        target = ""
    if "/zoneinfo/" in target:
        candidates.append(target.split("/zoneinfo/", 1)[1])
    for key in candidates:
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return datetime.now().astimezone().tzinfo


def local_dates(utc_texts) -> np.ndarray:
    """Stored UTC ISO texts to local calendar dates (``datetime64[D]``; NaT for
    missing or unreadable ones)."""
    texts = pd.Series(np.asarray(utc_texts, dtype=object), dtype=object)
    if texts.empty:
        return np.array([], dtype="datetime64[D]")
    stamps = pd.to_datetime(texts, format="ISO8601", utc=True, errors="coerce")
    local = stamps.dt.tz_convert(local_zone()).dt.tz_localize(None)
    return local.to_numpy().astype("datetime64[D]")


def iso_dates(texts) -> np.ndarray:
    """ISO date texts (``due``) to ``datetime64[D]``; NaT for missing or bad ones."""
    series = pd.Series(np.asarray(texts, dtype=object), dtype=object)
    if series.empty:
        return np.array([], dtype="datetime64[D]")
    parsed = pd.to_datetime(series.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy().astype("datetime64[D]")


def window_start(selection: Selection) -> date | None:
    """The local date the selection's window starts on (``None``: all history)."""
    if selection.since is None:
        return None
    return pd.Timestamp(selection.since).tz_convert(local_zone()).date()


def window_end(selection: Selection) -> date | None:
    if selection.until is None:
        return None
    return pd.Timestamp(selection.until).tz_convert(local_zone()).date()


# --- selections ---------------------------------------------------------------------

_SELECTION_FIELDS = (
    "person",
    "team",
    "everyone",
    "status",
    "since",
    "until",
    "window_on",
    "tags",
    "project",
)


def replace(selection: Selection, **changes) -> Selection:
    """A copy of ``selection`` with some of its options changed."""
    options = {name: getattr(selection, name) for name in _SELECTION_FIELDS}
    return Selection(**{**options, **changes})


# --- people and teams -------------------------------------------------------------


def resolve_person(conn: sqlite3.Connection, selection: Selection) -> Selection:
    """The selection with its person's alias resolved (``jdoe`` -> ``Jane Doe``)."""
    if selection.person is None:
        return selection
    return replace(selection, person=canonical_person(conn, selection.person))


def reference_for(conn: sqlite3.Connection, selection: Selection) -> tuple[Selection | None, str]:
    """The scope a panel is shrunk toward and compared with, and its label.

    A person: their team, or everyone when they have none; a team: everyone;
    everyone: ``None`` (itself). The window and filters stay the same.
    """
    everyone = replace(selection, person=None, team=None, everyone=True)
    if selection.person is not None:
        team = team_of(conn, selection.person)
        if team is None:
            return everyone, "everyone"
        return replace(selection, person=None, team=team, everyone=False), f"team {team}"
    if selection.team is not None:
        return everyone, "everyone"
    return None, "everyone"


# --- fetching -----------------------------------------------------------------------


def _fetch(
    conn: sqlite3.Connection, sql: str, params: Sequence, columns: Sequence[tuple[str, str]]
) -> dict[str, np.ndarray]:
    """Run ``sql`` and return its columns as numpy arrays of the given dtypes
    (``float``: NULL becomes NaN; ``object``: text), chunk by chunk."""
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: no Row objects for a million rows
    cursor.execute(sql, list(params))
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in columns}
    while rows := cursor.fetchmany(FETCH_ROWS):
        for (name, dtype), values in zip(columns, zip(*rows, strict=True), strict=True):
            try:
                parts[name].append(np.array(values, dtype=dtype))
            except (TypeError, ValueError):
                cursor.close()
                raise DatabaseError(
                    f"a task's {name} is not a number in the database; fix it with "
                    "'calibrate edit' or re-import the file"
                ) from None
    cursor.close()
    return {
        name: np.concatenate(parts[name]) if parts[name] else np.array([], dtype=dtype)
        for name, dtype in columns
    }


def _source(conn: sqlite3.Connection, selection: Selection) -> str:
    """``tasks``, or ``tasks NOT INDEXED`` when the query covers a large share of
    all tasks: reading the table straight through is then several times faster
    than following the done-date index row by row."""
    if selection.person is not None or selection.team is not None:
        return "tasks"
    if selection.since is None:
        return "tasks"
    total = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    if not total:
        return "tasks"
    inside = conn.execute(
        "SELECT count(*) FROM tasks WHERE done_at >= ?", (selection.since,)
    ).fetchone()[0]
    return "tasks NOT INDEXED" if inside > SCAN_SHARE * total else "tasks"


def _scope_only(selection: Selection) -> Selection:
    return replace(selection, since=None, until=None, status="any")


# --- counted tasks ---------------------------------------------------------------------

COUNTED_COLUMNS = (
    ("estimate_h", "float"),
    ("actual_h", "float"),
    ("low_h", "float"),
    ("high_h", "float"),
    ("confidence", "float"),
    ("done_at", "object"),
)
PEOPLE_COLUMNS = (("person", "object"), ("team", "object"))


def counted_tasks(
    conn: sqlite3.Connection, selection: Selection, *, with_people: bool = False
) -> pd.DataFrame:
    """The scope's counted tasks finished in the window, one row each.

    Columns: ``estimate_h``, ``actual_h``, ``low_h``, ``high_h`` (NaN without
    a range), ``confidence`` (a fraction; 0.90 for a range without one, NaN
    without a range), ``done_date`` (local date, NaT if unknown) and ``week``
    (:func:`trends.week_index`, -1 if unknown); with ``with_people`` also
    ``person`` and ``team``, for figures per person or team at once
    (:func:`metrics.point_stats_by`).
    """
    where, params = selection.where()
    wanted = [*COUNTED_COLUMNS, *(PEOPLE_COLUMNS if with_people else ())]
    names = ", ".join(name for name, _ in wanted)
    # In id order, whatever index SQLite picks: the sums behind a score then run
    # in one order, so the report (which loads by id) gets the very same figures.
    sql = (
        f"SELECT {names} FROM {_source(conn, selection)} "  # noqa: S608 (clause from Selection)
        f"WHERE {COUNTED_SQL} AND {where} ORDER BY id"
    )
    columns = _fetch(conn, sql, params, wanted)
    return counted_frame(columns, local_dates(columns["done_at"]))


def counted_frame(columns: Mapping[str, np.ndarray], done_date: np.ndarray) -> pd.DataFrame:
    """:func:`counted_tasks`' frame from its columns already in hand (the
    :data:`COUNTED_COLUMNS`, optionally ``person`` and ``team``) and the local
    done dates (:func:`local_dates` of ``done_at``)."""
    has_range = np.isfinite(columns["low_h"]) & np.isfinite(columns["high_h"])
    stated = columns["confidence"] / 100.0
    confidence = np.where(
        has_range, np.where(np.isfinite(stated), stated, DEFAULT_CONFIDENCE), np.nan
    )
    frame = pd.DataFrame(
        {
            "estimate_h": columns["estimate_h"],
            "actual_h": columns["actual_h"],
            "low_h": columns["low_h"],
            "high_h": columns["high_h"],
            "confidence": confidence,
            "done_date": done_date,
            "week": trends.week_index(done_date),
        }
    )
    if "person" in columns:
        frame["person"] = columns["person"]
        frame["team"] = columns["team"]
    return frame


_STATS_SQL = """
SELECT count(*), total(m), total(m * m), total(exact), total(under)
FROM (
    SELECT min(abs(r), {clip}) AS m, abs(r) <= {exact} AS exact, r < -{exact} AS under
    FROM (SELECT log2(actual_h / estimate_h) AS r FROM {source} WHERE {counted} AND {where})
)
"""


def counted_stats(conn: sqlite3.Connection, selection: Selection) -> dict:
    """Sufficient statistics of the scope's counted tasks, summed in SQL.

    Keys: ``n``, ``sum_abs`` and ``sum_sq`` of |clip(r)|, ``malr``, and the
    ``exact`` and ``under`` shares (``None`` when n is 0). Falls back to
    loading the ratios when this SQLite lacks its math functions.
    """
    where, params = selection.where()
    sql = _STATS_SQL.format(
        clip=rules.CLIP_LOG2,
        exact=rules.EXACT_LOG2 + rules.BOUND_SLACK,
        source=_source(conn, selection),
        counted=COUNTED_SQL,
        where=where,
    )
    try:
        n, sum_abs, sum_sq, exact, under = conn.execute(sql, params).fetchone()
    except sqlite3.OperationalError as error:
        if "no such function" not in str(error):
            raise
        tasks = counted_tasks(conn, selection)
        summary = metrics.point_summary(tasks["estimate_h"], tasks["actual_h"])
        n, sum_abs, sum_sq = summary["n"], summary["sum_abs"], summary["sum_sq"]
        exact = (summary["exact"] or 0.0) * n
        under = (summary["under"] or 0.0) * n
    return {
        "n": int(n),
        "sum_abs": float(sum_abs),
        "sum_sq": float(sum_sq),
        "malr": sum_abs / n if n else None,
        "exact": exact / n if n else None,
        "under": under / n if n else None,
    }


# --- promises -----------------------------------------------------------------------------

PROMISE_COLUMNS = (
    ("status", "object"),
    ("promise_h", "float"),
    ("due", "object"),
    ("done_at", "object"),
    ("actual_h", "float"),
)


def promise_tasks(conn: sqlite3.Connection, selection: Selection) -> pd.DataFrame:
    """The scope's tasks with a promise whose outcome may fall in the window.

    Finished and dropped tasks are windowed by their done date; tasks not
    done by their due date (an open task past due is broken from that day).
    Columns: ``status``, ``promise_h``, ``due`` and ``done_date`` (local
    dates), ``actual_h``: the inputs of :func:`promises.promise_outcomes`.
    """
    where, params = _scope_only(selection).where()
    clauses = [HAS_PROMISE_SQL, where]
    start, end = window_start(selection), window_end(selection)
    if selection.since is not None:
        clauses.append("(CASE WHEN done_at IS NOT NULL THEN done_at >= ? ELSE due >= ? END)")
        params += [selection.since, start.isoformat()]
    if selection.until is not None:
        clauses.append("(CASE WHEN done_at IS NOT NULL THEN done_at < ? ELSE due < ? END)")
        params += [selection.until, end.isoformat()]
    names = ", ".join(name for name, _ in PROMISE_COLUMNS)
    sql = f"SELECT {names} FROM tasks WHERE {' AND '.join(clauses)}"  # noqa: S608
    columns = _fetch(conn, sql, params, PROMISE_COLUMNS)
    return pd.DataFrame(
        {
            "status": columns["status"],
            "promise_h": columns["promise_h"],
            "due": iso_dates(columns["due"]),
            "done_date": local_dates(columns["done_at"]),
            "actual_h": columns["actual_h"],
        }
    )


def promise_outcomes(
    conn: sqlite3.Connection, selection: Selection, today: date, values: dict
) -> pd.DataFrame:
    """:func:`promises.promise_outcomes` over :func:`promise_tasks`, with the
    working days and holidays of the settings ``values``."""
    tasks = promise_tasks(conn, selection)
    return outcomes_of(
        tasks["status"].to_numpy(), tasks["promise_h"].to_numpy(), tasks["due"].to_numpy(),
        tasks["done_date"].to_numpy(), tasks["actual_h"].to_numpy(), today, values,
    )  # fmt: skip


def outcomes_of(
    status, promise_h, due, done_date, actual_h, today: date, values: Mapping
) -> pd.DataFrame:
    """:func:`promises.promise_outcomes` of arrays already in hand (``due`` and
    ``done_date`` as local dates), on the working calendar of the settings ``values``."""
    return promises.promise_outcomes(
        status=status,
        promise_h=promise_h,
        due=due,
        done_date=done_date,
        actual_h=actual_h,
        today=today,
        weekmask=weekmask(values.get("work-days")),
        holidays=list(values.get("holidays") or ()),
    )


def weekmask(work_days: Sequence[str] | None) -> str:
    """numpy's weekmask ("Mon Tue ...") from the ``work-days`` setting."""
    days = [day[:3].capitalize() for day in (work_days or ["mon", "tue", "wed", "thu", "fri"])]
    return " ".join(days) or "Mon Tue Wed Thu Fri"


def logged_counts(conn: sqlite3.Connection, selection: Selection) -> tuple[int, int]:
    """Tasks logged (created) in the window, and how many of them carry a
    promise: the two sides of the promise rate."""
    where, params = _scope_only(selection).where()
    clauses = [where]
    if selection.since is not None:
        clauses.append("created_at >= ?")
        params.append(selection.since)
    if selection.until is not None:
        clauses.append("created_at < ?")
        params.append(selection.until)
    sql = (
        f"SELECT count(*), total({HAS_PROMISE_SQL}) FROM tasks "  # noqa: S608
        f"WHERE {' AND '.join(clauses)}"
    )
    logged, promised = conn.execute(sql, params).fetchone()
    return int(logged), int(promised)


def has_tasks(conn: sqlite3.Connection, selection: Selection) -> bool:
    """Whether the scope has any task at all, in any window."""
    where, params = _scope_only(selection).where()
    sql = f"SELECT 1 FROM tasks WHERE {where} LIMIT 1"  # noqa: S608
    return conn.execute(sql, params).fetchone() is not None
