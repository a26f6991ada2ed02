"""Section: the weekly trend of the score, the bias and the tasks finished."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from calibrate import rules
from calibrate.report.data import ReportData, week_number
from calibrate.report.model import (
    BLUE,
    BLUE_FADED,
    GREY,
    LIGHT_GREY,
    RATIO_TICKS,
    Section,
    layout,
    new_figure,
    ratio_tick_text,
    subplot_titles_left,
    trend_words,
)

#: The rolling window of the weekly figures (METRICS.md section 6).
WEEKS = rules.TREND_WINDOW_WEEKS


def trend_section(data: ReportData) -> Section:
    """Score and bias over a rolling window of weeks, n per week, and the Theil-Sen trend."""
    section = Section(
        key="trend",
        title="Weekly trend",
        how_to_read=(
            f"Each point is the score (top) and the bias (middle) of the {WEEKS} weeks ending "
            f"that week; pale points rest on fewer than {rules.TREND_FADED_BELOW} tasks. Higher "
            "scores are better (50: a "
            "typical 2x miss; 100: perfect); a bias above 1x means tasks ran over."
        ),
        height=560,
    )
    trend = data.panel["trend"]
    weeks = pd.DataFrame(trend["weeks"])
    if weeks.empty or int(weeks["n_week"].sum()) == 0:
        section.empty = "No finished tasks in this window, so there is no trend to draw."
        return section
    # The axis spans the data: from the first week with a finished task in its
    # rolling window (a newcomer's five weeks are not drawn across half a year).
    first = int(np.argmax(weeks["n"].to_numpy(dtype=int) > 0))
    if first > 0:
        weeks = weeks.iloc[first:].reset_index(drop=True)
        section.notes.append(
            f"The chart starts in {weeks['week'].iloc[0]}, the first week with finished tasks "
            "in this window."
        )
    x = pd.to_datetime(weeks["start"])
    faded = weeks["faded"].to_numpy(dtype=bool)
    score = weeks["score_raw"].to_numpy(dtype=float)
    bias = weeks["bias_factor"].to_numpy(dtype=float)
    n_roll = weeks["n"].to_numpy(dtype=int)
    labels = weeks["week"].to_numpy(dtype=object)
    point_colours = np.where(faded, BLUE_FADED, BLUE)
    custom = np.stack([labels, n_roll], axis=-1)
    fig = make_subplots(
        figure=new_figure(),
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        row_heights=[0.46, 0.32, 0.22],
        subplot_titles=(
            f"Score, rolling {WEEKS} weeks (0-100)",
            f"Bias: median actual / estimate, rolling {WEEKS} weeks",
            "Tasks finished each week",
        ),
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=score,
            mode="lines+markers",
            name="score",
            showlegend=False,
            line={"color": BLUE, "width": 2},
            marker={"color": point_colours, "size": 7},
            customdata=custom,
            hovertemplate="%{customdata[0]}: score %{y:.0f} from %{customdata[1]} tasks"
            "<extra></extra>",
        ),
        row=1,
        col=1,
    )
    intercept, slope = trend["intercept"], trend["slope"]
    if trend["verdict"] is not None and intercept is not None and slope is not None:
        used = weeks[weeks["n_week"] > 0]
        week_numbers = np.array([week_number(row) for row in used.to_dict("records")])
        line_m = intercept + slope * week_numbers
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(used["start"]),
                y=100.0 * np.exp2(-line_m),
                mode="lines",
                name="trend of the weekly score (Theil-Sen)",
                line={"color": GREY, "width": 1.5, "dash": "dash"},
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=bias,
            mode="lines+markers",
            name="bias",
            showlegend=False,
            line={"color": "#ea580c", "width": 2},
            marker={"color": np.where(faded, "rgba(234, 88, 12, 0.28)", "#ea580c"), "size": 6},
            customdata=custom,
            hovertemplate="%{customdata[0]}: tasks took %{y:.2f}x the estimate (median of "
            "%{customdata[1]})<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.add_hline(y=1, line={"color": GREY, "width": 1, "dash": "dot"}, row=2, col=1)
    fig.add_trace(
        go.Bar(
            x=x,
            y=weeks["n_week"],
            name="tasks",
            marker={"color": LIGHT_GREY},
            showlegend=False,
            customdata=labels,
            hovertemplate="%{customdata}: %{y} tasks finished<extra></extra>",
        ),
        row=3,
        col=1,
    )
    finite_bias = bias[np.isfinite(bias)]
    low = min(0.5, float(finite_bias.min()) / 1.2) if finite_bias.size else 0.5
    high = max(2.0, float(finite_bias.max()) * 1.2) if finite_bias.size else 2.0
    fig.update_yaxes(title_text="score", range=[0, 100], row=1, col=1)
    fig.update_yaxes(
        title_text="actual / estimate",
        type="log",
        range=[math.log10(low), math.log10(high)],
        tickvals=[t for t in RATIO_TICKS if low <= t <= high],
        ticktext=[ratio_tick_text(t) for t in RATIO_TICKS if low <= t <= high],
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="tasks", rangemode="tozero", row=3, col=1)
    fig.update_xaxes(title_text="week (starting Monday)", row=3, col=1)
    layout(fig, height=section.height, legend=trend["verdict"] is not None)
    fig.update_layout(
        bargap=0.15,
        margin={"t": 56},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 1, "xanchor": "right"},
    )
    subplot_titles_left(fig)
    section.figure = fig
    section.summary = trend_words(trend)
    return section
