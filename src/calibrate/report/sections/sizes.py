"""Section: bias and spread of actual / estimate by estimate size."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from calibrate.report.data import ReportData
from calibrate.report.model import (
    BLUE,
    GREY,
    RATIO_TICKS,
    Section,
    layout,
    new_figure,
    ratio_tick_text,
)
from calibrate.text import factor


def size_section(data: ReportData) -> Section:
    """Bias (median) and spread (P10-P90) of actual / estimate per estimate bucket."""
    section = Section(
        key="sizes",
        title="Bias and spread by estimate size",
        how_to_read=(
            "For each size of estimate: the dot is the median actual / estimate (the bias), "
            "the bar spans the middle 80% of tasks (the spread). Dots above 1x mean tasks of "
            "that size ran over; long bars mean they are hard to predict."
        ),
        height=400,
    )
    rows = [row for row in data.panel["by_size"] if row["n"]]
    if not rows:
        section.empty = "No finished tasks in this window."
        return section
    labels = [f"{row['bucket']}<br>n={row['n']:,}" for row in rows]
    median = np.array([row["bias_factor"] for row in rows], dtype=float)
    p10 = np.array([row["ratio_p10"] for row in rows], dtype=float)
    p90 = np.array([row["ratio_p90"] for row in rows], dtype=float)
    miss = np.array([row["typical_miss"] for row in rows], dtype=float)
    within = np.array([row["within_25"] for row in rows], dtype=float) * 100
    fig = new_figure(
        go.Scatter(
            x=labels,
            y=median,
            mode="markers",
            name="median",
            marker={"color": BLUE, "size": 11},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": p90 - median,
                "arrayminus": median - p10,
                "color": BLUE,
                "thickness": 2,
                "width": 8,
            },
            customdata=np.stack([p10, p90, miss, within], axis=-1),
            hovertemplate="median %{y:.2f}x; middle 80%: %{customdata[0]:.2f}x-"
            "%{customdata[1]:.2f}x<br>typically off by %{customdata[2]:.2f}x; "
            "%{customdata[3]:.0f}% within 25%<extra></extra>",
        )
    )
    fig.add_hline(y=1, line={"color": GREY, "width": 1, "dash": "dot"})
    low = min(0.25, float(p10.min()) / 1.3)
    high = max(4.0, float(p90.max()) * 1.3)
    ticks = [t for t in RATIO_TICKS if low <= t <= high]
    fig.update_yaxes(
        title_text="actual / estimate (log scale)",
        type="log",
        range=[math.log10(low), math.log10(high)],
        tickvals=ticks,
        ticktext=[ratio_tick_text(t) for t in ticks],
    )
    fig.update_xaxes(title_text="estimate size (hours)")
    layout(fig, height=section.height)
    section.figure = fig
    malr = np.array([row["malr"] for row in rows], dtype=float)
    worst, best = rows[int(np.argmax(malr))], rows[int(np.argmin(malr))]
    section.summary = (
        f"Most predictable: {best['bucket']} tasks (typically off by "
        f"{factor(best['typical_miss'])}); least: {worst['bucket']} (off by "
        f"{factor(worst['typical_miss'])})."
    )
    return section
