"""Section: open work, when the scope's open tasks will be done.

The same forecast as ``calibrate forecast`` (:func:`advice.run_forecast`,
fewer runs: a chart needs fewer than the quantiles), drawn as a histogram of
finish dates with P50, P80 and P95 marked, the promises at risk as a table,
and the backtested coverage in words.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import plotly.graph_objects as go

from calibrate import advice
from calibrate.advice import QuotedBacktest
from calibrate.errors import CalibrateError
from calibrate.report.data import ReportData
from calibrate.report.model import BLUE, Cell, Section, Table, layout, new_figure
from calibrate.stats.forecast import ForecastTask
from calibrate.text import count as plural
from calibrate.text import percent
from calibrate.words import day_words, nice_hours, worth_line

#: Monte Carlo runs behind the chart (the command's default is 10,000): a bar of
#: the finish-date histogram is then good to about 1.5 points, which a chart
#: shows well, at half the cost of 2,000 runs (0.9 s of a 1M-task report).
REPORT_RUNS = 1_000
#: Bars at most; beyond, days are grouped into weeks.
CHART_BARS = 40
#: Promised tasks listed at most (the least likely to be kept first).
PROMISES_SHOWN = 20
QUANTILE_STYLE: tuple[tuple[Literal["p50", "p80", "p95"], str], ...] = (
    ("p50", "solid"),
    ("p80", "dash"),
    ("p95", "dot"),
)


def open_work_section(data: ReportData) -> Section:
    """The finish-date histogram of the scope's open tasks (all history as evidence)."""
    section = Section(
        key="open",
        title="Open work: when will it be done?",
        how_to_read=(
            f"Each bar is the share of {REPORT_RUNS:,} simulated futures in which the last "
            "open task is finished on that day (or week), each person working their tasks one "
            "after another on the team's calendar; the lines mark the dates reached in half "
            "(P50), 80% and 95% of them."
        ),
        height=360,
    )
    selection = data.selection
    try:
        result = advice.run_forecast(
            data.conn,
            (),
            selection.person,
            selection.team,
            selection.everyone,
            selection.person or "",
            runs=REPORT_RUNS,
            seed=0,
            today=data.today,
            past=data.forecast_history(),
        )
    except CalibrateError as error:
        message = str(error)
        section.empty = message[0].upper() + message[1:] + "."
        return section
    today = data.today
    bins, width_days = advice.histogram_rows(result["histogram"], rows=CHART_BARS)
    drawn = [(day, runs) for day, runs in bins if day is not None]
    later = sum(runs for day, runs in bins if day is None)
    shares = [100 * runs / result["runs"] for _, runs in drawn]
    labels = [
        day_words(day.isoformat(), today)
        if width_days == 1
        else f"week of {day_words(day.isoformat(), today)}"
        for day, _ in drawn
    ]
    fig = new_figure(
        go.Bar(
            x=[
                (day + timedelta(days=width_days / 2 if width_days > 1 else 0)).isoformat()
                for day, _ in drawn
            ],
            y=shares,
            width=width_days * 86_400_000 * 0.9,
            marker={"color": BLUE},
            customdata=labels,
            hovertemplate="%{customdata}: %{y:.1f}% of runs<extra></extra>",
        )
    )
    for key, dash in QUANTILE_STYLE:
        moment = result["finish"][key]
        fig.add_vline(x=moment, line={"color": "#111827", "width": 1.3, "dash": dash})
        fig.add_annotation(
            x=moment,
            y=1,
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            text=key.upper(),
            font={"size": 12},
        )
    fig.update_xaxes(title_text="finish date of the last open task", type="date")
    fig.update_yaxes(title_text="share of runs (%)", rangemode="tozero")
    layout(fig, height=section.height, bargap=0.05)
    section.figure = fig
    count = len(result["tasks"])
    remaining = result["remaining_h"]
    finish = result["finish"]
    spent = f", {nice_hours(result['spent_h'])} spent so far" if result["spent_h"] else ""
    p50, p80, p95 = (day_words(finish[key], today) for key in ("p50", "p80", "p95"))
    section.summary = (
        f"{plural(count, 'open task')}, {nice_hours(result['estimate_h'])} "
        f"estimated{spent}: {nice_hours(remaining['p50'])} of work left at P50 "
        f"({nice_hours(remaining['p80'])} at P80); done by {p50} at P50, {p80} at P80 and "
        f"{p95} at P95, at {result['calendar']['focus_hours']:g} focused hours a working day "
        "per person."
    )
    section.notes.append(_backtest_words(result["backtest"]))
    worth = worth_line(result["backtest"]["estimates_worth"])
    if worth is not None:
        section.notes.append(worth)
    if later:
        section.notes.append(
            f"{100 * later / result['runs']:.0f}% of runs end later than the last bar."
        )
    section.notes.extend(result["warnings"])
    promised = sorted(
        (
            t
            for t in result["tasks"]
            if t["promise_chance"] is not None and t["person"] not in data.hidden
        ),
        key=lambda t: (t["promise_chance"], t["id"]),
    )
    if promised:
        section.tables.append(_promise_table(promised, today))
    return section


def _backtest_words(backtest: QuotedBacktest) -> str:
    if not backtest["blocks"]:
        return (
            f"How far to trust it: not yet known (the backtest needs {backtest['needs']} "
            f"finished tasks; there are {backtest['tasks']:,})."
        )
    low, high = backtest["coverage_80_low"], backtest["coverage_80_high"]
    interval = (
        f" (90% interval {percent(low)} to {percent(high)})"
        if low is not None and high is not None
        else ""
    )
    return (
        f"How far to trust it: replayed on {backtest['blocks']:,} past blocks of 10 finished "
        f"tasks, the 80% intervals held {percent(backtest['coverage_80'])} of the time"
        f"{interval} and the 50% ones {percent(backtest['coverage_50'])}; promising at P90 "
        f"kept {percent(backtest['keep_90'])}."
    )


def _promise_table(promised: list[ForecastTask], today: date) -> Table:
    rows = []
    for task in promised[:PROMISES_SHOWN]:
        what = []
        if task["promise_h"] is not None:
            what.append(nice_hours(task["promise_h"]))
        if task["due"] is not None:
            what.append(f"by {day_words(task['due'], today)}")
        past = task["due"] is not None and date.fromisoformat(task["due"]) < today
        verdict = "past due" if past else "at risk" if task["flagged"] else None
        rows.append(
            [
                Cell(f"#{task['id']} {task['title']}", detail=task["person"]),
                " ".join(what),
                Cell(f"{percent(task['promise_chance'])}", detail=verdict),
            ]
        )
    more = len(promised) - PROMISES_SHOWN
    return Table(
        columns=[("task", "text"), ("promised", "text"), ("chance kept", "num")],
        rows=rows,
        caption="Promises on open tasks",
        note=(f"and {more:,} more" if more > 0 else None),
    )
