"""The reference population: real developers a score is placed among.

"Top 5% at estimating your own work" needs a yardstick outside your own team.
The package ships a small table of figures, ``calibrate/reference/reference.json``,
computed by ``scripts/build_reference.py`` from two public datasets (CESAW and
SiP, see the table's ``datasets``) with :func:`developer_table`: per developer
with 30+ counted tasks, n and the sum and sum of squares of |clip(r)|, overall
and per size bucket (a bucket of fewer than 5 tasks is left out: it falls back
to the developer's overall m, so no single task's figure is shipped), with
attribution. Never the raw data.

A place (METRICS.md section 5) compares like with like: each developer's m is
re-weighted to the person's own mix of the six size buckets (each bucket's m
shrunk toward the developer's overall m with weight n_b / (n_b + 10)), and the
place is a *range*, the percentiles of the ends of the person's 90% interval,
with the most likely place the percentile of the score itself; "in the top X%"
is claimed only when the whole range lies inside it (:meth:`Reference.place`).

The table is read with :mod:`importlib.resources`, so it is found inside an
installed package (a wheel, a zip) as well as in the source tree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.errors import DatabaseError
from calibrate.stats.ranks import Position

__all__ = ["Position", "Reference", "describe", "load"]

PACKAGE = "calibrate.reference"
RESOURCE = ("reference.json",)
BUCKETS = len(rules.SIZE_LABELS)


@dataclass(frozen=True)
class Reference:
    """The real developers: per developer n, the sums of |clip(r)| overall and
    per size bucket (NaN where a bucket is held back), and their dataset."""

    n_tasks: np.ndarray
    sum_abs: np.ndarray
    sum_sq: np.ndarray
    bucket_n: np.ndarray
    bucket_sum: np.ndarray
    dataset: np.ndarray
    datasets: tuple[dict, ...] = ()
    score_version: int = rules.SCORE_VERSION
    min_tasks: int = rules.RANKED_N
    attribution: str = ""
    early_median: float | None = None
    advice_spread: dict | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return int(self.n_tasks.size)

    @property
    def malr(self) -> np.ndarray:
        """Each developer's overall m."""
        return self.sum_abs / self.n_tasks

    @property
    def scores(self) -> tuple[float, ...]:
        """Each developer's raw whole-history score, sorted (for charts)."""
        if "scores" not in self._cache:
            raw = 100.0 * np.exp2(-self.malr)
            self._cache["scores"] = tuple(
                sorted(round(float(s), rules.COMPARE_DECIMALS) for s in raw)
            )
        return self._cache["scores"]

    def source(self) -> str:
        """``CESAW 200, SiP 14``: the datasets and how many developers each."""
        names, counts = np.unique(self.dataset, return_counts=True)
        order = [d["name"] for d in self.datasets] or sorted(names.tolist())
        count_of = dict(zip(names.tolist(), counts.tolist(), strict=True))
        return ", ".join(f"{name} {count_of[name]}" for name in order if name in count_of)

    def bucket_m(self) -> np.ndarray:
        """(developers x 6) each bucket's m, shrunk toward the developer's
        overall m with weight n_b / (n_b + 10); the overall m where the bucket
        is held back (fewer than 5 tasks)."""
        if "bucket_m" not in self._cache:
            overall = self.malr[:, None]
            n_b, s_b = self.bucket_n, self.bucket_sum
            usable = np.isfinite(s_b) & (n_b >= rules.REFERENCE_BUCKET_MIN)
            shrunk = (np.where(usable, s_b, 0.0) + rules.REFERENCE_BUCKET_N0 * overall) / (
                np.where(usable, n_b, 0.0) + rules.REFERENCE_BUCKET_N0
            )
            self._cache["bucket_m"] = np.where(usable, shrunk, overall)
        return self._cache["bucket_m"]

    def matched_m(self, mix: Sequence[float] | np.ndarray | None) -> np.ndarray:
        """Each developer's m re-weighted to ``mix`` (counts or shares of the
        six size buckets); their overall m without a mix."""
        if mix is None:
            return self.malr
        weights = np.asarray(mix, dtype=float).reshape(-1)
        if weights.size != BUCKETS or not weights.sum() > 0:
            return self.malr
        return self.bucket_m() @ (weights / weights.sum())

    def median_m(self, mix=None) -> float | None:
        """The median m of the developers, size-matched to ``mix``: the prior
        of a score whose comparison group is too small."""
        if not self.n:
            return None
        return float(np.median(self.matched_m(mix)))

    def percentile(self, raw_score: float, mix=None) -> float:
        """Mid-rank percentile of a score among the developers' scores
        (size-matched to ``mix``): 100 * (below + 0.5 * equal) / N."""
        return float(self.percentiles([raw_score], mix)[0])

    def percentiles(self, scores, mix=None) -> np.ndarray:
        population = np.minimum(100.0 * np.exp2(-self.matched_m(mix)), rules.SCORE_MAX)
        return rules.midrank_percentiles(scores, population)

    def place(
        self,
        score: float | None,
        low: float | None,
        high: float | None,
        n_tasks: int,
        mix=None,
    ) -> Position | None:
        """Where a score and its 90% interval stand among the real developers,
        for anyone with 30+ tasks (``None`` otherwise, or without a score).

        The range is the percentiles of the interval's ends, size-matched to
        ``mix`` (the person's counts per size bucket); the most likely place
        the percentile of ``score``; ``claim`` the smallest X of 5, 10, 25, 50
        whose top X% holds the whole range (:func:`rules.claim_for`)."""
        if score is None or low is None or high is None or n_tasks < self.min_tasks:
            return None
        if not self.n:
            return None
        likely, worst, best = self.percentiles([score, low, high], mix).tolist()
        top_worst = rules.top_percent(worst)
        return {
            "percentile": likely,
            "top_percent": rules.top_percent(likely),
            "top_best": rules.top_percent(best),
            "top_worst": top_worst,
            "claim": rules.claim_for(top_worst),
            "n": self.n,
            "source": self.source(),
        }

    def position(self, raw_score: float | None, n_tasks: int) -> Position | None:
        """A score without an interval (a point): its place, range of one point."""
        return self.place(raw_score, raw_score, raw_score, n_tasks)

    def threshold_m(self, claim: int, mix=None) -> float | None:
        """The m a score must stay under to stand in the top ``claim``% (the
        (100 - claim)th percentile of the developers' scores, size-matched)."""
        if not self.n:
            return None
        matched = np.sort(self.matched_m(mix))
        # top X% <= claim  <=>  fewer than claim% of the developers score higher
        # (mid-rank: below + equal / 2 >= (1 - claim/100) N).
        k = int(np.floor(claim / 100.0 * self.n))
        return float(matched[k]) if k < matched.size else None

    def without(self, keep: np.ndarray) -> Reference:
        """The table restricted to the developers where ``keep`` is true (the
        coverage suite leaves the tested person out)."""
        keep = np.asarray(keep, dtype=bool)
        return Reference(
            n_tasks=self.n_tasks[keep],
            sum_abs=self.sum_abs[keep],
            sum_sq=self.sum_sq[keep],
            bucket_n=self.bucket_n[keep],
            bucket_sum=self.bucket_sum[keep],
            dataset=self.dataset[keep],
            datasets=self.datasets,
            score_version=self.score_version,
            min_tasks=self.min_tasks,
            attribution=self.attribution,
            early_median=self.early_median,
        )


