"""Percentile ranks (METRICS.md section 5), as pure functions: no database.

Three comparisons, each with its N:

- people within their team, by the *raw* score (shrinkage buys no rank
  accuracy and pulls people with few tasks toward the middle), among those
  with 30+ counted tasks, each row showing the raw score and the interval it
  is ordered by, with neighbours whose intervals overlap marked as not clearly
  apart (``overlaps_next``); people with 10-29 are *provisional*, listed apart
  and never ranked among the others; fewer than 10, no score at all;
- teams against each other, by the team's raw pooled score with the team
  interval of section 2, teams with 30+ counted tasks;
- anyone with 30+ tasks against the reference population of real developers
  (:mod:`calibrate.reference`): the place is a range from the person's own
  shrunk score and its interval (the headline's numbers), size-matched.

Every row also carries the shrunk score (toward the team without the person;
a team's toward everyone without the team) exactly as ``score`` shows it.

The percentile of a score s among N scores is the mid-rank one, P = 100 *
(below + 0.5 * equal) / N, so ties share it; "top X%" is 100 - P. The rank
position (1 = best) also gives ties their mid-rank: two people sharing second
place are both 2.5.

The inputs are sufficient statistics (n, the sum and sum of squares of
|clip(r)|, counts per size bucket, promise outcomes per person, team and
(person, team)), the same whether they were summed from raw tasks or read
from a team's summary file, which is why ranks from a summary equal ranks
from the tasks (:mod:`calibrate.teams`). The percentile and "top X%" rules
are :mod:`calibrate.rules`'; ``SCORE_VERSION`` too.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Iterable, Mapping
from typing import Protocol, TypedDict

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.rules import MIN_SCORE_N, RANKED_N
from calibrate.stats import drift, metrics, promises
from calibrate.stats.arrays import optional
from calibrate.stats.metrics import ScoreStatus


class Position(TypedDict):
    """Where a score stands among the real developers
    (:meth:`calibrate.reference.Reference.place`): the most likely place
    (``percentile``, ``top_percent``), the range's ends as top-X% figures
    (``top_best``, ``top_worst``), the claim it allows (5, 10, 25, 50 or
    ``None``), and the N and datasets it is among."""

    percentile: float
    top_percent: float
    top_best: float
    top_worst: float
    claim: int | None
    n: int
    source: str


class Reference(Protocol):
    """What the ranks need of the reference population (:mod:`calibrate.reference`,
    passed in: the statistics never load it)."""

    def median_m(self, mix=None) -> float | None: ...

    def place(
        self, score: float | None, low: float | None, high: float | None, n_tasks: int, mix=None
    ) -> Position | None: ...


#: ``team`` of tasks without one in the (person, team) sums.
NO_TEAM = ""
BUCKET_COUNTS = tuple(f"n_b{b}" for b in range(len(rules.SIZE_LABELS)))

# --- mid-ranks ------------------------------------------------------------------------


def _position(below, equal, size):
    """The rank position from the best (1 = highest value) of a value with
    ``below`` values under it and ``equal`` equal to it (itself included)
    among ``size``: tied values share the mean of the positions they span."""
    above = size - below - equal
    return above + (equal + 1) / 2.0


def mid_ranks(values) -> np.ndarray:
    """Rank positions from the best (1 = highest value); tied values share the
    mean of the positions they span (2 and 3 tied: both 2.5)."""
    below, equal, size = rules.midrank_counts(values, values)
    return _position(below, equal, size)


# --- people ---------------------------------------------------------------------------


class PersonRow(TypedDict):
    """One person in :func:`rank_people`: the shrunk score (as ``score``
    shows it), the raw one the rank is ordered by, and (once ranked) the
    place among the group and among real developers."""

    person: str
    team: str | None
    n: int
    status: ScoreStatus
    score: float | None
    score_low: float | None
    score_high: float | None
    score_raw: float | None
    score_raw_low: float | None
    score_raw_high: float | None
    bias: float | None
    bias_factor: float | None
    keep_rate: float | None
    promises_due: int
    you: bool
    opted_out: bool
    rank: float | None
    of: int | None
    percentile: float | None
    top_percent: float | None
    overlaps_next: bool | None
    reference: Position | None


class RankGroup(TypedDict):
    """A team's people in :func:`rank_people` (``team`` ``None``: people without one)."""

    team: str | None
    n: int
    ranked: list[PersonRow]
    provisional: list[PersonRow]
    too_few: int


