"""The real data of the coverage suite, as section 8 cuts it into windows.

- **Windows**: each person's counted tasks in done order (ties in file order,
  tasks without a done date dropped: ``scripts/datasets.py``), cut into
  non-overlapping consecutive windows of n tasks, for people with at least n +
  100 counted tasks; a team's the same over the tasks carrying its team.
- **Truth**: the raw m of the person's (team's) other counted tasks; at least
  300 of them.
- **Fitted without the tested**: the drift values (``scripts/fit_drift.py``'s
  windows, refitted with :func:`calibrate.stats.drift.fit_without`) and the
  reference table (:func:`calibrate.reference.developer_table` of both
  datasets, less the tested person's or team's developers).

Each window's interval, prior, place and claim then come from the product's
own functions (:mod:`calibrate.stats.metrics`, :mod:`calibrate.stats.drift`,
:class:`calibrate.reference.Reference`), on arrays.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from calibrate import durations, reference, rules
from calibrate.stats import drift, metrics

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))

import datasets  # noqa: E402  (scripts/, not a package)
import fit_drift  # noqa: E402

#: A window's person needs this many counted tasks beyond it; its truth this many others.
EXTRA_MIN = 100
TRUTH_MIN = 300


def present() -> bool:
    return datasets.present()


def _prepare(tasks: pd.DataFrame) -> pd.DataFrame:
    r = np.log2(tasks["actual_h"].to_numpy(dtype=float) / tasks["estimate_h"].to_numpy(dtype=float))
    out = tasks.copy()
    out["x"] = metrics.clipped_abs(r)
    out["bucket"] = rules.size_buckets(out["estimate_h"].to_numpy(dtype=float))
    out["week"] = durations.week_index(out["done"].to_numpy().astype("datetime64[D]"))
    return out


@dataclass
class Windows:
    """Consecutive windows of one unit (a person or a team), as arrays."""

    n: int
    sums: np.ndarray
    squares: np.ndarray
    mix: np.ndarray  # (windows, 6) counts per size bucket
    first_week: np.ndarray
    last_week: np.ndarray
    truth: np.ndarray  # raw m of the other tasks
    counts: list[np.ndarray] = field(default_factory=list)  # a team's people per window


def windows(x, buckets, weeks, n: int, who=None) -> Windows | None:
    """The non-overlapping windows of n in a unit's tasks (in done order), or
    ``None`` when the unit has too few tasks (n + 100, and 300 others)."""
    total = x.size
    if total < n + EXTRA_MIN or total - n < TRUTH_MIN:
        return None
    k = total // n
    cut = slice(0, k * n)
    block = x[cut].reshape(k, n)
    sums, squares = block.sum(axis=1), (block * block).sum(axis=1)
    mix = np.stack(
        [(buckets[cut].reshape(k, n) == b).sum(axis=1) for b in range(len(rules.SIZE_LABELS))],
        axis=1,
    ).astype(float)
    week_block = weeks[cut].reshape(k, n)
    counts = []
    if who is not None:
        counts = [np.unique(row, return_counts=True)[1] for row in who[cut].reshape(k, n)]
    return Windows(
        n=n,
        sums=sums,
        squares=squares,
        mix=mix,
        first_week=week_block.min(axis=1),
        last_week=week_block.max(axis=1),
        truth=(x.sum() - sums) / (total - n),
        counts=counts,
    )


class WeekSums:
    """Counted tasks and their |clip(r)| summed by week, to sum any span of weeks."""

    def __init__(self, weeks: np.ndarray, x: np.ndarray):
        order = np.argsort(weeks, kind="stable")
        self.weeks = weeks[order]
        self.cum_n = np.arange(self.weeks.size + 1, dtype=float)
        self.cum_x = np.concatenate([[0.0], np.cumsum(x[order])])

    def span(self, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.searchsorted(self.weeks, first, side="left")
        b = np.searchsorted(self.weeks, last, side="right")
        return self.cum_n[b] - self.cum_n[a], self.cum_x[b] - self.cum_x[a]


class RealData:
    """Both datasets, their windows and what is refitted without the tested."""

    def __init__(self) -> None:
        raw = datasets.read_all()
        self.every = raw  # all rows (the reference table counts the undated too)
        self.ordered = {name: _prepare(datasets.in_done_order(t)) for name, t in raw.items()}

    # --- the reference table, and without the tested -----------------------------------

    @cached_property
    def developers(self) -> pd.DataFrame:
        frames = []
        for name, tasks in self.every.items():
            table = reference.developer_table(
                tasks["person"].to_numpy(dtype=object),
                tasks["estimate_h"].to_numpy(dtype=float),
                tasks["actual_h"].to_numpy(dtype=float),
            )
            table.index = pd.MultiIndex.from_product([[name], table.index])
            frames.append(table)
        return pd.concat(frames)

    @cached_property
    def reference(self) -> reference.Reference:
        table = self.developers
        return reference.from_developers(table, table.index.get_level_values(0))

    def reference_without(self, dataset: str, people) -> reference.Reference:
        keys = set(zip([dataset] * len(people), people, strict=True))
        keep = np.array([key not in keys for key in self.developers.index], dtype=bool)
        return self.reference.without(keep)

    # --- the drift, and without the tested ------------------------------------------------

    @cached_property
    def person_terms(self) -> pd.DataFrame:
        order = {name: t for name, t in self.ordered.items()}
        return fit_drift.person_terms(order)["pooled"]

    @cached_property
    def person_fit(self) -> dict:
        return drift.curve_from_terms(self.person_terms, rules.DRIFT_PERSON_SIZES)

    def person_drift_without(self, units) -> drift.Drift:
        fit = drift.fit_without(self.person_terms, units, rules.DRIFT_PERSON_SIZES)
        return drift.Drift(person_tau2=fit["tau2"], person_l=fit["L"])

    @cached_property
    def team_terms(self) -> pd.DataFrame:
        return fit_drift.team_terms(self.ordered["CESAW"], rules.DRIFT_TEAM_SIZES)

    def team_drift_without(self, team: str) -> drift.Drift:
        """The person term without the windows of the team's people; the team
        term refitted without the team's windows, that person term removed."""
        cesaw = self.ordered["CESAW"]
        people = cesaw.loc[cesaw["team"] == team, "person"].unique()
        person = self.person_drift_without([f"CESAW:{p}" for p in people])
        windows = self.team_terms[self.team_terms["unit"] != team]
        windows = drift.minus_person_term(windows, person.person_tau2, person.person_l)
        fit = drift.curve_from_terms(windows, rules.DRIFT_TEAM_SIZES, "d_t")
        return drift.Drift(
            person_tau2=person.person_tau2,
            person_l=person.person_l,
            team_tau2=fit["tau2"],
            team_l=fit["L"],
        )

    # --- whose tasks a prior is made of ---------------------------------------------------

    def person_group(self, dataset: str, person) -> WeekSums:
        """The person's team without them (their team: the team of their most
        recent task); everyone else in a dataset without teams."""
        tasks = self.ordered[dataset]
        mine = tasks["person"].to_numpy(dtype=object) == person
        team = tasks.loc[mine, "team"].iloc[-1]
        group = ~mine
        if team is not None and not pd.isna(team):
            group &= tasks["team"].to_numpy(dtype=object) == team
        return WeekSums(tasks["week"].to_numpy()[group], tasks["x"].to_numpy()[group])

    def team_group(self, team: str) -> WeekSums:
        """Everyone in CESAW but the team."""
        tasks = self.ordered["CESAW"]
        others = tasks["team"].to_numpy(dtype=object) != team
        return WeekSums(tasks["week"].to_numpy()[others], tasks["x"].to_numpy()[others])

    def people(self, dataset: str):
        """(person, x, buckets, weeks) of each person, tasks in done order."""
        tasks = self.ordered[dataset]
        for person, group in tasks.groupby("person", sort=True):
            yield (
                person,
                group["x"].to_numpy(dtype=float),
                group["bucket"].to_numpy(dtype=np.int64),
                group["week"].to_numpy(dtype=np.int64),
            )

    def whole_mix(self, dataset: str, person) -> np.ndarray:
        tasks = self.ordered[dataset]
        buckets = tasks.loc[tasks["person"] == person, "bucket"].to_numpy(dtype=np.int64)
        return np.bincount(buckets, minlength=len(rules.SIZE_LABELS)).astype(float)

    def teams(self):
        """(team, x, buckets, weeks, person per task) of each CESAW team, in done order."""
        tasks = self.ordered["CESAW"]
        for team, group in tasks[tasks["team"].notna()].groupby("team", sort=True):
            yield (
                team,
                group["x"].to_numpy(dtype=float),
                group["bucket"].to_numpy(dtype=np.int64),
                group["week"].to_numpy(dtype=np.int64),
                group["person"].to_numpy(dtype=object),
            )
