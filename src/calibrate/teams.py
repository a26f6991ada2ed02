"""Team summaries: what ranks need, per person and week, without the tasks.

A team that wants to compare with others without handing over its tasks
exports a *summary* (``calibrate export --summary``): for each person, team
and ISO week, the sufficient statistics of METRICS.md section 5 — the count n,
the sum and sum of squares of |clip(r)|, the counts over / exact / under and
within 25%, a histogram of clip(r) in bins of 0.01 (for medians), range hits
and misses by confidence level, and promise outcomes. No titles, no tasks.

``calibrate import`` of such a file stores its weeks (``summary_weeks``), and
``rank`` adds them to the raw tasks of the database. Scores, intervals and
ranks come only from n and the two sums, which a summary carries exactly, and
both roads go through the same code (:func:`week_rows`, then :func:`totals`
over rows sorted the same way): so ranks from a summary *equal* ranks from the
raw tasks, to the last bit; medians agree to the bin width.

Rules when several sources cover the same people: a summary imported again
from the same database replaces the earlier one; summaries of different
databases add up; and where a person's week is in the raw tasks here, the
raw tasks win over any summary of that week (no double counting after a merge).

The file (JSON, one object)::

    {"format": "calibrate-summary", "format_version": 1, "score_version": 1,
     "database_id": "...", "exported_at": "...Z", "today": "2026-11-30",
     "window": {"since": "2026-05-25", "until": null},
     "histogram_bin": 0.01, "clip_log2": 3.0,
     "people": [{"person": "Ana", "team": "Core", "opt_out": false}],
     "weeks": [{"person": "Ana", "team": "Core", "week": "2026-06-01",
                "n": 4, "sum_abs": 1.7, "sum_sq": 1.1, "over": 2, "exact": 1,
                "under": 1, "within_25": 2, "histogram": [[-42, 1], [0, 1], ...],
                "ranges": [[90.0, 2, 1, 0, 1]],
                "promises": {"due": 1, "kept": 1, "exceeded": 0}}]}

``week`` is the Monday of the exporter's local ISO week (``null`` for tasks
with no done date); ``histogram`` pairs are (bin, count) with bin =
round(clip(r) / 0.01); ``ranges`` rows are (confidence %, n, hits, below,
above).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibrate import rules, store
from calibrate.durations import local_today, now_iso
from calibrate.errors import DatabaseError, InputError, NotFound
from calibrate.rules import SCORE_VERSION
from calibrate.selection import Selection
from calibrate.stats import metrics, trends
from calibrate.stats.promises import promise_outcomes
from calibrate.store import load as history
from calibrate.store import people, settings, tasks

FORMAT = "calibrate-summary"
FORMAT_VERSION = 1
HISTOGRAM_BIN = 0.01
HISTOGRAM_MAX = round(rules.CLIP_LOG2 / HISTOGRAM_BIN)
#: Week number of tasks without a done date (kept only for ``--since all``).
UNDATED = -1
#: The key of a week row and its statistics, in the order rows are summed.
KEYS = ("person", "team", "week")
COUNTED_STATS = ("n", "sum_abs", "sum_sq", "over", "exact", "under", "within_25")
PROMISE_STATS = ("due", "kept", "exceeded")
STATS = (*COUNTED_STATS, *PROMISE_STATS)
INTEGER_STATS = tuple(s for s in STATS if s not in ("sum_abs", "sum_sq"))
#: ``team`` of tasks without one, while grouping (pandas drops missing keys).
NO_TEAM = ""
#: Slack for sums of floats checked against integer bounds.
SLACK = 1e-6


# --- loading the tasks ------------------------------------------------------------


def _scope_where(selection: Selection) -> tuple[str, list]:
    scope = history.replace(selection, since=None, until=None, status="any")
    return scope.where()


def load_tasks(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    today: date,
    values: Mapping | None = None,
    detail: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scope's counted tasks finished in the window, and its promises whose
    outcome falls in the window (windowed as ``history`` does), in one scan.

    Returns two frames in task-id order. Counted: ``person``, ``team``
    (``NO_TEAM`` for none), ``week`` (:func:`trends.week_index` of the local
    done date; ``UNDATED`` without one) and ``r`` (log2 of actual / estimate);
    with ``detail`` also ``actual_h``, ``low_h``, ``high_h`` and
    ``confidence`` (percent; 90 for a range without one). Promises:
    ``person``, ``team``, ``week`` (of the outcome: the done date, else the
    due date), ``resolved``, ``kept``, ``exceeded``.

    SQL only filters; which rows count and which promises fall in the window
    is worked out again here in numpy, which is cheaper than asking SQLite
    for flags on a million rows.
    """
    values = values or settings.read_all(conn)
    scope, params = _scope_where(selection)
    counted = [history.COUNTED_SQL]
    promised = [history.HAS_PROMISE_SQL]
    window_params: list = []
    start, end = history.window_start(selection), history.window_end(selection)
    if selection.since is not None:
        counted.append("done_at >= ?")
        promised.append("(CASE WHEN done_at IS NOT NULL THEN done_at >= ? ELSE due >= ? END)")
        window_params += [selection.since, selection.since, start.isoformat()]
    if selection.until is not None:
        counted.append("done_at < ?")
        promised.append("(CASE WHEN done_at IS NOT NULL THEN done_at < ? ELSE due < ? END)")
        window_params += [selection.until, selection.until, end.isoformat()]
    counted_params = [p for i, p in enumerate(window_params) if i % 3 == 0]
    promised_params = [p for i, p in enumerate(window_params) if i % 3 != 0]
    columns = [*FRAME_COLUMNS, *(DETAIL_COLUMNS if detail else ())]
    sql = (
        f"SELECT {', '.join(_SELECTED.get(c, c) for c in columns)} FROM tasks "  # noqa: S608
        f"WHERE {scope} AND (({' AND '.join(counted)}) OR ({' AND '.join(promised)})) "
        "ORDER BY id"
    )
    data = fetch_columns(conn, sql, [*params, *counted_params, *promised_params], columns)
    return task_frames(data, selection, today=today, values=values, detail=detail)


