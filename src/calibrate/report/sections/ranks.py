"""Section: ranks within teams, and among real developers.

The people of the report's scope ranked within their team by raw score (as
``calibrate rank`` ranks them, N shown on every rank, neighbours whose
intervals overlap marked ~), and a chart of where each ranked person's score
and its interval fall in the reference population of real developers
(:mod:`calibrate.reference`), with the range of places and the claim it allows.

A report is meant to be shown to others, so opted-out people are left out
(even for themselves); an anonymised report shows the pseudonyms of
``data.pseudonyms`` (:mod:`calibrate.report.anonymise`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from calibrate import reference, rules, teams
from calibrate.report.data import ReportData
from calibrate.report.model import (
    BLUE,
    BLUE_FADED,
    GREY,
    LIGHT_GREY,
    TABLE_ROWS_MAX,
    Cell,
    Heading,
    Section,
    Table,
    layout,
    new_figure,
)
from calibrate.stats import ranks
from calibrate.stats.ranks import PersonRow, RankGroup
from calibrate.store import people
from calibrate.text import count, factor, percent

#: Bins of the reference distribution chart, in score points.
SCORE_BIN = 2.5
#: Up to this many people are drawn one marker each (named on hover); more as a histogram.
MARKERS_MAX = 60
#: The markers are spread over this many rows under the histogram, so that
#: neighbours' intervals do not hide each other.
MARKER_ROWS = 6


def ranks_section(data: ReportData) -> Section:
    """Ranks within teams, and each ranked person among the real developers."""
    table = reference.load()
    section = Section(
        key="ranks",
        title="Ranks in the team, and among real developers",
        how_to_read=(
            f"People with {rules.RANKED_N}+ finished tasks in the period, ranked within their "
            "team by their raw score, shown with the 90% interval of their long-run score "
            "(ties share the middle rank; 'of N' is how many are ranked; ~ marks someone not "
            "clearly apart from the person above: their intervals overlap); people with "
            f"{rules.MIN_SCORE_N}-{rules.RANKED_N - 1} tasks are provisional and not ranked. "
            f"The last column and the chart place each ranked person among {table.n} real "
            f"developers of two public datasets ({table.source()}), matched to their task "
            "sizes: the range of places their score's interval spans, and 'in the top X%' "
            "only when the whole range lies inside it."
        ),
        height=380,
    )
    if len(data.tasks) == 0:
        section.empty = "No finished tasks in this window, so nobody to rank."
        return section
    groups = _groups(data)
    ranked = [row for group in groups for row in group["ranked"]]
    if not ranked:
        section.empty = (
            f"Nobody here has {rules.RANKED_N} finished tasks in this window: no ranks yet."
        )
        return section
    mapping = getattr(data, "pseudonyms", None) or {}
    for group in groups:
        for row in group["ranked"] + group["provisional"]:
            row["person"] = mapping.get(row["person"], row["person"])
    section.tables.append(_rank_table(groups))
    section.figure = _reference_chart(ranked, table)
    claims = [row["reference"]["claim"] for row in ranked if row["reference"]]
    made = [claim for claim in claims if claim is not None]
    if claims:
        section.summary = f"{len(ranked)} ranked; " + (
            f"the best claim among real developers: in the top {min(made)}%."
            if made
            else f"no range is narrow enough yet to say 'in the top 50%' of {table.n} real "
            "developers."
        )
    return section


def _groups(data: ReportData) -> list[RankGroup]:
    """:func:`ranks.rank_people` for the report's scope (its window), from the
    tasks the report loaded."""
    selection = data.selection
    frames = data.rank_frames()
    inputs = teams.rank_inputs(data.conn, selection, today=data.today, frames=frames)
    if selection.person is not None:
        wanted = [people.current_team(data.conn, selection.person)]
    elif selection.team is not None:
        wanted = [selection.team]
    else:
        wanted = None
    return ranks.rank_people(
        inputs.people,
        inputs.teams,
        inputs.everyone,
        pairs=inputs.pairs,
        reference=reference.load(),
        viewer=None,
        teams=wanted,
    )


COLUMNS = [
    ("Rank", "num"),
    ("Person", "text"),
    ("Tasks", "num"),
    ("Raw score (90%)", "num"),
    ("Bias", "num"),
    ("Kept (est.)", "num"),
    ("In the team", "num"),
    ("Among real developers", "num"),
]


def team_words(team: str | None) -> str:
    """A group's name as the table heads it."""
    return f"Team {team}" if team is not None else "No team (ranked among everyone)"


def only_words(team: str | None) -> str:
    """What the rank of the one ranked person of a group says instead of "1 of 1"."""
    if team is None:
        return "the only ranked person without a team"
    return f"the only ranked person in team {team}"


