"""Week rows: the sums of raw tasks per person, team and ISO week.

A team summary and ``rank`` compare people by the sufficient statistics of
METRICS.md section 5 (the count n, the sum and sum of squares of
|clip(r)|, the counts over / exact / under and within 25%, promise
outcomes), summed per person, team and ISO week. This module makes those
*week rows* from the raw tasks of this database (:func:`load_tasks`, then
:func:`week_rows`), the very numbers a summary file carries, and sums them
(:func:`totals`, over rows in the one order of :func:`sort_rows`, so that
sums from a summary equal sums from the raw tasks to the last bit; medians
agree to the histogram's bin width). :mod:`calibrate.teams` adds the
imported summaries' rows to them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from calibrate import durations, rules
from calibrate.selection import Selection
from calibrate.stats import metrics, promises, ranges
from calibrate.store import load, settings
from calibrate.store.load import STATS

#: Width of the bins of clip(r) a summary's histograms count (for medians).
HISTOGRAM_BIN = rules.HISTOGRAM_BIN
HISTOGRAM_MAX = round(rules.CLIP_LOG2 / HISTOGRAM_BIN)
#: The widen factor's histogram: bins of |y - centre| / halfwidth, the last the cap.
SPREAD_MAX = round(rules.SPREAD_CAP / rules.SPREAD_BIN)
BUCKETS = len(rules.SIZE_LABELS)
#: Counted tasks per size bucket (the reference's size matching), summed like STATS;
#: ``unbucketed`` counts tasks of imported weeks that carry no buckets.
BUCKET_COUNTS = tuple(f"n_b{b}" for b in range(BUCKETS))
#: What a summary carries beside: per bucket the sums of |clip(r)| and of its
#: squares, tasks logged, and the effort promises on finished tasks (their
#: count and the sums of promised and actual effort: the promise cost).
BUCKET_SUMS = tuple(f"{name}_b{b}" for b in range(BUCKETS) for name in ("sum", "sq"))
EFFORT_STATS = ("effort_n", "promised_h", "effort_h")
RANK_STATS = (*STATS, *BUCKET_COUNTS, "unbucketed")
#: Week number of tasks without a done date (kept only for ``--since all``).
UNDATED = -1
#: The key of a week row, in the order rows are summed.
KEYS = ("person", "team", "week")
INTEGER_STATS = tuple(s for s in STATS if s not in ("sum_abs", "sum_sq"))
#: ``team`` of tasks without one, while grouping (pandas drops missing keys).
NO_TEAM = ""

# --- the raw tasks as frames --------------------------------------------------------


def load_tasks(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    today: date,
    values: Mapping | None = None,
    detail: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scope's counted tasks finished in the window, and its promises
    judged in the window, in one scan (:func:`load.task_columns`), as
    :func:`task_frames` gives them."""
    data = load.task_columns(conn, selection, detail=detail)
    values = values or settings.read_all(conn)
    return task_frames(data, selection, today=today, values=values, detail=detail)


