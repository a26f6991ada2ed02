"""The ``calibrate score`` panel: every figure of a scope and window.

:func:`build_panel` loads what it needs through :mod:`calibrate.store.load`
and computes it with :mod:`calibrate.stats` into one JSON-ready dict (plain Python numbers,
unrounded, ``None`` where there is too little data); :func:`assemble_panel`
is the same from arrays already in hand (no database);
:func:`calibrate.panel_words.render_panel` prints the dict for people, at 80
columns, in words. The HTML report reuses the dict.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Literal, TypedDict, cast

import numpy as np
import pandas as pd

from calibrate import durations, rules, teams
from calibrate import panel_summaries as summed
from calibrate import reference as real_developers
from calibrate.durations import local_today
from calibrate.reference import Position
from calibrate.selection import Selection
from calibrate.stats import drift, metrics, promises, ranges, trends
from calibrate.stats.ledger import AdviceRecord, advice_record
from calibrate.stats.metrics import Figures, PaddingFlags, Point, ScoreStatus, SizeRow
from calibrate.stats.promises import PromiseSummary
from calibrate.stats.ranges import RangeSummary
from calibrate.stats.trends import TrendSummary
from calibrate.store import ledgers, load, settings

# --- building -------------------------------------------------------------------------


class Window(TypedDict):
    """The window's first and (exclusive) last local day and its weeks (``None``: all history)."""

    since: str | None
    until: str | None
    weeks: int | None


class TrendWeek(Figures):
    """A week of section 6's trend: its own count and MALR, and the figures of
    the rolling window ending there."""

    week: str
    start: str
    n_week: int
    m_week: float | None
    faded: bool


class PanelTrend(TrendSummary):
    window_weeks: int
    weeks: list[TrendWeek]


class FromSummaries(TypedDict):
    """What imported team summaries bring to a panel's scope (law 6): their
    people, finished tasks and promises due, and the figures they cannot give."""

    people: int
    tasks: int
    due: int
    not_in_summaries: list[str]


class _Summarised(TypedDict, total=False):
    """Only where imported summaries reach the scope."""

    summaries: FromSummaries


class ScorePanel(Point, _Summarised):
    """``calibrate score --json``: every figure of a scope and window
    (:func:`assemble_panel`), JSON-ready, ``None`` where there is too little
    data: the :class:`~calibrate.stats.metrics.Point` of its tasks and the rest."""

    scope: Literal["person", "team", "everyone"]
    name: str | None
    reference: str
    window: Window
    today: str
    score_status: ScoreStatus
    score: float | None
    score_low: float | None
    score_high: float | None
    score_raw_low: float | None
    score_raw_high: float | None
    reference_n: int
    reference_malr: float | None
    prior_from: Literal["group", "reference"] | None
    population: Position | None
    flags: PaddingFlags | None
    by_size: list[SizeRow]
    ranges: RangeSummary
    promises: PromiseSummary
    trend: PanelTrend
    advice_record: AdviceRecord


def build_panel(
    conn: sqlite3.Connection | None, selection: Selection, *, today: date | None = None
) -> ScorePanel:
    """The panel for ``selection`` (scope and window) from the database.

    ``conn`` may be ``None`` (no database yet): every figure is then empty.
    A person's score is shrunk toward their team without them (the team of
    their most recent task; everyone when they have none), a team's toward
    everyone without the team, everyone's toward nothing: that is the score's
    *prior* (the JSON calls the group ``reference``, a name kept for
    compatibility; it is not the reference population of real developers).
    Imported team summaries count for the people they speak for, in the
    scope and in its group, as ``rank`` counts them (:mod:`.panel_summaries`).
    """
    today = today or local_today()
    values = settings.read_all(conn)
    bands = {key: values[key] for key in rules.DEFAULT_BANDS}
    if conn is None:
        return assemble_panel(selection, today=today, bands=bands)
    selection = load.resolve_person(conn, selection)
    prior, prior_label = load.reference_for(conn, selection)
    person = selection.person is not None
    tasks = load.counted_tasks(conn, selection, with_people=person)
    counts = None if person else load.counted_counts(conn, selection)
    outcomes = promise_outcomes(conn, selection, today, values, with_people=True)
    logged, promised = load.logged_counts(conn, selection)
    graded = ledgers.graded_advice(conn, *selection.where("t"))
    if prior is None:
        prior_stats = prior_keep = None
    else:
        prior_stats, prior_keep = summed.fold_group(
            load.counted_stats(conn, prior),
            keep_counts(promise_outcomes(conn, prior, today, values)),
            teams.summary_part(conn, prior),
        )
    return assemble_panel(
        selection,
        today=today,
        tasks=tasks,
        prior_label=prior_label,
        prior_team=prior.team if prior is not None else None,
        prior_stats=prior_stats,
        outcomes=outcomes,
        prior_keep=prior_keep,
        logged=logged,
        promised=promised,
        bands=bands,
        counts=counts,
        part=teams.summary_part(conn, selection),
        graded=graded,
    )


