"""What the scores need from the database, loaded with SQL into numpy and pandas.

SQL does the filtering (scope and window through :class:`Selection`, the
METRICS.md rules of :mod:`calibrate.rules`: what counts, when a promise is
judged), the counting (tasks logged, promises made) and the reference sums a
score is shrunk toward; Python receives only the columns a panel needs,
through the one fetcher (:func:`calibrate.store.fetch.fetch_columns`). The
statistics (:mod:`calibrate.stats`) then compute every figure from those
arrays without touching the database, and this module computes none: it
never imports them.

Times are stored in UTC; weeks and days are the user's local ones
(METRICS.md): done dates are converted by :func:`calibrate.durations.local_days`.

What ``rank`` and a team summary need comes in one scan too:
:func:`task_columns` reads every task of the scope that counts in the
window or carries a promise judged in it (the rules as SQL), and
:func:`window_rows` tells the two apart again in numpy (the same rules as
arrays), which is cheaper than asking SQLite for flags on a million rows;
:func:`imported_weeks` reads the week rows of the team summaries imported
here. :mod:`calibrate.teams` sums them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.clock import local_date
from calibrate.durations import NO_TIME, from_iso, local_days, week_index, week_start
from calibrate.selection import Selection
from calibrate.store import names, people, summaries
from calibrate.store.fetch import fetch_columns
from calibrate.store.tasks import STATUSES
from calibrate.store.tasks import team_of as team_of

#: Above this share of all tasks in the window, a full scan beats the index.
SCAN_SHARE = 0.10
#: The status as its index in ``tasks.STATUSES``: a small int costs Python far
#: less than a string on a million rows (fetch it as ``np.int64``).
STATUS_CODE_SQL = (
    "(CASE status "
    + " ".join(f"WHEN '{status}' THEN {code}" for code, status in enumerate(STATUSES[:-1]))
    + f" ELSE {len(STATUSES) - 1} END)"
)


# --- time zone and dates ---------------------------------------------------------


def utc_stamps(utc_texts) -> pd.Series:
    """Stored UTC ISO texts as UTC times (NaT for missing or unreadable ones)."""
    texts = pd.Series(np.asarray(utc_texts, dtype=object), dtype=object)
    return pd.to_datetime(texts, format="ISO8601", utc=True, errors="coerce")


def epoch_seconds(stamps: pd.Series) -> np.ndarray:
    """UTC times as seconds since 1970 (:data:`durations.NO_TIME` for NaT)."""
    seconds = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    return np.where(np.isnat(seconds), NO_TIME, seconds.astype(np.int64))


def local_dates(utc_texts) -> np.ndarray:
    """Stored UTC ISO texts to local calendar dates (``datetime64[D]``; NaT for
    missing or unreadable ones), by :func:`durations.local_days`."""
    stamps = utc_stamps(utc_texts)
    if stamps.empty:
        return np.array([], dtype="datetime64[D]")
    return local_days(epoch_seconds(stamps))


def iso_dates(texts) -> np.ndarray:
    """ISO date texts (``due``) to ``datetime64[D]``; NaT for missing or bad ones."""
    series = pd.Series(np.asarray(texts, dtype=object), dtype=object)
    if series.empty:
        return np.array([], dtype="datetime64[D]")
    parsed = pd.to_datetime(series.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy().astype("datetime64[D]")


def parse_dates(done_at: np.ndarray, due: np.ndarray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Stored done times as UTC times and local dates (:func:`local_dates`),
    and due dates (:func:`iso_dates`; NaT without one): parsed once for every
    figure a loader's rows feed."""
    stamps = utc_stamps(done_at)
    done_date = local_days(epoch_seconds(stamps))
    due_date = np.full(len(due), np.datetime64("NaT"), dtype="datetime64[D]")
    has_due = pd.notna(due)
    due_date[has_due] = iso_dates(due[has_due])
    return stamps, done_date, due_date


def window_start(selection: Selection) -> date | None:
    """The local date the selection's window starts on (``None``: all history)."""
    if selection.since is None:
        return None
    return local_date(from_iso(selection.since))


def window_end(selection: Selection) -> date | None:
    if selection.until is None:
        return None
    return local_date(from_iso(selection.until))