def task_frames(
    data: Mapping[str, np.ndarray],
    selection: Selection,
    *,
    today: date,
    values: Mapping,
    detail: bool = False,
    parsed: tuple[pd.Series, np.ndarray, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two frames in task-id order from columns already in hand (those of
    :data:`history.FRAME_COLUMNS`, ``status`` as its index in
    ``tasks.STATUSES``; any superset of the rows :func:`load.task_columns`
    selects, as :func:`load.window_rows` applies the window and the
    rules again). ``parsed``: :func:`load.parse_dates` of ``done_at`` and
    ``due``, when the caller has them already.

    Counted: ``person``, ``team`` (``NO_TEAM`` for none), ``week``
    (:func:`durations.week_index` of the local done date; ``UNDATED`` without
    one), ``r`` (log2 of actual / estimate) and ``bucket`` (of the estimate);
    with ``detail`` also ``actual_h``, ``low_h``, ``high_h`` and
    ``confidence`` (percent; the default of METRICS.md for a range without
    one). Promises: ``person``, ``team``, ``week`` (of the outcome: the done
    date, else the due date), ``resolved``, ``kept``, ``exceeded``,
    ``promised_h`` and ``effort_h`` (an effort promise on a finished task:
    promised and actual effort; NaN for the others).
    """
    rows = load.window_rows(data, selection, parsed)
    done_week = durations.week_index(rows.done_date)
    is_counted, is_promise = rows.counted, rows.promised
    estimate_h, actual_h = data["estimate_h"], data["actual_h"]
    # Names as categoricals: factorised once here, grouped by their codes after.
    team = _categorical(np.where(pd.isna(data["team"]), NO_TEAM, data["team"]))
    person = _categorical(data["person"])
    counted_frame = pd.DataFrame(
        {
            "person": person[is_counted],
            "team": team[is_counted],
            "week": done_week[is_counted],
            "r": metrics.log_ratio(estimate_h[is_counted], actual_h[is_counted]),
            "bucket": rules.size_buckets(estimate_h[is_counted]),
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
            has_range,
            np.where(np.isfinite(confidence), confidence, rules.DEFAULT_CONFIDENCE),
            np.nan,
        )
    due_date = rows.due[is_promise]
    outcomes = promises.promise_outcomes(
        status=rows.status[is_promise],
        promise_h=data["promise_h"][is_promise],
        due=due_date,
        done_date=rows.done_date[is_promise],
        actual_h=actual_h[is_promise],
        today=today,
        **settings.calendar(values),
    )
    outcome_week = np.where(
        rows.has_done[is_promise], done_week[is_promise], durations.week_index(due_date)
    )
    promise_frame = pd.DataFrame(
        {
            "person": person[is_promise],
            "team": team[is_promise],
            "week": outcome_week,
            "resolved": outcomes["resolved"].to_numpy(dtype=bool),
            "kept": outcomes["kept"].to_numpy(dtype=bool),
            "exceeded": outcomes["exceeded"].to_numpy(dtype=bool),
            "promised_h": outcomes["promised_h"].to_numpy(dtype=float),
            "effort_h": outcomes["effort_h"].to_numpy(dtype=float),
        }
    )
    return counted_frame, promise_frame


def _categorical(names: np.ndarray) -> pd.Categorical:
    codes, uniques = pd.factorize(np.asarray(names, dtype=object))
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


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
    counted: pd.DataFrame,
    promises: pd.DataFrame,
    *,
    detail: bool = False,
    logged: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per person, team and week: the statistics of :data:`RANK_STATS` (and
    with ``detail`` the :data:`BUCKET_SUMS`, :data:`EFFORT_STATS`, ``logged``
    and the ``histogram`` and ``ranges`` lists), in :func:`sort_rows` order.
    ``logged``: the tasks logged in the window (``person``, ``team``,
    ``week`` of creation: :func:`logged_frame`), for ``detail``.

    Raw tasks reach the ranks and the summary files only through here, so the
    sums a summary carries are the very numbers ``rank`` adds up.
    """
    r = counted["r"].to_numpy(dtype=float)
    abs_r = metrics.clipped_abs(r)
    exact = rules.exact_mask(r)
    within = rules.within_mask(r)
    resolved = promises["resolved"].to_numpy(dtype=bool)
    if logged is None:
        logged = pd.DataFrame({"person": [], "team": [], "week": np.array([], dtype=np.int64)})
    # Person and team as codes into one shared list of names per key (the
    # frames' categories may differ), weeks as numbers.
    codes, names = {}, {}
    for name in ("person", "team"):
        both = pd.api.types.union_categoricals(
            [
                pd.Categorical(counted[name]),
                pd.Categorical(promises[name])[resolved],
                pd.Categorical(logged[name].astype(object)),
            ],
            ignore_order=True,
        )
        codes[name], names[name] = both.codes.astype(np.int64), both.categories
    weeks = np.concatenate(
        [
            counted["week"].to_numpy(dtype=np.int64),
            promises["week"].to_numpy(dtype=np.int64)[resolved],
            logged["week"].to_numpy(dtype=np.int64),
        ]
    )
    n_counted, n_promised = r.size, int(resolved.sum())
    group, first = _group(codes["person"], codes["team"], weeks)
    size = first.size
    task_group = group[:n_counted]
    promise_group = group[n_counted : n_counted + n_promised]
    logged_group = group[n_counted + n_promised :]

    def count(mask, groups=task_group) -> np.ndarray:
        return np.bincount(groups[mask], minlength=size).astype(np.int64)

    def total(weights, groups=task_group) -> np.ndarray:
        return np.bincount(groups, weights=weights, minlength=size)

    every = np.ones(n_counted, dtype=bool)
    buckets = counted["bucket"].to_numpy(dtype=np.int64)
    rows = pd.DataFrame(
        {
            "person": np.asarray(names["person"], dtype=object)[codes["person"][first]],
            "team": np.asarray(names["team"], dtype=object)[codes["team"][first]],
            "week": weeks[first],
            "n": count(every),
            "sum_abs": total(abs_r),
            "sum_sq": total(abs_r * abs_r),
            "over": count(rules.over_mask(r)),
            "exact": count(exact),
            "under": count(rules.under_mask(r)),
            "within_25": count(within),
            "due": count(np.ones(promise_group.size, dtype=bool), promise_group),
            "kept": count(promises["kept"].to_numpy(dtype=bool)[resolved], promise_group),
            "exceeded": count(promises["exceeded"].to_numpy(dtype=bool)[resolved], promise_group),
            **{f"n_b{b}": count(buckets == b) for b in range(BUCKETS)},
            "unbucketed": np.zeros(size, dtype=np.int64),
        }
    )
    if detail:
        for b in range(BUCKETS):
            mine = buckets == b
            rows[f"sum_b{b}"] = total(np.where(mine, abs_r, 0.0))
            rows[f"sq_b{b}"] = total(np.where(mine, abs_r * abs_r, 0.0))
        promised_h = promises["promised_h"].to_numpy(dtype=float)[resolved]
        effort_h = promises["effort_h"].to_numpy(dtype=float)[resolved]
        costed = np.isfinite(promised_h) & np.isfinite(effort_h)
        rows["effort_n"] = count(costed, promise_group)
        rows["promised_h"] = total(np.where(costed, promised_h, 0.0), promise_group)
        rows["effort_h"] = total(np.where(costed, effort_h, 0.0), promise_group)
        rows["logged"] = count(np.ones(logged_group.size, dtype=bool), logged_group)
        rows["histogram"] = _histograms(r, task_group, size)
        rows["ranges"] = _ranges(counted, task_group, size)
    return sort_rows(rows)


def logged_frame(conn: sqlite3.Connection, selection: Selection) -> pd.DataFrame:
    """The scope's tasks logged (created) in the window, as rows of ``person``,
    ``team`` (``NO_TEAM`` for none) and ``week`` (the local week of creation),
    as ``logged_counts`` counts them: the promise rate's denominator in a summary."""
    where, params = load.logged_where(selection)
    sql = f"SELECT person, team, created_at FROM tasks WHERE {where} ORDER BY id"  # noqa: S608
    found = conn.execute(sql, params).fetchall()
    created = load.local_dates([row[2] for row in found])
    return pd.DataFrame(
        {
            "person": np.array([row[0] for row in found], dtype=object),
            "team": np.array(
                [NO_TEAM if row[1] is None else row[1] for row in found], dtype=object
            ),
            "week": durations.week_index(created) if len(found) else np.array([], dtype=np.int64),
        }
    )


def sort_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Week rows in the one order they are summed in (by person, team, week),
    with the one set of column types (so that pandas sums them alike)."""
    rows = rows.sort_values(list(KEYS), kind="stable").reset_index(drop=True)
    rows["person"] = rows["person"].astype(object)
    rows["team"] = rows["team"].astype(object)
    rows["week"] = rows["week"].astype(np.int64)
    for name in (*INTEGER_STATS, *BUCKET_COUNTS, "unbucketed"):
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
    """Per week row, [confidence %, n, hits, below, above, spread histogram] per
    confidence level; the histogram is the (bin, count) pairs of |y - centre| /
    halfwidth (:func:`calibrate.stats.ranges.spread_bins`)."""
    out: list[list] = [[] for _ in range(size)]
    if "low_h" not in counted:
        return out
    low = counted["low_h"].to_numpy(dtype=float)
    high = counted["high_h"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ranged = np.isfinite(low) & np.isfinite(high) & (low > 0) & (high > low)
    if not ranged.any():
        return out
    actual = counted["actual_h"].to_numpy(dtype=float)[ranged]
    below, above = rules.range_hit_masks(low[ranged], high[ranged], actual)
    spread_bin = ranges.spread_bins(ranges.spreads_of(low[ranged], high[ranged], actual))
    frame = pd.DataFrame(
        {
            "group": task_group[ranged],
            "confidence": counted["confidence"].to_numpy(dtype=float)[ranged],
            "spread": spread_bin,
            "n": 1,
            "hits": (~below & ~above).astype(np.int64),
            "below": below.astype(np.int64),
            "above": above.astype(np.int64),
        }
    )
    keys = ["group", "confidence"]
    summed = frame.drop(columns="spread").groupby(keys, sort=True).sum().reset_index()
    cells = frame.groupby([*keys, "spread"], sort=True).size()
    spreads: dict[tuple, list] = {}
    levels = [cells.index.get_level_values(i).to_numpy() for i in range(3)]
    for group, confidence, bin_, n in zip(*levels, cells.to_numpy(), strict=True):
        spreads.setdefault((int(group), float(confidence)), []).append([int(bin_), int(n)])
    columns = [summed[name].to_numpy() for name in ("confidence", "n", "hits", "below", "above")]
    for group, confidence, n, hits, below_n, above_n in zip(
        summed["group"].to_numpy(), *columns, strict=True
    ):
        out[int(group)].append(
            [
                float(confidence),
                int(n),
                int(hits),
                int(below_n),
                int(above_n),
                spreads[(int(group), float(confidence))],
            ]
        )
    return out


def totals(rows: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Sums of :data:`RANK_STATS` per ``person``, ``team`` (or both) over week
    rows (which must be in :func:`sort_rows` order)."""
    return rows.groupby(by, sort=True)[list(RANK_STATS)].sum()


def grand_total(rows: pd.DataFrame) -> dict:
    return {name: rows[name].sum() if len(rows) else 0 for name in RANK_STATS}


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
