"""Section 8's rows on real data: the score intervals, the place among real
developers and the "top X%" claims (METRICS.md sections 2 and 5).

Every window is scored by the product's own functions, on arrays:
:func:`calibrate.stats.metrics.prior_malr` (the team without the person over
the window's weeks, else the reference's median m, size-matched),
:func:`calibrate.stats.drift.person_drift` / ``team_drift`` with the values
refitted without the tested, :func:`calibrate.stats.metrics.interval_m` (the
interval ``score`` and ``rank`` show) and
:meth:`calibrate.reference.Reference.place` (the range ``score`` and ``rank``
show, and its claim).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.stats import drift, metrics
from tests.validation import realdata
from tests.validation.registry import MIN_CLAIMS, Context, Line, row

PERSON_SIZES = (10, 30, 100, 300)
QUICK_PERSON_SIZES = (300,)
TEAM_SIZES = (100, 300, 1000)
PLACE_SIZES = (30, 100)
CLAIM_SIZES = (30, 100, 300)
DATASETS = ("CESAW", "SiP")


def data(ctx: Context) -> realdata.RealData:
    if "data" not in ctx.cache:
        ctx.cache["data"] = realdata.RealData()
    return ctx.cache["data"]


def _person_drift(ctx: Context, dataset: str, person) -> drift.Drift:
    key = ("person drift", dataset, person)
    if key not in ctx.cache:
        ctx.cache[key] = data(ctx).person_drift_without([f"{dataset}:{person}"])
    return ctx.cache[key]


def person_windows(ctx: Context) -> pd.DataFrame:
    """One record per window of every size: the shrunk and the raw interval's
    verdicts, and (from 30 tasks) the place's and the claim's."""
    sizes = PERSON_SIZES if ctx.full else QUICK_PERSON_SIZES
    key = ("person windows", sizes)
    if key in ctx.cache:
        return ctx.cache[key]
    real = data(ctx)
    records = []
    for dataset in DATASETS:
        for person, x, buckets, weeks in real.people(dataset):
            cut = {n: realdata.windows(x, buckets, weeks, n) for n in sizes}
            if all(w is None for w in cut.values()):
                continue
            group = real.person_group(dataset, person)
            table = real.reference_without(dataset, [person])
            values = _person_drift(ctx, dataset, person)
            whole = real.whole_mix(dataset, person)
            for w in cut.values():
                if w is None:
                    continue
                records += _score_windows(dataset, person, w, group, table, values, whole)
    out = pd.DataFrame(records)
    ctx.cache[key] = out
    return out


def _score_windows(dataset, person, w, group, table, values, whole) -> list[dict]:
    n = np.full(w.sums.size, float(w.n))
    group_n, group_sum = group.span(w.first_week, w.last_week)
    fallback = np.array([table.median_m(mix) for mix in w.mix])
    prior = metrics.prior_malr(group_n, group_sum, fallback)
    drift_var = drift.person_drift(n, values)
    m_s, low, high = metrics.interval_m(
        n, w.sums, w.squares, prior, drift_var, group_prior=metrics.from_group(group_n)
    )
    _, raw_low, raw_high = metrics.interval_m(n, w.sums, w.squares, None, drift_var)
    score, score_low, score_high = (metrics.score_of_m(v) for v in (m_s, high, low))
    truth_top = 100.0 - table.percentiles(metrics.score_of_m(w.truth), whole)
    records = []
    for i in range(w.sums.size):
        record = {
            "dataset": dataset,
            "person": person,
            "n": w.n,
            "hit": bool(low[i] <= w.truth[i] <= high[i]),
            "raw_hit": bool(raw_low[i] <= w.truth[i] <= raw_high[i]),
            "below": bool(w.truth[i] < low[i]),
            "holds": None,
            "claim": None,
            "claim_true": None,
        }
        place = table.place(
            float(score[i]), float(score_low[i]), float(score_high[i]), w.n, w.mix[i]
        )
        if place is not None:
            truth = float(truth_top[i])
            slack = 1e-9
            record["holds"] = place["top_best"] - slack <= truth <= place["top_worst"] + slack
            record["claim"] = place["claim"]
            if place["claim"] is not None:
                record["claim_true"] = truth <= place["claim"] + slack
        records.append(record)
    return records


def _subsets(frame: pd.DataFrame):
    for dataset in (*DATASETS, "both"):
        chosen = frame if dataset == "both" else frame[frame["dataset"] == dataset]
        yield dataset, chosen


def _people(frame: pd.DataFrame) -> int:
    return int(frame[["dataset", "person"]].drop_duplicates().shape[0])


@row("person-interval", quick=True)
def person_interval(ctx: Context) -> list[Line]:
    """The person's score interval (90%, shrunk as the headline shows it) holds
    the truth, 0.85-0.95; and the raw interval the rank table shows."""
    if not realdata.present():
        return []
    frame = person_windows(ctx)
    lines = []
    for column, statement in (
        ("hit", "person's score interval (90%) holds the truth"),
        ("raw_hit", "person's raw score interval (90%, the rank table's) holds the truth"),
    ):
        for n in sorted(frame["n"].unique()):
            for dataset, chosen in _subsets(frame[frame["n"] == n]):
                if chosen.empty:
                    continue
                lines.append(
                    Line(
                        statement,
                        f"{n}",
                        "90% (0.85-0.95)",
                        0.85,
                        0.95,
                        float(chosen[column].mean()),
                        len(chosen),
                        data=dataset,
                        detail=f"{_people(chosen)} people",
                    )
                )
    return lines


@row("person-own-coverage")
def person_own_coverage(ctx: Context) -> list[Line]:
    """People with 20+ windows of 30 tasks whose own coverage is under 0.70: at most 15%."""
    if not realdata.present():
        return []
    frame = person_windows(ctx)
    frame = frame[frame["n"] == 30]
    lines = []
    for dataset, chosen in _subsets(frame):
        own = chosen.groupby(["dataset", "person"])["hit"].agg(["size", "mean"])
        own = own[own["size"] >= 20]
        if own.empty:
            continue
        low = int((own["mean"] < 0.70).sum())
        lines.append(
            Line(
                "people with 20+ windows of 30 whose own coverage is under 0.70",
                "30",
                "at most 15%",
                None,
                0.15,
                low / len(own),
                len(own),
                data=dataset,
                minimum=1,
                detail=f"{low} of {len(own)} people; lowest {own['mean'].min():.2f}",
            )
        )
    return lines


@row("team-interval")
def team_interval(ctx: Context) -> list[Line]:
    """The team's score interval (90%), CESAW teams: 0.85-0.95."""
    if not realdata.present():
        return []
    real = data(ctx)
    records = []
    for team, x, buckets, weeks, who in real.teams():
        cut = {n: realdata.windows(x, buckets, weeks, n, who) for n in TEAM_SIZES}
        if all(w is None for w in cut.values()):
            continue
        values = real.team_drift_without(team)
        group = real.team_group(team)
        table = real.reference_without("CESAW", list(np.unique(who)))
        for n, w in cut.items():
            if w is None:
                continue
            sizes = np.full(w.sums.size, float(n))
            group_n, group_sum = group.span(w.first_week, w.last_week)
            fallback = np.array([table.median_m(mix) for mix in w.mix])
            prior = metrics.prior_malr(group_n, group_sum, fallback)
            drift_var = np.array([drift.team_drift(counts, values) for counts in w.counts])
            _, low, high = metrics.interval_m(
                sizes, w.sums, w.squares, prior, drift_var, group_prior=metrics.from_group(group_n)
            )
            for i in range(w.sums.size):
                records.append({"team": team, "n": n, "hit": low[i] <= w.truth[i] <= high[i]})
    frame = pd.DataFrame(records)
    return [
        Line(
            "team's score interval (90%) holds the truth",
            f"{n:,}",
            "90% (0.85-0.95)",
            0.85,
            0.95,
            float(chosen["hit"].mean()),
            len(chosen),
            data="CESAW teams",
            detail=f"{chosen['team'].nunique()} teams",
        )
        for n, chosen in frame.groupby("n", sort=True)
    ]


