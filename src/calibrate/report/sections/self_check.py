"""Section: the tool grades itself (METRICS.md section 8).

Beside the forecast's backtest (the open work section), two of calibrate's
own ledgers, graded: the advice it gave for tasks before they were done (its
P50, P80 and P90 against the share of actuals at or under each), and the
chances it gave open promises against how often promises given such a chance
were kept (by tenths). Both on one chart of stated against observed, with
the binomial band a calibrated tool would fall in.
"""

from __future__ import annotations

import plotly.graph_objects as go

from calibrate import grading
from calibrate.report.data import ReportData
from calibrate.report.model import BLUE, GREY, RED, Section, layout, new_figure
from calibrate.stats.binomial import binomial_band
from calibrate.stats.ledger import ADVICE_LEVELS
from calibrate.text import count, percent

BAND_FILL = "rgba(107, 114, 128, 0.18)"


def self_check_section(data: ReportData) -> Section:
    """calibrate's advice and forecast chances, stated against observed."""
    section = Section(
        key="self-check",
        title="How calibrate's own advice held",
        how_to_read=(
            "Blue: the first advice calibrate gave for each finished task (the hint at 'add', "
            "or 'suggest --task'): the share of actuals at or under its P50, P80 and P90, with "
            "its 90% interval. Red: the chances 'forecast' gave open promises, by tenths, "
            "against the share of those promises kept. A calibrated tool sits in the grey "
            "band around the diagonal."
        ),
        height=420,
    )
    advice: dict = dict(data.panel["advice_record"])
    chances = grading.graded_chances(data.conn, data.selection, data.today, data.values)
    if not advice["n"] and not chances["n"]:
        section.empty = (
            "Nothing to grade yet: advice is graded once an advised task is done, a "
            "forecast's chances once their promises are kept or broken."
        )
        return section
    fig = new_figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="calibrated",
            line={"color": GREY, "width": 1, "dash": "dash"},
            hoverinfo="skip",
        )
    )
    notes = []
    if advice["n"]:
        x, y, low, high = [], [], [], []
        for key, level in ADVICE_LEVELS:
            band_low, band_high = binomial_band(advice["n"], level)
            if band_low is not None and band_high is not None:
                fig.add_shape(
                    type="rect",
                    x0=100 * level - 1.5,
                    x1=100 * level + 1.5,
                    y0=100 * band_low,
                    y1=100 * band_high,
                    fillcolor=BAND_FILL,
                    line={"width": 0},
                )
            x.append(100 * level)
            y.append(100 * advice[f"held_{key}"])
            low.append(100 * advice[f"held_{key}_low"])
            high.append(100 * advice[f"held_{key}_high"])
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="markers",
                name="advice (P50, P80, P90)",
                marker={"color": BLUE, "size": 11},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [h - v for h, v in zip(high, y, strict=True)],
                    "arrayminus": [v - lo for v, lo in zip(y, low, strict=True)],
                    "color": BLUE,
                },
                hovertemplate="P%{x:.0f} held %{y:.0f}%<extra></extra>",
            )
        )
        notes.append(
            f"calibrate's advice: P90 held {percent(advice['held_90'])} of "
            f"{count(advice['n'], 'finished task')} (90%: {100 * advice['held_90_low']:.0f}-"
            f"{percent(advice['held_90_high'])}), P80 {percent(advice['held_80'])}, P50 "
            f"{percent(advice['held_50'])}; pinball loss {advice['pinball']:.2f} (log2)."
        )
    if chances["n"]:
        bins = chances["reliability"]
        fig.add_trace(
            go.Scatter(
                x=[100 * b["chance"] for b in bins],
                y=[100 * b["kept"] for b in bins],
                mode="markers",
                name="forecast chances (by tenth)",
                marker={"color": RED, "size": [min(22, 7 + b["n"] ** 0.5) for b in bins]},
                customdata=[b["n"] for b in bins],
                hovertemplate="chance %{x:.0f}%: kept %{y:.0f}% of %{customdata}<extra></extra>",
            )
        )
        notes.append(
            f"Forecast chances: {count(chances['n'], 'chance')} for "
            f"{count(chances['promises'], 'promise')} now resolved; Brier score "
            f"{chances['brier']:.2f} (0 is perfect; always saying 50% scores 0.25)."
        )
    fig.update_xaxes(title_text="stated (%)", range=[0, 101])
    fig.update_yaxes(title_text="observed (%)", range=[0, 101])
    layout(fig, height=section.height)
    section.figure = fig
    section.summary = " ".join(notes)
    return section