class TeamRow(TypedDict):
    """One team in :func:`rank_teams`: its raw pooled score (what it is ranked
    by) and its score shrunk toward everyone else, as ``score --team`` shows both."""

    team: str
    n: int
    people: int
    score: float | None
    score_low: float | None
    score_high: float | None
    score_raw: float | None
    score_raw_low: float | None
    score_raw_high: float | None
    keep_rate: float | None
    promises_due: int
    status: ScoreStatus
    rank: float | None
    of: int | None
    percentile: float | None
    top_percent: float | None
    overlaps_next: bool | None


class SummaryWindow(TypedDict):
    """A team whose figures come (in part) from team summaries covering fewer
    weeks than a rank's window: the weeks they cover (Mondays, the end
    exclusive; ``None``: no bound) and how many."""

    team: str
    since: str | None
    until: str | None
    weeks: int | None


class TeamRanks(TypedDict):
    ranked: list[TeamRow]
    unranked: list[TeamRow]
    n: int


def _stat(stats: Mapping | pd.Series | None, key: str) -> float:
    if stats is None or key not in stats:
        return 0.0
    value = stats[key]
    return 0.0 if value is None or pd.isna(value) else float(value)


def _mix(stats: Mapping | pd.Series) -> np.ndarray | None:
    """Counts per size bucket, or ``None`` when some weeks carry no buckets
    (an older summary): a size-matched figure is then not in summaries."""
    if _stat(stats, "unbucketed") > 0 or not all(name in stats for name in BUCKET_COUNTS):
        return None
    return np.array([_stat(stats, name) for name in BUCKET_COUNTS], dtype=float)


def _mixes(people: pd.DataFrame) -> list[np.ndarray | None]:
    """:func:`_mix` of every row of a frame, at once."""
    if not all(name in people for name in BUCKET_COUNTS):
        return [None] * len(people)
    counts = people[list(BUCKET_COUNTS)].to_numpy(dtype=float)
    unbucketed = (
        people["unbucketed"].to_numpy(dtype=float)
        if "unbucketed" in people
        else np.zeros(len(people))
    )
    return [None if unbucketed[i] > 0 else counts[i] for i in range(len(people))]


def _fallback(reference: Reference | None, mix: np.ndarray | None) -> float:
    """The reference population's median m, size-matched (NaN without a reference)."""
    if reference is None:
        return float("nan")
    value = reference.median_m(mix)
    return float("nan") if value is None else value


