"""Percentile ranks (METRICS.md section 5), as pure functions: no database.

Three comparisons, each with its N:

- people within their team, by the *shrunk* score, among those with 30+
  counted tasks; people with 10-29 are *provisional*, listed apart with their
  interval and never ranked among the others; fewer than 10, no score at all;
- teams against each other, by the team's pooled score, teams with 30+
  counted tasks;
- anyone with 30+ tasks against the reference population of real developers
  (:mod:`calibrate.reference`), by the *raw* score, as the reference is raw.

The percentile of a score s among N scores is the mid-rank one, P = 100 *
(below + 0.5 * equal) / N, so ties share it; "top X%" is 100 - P. The rank
position (1 = best) also gives ties their mid-rank: two people sharing second
place are both 2.5.

The inputs are sufficient statistics (n and the sum and sum of squares of
|clip(r)| per person and per team), the same whether they were summed from
raw tasks or read from a team's summary file, which is why ranks from a
summary equal ranks from the tasks (:mod:`calibrate.teams`). The percentile
and "top X%" rules are :mod:`calibrate.rules`'; ``SCORE_VERSION`` too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.rules import MIN_SCORE_N, RANKED_N
from calibrate.stats import metrics
from calibrate.stats.arrays import optional
from calibrate.stats.metrics import ScoreStatus

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


class ReferenceRank(TypedDict):
    """A raw score among the real developers (:mod:`calibrate.reference`)."""

    percentile: float
    top_percent: float
    n: int


class PersonRow(TypedDict):
    """One person in :func:`rank_people`: the shrunk score, the raw one, and
    (once ranked) the place among the group."""

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
    reference: ReferenceRank | None


class RankGroup(TypedDict):
    """A team's people in :func:`rank_people` (``team`` ``None``: people without one)."""

    team: str | None
    n: int
    ranked: list[PersonRow]
    provisional: list[PersonRow]
    too_few: int


class TeamRow(TypedDict):
    """One team in :func:`rank_teams`."""

    team: str
    n: int
    people: int
    score: float | None
    score_low: float | None
    score_high: float | None
    keep_rate: float | None
    promises_due: int
    status: ScoreStatus
    rank: float | None
    of: int | None
    percentile: float | None
    top_percent: float | None


class TeamRanks(TypedDict):
    ranked: list[TeamRow]
    unranked: list[TeamRow]
    n: int


def _keep_rate(kept: float, due: float, prior: float | None) -> float | None:
    """Section 4's keep rate, shrunk toward the team: (k + 10 p) / (n + 10)."""
    if not due:
        return None
    if prior is None:
        return kept / due
    return (kept + rules.KEEP_N0 * prior) / (due + rules.KEEP_N0)


def _malr(stats: Mapping | pd.Series | None) -> float | None:
    if stats is None or not stats["n"]:
        return None
    return float(stats["sum_abs"]) / float(stats["n"])


def _raw_keep(stats: Mapping | pd.Series | None) -> float | None:
    if stats is None or not stats["due"]:
        return None
    return float(stats["kept"]) / float(stats["due"])


