"""The one door: everything that arrives by merge or as a team summary is
checked here before anything is stored (PRODUCT.md law 5).

- **Records of a history** (the shape :mod:`calibrate.store.state` reads and
  joins): tasks, timer intervals, re-estimates, aliases, opt-outs and
  tombstones, read from another database (``merge``) or from the lines of a
  calibrate export (``import``: :func:`export_line` turns a JSON line into
  such a record first). :func:`record` checks one: a task gets the checks
  ``add`` applies (:func:`calibrate.store.tasks.check_task_values`, a title, a
  person in the one spelling of :func:`~calibrate.store.names.clean_name`, a
  known status) and the types a file or a database may get wrong; stamps
  and times are checked for their form, never against the clock (clocks
  differ between machines). A merged record is let through unchanged or
  refused, never altered, so that merges still agree in any order.
- **A team summary**: its header (a problem there refuses the whole file,
  :class:`InputError`), then each people entry and week row (:func:`summary`):
  a row that cannot be (counts that contradict each other, sums impossible
  for their count, a week after tomorrow: the one check against the clock)
  is refused with one line, and the others are kept.

Every check raises :class:`Refused` naming the problem in one line;
:class:`Door` lets records through and keeps a line per refusal. The door is
this package, imported as one module: its checks of a history's records live
in :mod:`.records`, those of a summary in :mod:`.summaries` (each under 600
lines); nothing else in calibrate checks what arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from calibrate.exchange.validate.records import (
    KINDS,
    Refused,
    export_line,
    record,
    stamp,
)
from calibrate.exchange.validate.summaries import (
    MAX_WEEK_N,
    SUMMARY_FORMAT,
    CheckedSummary,
    WeekRow,
    possible,
    summary,
    week_row,
)

__all__ = [
    "KINDS",
    "MAX_WEEK_N",
    "SHOWN_REFUSALS",
    "SUMMARY_FORMAT",
    "CheckedSummary",
    "Door",
    "Refused",
    "WeekRow",
    "export_line",
    "possible",
    "record",
    "stamp",
    "summary",
    "week_row",
]

#: How many refusals a command prints one line each (``--json`` lists them all).
SHOWN_REFUSALS = 50


@dataclass
class Door:
    """Records in, valid records out: one line per record refused (the first
    :data:`SHOWN_REFUSALS` kept for printing, all counted)."""

    refused: int = 0
    lines: list[str] = field(default_factory=list)

    def refuse(self, line: str) -> None:
        self.refused += 1
        self.lines.append(line)

    def admit(self, kind: str) -> Callable[[Any], bool]:
        """A check of records of ``kind`` for a join to ask before it stores
        one (:data:`calibrate.store.state.Admit`): ``True`` lets it in, a
        refusal is kept as a line."""

        def check(item: Any) -> bool:
            try:
                record(kind, item)
            except Refused as why:
                reason = str(why).removeprefix(f"{kind}: ")
                self.refuse(f"refused {kind} {_name_of(kind, item)}: {reason}")
                return False
            return True

        return check

    def shown(self) -> list[str]:
        """The lines a command prints: the first ones, then how many more."""
        out = self.lines[:SHOWN_REFUSALS]
        if self.refused > len(out):
            out.append(f"and {self.refused - len(out):,} more refused (--json lists them all)")
        return out


def _name_of(kind: str, item: Any) -> str:
    key = {"alias": "alias", "person": "name"}.get(kind, "uid")
    value = item.get(key) if isinstance(item, Mapping) else None
    return repr(value)[:60]
