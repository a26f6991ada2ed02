"""The reference population: per-developer scores of real developers.

"Top 5% at estimating your own work" needs a yardstick outside your own team.
The package ships a small table of figures, ``calibrate/reference/reference.json``,
computed by ``scripts/build_reference.py`` from two public datasets (CESAW and
SiP, see the table's ``datasets``): the sorted raw scores of each developer
with 30+ counted tasks, with attribution. Never the raw data.

The table is read with :mod:`importlib.resources`, so it is found inside an
installed package (a wheel, a zip) as well as in the source tree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TypedDict

from calibrate import rules
from calibrate.errors import DatabaseError

PACKAGE = "calibrate.reference"
RESOURCE = ("reference.json",)


class Position(TypedDict):
    """Where a raw score stands among the real developers (:meth:`Reference.position`)."""

    percentile: float
    top_percent: float
    n: int
    source: str


@dataclass(frozen=True)
class Reference:
    """The shipped table: every developer's raw score, sorted, and where they
    come from."""

    scores: tuple[float, ...]
    datasets: tuple[dict, ...]
    score_version: int
    min_tasks: int
    attribution: str

    @property
    def n(self) -> int:
        return len(self.scores)

    def source(self) -> str:
        """``CESAW 200, SiP 14``: the datasets and how many developers each."""
        return ", ".join(f"{d['name']} {d['people']}" for d in self.datasets)

    def percentile(self, raw_score: float) -> float:
        """Mid-rank percentile of a raw score among the real developers:
        100 * (below + 0.5 * equal) / N (METRICS.md section 5)."""
        return rules.midrank_percentile(float(raw_score), self.scores)

    def position(self, raw_score: float | None, n_tasks: int) -> Position | None:
        """Where a raw score stands among the real developers, for anyone with
        30+ tasks: ``percentile``, ``top_percent``, ``n`` (developers) and
        ``source``; ``None`` without a score or with too few tasks."""
        if raw_score is None or n_tasks < self.min_tasks or not self.n:
            return None
        percentile = self.percentile(raw_score)
        return {
            "percentile": percentile,
            "top_percent": rules.top_percent(percentile),
            "n": self.n,
            "source": self.source(),
        }


def read_text() -> str:
    """The shipped table's text, from the installed package."""
    return resources.files(PACKAGE).joinpath(*RESOURCE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load() -> Reference:
    """The reference population shipped with this version of calibrate."""
    try:
        table = json.loads(read_text())
    except (OSError, ValueError) as error:
        raise DatabaseError(
            f"the reference table of real developers is missing or damaged ({error}); "
            "reinstall calibrate"
        ) from None
    scores = sorted(
        round(float(score), rules.COMPARE_DECIMALS)
        for dataset in table["datasets"]
        for score in dataset["scores"]
    )
    return Reference(
        scores=tuple(scores),
        datasets=tuple(
            {key: value for key, value in dataset.items() if key != "scores"}
            for dataset in table["datasets"]
        ),
        score_version=int(table["score_version"]),
        min_tasks=int(table["min_tasks"]),
        attribution=str(table["attribution"]),
    )


def describe(position: Position | None) -> str | None:
    """``top 12% of 214 real developers``, or ``None``."""
    if position is None:
        return None
    return f"top {format_top(position['top_percent'])} of {position['n']} real developers"


def format_top(top: float) -> str:
    """A "top X%" share as people read it: ``12%``, ``0.5%`` near the very top."""
    if top < 1:
        return f"{top:.1f}%"
    return f"{top:.0f}%"
