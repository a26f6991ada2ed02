"""What a report section is made of: the small model every section imports.

- :class:`Section`, :class:`Table` and :class:`Cell`: what a section returns
  and the template renders (and escapes);
- the figure style: the colours (:data:`BLUE`...), :func:`new_figure` (a plotly
  figure with the report's own small template) and :func:`layout` (size,
  margins, font and legend, the same on every chart), the ratio and hour ticks;
- the words and numbers the sections and the headline share: :func:`factor`,
  :func:`percent`, :func:`count`, :func:`plot_text`, :func:`trend_words`.

A section imports this module, :mod:`calibrate.report.data` and library
modules, never another section nor :mod:`calibrate.report` itself.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import plotly.graph_objects as go

from calibrate import rules
from calibrate.durations import format_duration
from calibrate.text import count

#: Rows of a per-person (or per-team) table; the rest are counted, not listed.
TABLE_ROWS_MAX = 200

# --- what a section is ------------------------------------------------------------


@dataclass
class Table:
    """A table the template renders (and escapes): ``columns`` are (label,
    kind) pairs, kind ``text`` or ``num`` (right-aligned); each row holds one
    :class:`Cell` or plain string per column, or is a :class:`Heading` that
    spans them all (a team's name over its people)."""

    columns: list[tuple[str, str]]
    rows: list[list]
    caption: str | None = None
    note: str | None = None


@dataclass
class Cell:
    """A table cell with an optional second line (``detail``), tags shown as
    chips, ``alerts`` shown as warm chips (a flag, a trend worth a look), and
    a muted style (``muted``) for figures that rest on little data."""

    text: str
    detail: str | None = None
    tags: Sequence[str] = ()
    muted: bool = False
    alerts: Sequence[str] = ()


@dataclass
class Heading:
    """A row of a :class:`Table` that names the group of rows under it, across
    every column: ``text`` in bold, ``detail`` after it."""

    text: str
    detail: str | None = None
    #: How the template tells a heading from a row of cells.
    heading: ClassVar[bool] = True


@dataclass
class Section:
    """One part of the report.

    ``key`` names its anchor (and the chart's element id); ``how_to_read`` is
    the one sentence under the title; ``summary`` says the result in words.
    A section has a ``figure`` (plotly), ``tables``, or both; or, without data,
    ``empty``: the one line shown instead of an empty chart.
    """

    key: str
    title: str
    how_to_read: str
    figure: go.Figure | None = None
    tables: list[Table] = field(default_factory=list)
    summary: str | None = None
    notes: list[str] = field(default_factory=list)
    empty: str | None = None
    height: int = 420


# --- the figure style ---------------------------------------------------------------

#: Colours: one calm blue for the scope's own figures, grey for references,
#: green for target bands, a qualitative palette for people.
BLUE = "#2563eb"
BLUE_FADED = "rgba(37, 99, 235, 0.28)"
GREY = "#6b7280"
LIGHT_GREY = "rgba(107, 114, 128, 0.35)"
BAND = "rgba(22, 163, 74, 0.12)"
RED = "#dc2626"
PEOPLE_COLOURS = (
    "#2563eb",
    "#ea580c",
    "#16a34a",
    "#9333ea",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#ca8a04",
    "#4f46e5",
    "#0d9488",
    "#b45309",
    "#475569",
)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

#: Chart options: no plotly logo or mode bar (cleaner on a screen and on paper);
#: hover, zoom by dragging and double-click to reset still work.
PLOTLY_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}

#: A small template of our own: plotly's "plotly_white" would add 7 KB to every chart.
_AXIS = {
    "gridcolor": "#eceef1",
    "linecolor": "#d1d5db",
    "zeroline": False,
    "ticks": "",
    "automargin": True,
    "title": {"standoff": 10},
}
TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(PEOPLE_COLOURS),
        "xaxis": _AXIS,
        "yaxis": _AXIS,
    }
}


def new_figure(*traces) -> go.Figure:
    """A figure with the report's :data:`TEMPLATE` from the start, so that
    plotly never loads its own default template (a tenth of a second, only
    for :func:`layout` to replace it)."""
    return go.Figure(data=list(traces), layout={"template": TEMPLATE}, _validate=False)


def layout(fig: go.Figure, *, height: int, legend: bool = False, **extra) -> go.Figure:
    """The report's look on ``fig``: its height, margins, font, and the legend
    (hidden unless ``legend``) above the chart; ``extra`` layout on top."""
    fig.layout.template = TEMPLATE  # assigned, not merged into plotly's default
    fig.update_layout(
        height=height,
        margin={"l": 64, "r": 24, "t": 36, "b": 56},
        font={"family": FONT, "size": 13, "color": "#1f2937"},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font": {"family": FONT}},
        **extra,
    )
    return fig


def subplot_titles_left(fig: go.Figure) -> None:
    """Subplot titles small, grey and on the left, as every stacked chart has them."""
    for annotation in fig.layout.annotations:
        annotation.update(font={"size": 12, "color": GREY}, x=0, xanchor="left")


RATIO_TICKS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16)


def ratio_tick_text(value: float) -> str:
    if value >= 1:
        return f"{value:g}x"
    return f"1/{1 / value:g}x"


def hour_ticks(low_h: float, high_h: float) -> tuple[list[float], list[str]]:
    """Tick values and labels for a log axis of hours: 15m, 1h, 4h, 2d..."""
    values = [2.0**power for power in range(-2, 14) if low_h <= 2.0**power <= high_h] or [1.0]
    if len(values) > 9:  # every other doubling, keeping 1h
        values = [v for v in values if round(math.log2(v)) % 2 == 0]
    return values, [format_duration(v) for v in values]


# --- words and numbers ------------------------------------------------------------------


def plot_text(text: object, limit: int = 40) -> str:
    """A user's text for a chart label: cut to ``limit`` characters and
    HTML-escaped, because plotly reads a few tags (``<b>``, ``<a>``) in labels;
    escaped, they show as typed."""
    words = str(text)
    if len(words) > limit:
        words = words[: limit - 1] + "…"
    return html.escape(words, quote=False)


def trend_words(trend: Mapping) -> str:
    """The panel's trend in one sentence (the headline's and the trend chart's)."""
    verdict = trend["verdict"]
    if verdict is None:
        return (
            f"Too few weeks with finished tasks for a trend ({trend['weeks_used']}; it needs "
            f"{rules.MIN_TREND_WEEKS})."
        )
    slope, low, high = trend["slope"], trend["low"], trend["high"]
    weeks = count(trend["weeks_used"], "week")
    if verdict == "improving":
        return (
            f"Improving: the typical miss shrinks by {-slope:.3f} log2 a week (90%: {-high:.3f} "
            f"to {-low:.3f}; Theil-Sen over {weeks})."
        )
    if verdict == "worsening":
        return (
            f"Worsening: the typical miss grows by {slope:.3f} log2 a week (90%: {low:.3f} to "
            f"{high:.3f}; Theil-Sen over {weeks})."
        )
    return (
        f"No clear change: slope {slope:+.3f} log2 a week (90%: {low:+.3f} to {high:+.3f}; "
        f"Theil-Sen over {weeks})."
    )
