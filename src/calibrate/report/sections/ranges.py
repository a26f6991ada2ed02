"""Section: range calibration, the coverage claimed against the coverage seen."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from calibrate.report.data import ReportData
from calibrate.report.model import BLUE, GREY, Section, layout, new_figure
from calibrate.text import count, percent


def range_section(data: ReportData) -> Section:
    """Nominal against observed coverage of ranges, with the binomial band."""
    section = Section(
        key="ranges",
        title="Range calibration",
        how_to_read=(
            "For each confidence level you gave ranges at: the share of actuals that landed "
            "inside the range (dot, with its 90% interval) against the share you claimed. "
            "Calibrated ranges sit in the grey band around the diagonal; dots below it mean "
            "ranges too narrow."
        ),
        height=440,
    )
    ranges = data.panel["ranges"]
    if not ranges["n"]:
        section.empty = "No finished task in this window had a range (log one with --range 2h..6h)."
        return section
    levels = ranges["levels"]
    nominal = np.array([level["confidence"] * 100 for level in levels])
    observed = np.array([level["hit_rate"] * 100 for level in levels])
    hit_low = np.array([level["hit_low"] * 100 for level in levels])
    hit_high = np.array([level["hit_high"] * 100 for level in levels])
    level_n = np.array([level["n"] for level in levels])
    left = max(0.0, math.floor((nominal.min() - 15) / 10) * 10)
    fig = new_figure()
    fig.add_trace(
        go.Scatter(
            x=[left, 100],
            y=[left, 100],
            mode="lines",
            name="calibrated",
            line={"color": GREY, "width": 1, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    band_width = max(1.2, (100 - left) / 60)
    for level in levels:
        band_low, band_high = level["band_low"], level["band_high"]
        if band_low is None or band_high is None:
            continue
        x = level["confidence"] * 100
        fig.add_shape(
            type="rect",
            x0=x - band_width,
            x1=x + band_width,
            y0=band_low * 100,
            y1=band_high * 100,
            fillcolor="rgba(107, 114, 128, 0.18)",
            line={"width": 0},
        )
    fig.add_trace(
        go.Scatter(
            x=nominal,
            y=observed,
            mode="markers+text",
            name="your ranges",
            marker={"color": BLUE, "size": np.clip(6 + np.sqrt(level_n), 8, 22)},
            text=[f"n={n:,}" for n in level_n],
            textposition="middle right",
            textfont={"size": 11, "color": GREY},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": hit_high - observed,
                "arrayminus": observed - hit_low,
                "color": BLUE,
                "thickness": 1.5,
            },
            customdata=np.stack([level_n, hit_low, hit_high], axis=-1),
            hovertext=[_widen_words(level["widen_factor"]) for level in levels],
            hovertemplate="%{x:.0f}% ranges held %{y:.0f}% of %{customdata[0]:,} actuals "
            "(90%: %{customdata[1]:.0f}-%{customdata[2]:.0f}%)<br>%{hovertext}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="confidence you stated (%)", range=[left, 101])
    fig.update_yaxes(title_text="actuals inside the range (%)", range=[-4, 104])
    layout(fig, height=section.height)
    section.figure = fig
    verdict, widen = ranges["verdict"], ranges["widen_factor"]
    advice = "keep them as they are"
    if widen is None:
        advice = "too few ranges yet to say how much to widen them"
    elif verdict != "calibrated":
        advice = (
            f"make them {widen:.1f} times as wide (on a log scale) around the same centre "
            "to be calibrated"
        )
    section.summary = (
        f"{percent(ranges['hit_rate'])} of {count(ranges['n'], 'range')} held the actual "
        f"(90%: {percent(ranges['hit_low'])}-{percent(ranges['hit_high'])}) against "
        f"{percent(ranges['nominal'])} claimed: {verdict}; {advice}. Misses: "
        f"{ranges['below']:,} below the range, {ranges['above']:,} above."
    )
    return section


def _widen_words(widen: float | None) -> str:
    """A level's widen factor, as the hover of its dot says it."""
    if widen is None:
        return "too few ranges to say how much to widen them"
    return f"widen factor {widen:.1f} (a log scale, around the same centre)"