def promise_window(selection: Selection) -> tuple[list[str], list]:
    """:func:`rules.promise_window` of the selection's window: SQL conditions
    for the promises judged in it, and their parameters."""
    start, end = window_start(selection), window_end(selection)
    return rules.promise_window(
        selection.since,
        selection.until,
        start.isoformat() if start else None,
        end.isoformat() if end else None,
    )


# --- people and teams -------------------------------------------------------------


def resolve_person(conn: sqlite3.Connection, selection: Selection) -> Selection:
    """The selection with its person's aliases resolved (law 7): ``--person
    jdoe`` becomes ``Jane Doe``, selecting the tasks stored under every name
    that stands for her (``Jane Doe``, ``jdoe``, ...) and no other. The one
    place a scope's person meets the aliases."""
    return names.resolve_person(conn, selection)


def canonical_people(conn: sqlite3.Connection, column: np.ndarray) -> np.ndarray:
    """A loaded ``person`` column with every name mapped to the person it
    stands for (aliases, read when loaded: stored names are never rewritten)."""
    mapping = people.alias_map(conn)
    if not mapping or not len(column):
        return column
    return np.asarray([mapping.get(name, name) for name in column.tolist()], dtype=object)


def reference_for(conn: sqlite3.Connection, selection: Selection) -> tuple[Selection | None, str]:
    """The scope a panel is shrunk toward and compared with, and its label.

    A person: their team (for a person known from a team summary, the team
    it gives them), or everyone when they have none; a team: everyone;
    everyone: ``None`` (itself). The window and filters stay the same.
    """
    everyone = selection.replace(person=None, team=None, everyone=True)
    if selection.person is not None:
        team = people.current_team(conn, selection.person)
        if team is None:
            return everyone, "everyone"
        return selection.replace(person=None, team=team, everyone=False), f"team {team}"
    if selection.team is not None:
        return everyone, "everyone"
    return None, "everyone"


# --- where the rows come from -----------------------------------------------------


def source_for(conn: sqlite3.Connection, selection: Selection) -> str:
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


def scope_only(selection: Selection) -> Selection:
    """The selection without its window and status: who, tags and project."""
    return selection.replace(since=None, until=None, status="any")


# --- counted tasks ---------------------------------------------------------------------

#: What :func:`counted_frame` reads (numbers as floats, ``done_at`` as text).
COUNTED_COLUMNS = ("estimate_h", "actual_h", "low_h", "high_h", "confidence", "done_at")
PEOPLE_COLUMNS = ("person", "team")


