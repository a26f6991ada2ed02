"""Numbers in words (:func:`factor`, :func:`percent`, :func:`count`), tables for
people (80 columns), and JSON and CSV for programs.

CSV cells that a spreadsheet would run as a formula are neutralised with a
leading apostrophe (OWASP "CSV injection"); :func:`csv_unescape` takes it off
again so that an export imports back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def csv_escape(value: Any) -> Any:
    """Prefix a text cell that starts like a formula with an apostrophe."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def csv_unescape(value: str) -> str:
    """Undo :func:`csv_escape` (for import)."""
    if _ESCAPED.match(value):
        return value[1:]
    return value


def to_csv(rows: Iterable[dict], columns: Sequence[str]) -> str:
    import io

    buffer = io.StringIO()
    write_csv(buffer, rows, columns)
    return buffer.getvalue()


def write_csv(handle, rows: Iterable[dict], columns: Sequence[str]) -> int:
    import csv

    writer = csv.writer(handle, lineterminator="\n")
    quoted = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    count = 0
    for row in rows:
        cells = [csv_escape(_csv_value(row.get(column))) for column in columns]
        # Python's writer quotes a lone CR only when the line terminator has one:
        # such a row is written fully quoted, so that readers keep it whole.
        if any(isinstance(cell, str) and "\r" in cell for cell in cells):
            quoted.writerow(cells)
        else:
            writer.writerow(cells)
        count += 1
    return count


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def factor(value: float | None) -> str:
    """A ratio as people read it: ``1.3x``; two decimals when one would round a
    real difference to ``1.0x``; ``-`` for none."""
    if value is None:
        return "-"
    shown = f"{value:.1f}"
    if shown == "1.0" and abs(value - 1.0) >= 0.005:
        shown = f"{value:.2f}"
    return shown + "x"


def percent(share: float | None) -> str:
    """A share as a whole percentage: ``42%``; ``-`` for none."""
    return "-" if share is None else f"{share * 100:.0f}%"


def count(n: int, word: str, plural: str | None = None) -> str:
    """``1 task``, ``1,204 tasks``: a number and its noun, plural unless one."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def to_json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


class Column:
    """A table column; ``width`` 0 takes the room the others leave."""

    __slots__ = ("align", "header", "key", "width")

    def __init__(self, key: str, header: str, width: int = 0, align: str = "<"):
        self.key, self.header, self.width, self.align = key, header, width, align


def render_table(rows: Sequence[dict], columns: Sequence[Column], width: int = 80) -> str:
    """Fixed columns, one flexible (width 0) that takes the remaining room and
    truncates with an ellipsis."""
    fixed = sum(c.width for c in columns if c.width) + 2 * (len(columns) - 1)
    flexible = max(10, width - fixed)
    widths = [c.width or flexible for c in columns]
    lines = ["  ".join(_cell(c.header, w, c.align) for c, w in zip(columns, widths, strict=True))]
    for row in rows:
        cells = (
            _cell(str(row.get(c.key) if row.get(c.key) is not None else ""), w, c.align)
            for c, w in zip(columns, widths, strict=True)
        )
        lines.append("  ".join(cells).rstrip())
    return "\n".join(line.rstrip() for line in lines)


def _cell(text: str, width: int, align: str) -> str:
    text = " ".join(text.split())  # no newlines or tabs inside a cell
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return f"{text:{align}{width}}"