# --- building the table (scripts/build_reference.py, the coverage suite) ------------


def developer_table(people, estimate_h, actual_h, min_tasks: int = rules.RANKED_N) -> pd.DataFrame:
    """Per developer with ``min_tasks``+ counted tasks: ``n``, ``sum_abs``,
    ``sum_sq`` of |clip(r)|, ``early`` (share with r < -0.01), and per size
    bucket b ``n{b}``, ``sum{b}``, ``sq{b}`` (NaN sums for a bucket held back:
    under 5 tasks). Indexed by developer, sorted."""
    from calibrate.stats import metrics

    e = np.asarray(estimate_h, dtype=float)
    a = np.asarray(actual_h, dtype=float)
    r = metrics.log_ratio(e, a)
    ok = np.isfinite(r)
    x = metrics.clipped_abs(r[ok])
    frame = pd.DataFrame(
        {
            "who": np.asarray(people, dtype=object)[ok],
            "bucket": rules.size_buckets(e[ok]),
            "x": x,
            "sq": x * x,
            "early": rules.under_mask(r[ok]),
        }
    )
    overall = frame.groupby("who", sort=True).agg(
        n=("x", "size"), sum_abs=("x", "sum"), sum_sq=("sq", "sum"), early=("early", "mean")
    )
    overall = overall[overall["n"] >= min_tasks]
    by_bucket = frame[frame["who"].isin(overall.index)].groupby(["who", "bucket"], sort=True)
    sums = by_bucket.agg(n=("x", "size"), total=("x", "sum"), sq=("sq", "sum"))
    for b in range(BUCKETS):
        part = sums.xs(b, level="bucket") if b in sums.index.get_level_values(1) else None
        n_b = part["n"].reindex(overall.index).fillna(0).astype(int) if part is not None else 0
        overall[f"n{b}"] = n_b
        for column, name in (("total", "sum"), ("sq", "sq")):
            overall[f"{name}{b}"] = (
                part[column].reindex(overall.index)
                if part is not None
                else pd.Series(np.nan, index=overall.index)
            )
    counts = overall[[f"n{b}" for b in range(BUCKETS)]].to_numpy(dtype=int)
    held = held_back(counts)
    for b in range(BUCKETS):
        for name in ("sum", "sq"):
            overall[f"{name}{b}"] = overall[f"{name}{b}"].where(~held[:, b])
    return overall