def rank_people(
    people: pd.DataFrame,
    team_stats: pd.DataFrame,
    everyone_stats: Mapping,
    *,
    reference_scores: Sequence[float] = (),
    viewer: str | None = None,
    teams: Iterable[str | None] | None = None,
) -> list[RankGroup]:
    """People ranked within their team: one dict per team, best first.

    ``people`` has one row per person: ``person``, ``team`` (their team: the
    team of their most recent task; ``None`` for none, which ranks them among
    everyone), ``n``, ``sum_abs``, ``sum_sq`` (of |clip(r)| over their
    counted tasks in the window), ``bias`` (median r, NaN if unknown),
    ``due`` and ``kept`` (promises), and ``opt_out``. ``team_stats`` holds
    the same sums per team (tasks of that team, indexed by team name) and
    ``everyone_stats`` for everyone: a person's score is shrunk toward their
    team's MALR (everyone's without a team, or when their team has no tasks in
    the window), their keep rate toward the team's.

    Opted-out people are never shown nor counted among others; the
    ``viewer`` (the person typing) sees their own row even when opted out,
    placed among the others. ``teams`` limits the groups returned.

    Each group: ``team``, ``ranked`` (rows with ``rank``, ``of``,
    ``percentile``, ``top_percent``, best first), ``provisional`` (10-29
    tasks, no rank), ``too_few`` (people under 10 tasks, not shown) and ``n``
    (the N of its ranks). Each row: ``person``, ``team``, ``n``, ``status``,
    ``score``, ``score_low``, ``score_high`` (shrunk), ``score_raw`` with its
    interval, ``bias``, ``bias_factor``, ``keep_rate`` and ``promises_due``,
    ``you``, ``opted_out``, and ``reference`` (the raw score among the real
    developers: ``percentile``, ``top_percent``, ``n``; ``None`` under 30 tasks).
    """
    if people.empty:
        return []
    everyone_malr = _malr(everyone_stats)
    everyone_keep = _raw_keep(everyone_stats)
    team_malr = {name: _malr(stats) for name, stats in team_stats.iterrows()}
    team_keep = {name: _raw_keep(stats) for name, stats in team_stats.iterrows()}
    team_of = [None if pd.isna(t) else t for t in people["team"]]
    prior_malr = np.array(
        [everyone_malr if team_malr.get(t) is None else team_malr[t] for t in team_of],
        dtype=float,
    )
    n = people["n"].to_numpy(dtype=float)
    sum_abs = people["sum_abs"].to_numpy(dtype=float)
    sum_sq = people["sum_sq"].to_numpy(dtype=float)
    score, low, high = metrics.score_from_stats(n, sum_abs, sum_sq, prior_malr)
    raw, raw_low, raw_high = metrics.score_from_stats(n, sum_abs, sum_sq)
    reference = np.asarray(reference_scores, dtype=float)
    ref_percentile = (
        rules.midrank_percentiles(raw, reference) if reference.size else np.full(n.shape, np.nan)
    )
    bias = people["bias"].to_numpy(dtype=float)
    kept, due = people["kept"].to_numpy(dtype=float), people["due"].to_numpy(dtype=float)
    rows: list[PersonRow] = []
    for i, name in enumerate(people["person"]):
        prior_keep = team_keep.get(team_of[i]) if team_of[i] is not None else None
        if prior_keep is None:
            prior_keep = everyone_keep
        opted = bool(people["opt_out"].iat[i])
        ranked = n[i] >= RANKED_N
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
                "keep_rate": _keep_rate(float(kept[i]), float(due[i]), prior_keep),
                "promises_due": int(due[i]),
                "you": viewer is not None and name == viewer,
                "opted_out": opted,
                "rank": None,
                "of": None,
                "percentile": None,
                "top_percent": None,
                "reference": (
                    {
                        "percentile": float(ref_percentile[i]),
                        "top_percent": rules.top_percent(float(ref_percentile[i])),
                        "n": int(reference.size),
                    }
                    if ranked and reference.size
                    else None
                ),
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
        _place_all(ranked, [r["score"] for r in pool if r["score"] is not None])
        ranked.sort(key=lambda row: (_placed(row["rank"]), row["person"]))
        provisional = sorted(
            (r for r in members if MIN_SCORE_N <= r["n"] < RANKED_N),
            key=lambda row: (-_scored(row["score"]), row["person"]),
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
    """Each ranked row's mid-rank position and percentile among ``pool_scores``;
    an opted-out viewer (not in the pool) is placed as if among them."""
    inside = [row for row in ranked if not row["opted_out"]]
    scores = [_scored(row["score"]) for row in inside]
    below, equal, size = rules.midrank_counts(scores, pool_scores)
    for row, row_below, row_equal in zip(inside, below, equal, strict=True):
        _place(row, int(row_below), int(row_equal), size)
    for row in ranked:
        if row["opted_out"]:
            mine = _scored(row["score"])
            row_below, row_equal, with_me = rules.midrank_counts([mine], [*pool_scores, mine])
            _place(row, int(row_below[0]), int(row_equal[0]), with_me)


def _place(row: PersonRow, below: int, equal: int, size: int) -> None:
    percentile = rules.midrank_percent(below, equal, size)
    row["rank"] = _position(below, equal, size)
    row["of"] = int(size)
    row["percentile"] = percentile
    row["top_percent"] = rules.top_percent(percentile)


# --- teams ------------------------------------------------------------------------------


def rank_teams(team_stats: pd.DataFrame, people_per_team: Mapping | None = None) -> TeamRanks:
    """Teams ranked against each other by their pooled raw score (30+ counted
    tasks), best first; the others listed apart.

    ``team_stats`` is indexed by team with ``n``, ``sum_abs``, ``sum_sq``,
    ``due``, ``kept``. Returns ``ranked`` (rows with ``rank``, ``of``,
    ``percentile``, ``top_percent``) and ``unranked`` (teams under 30 tasks,
    with their score when they have 10+), each row with ``team``, ``n``,
    ``people``, ``score``, ``score_low``, ``score_high`` and ``keep_rate``
    (raw: a team is not shrunk toward anything when compared with others).
    """
    rows: list[TeamRow] = []
    for team_name, stats in team_stats.iterrows():
        if team_name is None or (isinstance(team_name, float) and np.isnan(team_name)):
            continue
        score, low, high = metrics.score_from_stats(
            float(stats["n"]), float(stats["sum_abs"]), float(stats["sum_sq"])
        )
        rows.append(
            {
                "team": str(team_name),
                "n": int(stats["n"]),
                "people": int((people_per_team or {}).get(team_name, 0)),
                "score": score,
                "score_low": low,
                "score_high": high,
                "keep_rate": _raw_keep(stats),
                "promises_due": int(stats["due"]),
                "status": metrics.score_status(int(stats["n"])),
                "rank": None,
                "of": None,
                "percentile": None,
                "top_percent": None,
            }
        )
    ranked = [row for row in rows if row["n"] >= RANKED_N]
    scores = np.array([row["score"] for row in ranked], dtype=float)
    if ranked:
        percentiles = rules.midrank_percentiles(scores, scores)
        positions = mid_ranks(scores)
        for row, percentile, position in zip(ranked, percentiles, positions, strict=True):
            row["rank"] = float(position)
            row["of"] = len(ranked)
            row["percentile"] = float(percentile)
            row["top_percent"] = rules.top_percent(float(percentile))
    ranked.sort(key=lambda row: (_placed(row["rank"]), row["team"]))
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
