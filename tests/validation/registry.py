"""The rows of the coverage suite (METRICS.md section 8), and the one table.

A row is a function registered with :func:`row`: it is given the
:class:`Context` (the full or the quick sizes) and returns :class:`Line` s,
one per size or dataset it covers, each with its statement, nominal, observed
share, count and band. :func:`judge` widens the band by the binomial 90% band
for the line's count and gives the verdict: ``pass``, ``FAIL`` or ``too few``
(under 50 windows, or 30 claims, the line does not count).

Rows live in modules of this package (``rows_scores``, ``rows_simulated``,
``rows_advice``: section 7's backtests and the hint replayed), listed in
:data:`MODULES`, each registering with the same decorator.

    CALIBRATE_VALIDATE=full .venv/bin/pytest -q tests/validation    # make validate

prints the table at the end of the run (``conftest.py``); ``make test`` runs
the rows marked ``quick`` at their quick sizes.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from calibrate.stats.binomial import binomial_band

FULL = os.environ.get("CALIBRATE_VALIDATE", "").strip().lower() == "full"
#: The modules whose rows the suite runs, in the order of the table.
MODULES = (
    "tests.validation.rows_scores",
    "tests.validation.rows_simulated",
    "tests.validation.rows_advice",
)
MIN_WINDOWS = 50
MIN_CLAIMS = 30


@dataclass
class Line:
    """One line of the table: a statement at one size, on one dataset."""

    statement: str
    n: str
    nominal: str
    low: float | None
    high: float | None
    observed: float | None
    count: int
    data: str = ""
    minimum: int = MIN_WINDOWS
    detail: str = ""
    #: Cells pooled into the line (observed, count): each must pass on its own too.
    cells: list[tuple[float, int]] = field(default_factory=list)
    band: tuple[float, float] | None = None
    verdict: str = ""

    @property
    def counts(self) -> bool:
        return self.verdict in ("pass", "FAIL")


@dataclass
class Context:
    """What the rows share: the sizes of this run and a cache of what they load."""

    full: bool = FULL
    cache: dict = field(default_factory=dict)

    def size(self, full: int, quick: int) -> int:
        return full if self.full else quick


@dataclass
class Row:
    key: str
    build: Callable[[Context], list[Line]]
    quick: bool


ROWS: list[Row] = []
#: Every line judged in this run, for the table (conftest.py prints it).
RESULTS: list[Line] = []


def row(key: str, *, quick: bool = False):
    """Register a row: ``quick`` ones also run in ``make test`` (at the quick sizes)."""

    def register(build: Callable[[Context], list[Line]]):
        ROWS.append(Row(key, build, quick))
        return build

    return register


def load_rows() -> list[Row]:
    for name in MODULES:
        importlib.import_module(name)
    return ROWS


def widened(count: int, low: float | None, high: float | None) -> tuple[float, float]:
    """The band from the lower end of the binomial 90% band around ``low`` to
    the upper end of the band around ``high``, for ``count`` windows."""
    lower = 0.0 if low is None else binomial_band(count, low)[0]
    upper = 1.0 if high is None else binomial_band(count, high)[1]
    assert lower is not None and upper is not None
    return lower, upper


def judge(line: Line) -> Line:
    """The line's band widened for its count, and its verdict."""
    if line.count < line.minimum or line.observed is None:
        line.verdict = "too few"
        return line
    line.band = widened(line.count, line.low, line.high)
    inside = line.band[0] - 1e-12 <= line.observed <= line.band[1] + 1e-12
    for observed, count in line.cells:
        low, high = widened(count, line.low, line.high)
        inside &= low - 1e-12 <= observed <= high + 1e-12
    line.verdict = "pass" if inside else "FAIL"
    return line


COLUMNS = ("statement", "data", "n", "nominal", "observed", "count", "band", "result")


def _cells(line: Line) -> list[str]:
    band = "-" if line.band is None else f"{line.band[0]:.3f}-{line.band[1]:.3f}"
    observed = "-" if line.observed is None else f"{line.observed:.3f}"
    result = line.verdict + (f" ({line.detail})" if line.detail else "")
    return [
        line.statement,
        line.data,
        line.n,
        line.nominal,
        observed,
        f"{line.count:,}",
        band,
        result,
    ]


def markdown(lines: list[Line]) -> str:
    """The table as Markdown: one row per line."""
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(_cells(line)) + " |" for line in lines]
    return "\n".join(out)