def held_back(counts: np.ndarray) -> np.ndarray:
    """Which size buckets of each developer are held back, from their counts
    (developers x 6): every bucket of 1 to 4 tasks, and then, while the
    held-back tasks of a developer total 1 to 4, the smallest bucket still
    shipped (the lowest size on a tie). The overall sums minus the shipped
    buckets' are the held-back tasks' sums, so they too must describe 0 or at
    least 5 tasks: no single task's figure can be worked out by subtraction."""
    counts = np.asarray(counts, dtype=int)
    held = (counts > 0) & (counts < rules.REFERENCE_BUCKET_MIN)
    for i in range(counts.shape[0]):
        while 0 < counts[i][held[i]].sum() < rules.REFERENCE_BUCKET_MIN:
            shipped = np.flatnonzero(~held[i] & (counts[i] > 0))
            if shipped.size == 0:
                break
            held[i, shipped[np.argmin(counts[i][shipped])]] = True
    return held


def advice_spread(people, estimate_h, actual_h) -> dict:
    """The reference spread of METRICS.md section 7: per size bucket, the
    quantiles of r at p = 0.01, ..., 0.99 (:data:`calibrate.rules.SPREAD_LEVELS`)
    over the real developers' counted tasks there, each developer with 5+
    tasks in the bucket weighing 1 in total (1/n_b a task); the quantile at p
    is the smallest r whose cumulative weight reaches p. ``people`` are
    developer ids unique across datasets. Returns ``{label: {"developers",
    "tasks", "quantiles"}}``, r rounded to 4 decimals."""
    from calibrate.stats import metrics

    e = np.asarray(estimate_h, dtype=float)
    r = metrics.log_ratio(e, np.asarray(actual_h, dtype=float))
    ok = np.isfinite(r)
    who = np.asarray(people, dtype=object)[ok]
    r, bucket = r[ok], rules.size_buckets(e[ok])
    levels = np.asarray(rules.SPREAD_LEVELS)
    out = {}
    for b, label in enumerate(rules.SIZE_LABELS):
        chosen = bucket == b
        _, inverse, counts = np.unique(who[chosen], return_inverse=True, return_counts=True)
        enough = counts[inverse] >= rules.REFERENCE_BUCKET_MIN
        values = r[chosen][enough]
        weights = 1.0 / counts[inverse][enough]
        order = np.argsort(values, kind="stable")
        cumulative = np.cumsum(weights[order])
        cumulative /= cumulative[-1]
        index = np.searchsorted(cumulative, levels - 1e-12, side="left")
        quantiles = values[order][np.minimum(index, values.size - 1)]
        out[label] = {
            "developers": int((counts >= rules.REFERENCE_BUCKET_MIN).sum()),
            "tasks": int(enough.sum()),
            "quantiles": [round(float(q), 4) + 0.0 for q in quantiles],
        }
    return out