#: The columns :func:`task_frames` reads (with ``detail`` also :data:`DETAIL_COLUMNS`).
FRAME_COLUMNS = (
    "person", "team", "estimate_h", "actual_h", "done_at", "status", "promise_h", "due",
)  # fmt: skip
DETAIL_COLUMNS = ("low_h", "high_h", "confidence")


def task_frames(
    data: Mapping[str, np.ndarray],
    selection: Selection,
    *,
    today: date,
    values: Mapping,
    detail: bool = False,
    parsed: tuple[pd.Series, np.ndarray, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`load_tasks`' two frames from columns already in hand (those of
    :data:`FRAME_COLUMNS`, ``status`` as its index in ``tasks.STATUSES``, in
    task-id order; any superset of the rows :func:`load_tasks` selects, as
    the window and the counted rule are applied here). ``parsed``: the
    ``done_at`` texts as UTC times, their local dates and the ``due`` dates
    (:func:`history.iso_dates`), when the caller has parsed them already."""
    if parsed is None:
        parsed = parse_dates(data["done_at"], data["due"])
    stamps, done_date, due_all = parsed
    done_week = trends.week_index(done_date)
    start, end = history.window_start(selection), history.window_end(selection)
    has_done = stamps.notna().to_numpy()
    in_window = has_done.copy()
    if selection.since is not None:
        in_window &= (stamps >= pd.Timestamp(selection.since)).to_numpy()
    if selection.until is not None:
        in_window &= (stamps < pd.Timestamp(selection.until)).to_numpy()
    estimate_h, actual_h = data["estimate_h"], data["actual_h"]
    status = np.asarray(tasks.STATUSES, dtype=object)[data["status"].astype(np.int64)]
    with np.errstate(invalid="ignore"):
        is_counted = (estimate_h > 0) & (actual_h > 0) & (status != "dropped") & in_window
    has_promise = np.isfinite(data["promise_h"]) | ~np.isnat(due_all)
    due_in_window = ~np.isnat(due_all)
    if start is not None:
        due_in_window &= due_all >= np.datetime64(start, "D")
    if end is not None:
        due_in_window &= due_all < np.datetime64(end, "D")
    is_promise = has_promise & np.where(has_done, in_window, due_in_window)
    # Names as categoricals: factorised once here, grouped by their codes after.
    team = _categorical(np.where(pd.isna(data["team"]), NO_TEAM, data["team"]))
    person = _categorical(data["person"])
    counted_frame = pd.DataFrame(
        {
            "person": person[is_counted],
            "team": team[is_counted],
            "week": done_week[is_counted],
            "r": metrics.log_ratio(estimate_h[is_counted], actual_h[is_counted]),
        }
    )
    if detail:
        low, high = data["low_h"][is_counted], data["high_h"][is_counted]
        confidence = data["confidence"][is_counted]
        has_range = np.isfinite(low) & np.isfinite(high)
        counted_frame["actual_h"] = actual_h[is_counted]
        counted_frame["low_h"] = low
        counted_frame["high_h"] = high
        counted_frame["confidence"] = np.where(
            has_range, np.where(np.isfinite(confidence), confidence, 90.0), np.nan
        )
    due_date = due_all[is_promise]
    outcomes = promise_outcomes(
        status=status[is_promise],
        promise_h=data["promise_h"][is_promise],
        due=due_date,
        done_date=done_date[is_promise],
        actual_h=actual_h[is_promise],
        today=today,
        weekmask=history.weekmask(values.get("work-days")),
        holidays=list(values.get("holidays") or ()),
    )
    outcome_week = np.where(
        has_done[is_promise], done_week[is_promise], trends.week_index(due_date)
    )
    promise_frame = pd.DataFrame(
        {
            "person": person[is_promise],
            "team": team[is_promise],
            "week": outcome_week,
            "resolved": outcomes["resolved"].to_numpy(dtype=bool),
            "kept": outcomes["kept"].to_numpy(dtype=bool),
            "exceeded": outcomes["exceeded"].to_numpy(dtype=bool),
        }
    )
    return counted_frame, promise_frame


def parse_dates(done_at: np.ndarray, due: np.ndarray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Stored done times as UTC times and local dates (:func:`history.local_dates`),
    and due dates (:func:`history.iso_dates`; NaT without one)."""
    stamps = pd.to_datetime(
        pd.Series(done_at, dtype=object), format="ISO8601", utc=True, errors="coerce"
    )
    done_date = (stamps.dt.tz_convert(history.local_zone()).dt.tz_localize(None).to_numpy()).astype(
        "datetime64[D]"
    )
    due_date = np.full(len(due), np.datetime64("NaT"), dtype="datetime64[D]")
    has_due = pd.notna(due)
    due_date[has_due] = history.iso_dates(due[has_due])
    return stamps, done_date, due_date


#: The status as its index in ``tasks.STATUSES``: a small int costs Python far
#: less than a string on a million rows.
STATUS_CODE_SQL = (
    "(CASE status WHEN 'open' THEN 0 WHEN 'started' THEN 1 WHEN 'done' THEN 2 ELSE 3 END)"
)
_SELECTED = {"status": STATUS_CODE_SQL}


def _categorical(names: np.ndarray) -> pd.Categorical:
    codes, uniques = pd.factorize(np.asarray(names, dtype=object))
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


#: Columns fetched as numbers (NULL becomes NaN); the rest stay Python objects.
_FLOAT_COLUMNS = {"estimate_h", "actual_h", "promise_h", "low_h", "high_h", "confidence"}


def fetch_columns(
    conn: sqlite3.Connection, sql: str, params: list, names: list[str]
) -> dict[str, np.ndarray]:
    """The query's columns as numpy arrays, fetched in chunks (numbers as
    floats, NULL as NaN; text as objects)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(sql, params)
    parts: dict[str, list] = {name: [] for name in names}
    dtypes = {name: float if name in _FLOAT_COLUMNS else object for name in names}
    while rows := cursor.fetchmany(history.FETCH_ROWS):
        # One 2-D object array per chunk, sliced by column: several times
        # faster than transposing the tuples with zip().
        block = np.empty((len(rows), len(names)), dtype=object)
        block[:] = rows
        for index, name in enumerate(names):
            column = block[:, index]
            try:
                parts[name].append(column.astype(dtypes[name]))
            except (TypeError, ValueError):
                cursor.close()
                raise DatabaseError(
                    f"a task's {name} is not a number in the database; fix it with "
                    "'calibrate edit' or re-import the file"
                ) from None
    cursor.close()
    return {
        name: np.concatenate(chunks) if chunks else np.array([], dtype=dtypes[name])
        for name, chunks in parts.items()
    }


# --- week rows ------------------------------------------------------------------------


def _group(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group ids (0..G-1) of rows by several integer keys at once (category
    codes, week numbers), and the first row of each group."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        low = int(key.min()) if key.size else 0
        codes = key.astype(np.int64) - low
        size = int(codes.max()) + 1 if key.size else 1
        combined = combined * size + codes
    group, uniques = pd.factorize(combined)  # hashing: no sort of every row
    first = np.empty(len(uniques), dtype=np.int64)
    first[group[::-1]] = np.arange(group.size - 1, -1, -1)
    return group.astype(np.int64), first


def week_rows(
    counted: pd.DataFrame, promises: pd.DataFrame, *, detail: bool = False
) -> pd.DataFrame:
    """Per person, team and week: the statistics of :data:`STATS` (and with
    ``detail`` the ``histogram`` and ``ranges`` lists), in :func:`sort_rows`
    order.

    Raw tasks reach the ranks and the summary files only through here, so the
    sums a summary carries are the very numbers ``rank`` adds up.
    """
    r = counted["r"].to_numpy(dtype=float)
    abs_r = metrics.clipped_abs(r)
    ratio = np.exp2(r)
    exact = np.abs(r) <= rules.EXACT_LOG2 + rules.BOUND_SLACK
    within = (ratio >= rules.WITHIN_LOW - rules.BOUND_SLACK) & (
        ratio <= rules.WITHIN_HIGH + rules.BOUND_SLACK
    )
    resolved = promises["resolved"].to_numpy(dtype=bool)
    # Person and team as codes into one shared list of names per key (the two
    # frames' categories may differ), weeks as numbers.
    codes, names = {}, {}
    for name in ("person", "team"):
        both = pd.api.types.union_categoricals(
            [pd.Categorical(counted[name]), pd.Categorical(promises[name])[resolved]],
            ignore_order=True,
        )
        codes[name], names[name] = both.codes.astype(np.int64), both.categories
    weeks = np.concatenate(
        [
            counted["week"].to_numpy(dtype=np.int64),
            promises["week"].to_numpy(dtype=np.int64)[resolved],
        ]
    )
    n_counted = r.size
    group, first = _group(codes["person"], codes["team"], weeks)
    size = first.size
    task_group, promise_group = group[:n_counted], group[n_counted:]

    def count(mask, groups=task_group) -> np.ndarray:
        return np.bincount(groups[mask], minlength=size).astype(np.int64)

    every = np.ones(n_counted, dtype=bool)
    rows = pd.DataFrame(
        {
            "person": np.asarray(names["person"], dtype=object)[codes["person"][first]],
            "team": np.asarray(names["team"], dtype=object)[codes["team"][first]],
            "week": weeks[first],
            "n": count(every),
            "sum_abs": np.bincount(task_group, weights=abs_r, minlength=size),
            "sum_sq": np.bincount(task_group, weights=abs_r * abs_r, minlength=size),
            "over": count((r > 0) & ~exact),
            "exact": count(exact),
            "under": count((r < 0) & ~exact),
            "within_25": count(within),
            "due": count(np.ones(promise_group.size, dtype=bool), promise_group),
            "kept": count(promises["kept"].to_numpy(dtype=bool)[resolved], promise_group),
            "exceeded": count(promises["exceeded"].to_numpy(dtype=bool)[resolved], promise_group),
        }
    )
    if detail:
        rows["histogram"] = _histograms(r, task_group, size)
        rows["ranges"] = _ranges(counted, task_group, size)
    return sort_rows(rows)


def sort_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Week rows in the one order they are summed in (by person, team, week),
    with the one set of column types (so that pandas sums them alike)."""
    rows = rows.sort_values(list(KEYS), kind="stable").reset_index(drop=True)
    rows["person"] = rows["person"].astype(object)
    rows["team"] = rows["team"].astype(object)
    rows["week"] = rows["week"].astype(np.int64)
    for name in INTEGER_STATS:
        rows[name] = rows[name].astype(np.int64)
    for name in ("sum_abs", "sum_sq"):
        rows[name] = rows[name].astype(np.float64)
    return rows


def _histograms(r: np.ndarray, task_group: np.ndarray, size: int) -> list:
    """Per week row, the (bin, count) pairs of clip(r) in bins of 0.01."""
    clipped = np.clip(r, -rules.CLIP_LOG2, rules.CLIP_LOG2)
    bins = np.rint(clipped / HISTOGRAM_BIN).astype(np.int64)
    width = 2 * HISTOGRAM_MAX + 1
    cells, counts = np.unique(task_group * width + (bins + HISTOGRAM_MAX), return_counts=True)
    out: list[list] = [[] for _ in range(size)]
    for cell, count in zip(cells.tolist(), counts.tolist(), strict=True):
        out[cell // width].append([cell % width - HISTOGRAM_MAX, count])
    return out


def _ranges(counted: pd.DataFrame, task_group: np.ndarray, size: int) -> list:
    """Per week row, [confidence %, n, hits, below, above] per confidence level."""
    out: list[list] = [[] for _ in range(size)]
    if "low_h" not in counted:
        return out
    low = counted["low_h"].to_numpy(dtype=float)
    ranged = np.isfinite(low)
    if not ranged.any():
        return out
    actual = counted["actual_h"].to_numpy(dtype=float)[ranged]
    below = actual < low[ranged]
    above = actual > counted["high_h"].to_numpy(dtype=float)[ranged]
    frame = pd.DataFrame(
        {
            "group": task_group[ranged],
            "confidence": counted["confidence"].to_numpy(dtype=float)[ranged],
            "n": 1,
            "hits": (~below & ~above).astype(np.int64),
            "below": below.astype(np.int64),
            "above": above.astype(np.int64),
        }
    )
    summed = frame.groupby(["group", "confidence"], sort=True).sum().reset_index()
    for record in summed.itertuples(index=False):
        out[int(record.group)].append(
            [float(record.confidence), int(record.n), int(record.hits), int(record.below),
             int(record.above)]
        )  # fmt: skip
    return out


def totals(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """Sums of :data:`STATS` per ``person`` or ``team`` over week rows (which
    must be in :func:`sort_rows` order)."""
    return rows.groupby(by, sort=True)[list(STATS)].sum()


def grand_total(rows: pd.DataFrame) -> dict:
    return {name: rows[name].sum() if len(rows) else 0 for name in STATS}


def histogram_median(pairs: Iterable[Iterable[int]]) -> float | None:
    """Median of clip(r) from (bin, count) pairs: the mean of the two middle
    bin centres, as ``numpy.median`` takes the two middle values."""
    counts: dict[int, int] = {}
    for bin_, count in pairs:
        counts[int(bin_)] = counts.get(int(bin_), 0) + int(count)
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted(counts.items())
    cumulative = np.cumsum([count for _, count in ordered])
    centres = [bin_ * HISTOGRAM_BIN for bin_, _ in ordered]
    low = centres[int(np.searchsorted(cumulative, (total - 1) // 2, side="right"))]
    high = centres[int(np.searchsorted(cumulative, total // 2, side="right"))]
    return (low + high) / 2


def exact_medians(counted: pd.DataFrame) -> dict:
    """Median r per person, exactly as ``numpy.median`` gives it (the mean of
    the two middle values), for all people at once."""
    if not len(counted):
        return {}
    people_names = pd.Categorical(counted["person"])
    codes = people_names.codes.astype(np.int64)
    names = people_names.categories
    r = counted["r"].to_numpy(dtype=float)
    order = np.lexsort((r, codes))
    sorted_r, sorted_codes = r[order], codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(len(names)), side="left")
    sizes = np.bincount(codes, minlength=len(names))
    present = sizes > 0  # categories may name people with no counted task here
    starts, sizes = starts[present], sizes[present]
    low = sorted_r[starts + (sizes - 1) // 2]
    high = sorted_r[starts + sizes // 2]
    return dict(zip(names[present].tolist(), ((low + high) / 2).tolist(), strict=True))


# --- what rank needs ----------------------------------------------------------------------


@dataclass
class RankInputs:
    """Per person and per team sums for :func:`calibrate.ranks.rank_people`."""

    people: pd.DataFrame
    teams: pd.DataFrame
    everyone: dict
    people_per_team: dict = field(default_factory=dict)
    from_summaries: int = 0


def rank_inputs(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    today: date | None = None,
    frames: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> RankInputs:
    """Everyone's sums in the selection's window, from the raw tasks here and
    the imported summaries (raw tasks win where both cover a person's week).

    ``people`` has ``person``, ``team`` (their current team, ``None`` for
    none), the :data:`STATS` sums, ``bias`` (median r: exact from raw tasks,
    read from the histograms for people with summary weeks) and ``opt_out``;
    ``teams`` the sums per team (indexed by team); ``everyone`` the sums of all.
    ``frames``: everyone's :func:`load_tasks` frames for the window, when the
    caller has them already (the report: :func:`task_frames` of what it loaded).
    """
    today = today or local_today()
    everyone = history.replace(selection, person=None, team=None, everyone=True)
    counted, promises = frames or load_tasks(conn, everyone, today=today)
    rows = week_rows(counted, promises)
    imported = imported_rows(conn, everyone)
    from_summaries = 0
    if len(imported):
        covered = set(zip(rows["person"], rows["week"], strict=True))
        keep = [
            key not in covered for key in zip(imported["person"], imported["week"], strict=True)
        ]
        imported = imported[np.asarray(keep, dtype=bool)]
        from_summaries = int(imported["person"].nunique())
        rows = sort_rows(pd.concat([rows, imported], ignore_index=True))
    person_sums = totals(rows, "person")
    team_sums = totals(rows[rows["team"] != NO_TEAM], "team")
    bias = _medians(counted, rows if len(imported) else None)
    names = person_sums.index.tolist()
    current = people.current_teams(conn, names)
    opted = people.opted_out(conn)
    frame = person_sums.reset_index(names="person")
    frame["team"] = [current.get(name) for name in names]
    frame["bias"] = [bias.get(name, np.nan) for name in names]
    frame["opt_out"] = [name in opted for name in names]
    people_per_team: dict = {}
    for team_name, n in zip(frame["team"], frame["n"], strict=True):
        if team_name is not None and n > 0:
            people_per_team[team_name] = people_per_team.get(team_name, 0) + 1
    return RankInputs(
        people=frame,
        teams=team_sums,
        everyone=grand_total(rows),
        people_per_team=people_per_team,
        from_summaries=from_summaries,
    )


def _medians(counted: pd.DataFrame, rows: pd.DataFrame | None) -> dict:
    """Median r per person: exact from the raw tasks; from the histograms for
    people with summary weeks (their raw weeks binned the same way)."""
    exact = exact_medians(counted)
    if rows is None or "histogram" not in rows:
        return exact
    from_summary = rows[rows["histogram"].notna()]
    binned = set(from_summary["person"])
    out = {name: value for name, value in exact.items() if name not in binned}
    raw_bins: dict = {}
    mine = counted[counted["person"].isin(binned)]
    if len(mine):
        clipped = np.clip(mine["r"].to_numpy(dtype=float), -rules.CLIP_LOG2, rules.CLIP_LOG2)
        bins = np.rint(clipped / HISTOGRAM_BIN).astype(np.int64)
        for name, bin_ in zip(mine["person"], bins.tolist(), strict=True):
            raw_bins.setdefault(name, []).append((bin_, 1))
    for name, group in from_summary.groupby("person"):
        pairs = [pair for histogram in group["histogram"] for pair in histogram]
        out[name] = histogram_median(pairs + raw_bins.get(name, []))
    return out


def known_teams(conn: sqlite3.Connection) -> set[str]:
    """Every team named on a task or in an imported summary."""
    sql = (
        "SELECT team FROM tasks WHERE team IS NOT NULL UNION "
        "SELECT team FROM summary_weeks WHERE team IS NOT NULL UNION "
        "SELECT team FROM summary_people WHERE team IS NOT NULL"
    )
    return {row[0] for row in conn.execute(sql)}


def team_exists(conn: sqlite3.Connection, team: str) -> bool:
    """Whether a task or an imported summary names ``team`` (index lookups)."""
    return any(
        conn.execute(sql, (team,)).fetchone()
        for sql in (
            "SELECT 1 FROM tasks WHERE team = ? LIMIT 1",
            "SELECT 1 FROM summary_weeks WHERE team = ? LIMIT 1",
            "SELECT 1 FROM summary_people WHERE team = ? LIMIT 1",
        )
    )


# --- imported summaries in the database ---------------------------------------------------


def imported_rows(conn: sqlite3.Connection, selection: Selection) -> pd.DataFrame:
    """The imported summaries' week rows in the selection's window (whole
    weeks), with aliases applied, in :func:`sort_rows` order; ``histogram``
    holds each row's (bin, count) pairs."""
    start, end = history.window_start(selection), history.window_end(selection)
    clauses, params = ["1"], []
    if start is not None:
        clauses.append("week >= ?")
        params.append(_monday(start).isoformat())
    if end is not None:
        clauses.append("week < ?")
        params.append(_monday_after(end).isoformat())
    names = ", ".join(("person", "team", "week", *STATS, "histogram"))
    sql = f"SELECT {names} FROM summary_weeks WHERE {' AND '.join(clauses)}"  # noqa: S608
    records = conn.execute(sql, params).fetchall()
    columns = ["person", "team", "week", *STATS, "histogram"]
    if not records:
        return pd.DataFrame({name: [] for name in columns})
    frame = pd.DataFrame([tuple(row) for row in records], columns=columns)
    aliases = people.alias_map(conn)
    frame["person"] = [aliases.get(name, name) for name in frame["person"]]
    frame["team"] = frame["team"].where(frame["team"].notna(), NO_TEAM).astype(object)
    frame["week"] = [
        UNDATED if week is None else int(trends.week_index([date.fromisoformat(week)])[0])
        for week in frame["week"]
    ]
    frame["week"] = frame["week"].astype(np.int64)
    frame["histogram"] = [json.loads(text) for text in frame["histogram"]]
    for name in INTEGER_STATS:
        frame[name] = frame[name].astype(np.int64)
    for name in ("sum_abs", "sum_sq"):
        frame[name] = frame[name].astype(float)
    if selection.person is not None:
        frame = frame[frame["person"] == selection.person]
    elif selection.team is not None:
        frame = frame[frame["team"] == selection.team]
    if start is not None:
        frame = frame[frame["week"] != UNDATED]
    return sort_rows(frame)


def _monday(day: date) -> date:
    return trends.week_monday(int(trends.week_index([day])[0]))


def _monday_after(day: date) -> date:
    """The first Monday on or after ``day`` (an exclusive end)."""
    monday = _monday(day)
    return monday if monday == day else trends.week_monday(int(trends.week_index([day])[0]) + 1)


def database_id(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()
    return row[0]


# --- writing a summary file ---------------------------------------------------------------


def build_summary(
    conn: sqlite3.Connection | None,
    selection: Selection,
    *,
    today: date | None = None,
) -> dict:
    """The summary of the selection's scope and window, as a JSON-ready dict
    (see the module doc). ``conn`` ``None`` (no database yet) is refused: a
    summary names the database it comes from."""
    if conn is None:
        raise NotFound("no database here yet: there is nothing to summarise")
    today = today or local_today()
    start, end = history.window_start(selection), history.window_end(selection)
    out: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "score_version": SCORE_VERSION,
        "database_id": database_id(conn),
        "exported_at": now_iso(),
        "today": today.isoformat(),
        "window": {
            "since": start.isoformat() if start else None,
            "until": end.isoformat() if end else None,
        },
        "histogram_bin": HISTOGRAM_BIN,
        "clip_log2": rules.CLIP_LOG2,
        "people": [],
        "weeks": [],
    }
    selection = history.resolve_person(conn, selection)
    counted, promises = load_tasks(conn, selection, today=today, detail=True)
    rows = week_rows(counted, promises, detail=True)
    opted = people.opted_out(conn)
    names = sorted(set(rows["person"]))
    out["people"] = [
        {"person": name, "team": people.current_team(conn, name), "opt_out": name in opted}
        for name in names
    ]
    out["weeks"] = [_week_record(record) for record in rows.to_dict("records")]
    return out


def _week_record(record: Mapping) -> dict:
    week = int(record["week"])
    return {
        "person": record["person"],
        "team": record["team"] if record["team"] != NO_TEAM else None,
        "week": None if week == UNDATED else trends.week_monday(week).isoformat(),
        **{name: int(record[name]) for name in COUNTED_STATS if name not in ("sum_abs", "sum_sq")},
        "sum_abs": float(record["sum_abs"]),
        "sum_sq": float(record["sum_sq"]),
        "histogram": record["histogram"],
        "ranges": record["ranges"],
        "promises": {name: int(record[name]) for name in PROMISE_STATS},
    }


def write_summary(handle, summary: dict) -> int:
    """Write a summary as JSON (one week row a line, for diffs); returns the
    number of week rows."""
    head = {key: value for key, value in summary.items() if key not in ("people", "weeks")}
    text = json.dumps(head, ensure_ascii=False, allow_nan=False)[:-1]
    handle.write(text + ',\n "people": [')
    handle.write(",".join("\n  " + json.dumps(p, ensure_ascii=False) for p in summary["people"]))
    handle.write('\n ],\n "weeks": [')
    handle.write(
        ",".join(
            "\n  " + json.dumps(w, ensure_ascii=False, allow_nan=False) for w in summary["weeks"]
        )
    )
    handle.write("\n ]\n}\n")
    return len(summary["weeks"])


# --- reading and checking a summary file --------------------------------------------------


@dataclass
class SummaryFile:
    """A checked summary: its header, people and week rows."""

    name: str
    header: dict
    people: list[dict]
    weeks: list[dict]


def looks_like_summary(path: Path) -> bool:
    """Whether the file starts like a summary: a JSON object naming the format
    (the same test as the formats registry's guess)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    return text.startswith("{") and f'"{FORMAT}"' in text


def read_summary(path: Path, name: str | None = None) -> SummaryFile:
    """Read and check a summary file; :class:`InputError` names the first
    problem (nothing is written by reading)."""
    name = name or path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {name}: {error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InputError(f"{name} is not valid JSON ({error})") from None
    return check_summary(data, name)


def check_summary(data: Any, name: str = "the summary") -> SummaryFile:
    """Validate a parsed summary (see the module doc for the format)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f'{name} is not a calibrate summary (no "format": "{FORMAT}")')
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{name}: format_version must be a whole number from 1")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{name} was written by a newer calibrate (summary format {version}; this one "
            f"reads up to {FORMAT_VERSION}): upgrade calibrate to import it"
        )
    score_version = data.get("score_version")
    if score_version != SCORE_VERSION:
        raise InputError(
            f"{name} holds scores of definition version {score_version}, this calibrate uses "
            f"version {SCORE_VERSION}: export the summary again with the same calibrate version"
        )
    if data.get("histogram_bin") != HISTOGRAM_BIN or data.get("clip_log2") != rules.CLIP_LOG2:
        raise InputError(
            f"{name}: histogram_bin must be {HISTOGRAM_BIN} and clip_log2 {rules.CLIP_LOG2}"
        )
    if not isinstance(data.get("database_id"), str) or not data["database_id"]:
        raise InputError(f"{name}: database_id is missing")
    for key in ("people", "weeks"):
        if not isinstance(data.get(key), list):
            raise InputError(f"{name}: {key} must be a list")
    window = data.get("window") or {}
    if not isinstance(window, dict):
        raise InputError(f"{name}: window must be an object with since and until")
    for key in ("since", "until"):
        if window.get(key) is not None:
            _iso_date(window[key], f"{name}: window {key}")
    listed = []
    for index, person in enumerate(data["people"], start=1):
        where = f"{name}: people entry {index}"
        if not isinstance(person, dict):
            raise InputError(f"{where} is not an object")
        listed.append(
            {
                "person": _name(person.get("person"), f"{where}: person"),
                "team": _team(person.get("team"), f"{where}: team"),
                "opt_out": bool(person.get("opt_out", False)),
            }
        )
    seen: set[tuple] = set()
    weeks = []
    for index, row in enumerate(data["weeks"], start=1):
        checked = _check_week(row, f"{name}: week row {index}")
        key = (checked["person"], checked["team"], checked["week"])
        if key in seen:
            raise InputError(f"{name}: week row {index} repeats {_describe(key)}")
        seen.add(key)
        weeks.append(checked)
    header = {k: v for k, v in data.items() if k not in ("people", "weeks")}
    return SummaryFile(name=name, header=header, people=listed, weeks=weeks)


def _describe(key: tuple) -> str:
    person, team, week = key
    return f"{person} ({team or 'no team'}) in the week of {week or 'no date'}"


def _iso_date(value, where: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an ISO date") from None


def _name(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} must be a non-empty name")
    return value.strip()


def _team(value, where: str) -> str | None:
    if value is None:
        return None
    return _name(value, where)


def _count(row: Mapping, key: str, where: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{where}: {key} must be a whole number, not {value!r}")
    if value < 0:
        raise InputError(f"{where}: {key} is negative ({value})")
    return value


def _check_week(row: Any, where: str) -> dict:
    if not isinstance(row, dict):
        raise InputError(f"{where} is not an object")
    person = _name(row.get("person"), f"{where}: person")
    where = f"{where} ({person})"
    week = row.get("week")
    if week is not None:
        week = _iso_date(week, f"{where}: week")
        if date.fromisoformat(week).weekday() != 0:
            raise InputError(f"{where}: week {week} is not a Monday")
    out = {"person": person, "team": _team(row.get("team"), f"{where}: team"), "week": week}
    n = _count(row, "n", where)
    for key in ("over", "exact", "under", "within_25"):
        out[key] = _count(row, key, where)
        if out[key] > n:
            raise InputError(f"{where}: {key} ({out[key]}) is more than its tasks ({n})")
    if out["over"] + out["exact"] + out["under"] != n:
        raise InputError(f"{where}: over + exact + under must equal its {n} tasks")
    sums = {}
    for key, bound in (("sum_abs", rules.CLIP_LOG2), ("sum_sq", rules.CLIP_LOG2**2)):
        value = row.get(key)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise InputError(f"{where}: {key} must be a number, not {value!r}")
        if value < 0:
            raise InputError(f"{where}: {key} is negative ({value})")
        if value > bound * n + SLACK:
            raise InputError(f"{where}: {key} ({value}) is impossible for {n} tasks")
        sums[key] = float(value)
    if n and sums["sum_sq"] * n < sums["sum_abs"] ** 2 * (1 - 1e-9) - SLACK:
        raise InputError(f"{where}: sum_sq is too small for its sum_abs (impossible figures)")
    out.update(n=n, **sums)
    histogram = row.get("histogram", [])
    if not isinstance(histogram, list):
        raise InputError(f"{where}: histogram must be a list of [bin, count] pairs")
    total = 0
    pairs = []
    for pair in histogram:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InputError(f"{where}: histogram must be a list of [bin, count] pairs")
        bin_, count = pair
        if not isinstance(bin_, int) or isinstance(bin_, bool) or abs(bin_) > HISTOGRAM_MAX:
            raise InputError(f"{where}: histogram bin {bin_!r} is outside -300..300")
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise InputError(f"{where}: histogram count {count!r} must be a positive number")
        total += count
        pairs.append([bin_, count])
    if total != n:
        raise InputError(f"{where}: the histogram holds {total} tasks, not its {n}")
    out["histogram"] = pairs
    ranges = row.get("ranges", [])
    if not isinstance(ranges, list):
        raise InputError(f"{where}: ranges must be a list")
    checked_ranges = []
    ranged = 0
    for entry in ranges:
        if not (isinstance(entry, list) and len(entry) == 5):
            raise InputError(f"{where}: each range entry is [confidence, n, hits, below, above]")
        confidence = entry[0]
        if not isinstance(confidence, int | float) or not 0 < confidence < 100:
            raise InputError(f"{where}: range confidence {confidence!r} must be in (0, 100)")
        level = dict(zip(("n", "hits", "below", "above"), entry[1:], strict=True))
        counts = [_count(level, key, f"{where}: range") for key in ("n", "hits", "below", "above")]
        level_n, hits, below, above = counts
        if hits > level_n:
            raise InputError(f"{where}: {hits} range hits are more than its {level_n} ranges")
        if hits + below + above != level_n:
            raise InputError(f"{where}: range hits + below + above must equal its {level_n} ranges")
        ranged += level_n
        checked_ranges.append([float(confidence), *counts])
    if ranged > n:
        raise InputError(f"{where}: {ranged} ranges are more than its {n} tasks")
    out["ranges"] = checked_ranges
    promises = row.get("promises", {})
    if not isinstance(promises, dict):
        raise InputError(f"{where}: promises must be an object")
    due = _count(promises, "due", f"{where}: promises") if "due" in promises else 0
    kept = _count(promises, "kept", f"{where}: promises") if "kept" in promises else 0
    exceeded = _count(promises, "exceeded", f"{where}: promises") if "exceeded" in promises else 0
    if kept > due:
        raise InputError(f"{where}: {kept} promises kept of {due} due is impossible")
    if exceeded > kept:
        raise InputError(f"{where}: {exceeded} promises exceeded of {kept} kept is impossible")
    out.update(due=due, kept=kept, exceeded=exceeded)
    return out


# --- storing an imported summary ------------------------------------------------------------


@dataclass
class SummaryImport:
    """What importing a summary did."""

    file: str
    people: int
    weeks: int
    tasks: int
    replaced: bool
    since: str | None
    until: str | None

    def as_dict(self) -> dict:
        return {
            "file": self.file, "format": "summary", "people": self.people,
            "weeks": self.weeks, "tasks": self.tasks, "replaced": self.replaced,
            "since": self.since, "until": self.until,
        }  # fmt: skip

    def lines(self) -> list[str]:
        window = f"from {self.since}" if self.since else "all history"
        if self.until:
            window += f" to {self.until}"
        verb = "replacing the earlier one from the same database" if self.replaced else "new"
        return [
            f"Imported summary {self.file} ({window}): {self.people:,} people, "
            f"{self.weeks:,} person-weeks, {self.tasks:,} finished tasks ({verb})"
        ]


def store_summary(conn: sqlite3.Connection, summary: SummaryFile) -> SummaryImport:
    """Store a checked summary in one transaction, replacing one imported
    before from the same database."""
    header = summary.header
    if header["database_id"] == database_id(conn):
        raise InputError(
            f"{summary.name} was exported from this database: its tasks are already here"
        )
    listed = {p["person"]: p for p in summary.people}
    for row in summary.weeks:
        listed.setdefault(row["person"], {"person": row["person"], "team": row["team"],
                                          "opt_out": False})  # fmt: skip
    window = header.get("window") or {}
    with store.transaction(conn):
        replaced = conn.execute(
            "DELETE FROM summaries WHERE database_id = ?", (header["database_id"],)
        ).rowcount
        summary_id = conn.execute(
            "INSERT INTO summaries (database_id, file, exported_at, imported_at, since, until, "
            "format_version, score_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                header["database_id"], summary.name, str(header.get("exported_at") or ""),
                now_iso(), window.get("since"), window.get("until"),
                header["format_version"], header["score_version"],
            ),
        ).lastrowid  # fmt: skip
        conn.executemany(
            "INSERT INTO summary_people (summary_id, person, team, opt_out) VALUES (?, ?, ?, ?)",
            [(summary_id, p["person"], p["team"], int(p["opt_out"])) for p in listed.values()],
        )
        conn.executemany(
            f"INSERT INTO summary_weeks (summary_id, person, team, week, {', '.join(STATS)}, "  # noqa: S608
            f"histogram, ranges) VALUES ({', '.join('?' * (len(STATS) + 6))})",
            [
                (summary_id, row["person"], row["team"], row["week"],
                 *(row[name] for name in STATS), json.dumps(row["histogram"]),
                 json.dumps(row["ranges"]))
                for row in summary.weeks
            ],
        )  # fmt: skip
    return SummaryImport(
        file=summary.name,
        people=len({row["person"] for row in summary.weeks}),
        weeks=len(summary.weeks),
        tasks=sum(row["n"] for row in summary.weeks),
        replaced=bool(replaced),
        since=window.get("since"),
        until=window.get("until"),
    )


def import_summary(conn: sqlite3.Connection, path: Path, name: str | None = None) -> SummaryImport:
    """Read, check and store a summary file: all of it, or (on any problem) nothing."""
    return store_summary(conn, read_summary(path, name))


def open_reader(options) -> None:
    """The formats registry's reader: a summary holds no tasks to read."""
    raise InputError(
        f"{options.name or options.path.name} is a team summary, not a file of tasks: "
        "'calibrate import' stores it for 'calibrate rank'"
    )