def counted_tasks(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    with_people: bool = False,
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The scope's counted tasks finished in the window, one row each.

    Columns: ``estimate_h``, ``actual_h``, ``low_h``, ``high_h`` (NaN without
    a range), ``confidence`` (a fraction; the default of METRICS.md for a
    range without one, NaN without a range), ``done_date`` (local date, NaT
    if unknown) and ``week`` (:func:`durations.week_index`, -1 if unknown);
    with ``with_people`` also ``person`` and ``team``, for figures per person
    or team at once (:func:`metrics.point_stats_by`); and the ``extra``
    fields of the tasks table as stored (``tags``, ``project``, ``created_at``).
    """
    where, params = selection.where()
    wanted = [*COUNTED_COLUMNS, *(PEOPLE_COLUMNS if with_people else ()), *extra]
    # In id order, whatever index SQLite picks: the sums behind a score then run
    # in one order, so the report (which loads by id) gets the very same figures.
    sql = (
        f"SELECT {', '.join(wanted)} FROM {source_for(conn, selection)} "  # noqa: S608 (clause from Selection)
        f"WHERE {rules.counted_sql()} AND {where} ORDER BY id"
    )
    columns = fetch_columns(conn, sql, params, wanted)
    if with_people:
        columns["person"] = canonical_people(conn, columns["person"])
    frame = counted_frame(columns, local_dates(columns["done_at"]))
    for name in extra:
        frame[name] = columns[name]
    return frame


def counted_frame(columns: Mapping[str, np.ndarray], done_date: np.ndarray) -> pd.DataFrame:
    """:func:`counted_tasks`' frame from its columns already in hand (the
    :data:`COUNTED_COLUMNS`, optionally ``person`` and ``team``) and the local
    done dates (:func:`local_dates` of ``done_at``)."""
    has_range = np.isfinite(columns["low_h"]) & np.isfinite(columns["high_h"])
    stated = columns["confidence"]
    percent = np.where(np.isfinite(stated), stated, rules.DEFAULT_CONFIDENCE)
    frame = pd.DataFrame(
        {
            "estimate_h": columns["estimate_h"],
            "actual_h": columns["actual_h"],
            "low_h": columns["low_h"],
            "high_h": columns["high_h"],
            "confidence": np.where(has_range, percent / 100.0, np.nan),
            "done_date": done_date,
            "week": week_index(done_date),
        }
    )
    if "person" in columns:
        frame["person"] = columns["person"]
        frame["team"] = columns["team"]
    return frame


def counted_counts(conn: sqlite3.Connection, selection: Selection) -> pd.DataFrame:
    """The scope's counted tasks finished in the window, counted per
    ``person`` and ``team`` (``None`` for none) in SQL: who did the scope's
    work, for the drift of a team's or everyone's score."""
    where, params = selection.where()
    sql = (
        f"SELECT person, team, count(*) FROM {source_for(conn, selection)} "  # noqa: S608
        f"WHERE {rules.counted_sql()} AND {where} GROUP BY person, team"
    )
    found = conn.execute(sql, params).fetchall()
    return pd.DataFrame(
        {
            "person": [row[0] for row in found],
            "team": [row[1] for row in found],
            "n": np.array([row[2] for row in found], dtype=np.int64),
        }
    )


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
    ``exact`` and ``under`` shares (``None`` when n is 0). Sums the loaded
    ratios instead when this SQLite lacks its math functions.
    """
    where, params = selection.where()
    sql = _STATS_SQL.format(
        clip=rules.CLIP_LOG2,
        exact=rules.EXACT_LOG2 + rules.BOUND_SLACK,
        source=source_for(conn, selection),
        counted=rules.counted_sql(),
        where=where,
    )
    try:
        n, sum_abs, sum_sq, exact, under = conn.execute(sql, params).fetchone()
    except sqlite3.OperationalError as error:
        if "no such function" not in str(error):
            raise
        n, sum_abs, sum_sq, exact, under = _summed(counted_tasks(conn, selection))
    return {
        "n": int(n),
        "sum_abs": float(sum_abs),
        "sum_sq": float(sum_sq),
        "malr": sum_abs / n if n else None,
        "exact": exact / n if n else None,
        "under": under / n if n else None,
    }


def _summed(tasks: pd.DataFrame) -> tuple[int, float, float, int, int]:
    """:data:`_STATS_SQL`'s sums over loaded tasks (an SQLite without log2)."""
    e, a = tasks["estimate_h"].to_numpy(dtype=float), tasks["actual_h"].to_numpy(dtype=float)
    ok = rules.counted_mask(e, a)
    r = np.log2(a[ok] / e[ok])
    m = np.minimum(np.abs(r), rules.CLIP_LOG2)
    exact, under = int(rules.exact_mask(r).sum()), int(rules.under_mask(r).sum())
    return int(r.size), float(m.sum()), float(np.square(m).sum()), exact, under


# --- promises -----------------------------------------------------------------------------

#: What :func:`promise_tasks` reads.
PROMISE_COLUMNS = ("status", "promise_h", "due", "done_at", "actual_h")


def promise_tasks(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    with_people: bool = False,
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The scope's tasks with a promise judged in the window (METRICS.md: by
    the done date, else the due date: :func:`rules.promise_window`).

    Columns: ``status``, ``promise_h``, ``due`` and ``done_date`` (local
    dates), ``actual_h``: the inputs of :func:`promises.promise_outcomes`
    (with :func:`settings.calendar` for its working days); with
    ``with_people`` also ``person`` and ``team``; and the ``extra`` fields as stored.
    """
    where, params = scope_only(selection).where()
    window, window_params = promise_window(selection)
    clauses = [rules.has_promise_sql(), where, *window]
    wanted = [*PROMISE_COLUMNS, *(PEOPLE_COLUMNS if with_people else ()), *extra]
    sql = f"SELECT {', '.join(wanted)} FROM tasks WHERE {' AND '.join(clauses)}"  # noqa: S608
    columns = fetch_columns(conn, sql, [*params, *window_params], wanted)
    frame = pd.DataFrame(
        {
            "status": columns["status"],
            "promise_h": columns["promise_h"],
            "due": iso_dates(columns["due"]),
            "done_date": local_dates(columns["done_at"]),
            "actual_h": columns["actual_h"],
        }
    )
    if with_people:
        frame["person"] = columns["person"]
        frame["team"] = columns["team"]
    for name in extra:
        frame[name] = columns[name]
    return frame


def logged_where(selection: Selection) -> tuple[str, list]:
    """(WHERE clause, parameters) of the scope's tasks logged (created) in the
    window: what the promise rate counts, here and in a summary's weeks."""
    where, params = scope_only(selection).where()
    clauses = [where]
    if selection.since is not None:
        clauses.append("created_at >= ?")
        params.append(selection.since)
    if selection.until is not None:
        clauses.append("created_at < ?")
        params.append(selection.until)
    return " AND ".join(clauses), params