def from_developers(table: pd.DataFrame, dataset: Sequence[str] | np.ndarray, **meta) -> Reference:
    """A :class:`Reference` from :func:`developer_table` rows (and each row's dataset)."""
    bucket_n = np.column_stack([table[f"n{b}"].to_numpy(dtype=float) for b in range(BUCKETS)])
    bucket_sum = np.column_stack([table[f"sum{b}"].to_numpy(dtype=float) for b in range(BUCKETS)])
    return Reference(
        n_tasks=table["n"].to_numpy(dtype=float),
        sum_abs=table["sum_abs"].to_numpy(dtype=float),
        sum_sq=table["sum_sq"].to_numpy(dtype=float),
        bucket_n=bucket_n,
        bucket_sum=bucket_sum,
        dataset=np.asarray(dataset, dtype=object),
        **meta,
    )


# --- the shipped table ------------------------------------------------------------------


def read_text() -> str:
    """The shipped table's text, from the installed package."""
    return resources.files(PACKAGE).joinpath(*RESOURCE).read_text(encoding="utf-8")


def parse(table: dict) -> Reference:
    """A :class:`Reference` from the shipped table's JSON (see ``build_reference.py``)."""
    rows, names = [], []
    for dataset in table["datasets"]:
        for developer in dataset["developers"]:
            rows.append(developer)
            names.append(dataset["name"])
    n_tasks = np.array([row[0] for row in rows], dtype=float)
    bucket_n = np.zeros((len(rows), BUCKETS))
    bucket_sum = np.full((len(rows), BUCKETS), np.nan)
    for i, row in enumerate(rows):
        for b, cell in enumerate(row[3]):
            if cell is not None:
                bucket_n[i, b], bucket_sum[i, b] = cell[0], cell[1]
    return Reference(
        n_tasks=n_tasks,
        sum_abs=np.array([row[1] for row in rows], dtype=float),
        sum_sq=np.array([row[2] for row in rows], dtype=float),
        bucket_n=bucket_n,
        bucket_sum=bucket_sum,
        dataset=np.array(names, dtype=object),
        datasets=tuple(
            {key: value for key, value in dataset.items() if key != "developers"}
            for dataset in table["datasets"]
        ),
        score_version=int(table["score_version"]),
        min_tasks=int(table["min_tasks"]),
        attribution=str(table["attribution"]),
        early_median=table.get("early_median"),
        advice_spread=table.get("advice_spread"),
    )


@lru_cache(maxsize=1)
def load() -> Reference:
    """The reference population shipped with this version of calibrate."""
    try:
        table = json.loads(read_text())
        return parse(table)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise DatabaseError(
            f"the reference table of real developers is missing or damaged ({error}); "
            "reinstall calibrate"
        ) from None


# --- words ----------------------------------------------------------------------------


def format_top(top: float) -> str:
    """A "top X%" share in whole percent (a place among a few hundred
    developers supports no finer figure), at least 1%."""
    return f"{max(1, round(top))}%"


def describe_place(top: float, n: int | None = None) -> str:
    """``their top 12%``, or ``above every one of them`` at the very top (never
    "top 0%"; with ``n``: ``above every one of the 214``)."""
    if top <= rules.BOUND_SLACK:
        return f"above every one of the {n}" if n is not None else "above every one of them"
    return f"their top {format_top(top)}"


def range_words(position: Position) -> str:
    """The range of places: ``between their top 4% and top 31%``, ``from above
    every one of them to their top 43%``, or one place when both ends round alike."""
    best, worst = position["top_best"], position["top_worst"]
    if describe_place(best) == describe_place(worst):
        return describe_place(best)
    if best <= rules.BOUND_SLACK:
        return f"from above every one of them to their top {format_top(worst)}"
    return f"between their top {format_top(best)} and top {format_top(worst)}"


def describe(position: Position | None) -> str | None:
    """The place in words, claim first when the range allows one: ``in the top
    50% of 214 real developers (between their top 4% and top 31%; most likely
    their top 12%)``, else ``among 214 real developers, between ... (most
    likely ...)``."""
    if position is None:
        return None
    n = position["n"]
    likely = describe_place(position["top_percent"])
    inner = range_words(position)
    if position["claim"] is not None:
        claim = position["claim"]
        return f"in the top {claim}% of {n} real developers ({inner}; most likely {likely})"
    return f"among {n} real developers, {inner} (most likely {likely})"
