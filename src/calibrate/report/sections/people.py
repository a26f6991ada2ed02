"""Section: the people of a team, or for everyone the teams and then the people.

One row per person (or team): tasks, the raw score with the 90% interval of
the long-run score (section 2; shrinkage buys no rank accuracy, section 5),
bias, typical miss and keep rate, best first.
"""

from __future__ import annotations

import math

import numpy as np

from calibrate import rules, teams, weeks
from calibrate.report.data import ReportData
from calibrate.report.model import TABLE_ROWS_MAX, Cell, Section, Table
from calibrate.stats import drift, metrics
from calibrate.stats.promises import summary_of_counts
from calibrate.text import count, factor, percent

#: Rows of the people table under a teams table (everyone's report): each team's
#: own report lists all its people.
PEOPLE_UNDER_TEAMS_MAX = 50
#: How tasks without a team are labelled in the teams table.
NO_TEAM = "(no team)"


def people_section(data: ReportData) -> Section:
    """For a team: one row per person; for everyone: one row per team (when
    there are teams), then one per person. (A person's report shows their
    worst and best estimates instead: :mod:`calibrate.report.sections.extremes`.)"""
    has_teams = data.scope == "everyone" and bool(data.tasks["team"].notna().any())
    section = Section(
        key="people",
        title="Teams and people" if has_teams else "People",
        how_to_read=(
            "Best score first: finished tasks of the period, the raw score with the 90% "
            "interval of the long-run score (wide for a few tasks: accuracy drifts, so a "
            "short run says little), the bias (median actual / estimate), the typical miss, "
            "and the share of promises due that were kept (leaning on everyone else's)."
        ),
    )
    if len(data.tasks) == 0 and data.part is None:
        section.empty = "No finished tasks in this window."
        return section
    if has_teams:
        section.tables.append(group_table(data, "team"))
        section.tables.append(group_table(data, "person", limit=PEOPLE_UNDER_TEAMS_MAX))
    else:
        section.tables.append(group_table(data, "person"))
    return section


def group_table(data: ReportData, level: str, limit: int = TABLE_ROWS_MAX) -> Table:
    """One row per person (or team): tasks, raw score with the interval of
    the long-run score, bias, typical miss and keep rate, best score first;
    at most ``limit`` rows."""
    tasks = data.tasks
    # with the people imported team summaries speak for (law 6: as rank counts them)
    stats, who = teams.group_stats(tasks, data.part, level, NO_TEAM)
    if level == "team":
        drift_var = [drift.team_drift(who[name]) for name in stats.index]
    else:
        drift_var = drift.person_drift(stats["n"].to_numpy())
    score, low, high = metrics.score_from_stats(
        stats["n"].to_numpy(),
        stats["sum_abs"].to_numpy(),
        stats["sum_sq"].to_numpy(),
        drift=drift_var,
    )
    stats = stats.assign(score=score, score_low=low, score_high=high)
    if level == "team":
        stats["people"] = [len(who[name]) for name in stats.index]
    stats = stats.sort_values(["score", "n"], ascending=[False, False], na_position="last")
    shown = stats.head(limit)
    keep_cells = group_keep_rates(data, level, [str(name) for name in shown.index])
    rows = []
    for (name, row), keep_cell in zip(shown.iterrows(), keep_cells, strict=True):
        n = int(row["n"])
        if math.isnan(row["score"]):
            score_cell = Cell(f"- (under {rules.MIN_SCORE_N} tasks)", muted=True)
        else:
            status = metrics.score_status(n)
            score_cell = Cell(
                f"{row['score']:.0f} ({row['score_low']:.0f}-{row['score_high']:.0f})",
                detail="provisional" if status == "provisional" else None,
                muted=status == "provisional",
            )
        rows.append(
            [
                Cell(str(name), detail=count(int(row["people"]), "person", "people"))
                if level == "team"
                else Cell(str(name)),
                f"{n:,}",
                score_cell,
                factor(float(row["bias_factor"])),
                factor(float(row["typical_miss"])),
                keep_cell,
            ]
        )
    columns = [
        ("Person" if level == "person" else "Team", "text"),
        ("Tasks", "num"),
        ("Score (90%)", "num"),
        ("Bias", "num"),
        ("Typical miss", "num"),
        ("Kept", "num"),
    ]
    note = None
    if len(stats) > len(shown):
        more = len(stats) - len(shown)
        note = f"{more:,} more not listed: the table shows the best {len(shown)}."
        if level == "person" and data.scope == "everyone":
            note += " Each team's report lists all its people."
    caption = None
    if data.scope == "everyone" and tasks["team"].notna().any():
        caption = "Teams" if level == "team" else "People"
    return Table(columns, rows, caption=caption, note=note)


def group_keep_rates(data: ReportData, level: str, names) -> list:
    """Each person's (team's) keep rate over the window, leaning on the rest
    of the scope's promises as the ``score`` panel leans on the rest of the
    team's (section 4), with the count due: one cell per name, from the
    promises loaded once."""
    promises = data.promises
    resolved = promises[promises["resolved"]] if len(promises) else promises
    all_kept, all_due = (int(resolved["kept"].sum()), len(resolved)) if len(promises) else (0, 0)
    keys = promises[level].fillna(NO_TEAM if level == "team" else "").astype(str)
    positions = keys.groupby(keys.to_numpy()).indices if len(keys) else {}
    theirs = _summary_promises(data, level)  # (kept, due) the summaries bring, per name
    all_kept += sum(kept for kept, _ in theirs.values())
    all_due += sum(due for _, due in theirs.values())
    cells = []
    for name in names:
        rows = positions.get(name)
        extra_kept, extra_due = theirs.get(name, (0, 0))
        if (rows is None and not extra_due) or (level == "team" and name == NO_TEAM):
            cells.append(Cell("-", detail="none due", muted=True))
            continue
        mine = promises.iloc[rows] if rows is not None else promises.iloc[:0]
        mine_resolved = mine[mine["resolved"]]
        kept = int(mine_resolved["kept"].sum()) + extra_kept
        due = len(mine_resolved) + extra_due
        summary = summary_of_counts(
            due=due,
            kept=kept,
            exceeded=0,
            slack_values=np.array([]),
            promised_h=0.0,
            effort_h=0.0,
            logged=0,
            promised=0,
            rest_kept=all_kept - kept,
            rest_due=all_due - due,
        )
        if summary["keep_rate"] is None:
            cells.append(Cell("-", detail="none due", muted=True))
        else:
            cells.append(Cell(percent(summary["keep_rate"]), detail=f"of {summary['due']:,} due"))
    return cells


def _summary_promises(data: ReportData, level: str) -> dict[str, tuple[int, int]]:
    """(kept, due) per person (or team) of the promises imported summaries bring."""
    rows = data.part.rows if data.part is not None else None
    if rows is None or not len(rows):
        return {}
    names = rows[level].where(rows[level] != weeks.NO_TEAM, NO_TEAM).astype(str)
    summed = rows.groupby(names.to_numpy())[["kept", "due"]].sum()
    return {str(name): (int(row["kept"]), int(row["due"])) for name, row in summed.iterrows()}