def rank_people(
    people: pd.DataFrame,
    team_stats: pd.DataFrame,
    everyone_stats: Mapping,
    *,
    pairs: pd.DataFrame | None = None,
    reference: Reference | None = None,
    viewer: str | None = None,
    teams: Iterable[str | None] | None = None,
) -> list[RankGroup]:
    """People ranked within their team by raw score: one dict per team, best first.

    ``people`` has one row per person: ``person``, ``team`` (their team: the
    team of their most recent task; ``None`` for none, which ranks them among
    everyone), ``n``, ``sum_abs``, ``sum_sq`` (of |clip(r)| over their
    counted tasks in the window), the counts per size bucket ``n_b0``..``n_b5``
    (and ``unbucketed``), ``bias`` (median r, NaN if unknown), ``due`` and
    ``kept`` (promises), and ``opt_out``. ``team_stats`` holds the same sums
    per team (tasks of that team, indexed by team name), ``everyone_stats``
    for everyone, ``pairs`` per (person, team) (indexed so; ``None``: each
    person's tasks all in their team). A person's score is shrunk toward the
    MALR of their team without them (everyone without them when they have no
    team), where that leaves 30+ counted tasks, else toward the ``reference``
    population's median m, size-matched; their keep rate leans on the rest of
    the team's (section 4).

    Opted-out people are never shown nor counted among others; the
    ``viewer`` (the person typing) sees their own row even when opted out,
    placed among the others. ``teams`` limits the groups returned.

    Each group: ``team``, ``ranked`` (rows with ``rank``, ``of``,
    ``percentile``, ``top_percent`` by raw score, best first, and
    ``overlaps_next``), ``provisional`` (10-29 tasks, no rank), ``too_few``
    (people under 10 tasks, not shown) and ``n`` (the N of its ranks). Each
    row: ``person``, ``team``, ``n``, ``status``, ``score``, ``score_low``,
    ``score_high`` (shrunk), ``score_raw`` with its interval, ``bias``,
    ``bias_factor``, ``keep_rate`` and ``promises_due``, ``you``,
    ``opted_out``, and ``reference`` (the place among real developers,
    :meth:`calibrate.reference.Reference.place`; ``None`` under 30 tasks).
    """
    if people.empty:
        return []
    team_of = [None if pd.isna(t) else t for t in people["team"]]
    count = len(people)
    # the group each person's prior leans on: their team less their own tasks in
    # it (everyone less all of theirs without a team, or a team with no tasks)
    keys = ("n", "sum_abs", "kept", "due")
    known = [t is not None and t in team_stats.index for t in team_of]
    own = {
        key: np.array(people[key], dtype=float) if key in people else np.zeros(count)
        for key in keys
    }
    group = {key: np.full(count, _stat(everyone_stats, key)) for key in keys}
    if any(known):
        at = np.flatnonzero(known)
        chosen = [team_of[i] for i in at]
        for key in keys:
            if key in team_stats:
                group[key][at] = team_stats[key].reindex(chosen).to_numpy(dtype=float)
        if pairs is not None:
            index = pd.MultiIndex.from_arrays([people["person"].to_numpy()[at], chosen])
            mine = pairs.reindex(index)
            for key in keys:
                if key in pairs:
                    own[key][at] = np.nan_to_num(mine[key].to_numpy(dtype=float))
    group_n, group_sum = group["n"] - own["n"], group["sum_abs"] - own["sum_abs"]
    rest_kept, rest_due = group["kept"] - own["kept"], group["due"] - own["due"]
    mixes = _mixes(people)
    fallback = np.array([_fallback(reference, mix) for mix in mixes])
    n = people["n"].to_numpy(dtype=float)
    sum_abs = people["sum_abs"].to_numpy(dtype=float)
    sum_sq = people["sum_sq"].to_numpy(dtype=float)
    prior = metrics.prior_malr(group_n, group_sum, fallback)
    drift_var = drift.person_drift(n)
    score, low, high = metrics.score_from_stats(
        n, sum_abs, sum_sq, prior, drift_var, group_prior=metrics.from_group(group_n)
    )
    raw, raw_low, raw_high = metrics.score_from_stats(n, sum_abs, sum_sq, drift=drift_var)
    bias = people["bias"].to_numpy(dtype=float)
    kept, due = people["kept"].to_numpy(dtype=float), people["due"].to_numpy(dtype=float)
    keep, _, _ = promises.keep_posterior(kept, due, rest_kept, rest_due, interval=False)
    rows: list[PersonRow] = []
    for i, name in enumerate(people["person"]):
        opted = bool(people["opt_out"].iat[i])
        place = None
        if reference is not None and mixes[i] is not None:
            place = reference.place(
                optional(score[i]), optional(low[i]), optional(high[i]), int(n[i]), mixes[i]
            )
        rows.append(
            {
                "person": name,
                "team": team_of[i],
                "n": int(n[i]),
                "status": metrics.score_status(int(n[i])),
                "score": optional(score[i]),
                "score_low": optional(low[i]),
                "score_high": optional(high[i]),
                "score_raw": optional(raw[i]),
                "score_raw_low": optional(raw_low[i]),
                "score_raw_high": optional(raw_high[i]),
                "bias": optional(bias[i]),
                "bias_factor": None if np.isnan(bias[i]) else float(2.0 ** bias[i]),
                "keep_rate": optional(keep[i]),
                "promises_due": int(due[i]),
                "you": viewer is not None and name == viewer,
                "opted_out": opted,
                "rank": None,
                "of": None,
                "percentile": None,
                "top_percent": None,
                "overlaps_next": None,
                "reference": place,
            }
        )
    # Opted-out people are seen by nobody but themselves.
    rows = [row for row in rows if not row["opted_out"] or row["you"]]
    wanted = None if teams is None else set(teams)
    members_of: dict[str | None, list[PersonRow]] = {}
    for row in rows:
        members_of.setdefault(row["team"], []).append(row)
    # Whom each rank is among: the team's ranked people who have not opted out;
    # for people without a team, every ranked person who has not opted out.
    everyone_pool = [r for r in rows if r["n"] >= RANKED_N and not r["opted_out"]]
    groups: list[RankGroup] = []
    for team_name in _group_order(members_of):
        if wanted is not None and team_name not in wanted:
            continue
        members = members_of[team_name]
        ranked = [r for r in members if r["n"] >= RANKED_N]
        if team_name is None:
            pool = everyone_pool
        else:
            pool = [r for r in ranked if not r["opted_out"]]
        _place_all(ranked, [_scored(r["score_raw"]) for r in pool])
        ranked.sort(key=lambda row: (_placed(row["rank"]), row["person"]))
        _mark_overlaps(ranked)
        provisional = sorted(
            (r for r in members if MIN_SCORE_N <= r["n"] < RANKED_N),
            key=lambda row: (-_scored(row["score_raw"]), row["person"]),
        )
        groups.append(
            {
                "team": team_name,
                "n": len(pool),
                "ranked": ranked,
                "provisional": provisional,
                "too_few": sum(1 for r in members if r["n"] < MIN_SCORE_N),
            }
        )
    return groups


