"""Section: promises per week (few, kept, some exceeded) against their target bands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from calibrate import durations, rules
from calibrate.report.data import ReportData
from calibrate.report.model import (
    BAND,
    BLUE,
    BLUE_FADED,
    RED,
    Section,
    layout,
    new_figure,
    subplot_titles_left,
)
from calibrate.store import load as history
from calibrate.text import count, percent

#: Rolling window of the weekly promise figures (the trend's, METRICS.md section 6).
PROMISE_WINDOW_WEEKS = rules.TREND_WINDOW_WEEKS


def promise_weeks(data: ReportData) -> pd.DataFrame | None:
    """Per week of the window: tasks logged and promised (by creation date),
    promises due, kept and exceeded (by the date their outcome was known), and
    the rolling rates over :data:`PROMISE_WINDOW_WEEKS` weeks. ``None`` when
    the window has no weeks to show."""
    span = data.week_span()
    if span is None:
        return None
    first, last = span
    logged = data.rows.mask("scope", "created")
    created = history.local_dates(data.rows.columns["created_at"][logged])
    promised_flag = data.rows.has_promise[logged]
    logged_week = durations.week_index(created)
    outcomes = data.promises
    outcome_week = outcomes["outcome_week"].to_numpy(dtype=np.int64)
    resolved = outcomes["resolved"].to_numpy(dtype=bool)
    span_weeks = last - first + 1

    def weekly(weeks: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        keep = (weeks >= first) & (weeks <= last)
        if mask is not None:
            keep &= mask
        return np.bincount(weeks[keep] - first, minlength=span_weeks).astype(float)

    frame = pd.DataFrame(
        {
            "week": np.arange(first, last + 1),
            "logged": weekly(logged_week),
            "promised": weekly(logged_week, promised_flag),
            "due": weekly(outcome_week, resolved),
            "kept": weekly(outcome_week, resolved & outcomes["kept"].to_numpy(dtype=bool)),
            "exceeded": weekly(outcome_week, resolved & outcomes["exceeded"].to_numpy(dtype=bool)),
        }
    )
    frame["start"] = [durations.week_monday(week) for week in frame["week"]]
    rolled = frame[["logged", "promised", "due", "kept", "exceeded"]].rolling(
        PROMISE_WINDOW_WEEKS, min_periods=1
    )
    sums = rolled.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["logged_roll"] = sums["logged"]
        frame["due_roll"] = sums["due"]
        frame["promise_rate"] = np.where(
            sums["logged"] > 0, sums["promised"] / sums["logged"], np.nan
        )
        frame["keep_rate"] = np.where(sums["due"] > 0, sums["kept"] / sums["due"], np.nan)
        frame["exceed_rate"] = np.where(sums["due"] > 0, sums["exceeded"] / sums["due"], np.nan)
    # The axis spans the data: no empty weeks before the first task logged or
    # promise judged (a newcomer's five weeks are not drawn across half a year).
    active = (frame["logged_roll"] > 0) | (frame["due_roll"] > 0)
    if not active.any():
        return frame.iloc[:0]
    return frame.iloc[int(np.argmax(active.to_numpy())) :].reset_index(drop=True)


def promise_section(data: ReportData) -> Section:
    """Promise rate, keep rate and exceed rate per week against their target bands."""
    section = Section(
        key="promises",
        title="Promises: few, kept, some exceeded",
        how_to_read=(
            f"Each point covers the {PROMISE_WINDOW_WEEKS} weeks ending that week: the share "
            "of tasks logged with a "
            "promise (top), of promises due that were kept (middle) and kept with margin "
            "(bottom). Green bands are the targets, the red dotted line the keep rate that "
            f"gets flagged; pale points rest on fewer than {rules.TREND_FADED_BELOW} tasks or "
            "promises."
        ),
        height=600,
    )
    promises = data.panel["promises"]
    if promises["logged"] == 0 and promises["due"] == 0:
        section.empty = "No tasks logged and no promises due in this window."
        return section
    weeks = promise_weeks(data)
    gauges = promises["gauges"]
    bands = {
        "promise_rate": (gauges["promise_rate"]["min"], gauges["promise_rate"]["max"]),
        "keep_rate": (gauges["keep_rate"]["min"], 1.0),
        "exceed_rate": (gauges["exceed_rate"]["min"], 1.0),
    }
    rows = (
        ("promise_rate", "logged_roll", "Promise rate: tasks logged with a promise", "tasks"),
        ("keep_rate", "due_roll", "Keep rate: promises due that were kept", "promises due"),
        ("exceed_rate", "due_roll", "Exceed rate: promises kept with margin", "promises due"),
    )
    if weeks is not None and len(weeks):
        fig = make_subplots(
            figure=new_figure(),
            rows=3,
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.08,
            subplot_titles=[f"{row[2]}, rolling {PROMISE_WINDOW_WEEKS} weeks" for row in rows],
        )
        x = pd.to_datetime(weeks["start"])
        labels = [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in weeks["start"]]
        for index, (key, base, _, unit) in enumerate(rows, start=1):
            low, high = bands[key]
            fig.add_hrect(
                y0=low * 100,
                y1=high * 100,
                fillcolor=BAND,
                line={"width": 0},
                layer="below",
                row=index,
                col=1,
                exclude_empty_subplots=False,
            )
            values = weeks[key].to_numpy(dtype=float) * 100
            faded = weeks[base].to_numpy() < rules.TREND_FADED_BELOW
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values,
                    mode="lines+markers",
                    name=key.replace("_", " "),
                    line={"color": BLUE, "width": 2},
                    marker={"color": np.where(faded, BLUE_FADED, BLUE), "size": 6},
                    customdata=np.stack(
                        [np.array(labels, dtype=object), weeks[base].to_numpy()], axis=-1
                    ),
                    hovertemplate="%{customdata[0]}: %{y:.0f}% of %{customdata[1]:.0f} "
                    + unit
                    + "<extra></extra>",
                ),
                row=index,
                col=1,
            )
            fig.update_yaxes(
                title_text="%", range=[-4, 104], tickvals=[0, 50, 100], row=index, col=1
            )
        if gauges["keep_rate"].get("flag") is not None:
            fig.add_hline(
                y=gauges["keep_rate"]["flag"] * 100,
                line={"color": RED, "width": 1, "dash": "dot"},
                row=2,
                col=1,
            )
        fig.update_xaxes(title_text="week (starting Monday)", row=3, col=1)
        layout(fig, height=section.height)
        fig.update_layout(margin={"t": 56})
        subplot_titles_left(fig)
        section.figure = fig
    section.summary = promise_words(promises)
    section.notes.extend(promises["advice"])
    return section


_STATUS_WORDS = {
    "in band": "on target",
    "below": "below target",
    "above": "above target",
    "flag": "flagged",
}


def promise_words(promises: Mapping) -> str:
    gauges = promises["gauges"]
    rate, keep, exceed = gauges["promise_rate"], gauges["keep_rate"], gauges["exceed_rate"]
    parts = []
    if rate["value"] is not None:
        parts.append(
            f"{percent(rate['value'])} of {count(promises['logged'], 'task')} logged carry a "
            f"promise (target {percent(rate['min'])}-{percent(rate['max'])}: "
            f"{_STATUS_WORDS[rate['status']]})"
        )
    if keep["value"] is None:
        parts.append("no promises due yet")
    else:
        parts.append(
            f"{promises['kept']:,} of {count(promises['due'], 'promise')} due were kept; the "
            f"estimated long-run keep rate is {percent(keep['value'])} (target at least "
            f"{percent(keep['min'])}: {_STATUS_WORDS[keep['status']]})"
        )
        parts.append(
            f"{percent(exceed['value'])} exceeded (target at least {percent(exceed['min'])}: "
            f"{_STATUS_WORDS[exceed['status']]})"
        )
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