def logged_counts(conn: sqlite3.Connection, selection: Selection) -> tuple[int, int]:
    """Tasks logged (created) in the window, and how many of them carry a
    promise: the two sides of the promise rate."""
    where, params = logged_where(selection)
    sql = f"SELECT count(*), total({rules.has_promise_sql()}) FROM tasks WHERE {where}"  # noqa: S608
    logged, promised = conn.execute(sql, params).fetchone()
    return int(logged), int(promised)


def has_tasks(conn: sqlite3.Connection, selection: Selection) -> bool:
    """Whether the scope has any task at all, in any window."""
    where, params = scope_only(selection).where()
    sql = f"SELECT 1 FROM tasks WHERE {where} LIMIT 1"  # noqa: S608
    return conn.execute(sql, params).fetchone() is not None


# --- everyone's rows, for ranks and team summaries ----------------------------------

#: The columns :func:`window_rows` reads (with ``detail`` also :data:`DETAIL_COLUMNS`).
FRAME_COLUMNS = (
    "person",
    "team",
    "estimate_h",
    "actual_h",
    "done_at",
    "status",
    "promise_h",
    "due",
)
DETAIL_COLUMNS = ("low_h", "high_h", "confidence")
#: The statistics of a person's week (METRICS.md section 5), as ``summary_weeks``
#: stores them: counted tasks, then promise outcomes.
COUNTED_STATS = ("n", "sum_abs", "sum_sq", "over", "exact", "under", "within_25")
PROMISE_STATS = ("due", "kept", "exceeded")
STATS = (*COUNTED_STATS, *PROMISE_STATS)


def task_columns(
    conn: sqlite3.Connection, selection: Selection, *, detail: bool = False
) -> dict[str, np.ndarray]:
    """The scope's tasks that count in the window or carry a promise judged in
    it, in task-id order: the :data:`FRAME_COLUMNS` (``status`` as its index in
    ``tasks.STATUSES``), with ``detail`` also :data:`DETAIL_COLUMNS`."""
    scope, params = scope_only(selection).where()
    window, window_params = Selection(since=selection.since, until=selection.until).where()
    promised, promised_params = promise_window(selection)
    counted = f"{rules.counted_sql()} AND {window}"
    promises = " AND ".join([rules.has_promise_sql(), *promised])
    names = [*FRAME_COLUMNS, *(DETAIL_COLUMNS if detail else ())]
    selected = [STATUS_CODE_SQL if name == "status" else name for name in names]
    sql = (
        f"SELECT {', '.join(selected)} FROM tasks "  # noqa: S608 (fixed names, clauses from rules)
        f"WHERE {scope} AND (({counted}) OR ({promises})) ORDER BY id"
    )
    columns = fetch_columns(
        conn, sql, [*params, *window_params, *promised_params], names, {"status": np.int64}
    )
    columns["person"] = canonical_people(conn, columns["person"])
    return columns


@dataclass
class WindowRows:
    """Loaded rows (:func:`task_columns`' or a superset) told apart by the rules.

    ``status``: the texts; ``done_date``, ``due``: local dates (NaT without);
    ``has_done``: a readable done time; ``counted``: the task counts and was
    done in the window; ``promised``: it carries a promise judged in the window.
    """

    status: np.ndarray
    done_date: np.ndarray
    due: np.ndarray
    has_done: np.ndarray
    counted: np.ndarray
    promised: np.ndarray


