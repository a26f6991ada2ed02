"""The ``calibrate score`` panel: every figure of a scope and window.

:func:`build_panel` loads what it needs through :mod:`calibrate.store.load`
and computes it with :mod:`calibrate.stats` into one JSON-ready dict (plain Python numbers,
unrounded, ``None`` where there is too little data); :func:`assemble_panel`
is the same from arrays already in hand (no database), and
:func:`render_panel` prints the dict for people, at 80 columns, in words.
The HTML report reuses the dict.
"""

from __future__ import annotations

import math
import sqlite3
import textwrap
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal, TypedDict, cast

import numpy as np
import pandas as pd

from calibrate import durations, rules
from calibrate import reference as real_developers
from calibrate.durations import local_today
from calibrate.reference import Position
from calibrate.selection import Selection
from calibrate.stats import metrics, promises, ranges, trends
from calibrate.stats.metrics import Figures, PaddingFlags, Point, ScoreStatus, SizeRow
from calibrate.stats.promises import PromiseSummary
from calibrate.stats.ranges import RangeSummary
from calibrate.stats.trends import TrendSummary
from calibrate.store import load, settings
from calibrate.text import count, factor, percent

#: Rolling scores shown in the trend line of the text panel.
TREND_SHOWN_WEEKS = 8
LABEL_WIDTH = 13


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


class ScorePanel(Point):
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
    population: Position | None
    flags: PaddingFlags | None
    by_size: list[SizeRow]
    ranges: RangeSummary
    promises: PromiseSummary
    trend: PanelTrend


def build_panel(
    conn: sqlite3.Connection | None, selection: Selection, *, today: date | None = None
) -> ScorePanel:
    """The panel for ``selection`` (scope and window) from the database.

    ``conn`` may be ``None`` (no database yet): every figure is then empty.
    A person's score is shrunk toward their team (the team of their most
    recent task; everyone when they have none), a team's toward everyone,
    everyone's toward itself: that is the score's *prior* (the JSON calls it
    ``reference``, a name kept for compatibility; it is not the reference
    population of real developers).
    """
    today = today or local_today()
    values = settings.read_all(conn)
    bands = {key: values[key] for key in rules.DEFAULT_BANDS}
    if conn is None:
        return assemble_panel(selection, today=today, bands=bands)
    selection = load.resolve_person(conn, selection)
    prior, prior_label = load.reference_for(conn, selection)
    tasks = load.counted_tasks(conn, selection)
    outcomes = promise_outcomes(conn, selection, today, values)
    logged, promised = load.logged_counts(conn, selection)
    if prior is None:
        prior_stats = prior_keep = None
    else:
        prior_stats = load.counted_stats(conn, prior)
        prior_keep = keep_rate(promise_outcomes(conn, prior, today, values))
    return assemble_panel(
        selection,
        today=today,
        tasks=tasks,
        prior_label=prior_label,
        prior_stats=prior_stats,
        outcomes=outcomes,
        prior_keep_rate=prior_keep,
        logged=logged,
        promised=promised,
        bands=bands,
    )


def promise_outcomes(
    conn: sqlite3.Connection, selection: Selection, today: date, values: Mapping
) -> pd.DataFrame:
    """:func:`promises.promise_outcomes` of the scope's promises judged in the
    window (:func:`load.promise_tasks`), on the working calendar of the
    settings ``values``."""
    tasks = load.promise_tasks(conn, selection)
    return promises.promise_outcomes(
        status=tasks["status"].to_numpy(),
        promise_h=tasks["promise_h"].to_numpy(),
        due=tasks["due"].to_numpy(),
        done_date=tasks["done_date"].to_numpy(),
        actual_h=tasks["actual_h"].to_numpy(),
        today=today,
        **settings.calendar(values),
    )


def keep_rate(outcomes: pd.DataFrame) -> float | None:
    """The raw keep rate of promise outcomes (:func:`promises.promise_outcomes`):
    the share of resolved promises that were kept; ``None`` when none is resolved."""
    resolved = outcomes[outcomes["resolved"]]
    return float(resolved["kept"].mean()) if len(resolved) else None


