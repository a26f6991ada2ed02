"""The report's team section: ranks within teams and the real developers.

One section for :data:`calibrate.report.SECTIONS`: the people of the report's
scope ranked within their team (as ``calibrate rank`` ranks them, N shown on
every rank), and a chart of where each ranked person's raw score falls in the
reference population of real developers (:mod:`calibrate.reference`).

A report is meant to be shown to others, so opted-out people are left out
(even for themselves), and :func:`anonymise` replaces every name in a report's
data with the database's stable pseudonyms, for sharing outside the team.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from calibrate import reference, teams
from calibrate.report import (
    BLUE,
    BLUE_FADED,
    GREY,
    LIGHT_GREY,
    TABLE_ROWS_MAX,
    Cell,
    ReportData,
    Section,
    Table,
    _layout,
    factor,
    new_figure,
    percent,
)
from calibrate.rules import RANKED_N
from calibrate.stats import ranks
from calibrate.store import people

#: Bins of the reference distribution chart, in score points.
SCORE_BIN = 2.5
#: Up to this many people are drawn one marker each (named on hover); more as a histogram.
MARKERS_MAX = 60


def anonymise(data: ReportData) -> dict[str, str]:
    """Replace every person's name in ``data`` with its pseudonym (in place),
    and return the mapping (real name -> pseudonym)."""
    names = set(data.tasks["person"].dropna()) if "person" in data.tasks else set()
    names |= set(data.promises["person"].dropna()) if "person" in data.promises else set()
    if data.panel.get("scope") == "person" and data.panel.get("name"):
        names.add(data.panel["name"])
    if data.conn is not None:
        names |= {row["person"] for row in people.list_people(data.conn)}
    mapping = ranks.pseudonyms(sorted(names), people.pseudonym_salt(data.conn))
    if "person" in data.tasks:
        data.tasks["person"] = data.tasks["person"].map(lambda name: mapping.get(name, name))
    if "person" in data.promises:
        data.promises["person"] = data.promises["person"].map(lambda n: mapping.get(n, n))
    if data.panel.get("scope") == "person" and data.panel.get("name"):
        data.panel["name"] = mapping[data.panel["name"]]
    data.pseudonyms = mapping
    return mapping


def team_section(data: ReportData) -> Section:
    """Ranks within teams, and each ranked person among the real developers."""
    table = reference.load()
    section = Section(
        key="ranks",
        title="Ranks in the team, and among real developers",
        how_to_read=(
            f"People with {RANKED_N}+ finished tasks in the period, ranked within their "
            "team by their score shrunk toward the team (ties share the middle rank; 'of N' is "
            "how many are ranked); people with 10-29 tasks are provisional and not ranked. The "
            f"chart places each ranked person's raw score among {table.n} real developers of "
            f"two public datasets ({table.source()})."
        ),
        height=380,
    )
    if data.conn is None or len(data.tasks) == 0:
        section.empty = "No finished tasks in this window, so nobody to rank."
        return section
    groups = _groups(data)
    ranked = [row for group in groups for row in group["ranked"]]
    if not ranked:
        section.empty = f"Nobody here has {RANKED_N} finished tasks in this window: no ranks yet."
        return section
    mapping = getattr(data, "pseudonyms", None) or {}
    for group in groups:
        for row in group["ranked"] + group["provisional"]:
            row["person"] = mapping.get(row["person"], row["person"])
    section.tables.append(_rank_table(groups))
    section.figure = _reference_chart(ranked, table)
    tops = [row["reference"]["top_percent"] for row in ranked if row["reference"]]
    if tops:
        best = min(tops)
        section.summary = (
            f"{len(ranked)} ranked; the best stands in the top "
            f"{reference.format_top(best)} of {table.n} real developers."
        )
    return section


def _groups(data: ReportData) -> list[dict]:
    """:func:`ranks.rank_people` for the report's scope (its window), from the
    tasks the report loaded."""
    selection = data.selection
    frames = data.rank_frames() if data.rows is not None else None
    inputs = teams.rank_inputs(data.conn, selection, today=data.today, frames=frames)
    if selection.person is not None:
        wanted = [people.current_team(data.conn, selection.person)]
    elif selection.team is not None:
        wanted = [selection.team]
    else:
        wanted = None
    return ranks.rank_people(
        inputs.people, inputs.teams, inputs.everyone,
        reference_scores=reference.load().scores, viewer=None, teams=wanted,
    )  # fmt: skip


COLUMNS = [
    ("Rank", "num"),
    ("Person", "text"),
    ("Tasks", "num"),
    ("Score (90%)", "num"),
    ("Bias", "num"),
    ("Kept", "num"),
    ("In the team", "num"),
    ("Real developers", "num"),
]


def _rank_table(groups: list[dict]) -> Table:
    rows = []
    listed = 0
    total = sum(len(g["ranked"]) + len(g["provisional"]) for g in groups)
    for group in groups:
        team = group["team"] if group["team"] is not None else "no team (among everyone)"
        for row in group["ranked"] + group["provisional"]:
            if listed >= TABLE_ROWS_MAX:
                break
            listed += 1
            provisional = row["rank"] is None
            rank_text = "-" if provisional else f"{row['rank']:g} of {row['of']}"
            score = f"{row['score']:.0f} ({row['score_low']:.0f}-{row['score_high']:.0f})"
            reference_row = row["reference"]
            rows.append(
                [
                    Cell(rank_text, muted=provisional),
                    Cell(row["person"], detail=team),
                    f"{row['n']:,}",
                    Cell(score, detail="provisional" if provisional else None, muted=provisional),
                    factor(row["bias_factor"]),
                    percent(row["keep_rate"]),
                    "-" if provisional else f"top {reference.format_top(row['top_percent'])}",
                    (
                        f"top {reference.format_top(reference_row['top_percent'])}"
                        if reference_row
                        else "-"
                    ),
                ]
            )
    note = None
    if total > listed:
        note = f"{total - listed:,} more not listed: the table shows the first {listed}."
    return Table(COLUMNS, rows, note=note)


def _reference_chart(ranked: list[dict], table: reference.Reference) -> go.Figure:
    """The real developers' raw scores as a histogram, and the ranked people's
    raw scores on it (one marker each, or a second histogram when many)."""
    edges = np.arange(0.0, 100.0 + SCORE_BIN, SCORE_BIN)
    counts, _ = np.histogram(np.asarray(table.scores), bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = new_figure()
    fig.add_bar(
        x=centres, y=counts, width=SCORE_BIN * 0.95, marker_color=LIGHT_GREY,
        name=f"real developers ({table.n})",
        hovertemplate="score %{x:.1f}: %{y} real developers<extra></extra>",
    )  # fmt: skip
    scores = np.array([row["score_raw"] for row in ranked], dtype=float)
    if len(ranked) <= MARKERS_MAX:
        fig.add_scatter(
            x=scores,
            y=np.full(scores.size, -0.6),
            mode="markers",
            marker={"color": BLUE, "size": 10, "symbol": "triangle-up"},
            name="here (raw score)",
            text=[
                f"{row['person']}: raw {row['score_raw']:.0f}, top "
                f"{reference.format_top(row['reference']['top_percent'])}"
                for row in ranked
            ],
            hovertemplate="%{text}<extra></extra>",
        )
    else:
        mine, _ = np.histogram(scores, bins=edges)
        fig.add_bar(
            x=centres, y=-mine * counts.max() / max(mine.max(), 1), width=SCORE_BIN * 0.95,
            marker_color=BLUE_FADED, name=f"here ({len(ranked)}, scaled)",
            customdata=mine, hovertemplate="score %{x:.1f}: %{customdata} here<extra></extra>",
        )  # fmt: skip
    quantiles = pd.Series(table.scores).quantile([0.5, 0.95])
    for share, value in quantiles.items():
        fig.add_vline(
            x=float(value), line={"color": GREY, "dash": "dot", "width": 1},
            annotation_text="median" if share == 0.5 else "top 5%",
            annotation_position="top",
        )  # fmt: skip
    _layout(fig, height=380, legend=True, barmode="overlay")
    fig.update_xaxes(title_text="raw score (0-100; 50 = a typical 2x miss)", range=[0, 100])
    fig.update_yaxes(title_text="developers", zeroline=True)
    return fig


def scrub(sections: list[Section], mapping: dict[str, str]) -> None:
    """A safety net for an anonymised report: any table cell, trace name or
    hover text that is exactly a real name becomes its pseudonym, whichever
    section drew it (sections should show ``data.pseudonyms`` names already)."""

    def swap(value):
        if isinstance(value, str):
            return mapping.get(value, value)
        if isinstance(value, Cell):
            value.text = mapping.get(value.text, value.text)
            if value.detail is not None:
                value.detail = mapping.get(value.detail, value.detail)
        return value

    for section in sections:
        for table in section.tables:
            table.rows = [[swap(cell) for cell in row] for row in table.rows]
        if section.figure is None:
            continue
        for trace in section.figure.data:
            for attribute in ("name", "legendgroup"):
                value = getattr(trace, attribute, None)
                if isinstance(value, str) and value in mapping:
                    setattr(trace, attribute, mapping[value])
            for attribute in ("text", "hovertext"):
                values = getattr(trace, attribute, None)
                if isinstance(values, list | tuple):
                    setattr(trace, attribute, [swap(v) for v in values])