def _mark_overlaps(rows) -> None:
    """``overlaps_next``: whether each row's raw interval overlaps the next
    row's (the two are not clearly apart); ``None`` on the last row."""
    for row, below in itertools.pairwise(rows):
        low, high = row["score_raw_low"], below["score_raw_high"]
        row["overlaps_next"] = bool(low is not None and high is not None and low <= high)


def _placed(rank: float | None) -> float:
    """A rank position that :func:`_place_all` has set (every ranked row has one)."""
    assert rank is not None
    return rank


def _scored(score: float | None) -> float:
    """The score of a row with 10 or more tasks (every such row has one)."""
    assert score is not None
    return score


def _group_order(members_of: Mapping) -> list:
    named = sorted(t for t in members_of if t is not None)
    return named + ([None] if None in members_of else [])


def _place_all(ranked: list[PersonRow], pool_scores: list[float]) -> None:
    """Each ranked row's mid-rank position and percentile by raw score among
    ``pool_scores``; an opted-out viewer (not in the pool) is placed as if among them."""
    inside = [row for row in ranked if not row["opted_out"]]
    scores = [_scored(row["score_raw"]) for row in inside]
    below, equal, size = rules.midrank_counts(scores, pool_scores)
    for row, row_below, row_equal in zip(inside, below, equal, strict=True):
        _place(row, int(row_below), int(row_equal), size)
    for row in ranked:
        if row["opted_out"]:
            mine = _scored(row["score_raw"])
            row_below, row_equal, with_me = rules.midrank_counts([mine], [*pool_scores, mine])
            _place(row, int(row_below[0]), int(row_equal[0]), with_me)


def _place(row: PersonRow, below: int, equal: int, size: int) -> None:
    percentile = rules.midrank_percent(below, equal, size)
    row["rank"] = _position(below, equal, size)
    row["of"] = int(size)
    row["percentile"] = percentile
    row["top_percent"] = rules.top_percent(percentile)


def tasks_for_claim(
    m: float, sd: float, prior: float | None, threshold_m: float, n_now: int, most: int = 100_000
) -> int | None:
    """How many tasks a person whose long-run m is ``m`` (spread ``sd``) would
    need before the worse end of their interval (section 2's, through
    :func:`metrics.interval_m`) falls under ``threshold_m``, the m of a place:
    ``None`` when their m is not under it, or not within ``most`` tasks."""
    if not m < threshold_m:
        return None
    grid = np.unique(np.concatenate([np.arange(n_now, 1000), np.geomspace(1000, most, 400)]))
    grid = grid[grid >= max(n_now, rules.MIN_SCORE_N)].astype(float)
    sums = m * grid
    squares = sd * sd * (grid - 1) + grid * m * m
    _, _, high = metrics.interval_m(
        grid, sums, squares, prior, drift.person_drift(grid), min_n=rules.MIN_SCORE_N
    )
    enough = np.flatnonzero(high < threshold_m)
    return int(grid[enough[0]]) if enough.size else None


# --- teams ------------------------------------------------------------------------------


def team_people_counts(pairs: pd.DataFrame | None, team: str) -> np.ndarray:
    """Each person's counted tasks in ``team`` (the team's drift), from the
    (person, team) sums; one person holding them all without ``pairs``."""
    if pairs is None or not len(pairs):
        return np.array([], dtype=float)
    teams_level = pairs.index.get_level_values(1)
    return pairs["n"].to_numpy(dtype=float)[np.asarray(teams_level == team)]


