"""One set of numbers over people and teams: raw tasks and imported team
summaries counted alike, by every command that shows them (law 6).

``rank``, ``score`` (of a person, a team or everyone), ``people`` and the
report read the sums of a scope from here. Raw tasks come as week rows
(:mod:`calibrate.weeks`); an imported summary's rows count for the people it
speaks for (:mod:`calibrate.store.summaries`: people with no task here, the
later export of two replicas that bring one person), whatever weeks or time
zones either side used, so nobody is counted twice. Each command shows the
same ``score`` (shrunk) and ``score_raw`` for a team, and the same task
count; a figure a summary cannot give is "not in summaries", never a second
number.

This module is an orchestrator: it reads through :mod:`calibrate.store` and
computes with :mod:`calibrate.stats`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from calibrate import durations, rules
from calibrate.durations import local_today
from calibrate.selection import Selection
from calibrate.stats import metrics
from calibrate.stats.ranks import SummaryWindow
from calibrate.store import load, people, summaries
from calibrate.weeks import (
    BUCKET_COUNTS,
    EFFORT_STATS,
    NO_TEAM,
    RANK_STATS,
    UNDATED,
    exact_medians,
    grand_total,
    histogram_median,
    load_tasks,
    sort_rows,
    totals,
    week_rows,
)

# --- the rows of a window -----------------------------------------------------------------


def imported_rows(conn: sqlite3.Connection, selection: Selection) -> pd.DataFrame:
    """The week rows of imported summaries that count (law 5: the people they
    speak for, :func:`load.imported_weeks`) in the selection's window and
    scope, as week rows in :func:`sort_rows` order, with ``replica``,
    ``histogram`` (each row's (bin, count) pairs) and what a version-2 week
    carries beside: ``logged``, ``effort_n``, ``promised_h``, ``effort_h`` and
    the sums per size bucket (``sum_b0``, ``sq_b0``, ...). A week of an older
    summary, without them, counts its tasks as ``unbucketed``."""
    frame = load.imported_weeks(conn, selection)
    if not len(frame):
        return frame
    frame["team"] = frame["team"].where(frame["team"].notna(), NO_TEAM).astype(object)
    frame["week"] = [
        # an undated week reads as NaN, not None, once pandas has seen a date beside it
        UNDATED
        if not isinstance(week, str)
        else int(durations.week_index([date.fromisoformat(week)])[0])
        for week in frame["week"]
    ]
    frame["week"] = frame["week"].astype(np.int64)
    details = frame.pop("detail").tolist()
    for b, name in enumerate(BUCKET_COUNTS):
        frame[name] = [0 if d is None else int(d["buckets"][b][0]) for d in details]
        frame[f"sum_b{b}"] = [0.0 if d is None else float(d["buckets"][b][1]) for d in details]
        frame[f"sq_b{b}"] = [0.0 if d is None else float(d["buckets"][b][2]) for d in details]
    frame["unbucketed"] = [
        int(n) if d is None else 0 for n, d in zip(frame["n"], details, strict=True)
    ]
    frame["logged"] = [0 if d is None else int(d["logged"]) for d in details]
    for i, name in enumerate(EFFORT_STATS):
        frame[name] = [0.0 if d is None else float(d["effort"][i]) for d in details]
    frame["effort_n"] = frame["effort_n"].astype(np.int64)
    return sort_rows(frame)


@dataclass
class Part:
    """What imported summaries add to a scope: their week rows there
    (:func:`imported_rows`), for the people they speak for."""

    rows: pd.DataFrame

    @property
    def empty(self) -> bool:
        return not len(self.rows) or not (self.total("n") or self.total("due") or self.logged)

    @property
    def people(self) -> int:
        return int(self.rows["person"].nunique()) if len(self.rows) else 0

    @property
    def logged(self) -> int:
        return int(self.total("logged"))

    def total(self, name: str) -> float:
        return float(self.rows[name].sum()) if len(self.rows) and name in self.rows else 0.0

    def sums(self, in_team: str | None = None) -> dict:
        """n, sum_abs, sum_sq, the counts and promise counts, of the rows
        whose team is ``in_team`` (all rows for ``None``)."""
        rows = self.rows
        if in_team is not None and len(rows):
            rows = rows[rows["team"] == in_team]
        return {name: float(rows[name].sum()) if len(rows) else 0.0 for name in RANK_STATS}

    @property
    def ranged(self) -> bool:
        """Whether the rows hold any range (whose calibration is not in summaries)."""
        return bool(len(self.rows)) and any(self.rows.get("ranges", []))

    def histogram(self) -> list:
        """The (bin, count) pairs of every row: clip(r) in bins of 0.01."""
        return [pair for pairs in self.rows.get("histogram", []) for pair in pairs]

    def buckets(self) -> np.ndarray | None:
        """[n, sum, sum of squares] of |clip(r)| per size bucket (6 x 3), or
        ``None`` when a week of an older summary carries no buckets."""
        if self.total("unbucketed") > 0:
            return None
        return np.array(
            [
                [self.total(f"n_b{b}"), self.total(f"sum_b{b}"), self.total(f"sq_b{b}")]
                for b in range(len(BUCKET_COUNTS))
            ]
        )

    def counts(self) -> pd.DataFrame:
        """Counted tasks per ``person`` and ``team`` (``None`` for none): the drift."""
        if not len(self.rows):
            return pd.DataFrame({"person": [], "team": [], "n": np.array([], dtype=np.int64)})
        summed = self.rows.groupby(["person", "team"], sort=True)["n"].sum().reset_index()
        summed["team"] = summed["team"].where(summed["team"] != NO_TEAM, None)
        return summed[summed["n"] > 0].reset_index(drop=True)


def summary_part(conn: sqlite3.Connection, selection: Selection | None) -> Part | None:
    """What summaries add to ``selection``'s scope and window; ``None`` when
    they add nothing (none imported, or they speak for nobody there)."""
    if selection is None or not summaries.has_summaries(conn):
        return None
    part = Part(imported_rows(conn, selection))
    return None if part.empty else part


# --- what rank needs ----------------------------------------------------------------------


@dataclass
class RankInputs:
    """Per person, per team and per (person, team) sums for
    :func:`calibrate.stats.ranks.rank_people` and :func:`~calibrate.stats.ranks.rank_teams`;
    ``windows``: per team whose figures summaries bring, the weeks the
    narrowest of them covers (first Monday, end Monday exclusive; ``None``:
    no bound)."""

    people: pd.DataFrame
    teams: pd.DataFrame
    everyone: dict
    people_per_team: dict = field(default_factory=dict)
    from_summaries: int = 0
    pairs: pd.DataFrame | None = None
    windows: dict = field(default_factory=dict)


def rank_inputs(
    conn: sqlite3.Connection,
    selection: Selection,
    *,
    today: date | None = None,
    frames: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> RankInputs:
    """Everyone's sums in the selection's window, from the raw tasks here and
    the imported summaries, for the people they speak for (law 5: nobody
    with tasks here is counted from a summary, whatever its weeks).

    ``people`` has ``person``, ``team`` (their current team, ``None`` for
    none), the :data:`RANK_STATS` sums, ``bias`` (median r: exact from raw
    tasks, read from the histograms for people from summaries) and
    ``opt_out``; ``teams`` the sums per team (indexed by team); ``pairs`` the
    sums per (person, team) of the tasks (``NO_TEAM`` for none): what a person
    adds to a team, taken out of its prior; ``everyone`` the sums of all.
    ``frames``: everyone's :func:`load_tasks` frames for the window, when the
    caller has them already (the report: :func:`task_frames` of what it loaded).
    """
    today = today or local_today()
    everyone = selection.replace(person=None, team=None, everyone=True)
    counted, promises = frames or load_tasks(conn, everyone, today=today)
    rows = week_rows(counted, promises)
    part = summary_part(conn, everyone)
    imported = None
    windows: dict = {}
    if part is not None:  # weeks with tasks logged only add nothing here
        imported = part.rows[(part.rows["n"] > 0) | (part.rows["due"] > 0)]
        windows = _team_windows(conn, imported)
        extra = [name for name in imported.columns if name not in rows.columns]
        rows = sort_rows(pd.concat([rows, imported.drop(columns=extra)], ignore_index=True))
    person_sums = totals(rows, "person")
    team_sums = totals(rows[rows["team"] != NO_TEAM], "team")
    bias = _medians(counted, imported)
    names = person_sums.index.tolist()
    current = people.current_teams(conn, names)
    opted = people.opted_out(conn)
    frame = person_sums.reset_index(names="person")
    frame["team"] = [current.get(name) for name in names]
    frame["bias"] = [bias.get(name, np.nan) for name in names]
    frame["opt_out"] = [name in opted for name in names]
    people_per_team: dict = {}
    for team_name, n in zip(frame["team"], frame["n"], strict=True):
        if team_name is not None and n > 0:
            people_per_team[team_name] = people_per_team.get(team_name, 0) + 1
    return RankInputs(
        people=frame,
        teams=team_sums,
        everyone=grand_total(rows),
        people_per_team=people_per_team,
        from_summaries=int(imported["person"].nunique()) if imported is not None else 0,
        pairs=totals(rows, ["person", "team"]),
        windows=windows,
    )


def shorter_windows(windows: dict, start: date | None) -> list[SummaryWindow]:
    """The teams of :attr:`RankInputs.windows` whose summaries cover fewer
    weeks than a window from ``start`` (``None``: all history) to this week."""
    first_wanted = durations.week_start(start) if start is not None else None
    end_wanted = durations.week_start(local_today()) + timedelta(weeks=1)
    out: list[SummaryWindow] = []
    for team_name, (first, end) in sorted(windows.items()):
        begins = date.fromisoformat(first) if first else None
        ends = date.fromisoformat(end) if end else None
        later = begins is not None and (first_wanted is None or begins > first_wanted)
        if later or (ends is not None and ends < end_wanted):
            weeks = (ends - begins).days // 7 if begins and ends else None
            out.append({"team": team_name, "since": first, "until": end, "weeks": weeks})
    return out


def _team_windows(conn: sqlite3.Connection, imported: pd.DataFrame) -> dict:
    """Per team, the weeks the narrowest summary replica that brings it covers."""
    spans = summaries.coverage(conn)
    out: dict = {}
    for (team_name, replica), _ in imported.groupby(["team", "replica"], sort=True):
        if team_name == NO_TEAM or replica not in spans:
            continue
        first, end = spans[replica]
        mine = out.get(team_name)
        if mine is None or (first or "") > (mine[0] or "") or (end or "9") < (mine[1] or "9"):
            out[team_name] = (first, end)
    return out


def _medians(counted: pd.DataFrame, imported: pd.DataFrame | None) -> dict:
    """Median r per person: exact from the raw tasks; from the histograms of
    the summaries for the people they speak for (to the bin width)."""
    out = exact_medians(counted)
    if imported is None or not len(imported):
        return out
    for name, group in imported.groupby("person"):
        pairs = [pair for histogram in group["histogram"] for pair in histogram]
        out[name] = histogram_median(pairs)
    return out


def known_teams(conn: sqlite3.Connection) -> set[str]:
    """Every team named on a task or in an imported summary."""
    sql = (
        "SELECT team FROM tasks WHERE team IS NOT NULL UNION "
        "SELECT team FROM summary_weeks WHERE team IS NOT NULL UNION "
        "SELECT team FROM summary_people WHERE team IS NOT NULL"
    )
    return {row[0] for row in conn.execute(sql)}


def team_exists(conn: sqlite3.Connection, team: str) -> bool:
    """Whether a task or an imported summary names ``team`` (index lookups)."""
    return any(
        conn.execute(sql, (team,)).fetchone()
        for sql in (
            "SELECT 1 FROM tasks WHERE team = ? LIMIT 1",
            "SELECT 1 FROM summary_weeks WHERE team = ? LIMIT 1",
            "SELECT 1 FROM summary_people WHERE team = ? LIMIT 1",
        )
    )


# --- per person or team, for a report ---------------------------------------------------------


def group_stats(
    tasks: pd.DataFrame, part: Part | None, level: str, no_team: str
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per person (``level`` "person") or team of a report's counted tasks:
    :func:`metrics.point_stats_by` of the raw tasks, with the summary rows of
    the people summaries speak for added (n and sums; the median from the
    histograms, the raw tasks binned alike; MALR and typical miss from the
    sums), indexed by name (``no_team`` for tasks without a team); and per
    name each of its people's counted tasks (a team's drift)."""
    keys = tasks[level].fillna(no_team if level == "team" else "").astype(str).to_numpy()
    estimate_h, actual_h = tasks["estimate_h"], tasks["actual_h"]
    stats = metrics.point_stats_by(keys, estimate_h, actual_h)
    persons = pd.Series(tasks["person"].to_numpy(dtype=object)).groupby(keys).value_counts()
    who = {str(name): counts.to_numpy() for name, counts in persons.groupby(level=0)}
    rows = part.rows[part.rows["n"] > 0] if part is not None else None
    if rows is None or not len(rows):
        return stats, who
    stats = stats.astype({"n": np.int64})
    r = metrics.log_ratio(estimate_h, actual_h)
    bins = np.rint(np.clip(r, -rules.CLIP_LOG2, rules.CLIP_LOG2) / rules.HISTOGRAM_BIN)
    row_keys = rows[level].where(rows[level] != NO_TEAM, no_team).astype(str)
    shares = ("within_25", "over", "exact", "under")
    for name, group in rows.groupby(row_keys.to_numpy()):
        mine = np.isfinite(r) & (keys == name)
        raw = {key: 0.0 for key in ("n", "sum_abs", "sum_sq", *shares)}
        if name in stats.index:
            found = stats.loc[str(name)]
            raw = {key: float(np.nan_to_num(found[key])) for key in raw}
        pairs = [pair for histogram in group["histogram"] for pair in histogram]
        pairs += [[int(b), 1] for b in bins[mine]]
        n = int(raw["n"]) + int(group["n"].sum())
        total = raw["sum_abs"] + float(group["sum_abs"].sum())
        bias, malr = histogram_median(pairs), total / n
        figures = {
            "n": n,
            "sum_abs": total,
            "sum_sq": raw["sum_sq"] + float(group["sum_sq"].sum()),
            "bias": np.nan if bias is None else bias,
            "bias_factor": np.nan if bias is None else 2.0**bias,
            "malr": malr,
            "typical_miss": 2.0**malr,
            "score_raw": 100 * 2.0**-malr if n >= rules.MIN_SCORE_N else np.nan,
            **{key: (round(raw[key] * raw["n"]) + int(group[key].sum())) / n for key in shares},
        }
        stats.loc[name, list(figures)] = list(figures.values())
        theirs = group.groupby("person")["n"].sum().to_numpy()
        who[str(name)] = np.concatenate([who.get(str(name), np.array([], dtype=np.int64)), theirs])
    return stats.sort_index(), who
