"""Section: estimate against actual, each finished task on log-log axes.

The chart's size stays bounded however many tasks the report covers: at most
:data:`SCATTER_POINTS_MAX` points, sampled evenly across people, and above
:data:`DENSITY_OVER` tasks a 2-D histogram of counts instead of the points.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from calibrate import rules
from calibrate.report.data import ReportData
from calibrate.report.model import (
    BAND,
    GREY,
    PEOPLE_COLOURS,
    Section,
    hour_ticks,
    layout,
    new_figure,
    plot_text,
)
from calibrate.text import count

#: Above this many tasks, estimate against actual is drawn as a density (2-D histogram).
DENSITY_OVER = 20_000
#: At most this many points in the scatter, sampled evenly across people.
SCATTER_POINTS_MAX = 5_000
#: People with a colour of their own in the scatter; the rest are "others".
SCATTER_PEOPLE_MAX = 12
#: Bins of the density view: at least this wide (log2) and at most this many a side.
DENSITY_BIN_LOG2 = 0.25
DENSITY_BINS_MAX = 64


def scatter_section(data: ReportData) -> Section:
    """Each finished task, estimate against actual on log-log axes, by person;
    a density view above :data:`DENSITY_OVER` tasks."""
    tasks = data.tasks
    n = len(tasks)
    section = Section(
        key="scatter",
        title="Estimate against actual",
        how_to_read=(
            "Each point is a finished task; on the diagonal the actual equalled the estimate, "
            "inside the green band it was within 25%, above it the task ran over. Both axes "
            "are logarithmic, so a miss by 2x looks the same size for small and big tasks."
        ),
        height=560,
    )
    if n == 0:
        section.empty = "No finished tasks in this window."
        return section
    estimate = tasks["estimate_h"].to_numpy(dtype=float)
    actual = tasks["actual_h"].to_numpy(dtype=float)
    low = float(min(estimate.min(), actual.min())) / 1.6
    high = float(max(estimate.max(), actual.max())) * 1.6
    fig = new_figure()
    line_x = np.array([low, high])
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([line_x, line_x[::-1]]),
            y=np.concatenate([line_x * rules.WITHIN_HIGH, line_x[::-1] * rules.WITHIN_LOW]),
            mode="lines",
            fill="toself",
            fillcolor=BAND,
            line={"width": 0},
            name="within 25%",
            hoverinfo="skip",
        )
    )
    if n > DENSITY_OVER:
        _add_density(fig, estimate, actual)
        section.notes.append(
            f"{n:,} tasks: more than {DENSITY_OVER:,}, so this is a density view; darker cells "
            "hold more tasks (log colour scale)."
        )
    else:
        shown = _add_points(fig, tasks, data.scope == "person")
        if shown < n:
            section.notes.append(
                f"Showing {shown:,} of {n:,} tasks, sampled evenly across people, to keep the "
                "file small."
            )
        section.notes.append(
            "Points are spread slightly sideways so that tasks with the same estimate do not "
            "hide each other."
        )
    fig.add_trace(
        go.Scatter(
            x=line_x,
            y=line_x,
            mode="lines",
            name="actual = estimate",
            line={"color": "#374151", "width": 1, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    tick_values, tick_text = hour_ticks(low, high)
    axis = {
        "type": "log",
        "range": [math.log10(low), math.log10(high)],
        "tickvals": tick_values,
        "ticktext": tick_text,
        "zeroline": False,
    }
    fig.update_xaxes(title_text="estimate (hours, log scale)", **axis)
    fig.update_yaxes(title_text="actual (hours, log scale)", scaleanchor="x", scaleratio=1, **axis)
    layout(fig, height=section.height, legend=True)
    fig.update_layout(
        margin={"t": 24},
        legend={"orientation": "v", "x": 1.0, "xanchor": "right", "y": 1, "yanchor": "top"},
    )
    section.figure = fig
    return section


def _add_points(fig: go.Figure, tasks: pd.DataFrame, one_person: bool) -> int:
    """One trace per person (the :data:`SCATTER_PEOPLE_MAX` with most tasks;
    the rest as "others"), at most :data:`SCATTER_POINTS_MAX` points in all."""
    rng = np.random.default_rng(0)
    people = tasks["person"].astype(str)
    counts = people.value_counts()
    named = list(counts.index[:SCATTER_PEOPLE_MAX])
    share = min(1.0, SCATTER_POINTS_MAX / len(tasks))
    groups = [(name, people == name) for name in named]
    if len(counts) > len(named):
        others = count(len(counts) - len(named), "person", "people")
        groups.append((f"others ({others})", ~people.isin(named)))
    shown = 0
    for index, (name, mask) in enumerate(groups):
        rows = np.flatnonzero(mask.to_numpy())
        if share < 1.0:
            keep = max(1, round(rows.size * share))
            rows = np.sort(rng.choice(rows, size=keep, replace=False))
        shown += rows.size
        estimate = tasks["estimate_h"].to_numpy(dtype=float)[rows]
        actual = tasks["actual_h"].to_numpy(dtype=float)[rows]
        jitter = np.exp2(rng.uniform(-0.07, 0.07, size=rows.size))
        other = index >= len(named)
        colour = GREY if other else PEOPLE_COLOURS[index % len(PEOPLE_COLOURS)]
        label = name if other else plot_text(name, 30)
        ratio = actual / estimate
        fig.add_trace(
            go.Scatter(
                x=estimate * jitter,
                y=actual,
                mode="markers",
                name=label,
                marker={
                    "color": colour,
                    "size": 6,
                    "opacity": 0.55 if other else 0.7,
                    "line": {"width": 0},
                },
                customdata=np.stack([estimate, ratio], axis=-1),
                hovertemplate=(
                    ("" if one_person else f"{label}<br>")
                    + "estimate %{customdata[0]:.2f}h, actual %{y:.2f}h (%{customdata[1]:.2f}x)"
                    "<extra></extra>"
                ),
            )
        )
    return shown


def _add_density(fig: go.Figure, estimate: np.ndarray, actual: np.ndarray) -> None:
    """A 2-D histogram computed here (numpy), so the file holds counts, not tasks."""
    log_e, log_a = np.log2(estimate), np.log2(actual)
    low = math.floor(min(log_e.min(), log_a.min()) / DENSITY_BIN_LOG2) * DENSITY_BIN_LOG2
    high = math.ceil(max(log_e.max(), log_a.max()) / DENSITY_BIN_LOG2) * DENSITY_BIN_LOG2
    bins = round((high - low) / DENSITY_BIN_LOG2)
    width = DENSITY_BIN_LOG2 * max(1, math.ceil(bins / DENSITY_BINS_MAX))
    edges = low + width * np.arange(math.ceil((high - low) / width) + 1)
    counts, _, _ = np.histogram2d(log_e, log_a, bins=[edges, edges])
    z = np.where(counts > 0, np.log10(np.maximum(counts, 1)), np.nan).T
    hours = np.exp2(edges)
    top = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    tick_values = list(range(math.ceil(top) + 1))
    fig.add_trace(
        go.Heatmap(
            x=hours,
            y=hours,
            z=z,
            customdata=counts.T,
            name="tasks",
            colorscale="Blues",
            zmin=0,
            zmax=max(top, 1.0),
            colorbar={
                "title": {"text": "tasks"},
                "tickvals": tick_values,
                "ticktext": [f"{10**v:,}" for v in tick_values],
                "thickness": 12,
            },
            hovertemplate="estimate %{x:.2f}h, actual %{y:.2f}h: %{customdata:,} tasks"
            "<extra></extra>",
        )
    )