def promise_outcomes(
    conn: sqlite3.Connection,
    selection: Selection,
    today: date,
    values: Mapping,
    *,
    with_people: bool = False,
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """:func:`promises.promise_outcomes` of the scope's promises judged in the
    window (:func:`load.promise_tasks`), on the working calendar of the
    settings ``values``; with ``with_people`` also each promise's ``person``
    and ``team``, and the ``extra`` fields of its task."""
    tasks = load.promise_tasks(conn, selection, with_people=with_people, extra=extra)
    outcomes = promises.promise_outcomes(
        status=tasks["status"].to_numpy(),
        promise_h=tasks["promise_h"].to_numpy(),
        due=tasks["due"].to_numpy(),
        done_date=tasks["done_date"].to_numpy(),
        actual_h=tasks["actual_h"].to_numpy(),
        today=today,
        **settings.calendar(values),
    )
    if with_people:
        outcomes["person"] = tasks["person"].to_numpy()
        outcomes["team"] = tasks["team"].to_numpy()
    for name in extra:
        outcomes[name] = tasks[name].to_numpy()
    return outcomes


def keep_counts(outcomes: pd.DataFrame) -> tuple[int, int]:
    """(kept, due) of promise outcomes (:func:`promises.promise_outcomes`)."""
    resolved = outcomes[outcomes["resolved"]]
    return int(resolved["kept"].sum()), len(resolved)


def keep_rate(outcomes: pd.DataFrame) -> float | None:
    """The raw keep rate of promise outcomes: the share of resolved promises
    that were kept; ``None`` when none is resolved."""
    kept, due = keep_counts(outcomes)
    return kept / due if due else None


def _in_group(frame: pd.DataFrame, selection: Selection, prior_team: str | None) -> np.ndarray:
    """Which of the scope's rows also lie in its comparison group: for a
    person compared with their team, their tasks carrying that team; else all
    (a person among everyone, a team among everyone)."""
    if selection.person is not None and prior_team is not None and "team" in frame:
        return (frame["team"].to_numpy(dtype=object) == prior_team).astype(bool)
    return np.ones(len(frame), dtype=bool)


class Rest(TypedDict):
    """The comparison group without the scope: what the prior and flags use."""

    n: int
    sum_abs: float
    exact: float | None
    under: float | None


def rest_of(
    prior_stats: Mapping, tasks: pd.DataFrame, selection: Selection, prior_team: str | None
) -> Rest:
    """The comparison group's sums (:func:`load.counted_stats`) less the
    scope's own tasks in it: the team without the person, everyone without
    the team (METRICS.md section 2)."""
    mine = _in_group(tasks, selection, prior_team)
    r = metrics.log_ratio(
        tasks["estimate_h"].to_numpy(dtype=float)[mine],
        tasks["actual_h"].to_numpy(dtype=float)[mine],
    )
    r = r[np.isfinite(r)]
    n = int(prior_stats["n"]) - int(r.size)
    total = float(prior_stats["sum_abs"]) - float(metrics.clipped_abs(r).sum())

    def rest_share(key: str, mask: np.ndarray) -> float | None:
        count = round((prior_stats[key] or 0.0) * int(prior_stats["n"])) - int(mask.sum())
        return count / n if n > 0 else None

    return {
        "n": max(n, 0),
        "sum_abs": max(total, 0.0),
        "exact": rest_share("exact", rules.exact_mask(r)),
        "under": rest_share("under", rules.under_mask(r)),
    }


def scope_drift(
    selection: Selection, tasks: pd.DataFrame, counts: pd.DataFrame | None = None
) -> float:
    """The drift variance of the scope's interval (:mod:`calibrate.stats.drift`):
    a person's, a team's from its people's counts, everyone's from its
    people's and teams' counts (tasks without a team as one team). ``counts``:
    the scope's counted tasks per person and team (:func:`load.counted_counts`),
    else counted from the ``person`` and ``team`` of ``tasks``."""
    n = len(tasks)
    if selection.person is not None:
        return drift.person_drift(n)
    if counts is None:
        if "person" not in tasks:  # who did what unknown: as if one person
            return drift.team_drift([n])
        counts = pd.DataFrame({"person": tasks["person"], "team": tasks["team"], "n": 1})
    people_counts = counts.groupby("person", sort=True)["n"].sum().to_numpy()
    if selection.team is not None:
        return drift.team_drift(people_counts)
    teams = counts["team"].astype(object).where(counts["team"].notna(), "")
    team_counts = counts.groupby(teams.to_numpy(), sort=True)["n"].sum().to_numpy()
    return drift.everyone_drift(people_counts, team_counts)


def bucket_mix(estimate_h) -> np.ndarray:
    """Counts of counted tasks per size bucket (the reference's size matching)."""
    buckets = rules.size_buckets(np.asarray(estimate_h, dtype=float))
    return np.bincount(buckets, minlength=len(rules.SIZE_LABELS)).astype(float)


def assemble_panel(
    selection: Selection,
    *,
    today: date,
    tasks: pd.DataFrame | None = None,
    prior_label: str = "everyone",
    prior_team: str | None = None,
    prior_stats: Mapping | None = None,
    outcomes: pd.DataFrame | None = None,
    prior_keep: tuple[int, int] | None = None,
    logged: int = 0,
    promised: int = 0,
    bands: Mapping[str, float] | None = None,
    counts: pd.DataFrame | None = None,
    part: teams.Part | None = None,
    graded: Sequence[Sequence[float]] = (),
) -> ScorePanel:
    """The panel from data in hand: ``tasks`` as :func:`load.counted_tasks`
    gives them (with ``person`` and ``team`` for a team's or everyone's
    drift and a person's place in their team), ``prior_stats`` (the group the
    score is compared with, named ``prior_label``; ``prior_team`` its team)
    as :func:`load.counted_stats` (``None``: no group, for everyone),
    ``outcomes`` as :func:`promises.promise_outcomes` (with ``team``),
    ``prior_keep`` the group's (kept, due) promises, and the counts of tasks
    logged and promised in the window, and ``graded``: (actual, P50, P80, P90)
    hours of each finished task with advice in the ledger (the tool's own
    record, METRICS.md section 8). The scope's own tasks are taken out of the
    group (:func:`rest_of`). ``part``: what imported summaries add to the
    scope (the group's ``prior_stats`` and ``prior_keep`` hold theirs:
    :func:`panel_summaries.fold_group`)."""
    if tasks is None:
        tasks = pd.DataFrame(
            {
                name: np.array([], dtype=float)
                for name in ("estimate_h", "actual_h", "low_h", "high_h", "confidence")
            }
            | {"week": np.array([], dtype=np.int64)}
        )
    estimate_h = tasks["estimate_h"].to_numpy(dtype=float)
    actual_h = tasks["actual_h"].to_numpy(dtype=float)
    point = metrics.point_summary(estimate_h, actual_h)
    mix: np.ndarray | None = bucket_mix(estimate_h)
    if part is not None:
        point = summed.point(point, metrics.log_ratio(estimate_h, actual_h), part)
        mix = summed.mix(cast(np.ndarray, mix), part)
    n = point["n"]
    table = real_developers.load()
    if prior_stats is None:
        rest: Rest | None = None
        prior_malr, prior_n = None, 0
        prior_from: Literal["group", "reference"] | None = None
    else:
        rest = rest_of(prior_stats, tasks, selection, prior_team)
        if part is not None:
            in_team = prior_team if selection.person is not None else None
            rest = cast(Rest, summed.less(dict(rest), part, in_team))
        prior_malr = metrics.prior_malr(rest["n"], rest["sum_abs"], table.median_m(mix))
        prior_from = "group" if rest["n"] >= rules.PRIOR_MIN_N else "reference"
        prior_n = rest["n"]
    if part is None:
        drift_var = scope_drift(selection, tasks, counts)
    elif selection.person is not None:
        drift_var = drift.person_drift(n)
    else:
        drift_var = scope_drift(selection, tasks, summed.scope_counts(counts, tasks, part))
    score, low, high = metrics.score_from_stats(
        n,
        point["sum_abs"],
        point["sum_sq"],
        prior_malr,
        drift_var,
        group_prior=prior_from == "group",
    )
    raw, raw_low, raw_high = metrics.score_from_stats(
        n, point["sum_abs"], point["sum_sq"], drift=drift_var
    )
    scope, name = _scope(selection)
    ranged = tasks[np.isfinite(tasks["low_h"].to_numpy(dtype=float))]
    rest_kept = rest_due = None
    if prior_keep is not None:
        kept_all, due_all = prior_keep
        mine = outcomes if outcomes is not None else pd.DataFrame({"resolved": [], "kept": []})
        mine = mine[_in_group(mine, selection, prior_team) & mine["resolved"].to_numpy(dtype=bool)]
        rest_kept = kept_all - int(mine["kept"].sum())
        rest_due = due_all - len(mine)
        if part is not None:
            own = part.sums(prior_team if selection.person is not None else None)
            rest_kept, rest_due = rest_kept - int(own["kept"]), rest_due - int(own["due"])
    panel: ScorePanel = {
        "scope": scope,
        "name": name,
        "reference": prior_label if selection.person or selection.team else "itself",
        "window": _window(selection, today),
        "today": today.isoformat(),
        "n": n,
        "score_status": metrics.score_status(n),
        "score": score,
        "score_low": low,
        "score_high": high,
        "score_raw": raw,
        "score_raw_low": raw_low,
        "score_raw_high": raw_high,
        "reference_n": prior_n,
        "reference_malr": prior_malr,
        "prior_from": prior_from,
        "bias": point["bias"],
        "bias_factor": point["bias_factor"],
        "malr": point["malr"],
        "typical_miss": point["typical_miss"],
        "within_25": point["within_25"],
        "over": point["over"],
        "exact": point["exact"],
        "under": point["under"],
        "ratio_p10": point["ratio_p10"],
        "ratio_p90": point["ratio_p90"],
        "sum_abs": point["sum_abs"],
        "sum_sq": point["sum_sq"],
        # Where a person's score and its interval stand among real developers
        # (METRICS.md 5), or None (under 30 tasks, or not a person).
        "population": (
            table.place(score, low, high, n, mix)
            if selection.person is not None and mix is not None
            else None
        ),
        "flags": _flags(selection, point, rest, table) if selection.person is not None else None,
        "by_size": metrics.by_size(estimate_h, actual_h),
        "ranges": ranges.range_summary(
            ranged["low_h"], ranged["high_h"], ranged["actual_h"], ranged["confidence"]
        ),
        "promises": promises.promise_summary(
            outcomes,
            logged=logged,
            promised=promised,
            rest_kept=rest_kept,
            rest_due=rest_due,
            bands=bands,
        ),
        "trend": _trend(selection, today, tasks, estimate_h, actual_h),
        "advice_record": advice_record(*(np.array(graded, dtype=float).reshape(-1, 4).T)),
    }
    if part is not None:
        _with_summaries(panel, part, outcomes, logged, promised, rest_kept, rest_due, bands)
    return clean(panel)


def _with_summaries(
    panel: ScorePanel,
    part: teams.Part,
    outcomes: pd.DataFrame | None,
    logged: int,
    promised: int,
    rest_kept: int | None,
    rest_due: int | None,
    bands: Mapping[str, float] | None,
) -> None:
    """The figures of a panel the summaries reach, counted with them; what
    they cannot give emptied and named (:mod:`.panel_summaries`)."""
    absent = summed.missing(part, population=panel["scope"] == "person")
    panel["by_size"] = summed.by_size(panel["by_size"], part)
    panel["promises"] = summed.promise_figures(
        outcomes,
        part,
        logged=logged,
        promised=promised,
        rest_kept=rest_kept,
        rest_due=rest_due,
        bands=bands,
    )
    if "ranges" in absent:
        nothing = np.array([], dtype=float)
        panel["ranges"] = ranges.range_summary(nothing, nothing, nothing, nothing)
    if "trend" in absent:
        weeks = trends.weekly_trend(np.array([], dtype=np.int64), np.array([], dtype=float))
        panel["trend"] = {
            **trends.trend_summary(weeks),
            "window_weeks": rules.TREND_WINDOW_WEEKS,
            "weeks": [],
        }
    panel["summaries"] = {
        "people": part.people,
        "tasks": int(part.total("n")),
        "due": int(part.total("due")),
        "not_in_summaries": absent,
    }


def _flags(selection: Selection, point: Point, rest: Rest | None, table) -> PaddingFlags:
    """Section 2's flags against the team without the person; alone (nobody
    else in the group), only the early share, against real developers' median."""
    if rest is not None and rest["n"] > 0:
        team_exact, team_under = rest["exact"], rest["under"]
    else:
        team_exact, team_under = None, table.early_median
    return metrics.padding_flags(point["n"], point["exact"], point["under"], team_exact, team_under)


def _scope(selection: Selection) -> tuple[Literal["person", "team", "everyone"], str | None]:
    if selection.person is not None:
        return "person", selection.person
    if selection.team is not None:
        return "team", selection.team
    return "everyone", None


def _last_day(selection: Selection, today: date) -> date:
    """The window's last day: the day before its (exclusive) end, else today."""
    end = load.window_end(selection)
    return end - timedelta(days=1) if end else today


def _window(selection: Selection, today: date) -> Window:
    start = load.window_start(selection)
    end = load.window_end(selection)
    weeks = None
    if start is not None:
        first, last = durations.week_index([start, _last_day(selection, today)])
        weeks = int(last - first + 1)
    return {
        "since": start.isoformat() if start else None,
        "until": end.isoformat() if end else None,
        "weeks": weeks,
    }


def _trend(selection, today, tasks, estimate_h, actual_h) -> PanelTrend:
    weeks = tasks["week"].to_numpy(dtype=np.int64)
    start = load.window_start(selection)
    first = int(durations.week_index([start])[0]) if start else None
    last = int(durations.week_index([_last_day(selection, today)])[0]) if start else None
    frame = trends.weekly_trend(
        weeks, metrics.log_ratio(estimate_h, actual_h), first_week=first, last_week=last
    )
    summary = trends.trend_summary(frame)
    rows = []
    for row in frame.to_dict("records"):
        year, number, _ = row["start"].isocalendar()
        week = {**row, "week": f"{year}-W{number:02d}", "start": row["start"].isoformat()}
        rows.append(cast(TrendWeek, week))  # a row of trends.TREND_COLUMNS
    return {**summary, "window_weeks": rules.TREND_WINDOW_WEEKS, "weeks": rows}


def clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN and NaT to ``None``, dates to text."""
    if isinstance(value, Mapping):
        return {str(key): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, date):
        return value.isoformat()
    return value