def assemble_panel(
    selection: Selection,
    *,
    today: date,
    tasks: pd.DataFrame | None = None,
    prior_label: str = "everyone",
    prior_stats: Mapping | None = None,
    outcomes: pd.DataFrame | None = None,
    prior_keep_rate: float | None = None,
    logged: int = 0,
    promised: int = 0,
    bands: Mapping[str, float] | None = None,
) -> ScorePanel:
    """The panel from data in hand: ``tasks`` as :func:`load.counted_tasks`
    gives them, ``prior_stats`` (the scope the score is shrunk toward, named
    ``prior_label``) as :func:`load.counted_stats` (``None``: the scope is its
    own prior), ``outcomes`` as :func:`promises.promise_outcomes`, and the
    counts of tasks logged and promised in the window."""
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
    n = point["n"]
    own_malr = point["malr"]
    if prior_stats is None:
        prior_malr, prior_n = own_malr, n
        prior_exact, prior_under = point["exact"], point["under"]
    else:
        prior_malr, prior_n = prior_stats["malr"], prior_stats["n"]
        prior_exact, prior_under = prior_stats["exact"], prior_stats["under"]
    score, low, high = metrics.score_from_stats(n, point["sum_abs"], point["sum_sq"], prior_malr)
    raw, raw_low, raw_high = metrics.score_from_stats(n, point["sum_abs"], point["sum_sq"])
    scope, name = _scope(selection)
    ranged = tasks[np.isfinite(tasks["low_h"].to_numpy(dtype=float))]
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
        # Where a person's raw score stands among real developers (METRICS.md 5),
        # or None (under 30 tasks, or not a person).
        "population": (
            real_developers.load().position(raw, n) if selection.person is not None else None
        ),
        "flags": (
            metrics.padding_flags(n, point["exact"], point["under"], prior_exact, prior_under)
            if selection.person is not None
            else None
        ),
        "by_size": metrics.by_size(estimate_h, actual_h),
        "ranges": ranges.range_summary(
            ranged["low_h"], ranged["high_h"], ranged["actual_h"], ranged["confidence"]
        ),
        "promises": promises.promise_summary(
            outcomes,
            logged=logged,
            promised=promised,
            team_keep_rate=prior_keep_rate if prior_stats is not None else None,
            bands=bands,
        ),
        "trend": _trend(selection, today, tasks, estimate_h, actual_h),
    }
    return clean(panel)


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


# --- rendering --------------------------------------------------------------------------


def _pct_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "-"
    return f"{low * 100:.0f}-{high * 100:.0f}%"


class _Lines:
    """Labelled lines wrapped to the width, continuations indented under the text."""

    def __init__(self, width: int):
        self.width = width
        self.lines: list[str] = []

    def add(self, label: str, text: str, indent: str = "") -> None:
        head = f"{indent}{label}".ljust(LABEL_WIDTH)
        if len(head) > LABEL_WIDTH:
            head += " "
        body = textwrap.wrap(text, self.width - len(head), break_on_hyphens=False) or [""]
        self.lines.append((head + body[0]).rstrip())
        self.lines.extend((" " * len(head) + more).rstrip() for more in body[1:])

    def blank(self) -> None:
        self.lines.append("")


def _title(panel: ScorePanel, width: int) -> str:
    name = panel["name"]
    if panel["scope"] == "person" and name is not None:
        who = name
        if panel["reference"].startswith("team "):
            who += f" ({panel['reference']})"
    elif panel["scope"] == "team":
        who = f"team {name}"
    else:
        who = "everyone"
    window = panel["window"]
    weeks = window["weeks"]
    if window["since"] is None or weeks is None:
        when = "all history"
    else:
        when = f"{count(weeks, 'week')} from {window['since']}"
        if window["until"]:
            when += f" to {window['until']}"
    head, tail = "Calibration of ", f", {when}"
    room = width - len(head) - len(tail)
    if len(who) > room:
        who = who[: max(room - 1, 8)] + "…"
    return f"{head}{who}{tail}"


def render_panel(panel: ScorePanel, width: int = 80) -> str:
    """The panel in words, no line wider than ``width``: what the terminal shows."""
    out = _Lines(width)
    out.lines.append(_title(panel, width))
    _render_point(out, panel)
    out.blank()
    _render_ranges(out, panel["ranges"])
    out.blank()
    _render_promises(out, panel["promises"], panel["reference"])
    out.blank()
    _render_trend(out, panel["trend"])
    return "\n".join(out.lines)


def _render_point(out: _Lines, panel: ScorePanel) -> None:
    n = panel["n"]
    if n == 0:
        out.add("Score", "not enough data: no finished tasks in this window.")
        return
    tasks = count(n, "finished task")
    if panel["score"] is None:
        out.add("Score", f"not enough data: {tasks}, a score needs {rules.MIN_SCORE_N}.")
    else:
        status = ", provisional" if panel["score_status"] == "provisional" else ""
        text = (
            f"{panel['score']:.0f} (90%: {panel['score_low']:.0f}-{panel['score_high']:.0f})"
            f"{status}, from {tasks}; raw {panel['score_raw']:.0f}"
        )
        if panel["reference"] != "itself":
            text += f", shrunk toward {panel['reference']}"
        out.add("Score", text)
        population = panel.get("population")
        if population:
            out.add(
                "Real devs",
                f"{real_developers.describe(population)} by raw score ({population['source']})",
            )
    whose = "your estimate" if panel["scope"] == "person" else "the estimate"
    out.add("Bias", f"tasks take {factor(panel['bias_factor'])} {whose} (median)")
    out.add(
        "Miss",
        f"typically off by {factor(panel['typical_miss'])}; "
        f"{percent(panel['within_25'])} within 25%",
    )
    out.add(
        "Split",
        f"over {percent(panel['over'])}, exact {percent(panel['exact'])}, "
        f"under {percent(panel['under'])}",
    )
    flags = panel["flags"]
    prior = panel["reference"]
    if flags is None:
        return
    exact = flags["exact_hits"]
    if exact["flag"]:
        out.add(
            "Flag",
            f"{percent(exact['share'])} of your tasks end exactly at the estimate "
            f"({prior}: {percent(exact['team'])}): are actuals written to match?",
        )
    early = flags["early"]
    if early["flag"]:
        out.add(
            "Flag",
            f"{percent(early['share'])} of your tasks finish under the estimate "
            f"({prior}: {percent(early['team'])}): padding scores as badly as optimism.",
        )