@row("reference-place")
def reference_place(ctx: Context) -> list[Line]:
    """The place range among real developers holds the truth: at least 0.85."""
    if not realdata.present():
        return []
    frame = person_windows(ctx)
    lines = []
    for n in PLACE_SIZES:
        for dataset, chosen in _subsets(frame[(frame["n"] == n) & frame["holds"].notna()]):
            if chosen.empty:
                continue
            lines.append(
                Line(
                    "reference place range holds the truth",
                    f"{n}",
                    "at least 0.85",
                    0.85,
                    None,
                    float(chosen["holds"].astype(bool).mean()),
                    len(chosen),
                    data=dataset,
                )
            )
    return lines


@row("claims")
def claims(ctx: Context) -> list[Line]:
    """ "In the top X%" claims that are true, all X together: at least 0.80."""
    if not realdata.present():
        return []
    frame = person_windows(ctx)
    lines = []
    for n in CLAIM_SIZES:
        for dataset, chosen in _subsets(frame[frame["n"] == n]):
            made = chosen[chosen["claim"].notna()]
            by_level = ", ".join(
                f"{level}%: {int(made.loc[made['claim'] == level, 'claim_true'].sum())}"
                f"/{int((made['claim'] == level).sum())}"
                for level in rules.CLAIM_LEVELS
            )
            lines.append(
                Line(
                    '"in the top X%" claims that are true',
                    f"{n}",
                    "at least 0.80",
                    0.80,
                    None,
                    float(made["claim_true"].astype(bool).mean()) if len(made) else None,
                    len(made),
                    data=dataset,
                    minimum=MIN_CLAIMS,
                    detail=f"{len(chosen):,} windows; {by_level}",
                )
            )
    return lines