def rank_teams(
    team_stats: pd.DataFrame,
    people_per_team: Mapping | None = None,
    *,
    everyone_stats: Mapping | None = None,
    pairs: pd.DataFrame | None = None,
    reference: Reference | None = None,
) -> TeamRanks:
    """Teams ranked against each other by their raw pooled score (30+ counted
    tasks), best first; the others listed apart.

    ``team_stats`` is indexed by team with ``n``, ``sum_abs``, ``sum_sq``,
    ``due``, ``kept`` and the counts per size bucket; ``pairs`` the sums per
    (person, team), for the team's drift (its people's counts); ``everyone_stats``
    the sums of everyone, toward which less the team the shrunk ``score`` leans
    (the ``reference``'s median m, size-matched, where that leaves under 30
    tasks). Returns ``ranked`` (rows with ``rank``, ``of``, ``percentile``,
    ``top_percent``, ``overlaps_next``) and ``unranked`` (teams under 30
    tasks, with their score when they have 10+), each row with ``team``,
    ``n``, ``people``, ``score_raw`` with its interval (what the rank is
    by), ``score`` with its interval (shrunk, as ``score --team`` shows it),
    ``keep_rate`` and ``promises_due``.
    """
    rows: list[TeamRow] = []
    for team_name, stats in team_stats.iterrows():
        if team_name is None or (isinstance(team_name, float) and np.isnan(team_name)):
            continue
        if team_name == NO_TEAM:
            continue
        n, total, squares = _stat(stats, "n"), _stat(stats, "sum_abs"), _stat(stats, "sum_sq")
        counts = team_people_counts(pairs, str(team_name))
        drift_var = drift.team_drift(counts if counts.size else [n])
        rest_n = _stat(everyone_stats, "n") - n
        rest_sum = _stat(everyone_stats, "sum_abs") - total
        prior = (
            metrics.prior_malr(rest_n, rest_sum, _fallback(reference, _mix(stats)))
            if everyone_stats is not None
            else None
        )
        score, low, high = metrics.score_from_stats(
            n, total, squares, prior, drift_var, group_prior=metrics.from_group(rest_n)
        )
        raw, raw_low, raw_high = metrics.score_from_stats(n, total, squares, drift=drift_var)
        keep, _, _ = promises.keep_posterior(
            _stat(stats, "kept"),
            _stat(stats, "due"),
            _stat(everyone_stats, "kept") - _stat(stats, "kept"),
            _stat(everyone_stats, "due") - _stat(stats, "due"),
            interval=False,
        )
        rows.append(
            {
                "team": str(team_name),
                "n": int(n),
                "people": int((people_per_team or {}).get(team_name, 0)),
                "score": score,
                "score_low": low,
                "score_high": high,
                "score_raw": raw,
                "score_raw_low": raw_low,
                "score_raw_high": raw_high,
                "keep_rate": keep,
                "promises_due": int(_stat(stats, "due")),
                "status": metrics.score_status(int(n)),
                "rank": None,
                "of": None,
                "percentile": None,
                "top_percent": None,
                "overlaps_next": None,
            }
        )
    ranked = [row for row in rows if row["n"] >= RANKED_N]
    scores = np.array([row["score_raw"] for row in ranked], dtype=float)
    if ranked:
        percentiles = rules.midrank_percentiles(scores, scores)
        positions = mid_ranks(scores)
        for row, percentile, position in zip(ranked, percentiles, positions, strict=True):
            row["rank"] = float(position)
            row["of"] = len(ranked)
            row["percentile"] = float(percentile)
            row["top_percent"] = rules.top_percent(float(percentile))
    ranked.sort(key=lambda row: (_placed(row["rank"]), row["team"]))
    _mark_overlaps(ranked)
    unranked = sorted(
        (row for row in rows if row["n"] < RANKED_N), key=lambda row: (-row["n"], row["team"])
    )
    return {"ranked": ranked, "unranked": unranked, "n": len(ranked)}


# --- pseudonyms ---------------------------------------------------------------------------

PSEUDONYM_PREFIX = "Person"
PSEUDONYM_CHARS = 6


def pseudonym(name: str, salt: bytes, chars: int = PSEUDONYM_CHARS) -> str:
    """A stable stand-in for ``name``: ``Person 3f9a2c``.

    A keyed hash (HMAC-SHA256 with the database's secret ``salt``), so that
    the same person gets the same pseudonym in every listing of one database,
    yet nobody outside it can recover a name by hashing candidate names.
    """
    digest = hmac.new(salt, name.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{PSEUDONYM_PREFIX} {digest[:chars]}"


def pseudonyms(names: Iterable[str], salt: bytes) -> dict[str, str]:
    """Pseudonyms for ``names``, all distinct: colliding ones get more characters."""
    unique = sorted(set(names))
    chars = PSEUDONYM_CHARS
    while True:
        mapping = {name: pseudonym(name, salt, chars) for name in unique}
        if len(set(mapping.values())) == len(mapping) or chars >= 64:
            return mapping
        chars += 2