def _rank_table(groups: list[RankGroup]) -> Table:
    """One table, a heading per team (how many are ranked and provisional),
    its people under it best first. A team with one ranked person says so in
    words, never "1 of 1" and "top 50%"."""
    rows: list = []
    listed = 0
    total = sum(len(g["ranked"]) + len(g["provisional"]) for g in groups)
    for group in groups:
        members = group["ranked"] + group["provisional"]
        if not members or listed >= TABLE_ROWS_MAX:
            continue
        alone = len(group["ranked"]) == 1
        counts = [count(len(group["ranked"]), "ranked", "ranked")]
        if group["provisional"]:
            counts.append(f"{len(group['provisional'])} provisional")
        rows.append(Heading(team_words(group["team"]), detail=", ".join(counts)))
        for i, row in enumerate(members):
            if listed >= TABLE_ROWS_MAX:
                break
            listed += 1
            provisional = row["rank"] is None
            close = i > 0 and not provisional and bool(members[i - 1]["overlaps_next"])
            if provisional or alone:
                rank_text = "-"
            else:
                rank_text = f"{'~' if close else ''}{row['rank']:g} of {row['of']}"
            score = (
                f"{row['score_raw']:.0f} ({row['score_raw_low']:.0f}-{row['score_raw_high']:.0f})"
            )
            top = row["top_percent"]
            in_team = (
                "-" if provisional or alone or top is None else f"top {reference.format_top(top)}"
            )
            rows.append(
                [
                    Cell(rank_text, muted=provisional),
                    Cell(
                        row["person"],
                        detail=only_words(group["team"]) if alone and not provisional else None,
                    ),
                    f"{row['n']:,}",
                    Cell(score, detail="provisional" if provisional else None, muted=provisional),
                    factor(row["bias_factor"]),
                    _keep_cell(row),
                    in_team,
                    _place_cell(row["reference"]),
                ]
            )
    note = None
    if total > listed:
        note = f"{total - listed:,} more not listed: the table shows the first {listed}."
    return Table(COLUMNS, rows, note=note)


def _keep_cell(row: PersonRow) -> Cell | str:
    """The estimated long-run keep rate (section 4's posterior), with the count it rests on."""
    if row["keep_rate"] is None or not row["promises_due"]:
        return Cell("-", detail="none due", muted=True)
    return Cell(percent(row["keep_rate"]), detail=f"of {row['promises_due']:,} due")


def _place_cell(place) -> Cell | str:
    """The range of places among real developers (``top 4% - top 31%``,
    ``above all - top 21%``), and the claim it allows."""
    if not place:
        return "-"

    def end(top: float) -> str:
        return "above all" if top <= rules.BOUND_SLACK else f"top {reference.format_top(top)}"

    best, worst = end(place["top_best"]), end(place["top_worst"])
    claim = place["claim"]
    return Cell(
        best if best == worst else f"{best} - {worst}",
        detail=f"in the top {claim}%" if claim is not None else "no claim yet",
    )


def _reference_chart(ranked: list[PersonRow], table: reference.Reference) -> go.Figure:
    """The real developers' whole-history scores as a histogram, and the ranked
    people's scores on it with the 90% interval their place is read from (one
    marker each, or a histogram of the scores when many)."""
    edges = np.arange(0.0, 100.0 + SCORE_BIN, SCORE_BIN)
    counts, _ = np.histogram(np.asarray(table.scores), bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = new_figure()
    fig.add_bar(
        x=centres,
        y=counts,
        width=SCORE_BIN * 0.95,
        marker_color=LIGHT_GREY,
        name=f"real developers ({table.n})",
        hovertemplate="score %{x:.1f}: %{y} real developers<extra></extra>",
    )
    scores = np.array([row["score"] for row in ranked], dtype=float)
    if len(ranked) <= MARKERS_MAX:
        lows = np.array([row["score_low"] for row in ranked], dtype=float)
        highs = np.array([row["score_high"] for row in ranked], dtype=float)
        step = max(float(counts.max()), 4.0) / 12
        fig.add_scatter(
            x=scores,
            y=-step * (1 + np.arange(scores.size) % MARKER_ROWS),
            mode="markers",
            marker={"color": BLUE, "size": 9, "symbol": "diamond"},
            error_x={
                "type": "data",
                "array": highs - scores,
                "arrayminus": scores - lows,
                "color": BLUE_FADED,
                "thickness": 2,
                "width": 3,
            },
            name="here (score and its 90% interval)",
            text=[_marker_text(row) for row in ranked],
            hovertemplate="%{text}<extra></extra>",
        )
    else:
        mine, _ = np.histogram(scores, bins=edges)
        fig.add_bar(
            x=centres,
            y=-mine * counts.max() / max(mine.max(), 1),
            width=SCORE_BIN * 0.95,
            marker_color=BLUE_FADED,
            name=f"here ({len(ranked)}, scaled)",
            customdata=mine,
            hovertemplate="score %{x:.1f}: %{customdata} here<extra></extra>",
        )
    quantiles = pd.Series(table.scores).quantile([0.5, 0.95])
    for share, value in quantiles.items():
        fig.add_vline(
            x=float(value),
            line={"color": GREY, "dash": "dot", "width": 1},
            annotation_text="median" if share == 0.5 else "top 5%",
            annotation_position="top",
        )
    layout(fig, height=380, legend=True, barmode="overlay")
    # The legend above the median and top-5% labels, not on them.
    fig.update_layout(margin={"t": 64}, legend={"y": 1.1})
    fig.update_xaxes(title_text="score (0-100; 50 = a typical 2x miss)", range=[0, 100])
    step = max(5, int(np.ceil(counts.max() / 4 / 5)) * 5)
    ticks = list(range(0, int(counts.max()) + step, step))
    fig.update_yaxes(title_text="developers", zeroline=True, tickvals=ticks)
    return fig


def _marker_text(row: PersonRow) -> str:
    """A ranked person on the chart: the score, its interval and the range of places."""
    shown = (
        f"{row['person']}: {row['score']:.0f} (90%: {row['score_low']:.0f}-{row['score_high']:.0f})"
    )
    place = reference.describe(row["reference"])
    return shown if place is None else f"{shown}<br>{place}"
