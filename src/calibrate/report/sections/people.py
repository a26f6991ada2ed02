"""Section: the people of a team, or for everyone the teams and then the people.

One row per person (or team): tasks, the raw score with the 90% interval of
the long-run score (section 2; shrinkage buys no rank accuracy, section 5),
bias, typical miss and the promises kept (the count, and the estimated
long-run keep rate beside it), best first. A person's name carries what is
worth a look, as ``score --person`` says it: a clear trend (section 6), the
padding and exact-hit flags against the rest of their team (section 2), a
keep rate under the flag band (section 4).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from calibrate import reference, rules, teams, weeks
from calibrate.report.data import ReportData
from calibrate.report.model import TABLE_ROWS_MAX, Cell, Section, Table
from calibrate.stats import drift, metrics, trends
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
            "and the promises due that were kept, with the estimated long-run keep rate "
            "(leaning on the rest of the team's). Marks beside a name: improving or "
            "worsening (a clear trend of the weekly miss), padding (far more tasks under the "
            "estimate than the rest of the team) or exact hits (far more actuals written as "
            "the estimate), and a keep rate under the flag band."
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
    names = [str(name) for name in shown.index]
    keep_cells, keep_flagged = group_keep_rates(data, level, names)
    marks = person_marks(data, names, keep_flagged) if level == "person" else {}
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
                else Cell(str(name), alerts=marks.get(str(name), ())),
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


def group_keep_rates(data: ReportData, level: str, names) -> tuple[list, set[str]]:
    """Each person's (team's) promises over the window: one cell per name, the
    count kept of those due and the estimated long-run keep rate (section 4's
    posterior, as ``score`` shows it: a person's leaning on the rest of their
    team, a team's on everyone else), from the promises loaded once; and the
    names whose keep rate is under the flag band."""
    promises = data.promises
    resolved = promises[promises["resolved"]] if len(promises) else promises
    bands = {key: data.values.get(key, value) for key, value in rules.DEFAULT_BANDS.items()}
    keys = promises[level].fillna(NO_TEAM if level == "team" else "").astype(str)
    positions = keys.groupby(keys.to_numpy()).indices if len(keys) else {}
    home = _home_teams(data) if level == "person" else {}
    theirs = _summary_promises(data, level)  # (kept, due) the summaries bring, per name
    team_theirs = _summary_promises(data, "team") if level == "person" else {}
    all_theirs = tuple(map(sum, zip(*theirs.values(), strict=True))) if theirs else (0, 0)
    cells, flagged = [], set()
    for name in names:
        rows = positions.get(name)
        extra_kept, extra_due = theirs.get(name, (0, 0))
        if (rows is None and not extra_due) or (level == "team" and name == NO_TEAM):
            cells.append(Cell("-", detail="none due", muted=True))
            continue
        mine = promises.iloc[rows] if rows is not None else promises.iloc[:0]
        mine_resolved = mine[mine["resolved"]]
        group, group_theirs = resolved, all_theirs
        if level == "person" and home.get(name) is not None and "team" in resolved:
            group = resolved[resolved["team"].to_numpy(dtype=object) == home[name]]
            group_theirs = team_theirs.get(str(home[name]), (0, 0))
            mine_in_group = mine_resolved[
                mine_resolved["team"].to_numpy(dtype=object) == home[name]
            ]
        else:
            mine_in_group = mine_resolved
        kept = int(mine_resolved["kept"].sum()) + extra_kept
        due = len(mine_resolved) + extra_due
        summary = summary_of_counts(
            due=due,
            kept=kept,
            exceeded=int(mine_resolved["exceeded"].sum()),
            slack_values=np.array([]),
            promised_h=0.0,
            effort_h=0.0,
            logged=0,
            promised=0,
            rest_kept=int(group["kept"].sum())
            + group_theirs[0]
            - int(mine_in_group["kept"].sum())
            - extra_kept,
            rest_due=len(group) + group_theirs[1] - len(mine_in_group) - extra_due,
            bands=bands,
        )
        if summary["keep_rate"] is None:
            cells.append(Cell("-", detail="none due", muted=True))
            continue
        if summary["gauges"]["keep_rate"]["status"] == "flag":
            flagged.add(name)
        cells.append(
            Cell(
                f"{summary['kept']:,} of {summary['due']:,}",
                detail=f"{percent(summary['keep_rate'])} est. long-run",
            )
        )
    return cells, flagged


def _home_teams(data: ReportData) -> dict[str, str | None]:
    """Each person's team: the team of their last counted task of the window
    (tasks are in the order they were logged)."""
    tasks = data.tasks
    if not len(tasks):
        return {}
    last = tasks.groupby(tasks["person"].to_numpy(dtype=object), sort=False)["team"].last()
    return {str(person): (None if pd.isna(team) else str(team)) for person, team in last.items()}


def _summary_promises(data: ReportData, level: str) -> dict[str, tuple[int, int]]:
    """(kept, due) per person (or team) of the promises imported summaries bring."""
    rows = data.part.rows if data.part is not None else None
    if rows is None or not len(rows):
        return {}
    names = rows[level].where(rows[level] != weeks.NO_TEAM, NO_TEAM).astype(str)
    summed = rows.groupby(names.to_numpy())[["kept", "due"]].sum()
    return {str(name): (int(row["kept"]), int(row["due"])) for name, row in summed.iterrows()}


def person_marks(data: ReportData, names, keep_flagged: set[str]) -> dict[str, list[str]]:
    """What is worth a look about each person, in a word or two: a clear trend
    of their weekly miss (section 6's Theil-Sen verdict), the padding and
    exact-hit flags against the rest of their team (section 2; alone in it,
    the early share against real developers' median), a flagged keep rate."""

    tasks = data.tasks
    person = tasks["person"].to_numpy(dtype=object)
    team = tasks["team"].to_numpy(dtype=object)
    r = metrics.log_ratio(
        tasks["estimate_h"].to_numpy(dtype=float), tasks["actual_h"].to_numpy(dtype=float)
    )
    exact, under = rules.exact_mask(r), rules.under_mask(r)
    home = _home_teams(data)
    early_median = reference.load().early_median
    out: dict[str, list[str]] = {}
    for name in names:
        mine = person == name
        n = int(mine.sum())
        marks = []
        trend = trends.trend_summary(trends.weekly_trend(tasks["week"].to_numpy()[mine], r[mine]))
        if trend["verdict"] in ("improving", "worsening"):
            marks.append(str(trend["verdict"]))
        rest = (team == home.get(name)) & ~mine if home.get(name) is not None else ~mine
        rest_n = int(rest.sum())
        if rest_n:
            rest_exact, rest_under = exact[rest].mean(), under[rest].mean()
        else:
            rest_exact, rest_under = None, early_median
        flags = metrics.padding_flags(
            n,
            float(exact[mine].mean()) if n else None,
            float(under[mine].mean()) if n else None,
            None if rest_exact is None else float(rest_exact),
            None if rest_under is None else float(rest_under),
        )
        if flags["early"]["flag"]:
            marks.append("padding flag")
        if flags["exact_hits"]["flag"]:
            marks.append("exact-hit flag")
        if name in keep_flagged:
            marks.append("keep-rate flag")
        out[name] = marks
    return out