def window_rows(
    data: Mapping[str, np.ndarray],
    selection: Selection,
    parsed: tuple[pd.Series, np.ndarray, np.ndarray] | None = None,
) -> WindowRows:
    """Which of the rows ``data`` (columns of :data:`FRAME_COLUMNS`, ``status``
    as its code) count in the selection's window, and which carry a promise
    judged in it. ``parsed``: :func:`parse_dates` of ``done_at`` and
    ``due``, when the caller has them already."""
    stamps, done_date, due = parsed or parse_dates(data["done_at"], data["due"])
    done = stamps.dt.tz_localize(None).to_numpy()  # UTC, as stored
    since = _moment(selection.since)
    until = _moment(selection.until)
    has_done = ~np.isnat(done)
    in_window = has_done.copy()
    if since is not None:
        in_window &= done >= since
    if until is not None:
        in_window &= done < until
    start, end = window_start(selection), window_end(selection)
    status = np.asarray(STATUSES, dtype=object)[data["status"].astype(np.int64)]
    promised = rules.has_promise_mask(data["promise_h"], due) & rules.promise_window_mask(
        done,
        due,
        since,
        until,
        np.datetime64(start, "D") if start else None,
        np.datetime64(end, "D") if end else None,
    )
    return WindowRows(
        status=status,
        done_date=done_date,
        due=due,
        has_done=has_done,
        counted=rules.counted_mask(data["estimate_h"], data["actual_h"], status) & in_window,
        promised=promised,
    )


def _moment(utc_text: str | None) -> np.datetime64 | None:
    """A stored UTC time as a naive ``datetime64`` (``None`` stays ``None``)."""
    if utc_text is None:
        return None
    moment = pd.Timestamp(utc_text)
    return (moment.tz_convert(None) if moment.tzinfo else moment).to_datetime64()


# --- imported summaries ------------------------------------------------------------------


def imported_weeks(conn: sqlite3.Connection, selection: Selection) -> pd.DataFrame:
    """The week rows of imported summaries that count (law 5,
    :func:`summaries.counted_rows`: the people they speak for, who have no
    task here) in the selection's window (whole weeks) and scope, with
    aliases applied: ``person``, ``team`` (``None`` for none), ``week`` (the
    Monday as ISO text; ``None``: undated, only for all history), the
    :data:`STATS`, ``histogram`` (its (bin, count) pairs), ``ranges`` (its
    levels), ``detail`` (the
    version-2 fields as a dict; ``None`` for an older week) and ``replica``.
    A selection by tags or project gets none: a summary carries neither."""
    columns = ["person", "team", "week", *STATS, "histogram", "ranges", "detail", "replica"]
    counted = summaries.counted_rows(conn) if not (selection.tags or selection.project) else {}
    if not counted:
        return pd.DataFrame({name: [] for name in columns})
    start, end = window_start(selection), window_end(selection)
    clauses, params = ["1"], []
    if start is not None:
        clauses.append("w.week >= ?")
        params.append(week_start(start).isoformat())
    if end is not None:
        clauses.append("w.week < ?")
        params.append(_monday_after(end).isoformat())
    selected = ", ".join(f"w.{name}" for name in columns[:-1])
    sql = (
        f"SELECT {selected}, s.replica FROM summary_weeks AS w "  # noqa: S608 (fixed names)
        f"JOIN summaries AS s ON s.id = w.summary_id WHERE {' AND '.join(clauses)}"
    )
    records = [tuple(row) for row in conn.execute(sql, params) if counted.get(row[0]) == row[-1]]
    if not records:
        return pd.DataFrame({name: [] for name in columns})
    frame = pd.DataFrame(records, columns=columns)
    canonical = summaries.canonical_names(conn)
    frame["person"] = [canonical(name) for name in frame["person"]]
    frame["histogram"] = [json.loads(text) for text in frame["histogram"]]
    frame["ranges"] = [json.loads(text) for text in frame["ranges"]]
    frame["detail"] = [None if text is None else json.loads(text) for text in frame["detail"]]
    if selection.person is not None:
        frame = frame[frame["person"] == selection.person]
    elif selection.team is not None:
        frame = frame[frame["team"] == selection.team]
    return frame.reset_index(drop=True)


def _monday_after(day: date) -> date:
    """The first Monday on or after ``day`` (an exclusive end)."""
    monday = week_start(day)
    return monday if monday == day else monday + timedelta(weeks=1)
