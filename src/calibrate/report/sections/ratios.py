"""Section: how far off, the distribution of actual / estimate."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from calibrate.report.data import ReportData
from calibrate.report.model import GREY, RATIO_TICKS, Section, layout, new_figure, ratio_tick_text
from calibrate.stats import metrics
from calibrate.text import factor, percent

#: The distribution of actual / estimate: bins of a quarter doubling, from 1/16x to 16x.
RATIO_BIN_LOG2 = 0.25
RATIO_LIMIT_LOG2 = 4.0


def ratio_section(data: ReportData) -> Section:
    """Histogram of actual / estimate on a log axis, with the median marked."""
    section = Section(
        key="ratios",
        title="How far off: actual / estimate",
        how_to_read=(
            "The share of finished tasks by how much longer (right of 1x) or shorter (left) "
            "they took than estimated, on a log scale; the tall bar at 1x is tasks that took "
            "about the estimate. The dashed line is the median."
        ),
        height=380,
    )
    tasks = data.tasks
    if len(tasks) == 0:
        section.empty = "No finished tasks in this window."
        return section
    r = metrics.log_ratio(tasks["estimate_h"], tasks["actual_h"])
    r = r[np.isfinite(r)]
    half = RATIO_BIN_LOG2 / 2
    edges = np.arange(-RATIO_LIMIT_LOG2 - half, RATIO_LIMIT_LOG2 + half + 1e-9, RATIO_BIN_LOG2)
    clipped = np.clip(r, edges[0] + 1e-9, edges[-1] - 1e-9)
    counts, _ = np.histogram(clipped, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    shares = counts / r.size * 100
    low_ratio, high_ratio = np.exp2(edges[:-1]), np.exp2(edges[1:])
    range_text = [f"{lo:.2f}x-{hi:.2f}x" for lo, hi in zip(low_ratio, high_ratio, strict=True)]
    range_text[0] = f"at most {high_ratio[0]:.2f}x"
    range_text[-1] = f"at least {low_ratio[-1]:.1f}x"
    colours = np.where(centres > half, "#ea580c", np.where(centres < -half, "#0891b2", GREY))
    fig = new_figure(
        go.Bar(
            x=centres,
            y=shares,
            marker={"color": colours},
            width=RATIO_BIN_LOG2 * 0.92,
            customdata=np.stack([np.array(range_text, dtype=object), counts], axis=-1),
            hovertemplate="%{customdata[0]}: %{customdata[1]:,} tasks (%{y:.1f}%)<extra></extra>",
        )
    )
    median = float(np.median(r))
    fig.add_vline(x=median, line={"color": "#111827", "width": 1.5, "dash": "dash"})
    fig.add_annotation(
        x=median,
        y=1,
        yref="paper",
        yanchor="bottom",
        showarrow=False,
        text=f"median {factor(2.0**median)}",
        font={"size": 12},
    )
    ticks = [math.log2(t) for t in RATIO_TICKS]
    fig.update_xaxes(
        title_text="actual / estimate (log scale; the end bars hold everything beyond)",
        tickvals=ticks,
        ticktext=[ratio_tick_text(t) for t in RATIO_TICKS],
        range=[edges[0], edges[-1]],
    )
    fig.update_yaxes(title_text="share of tasks (%)", rangemode="tozero")
    layout(fig, height=section.height, bargap=0.05)
    section.figure = fig
    panel = data.panel
    section.summary = (
        f"{percent(panel['over'])} ran over, {percent(panel['exact'])} took the estimate "
        f"(within 1%) and {percent(panel['under'])} less; 80% took between "
        f"{factor(panel['ratio_p10'])} and {factor(panel['ratio_p90'])} the estimate."
    )
    return section