def _render_ranges(out: _Lines, figures: Mapping) -> None:
    n = figures["n"]
    if n == 0:
        out.add(
            "Ranges",
            "not enough data: no finished task with a range (log one with --range 2h..6h).",
        )
        return
    verdict = figures["verdict"]
    out.add(
        "Ranges",
        f"{percent(figures['hit_rate'])} of {n:,} held the actual (90%: "
        f"{_pct_range(figures['hit_low'], figures['hit_high'])}) against "
        f"{percent(figures['nominal'])} nominal: {verdict}",
    )
    widen = figures["widen_factor"]
    if verdict == "calibrated":
        out.add("", f"widen factor {factor(widen)}: keep them as they are")
    else:
        verb = "widen" if widen >= 1 else "narrow"
        out.add("", f"{verb} them by {factor(widen)} to be calibrated")
    out.add("", f"misses: {figures['below']:,} below, {figures['above']:,} above")


_GAUGE_WORDS = {
    "in band": "on target",
    "below": "below target",
    "above": "above target",
    "flag": "flagged",
}


def _render_promises(out: _Lines, figures: Mapping, prior: str) -> None:
    due = figures["due"]
    if figures["logged"] == 0 and due == 0:
        out.add("Promises", "not enough data: no tasks logged and no promises due in this window.")
        return
    out.add("Promises", "make few, keep most, exceed a few")
    gauges = figures["gauges"]
    rate, keep, exceed = gauges["promise_rate"], gauges["keep_rate"], gauges["exceed_rate"]
    band = _pct_range(rate["min"], rate["max"])
    if rate["value"] is None:
        out.add("few", "no tasks logged in this window", indent="  ")
    else:
        out.add(
            "few",
            f"{percent(rate['value'])} of {count(figures['logged'], 'task')} logged carry a "
            f"promise; target {band}: {_GAUGE_WORDS[rate['status']]}",
            indent="  ",
        )
    if keep["value"] is None:
        out.add("kept", "not enough data: no promises due yet", indent="  ")
        return
    status = _GAUGE_WORDS[keep["status"]]
    if keep["status"] == "flag":
        status += f" (under {percent(keep['flag'])})"
    out.add(
        "kept",
        f"{percent(keep['value'])} of {due:,} due (90%: "
        f"{_pct_range(figures['keep_low'], figures['keep_high'])}); target >= "
        f"{percent(keep['min'])}: {status}",
        indent="  ",
    )
    out.add(
        "exceeded",
        f"{percent(exceed['value'])} of {due:,} due; target >= {percent(exceed['min'])}: "
        f"{_GAUGE_WORDS[exceed['status']]}",
        indent="  ",
    )
    if figures["team_keep_rate"] is not None:
        out.add(
            "",
            f"kept {figures['kept']:,} of {due:,} ({percent(figures['keep_rate_raw'])}), "
            f"shrunk toward {prior} ({percent(figures['team_keep_rate'])})",
        )
    for line in figures["advice"]:
        out.add("", line)


def _render_trend(out: _Lines, trend: Mapping) -> None:
    verdict = trend["verdict"]
    if verdict is None:
        used = trend["weeks_used"]
        out.add(
            "Trend",
            f"not enough data: {count(used, 'week')} with finished tasks, a trend needs "
            f"{rules.MIN_TREND_WEEKS}.",
        )
        return
    slope, low, high = trend["slope"], trend["low"], trend["high"]
    if verdict == "improving":
        text = f"improving by {-slope:.3f} log2 a week (90%: {-high:.3f} to {-low:.3f})"
    elif verdict == "worsening":
        text = f"worsening by {slope:.3f} log2 a week (90%: {low:.3f} to {high:.3f})"
    else:
        text = f"no clear change (slope {slope:+.3f} log2 a week, 90%: {low:+.3f} to {high:+.3f})"
    out.add("Trend", text)
    recent = [w for w in trend["weeks"] if w["score_raw"] is not None][-TREND_SHOWN_WEEKS:]
    if recent:
        shown = " ".join(
            f"({w['score_raw']:.0f})" if w["faded"] else f"{w['score_raw']:.0f}" for w in recent
        )
        out.add("", f"rolling {trend['window_weeks']}-week score, last weeks: {shown}")
        if any(w["faded"] for w in recent):
            out.add("", f"(in brackets: under {rules.TREND_FADED_BELOW} tasks in the window)")
