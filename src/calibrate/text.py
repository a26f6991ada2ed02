"""Numbers in words (:func:`factor`, :func:`percent`, :func:`count`), tables for
people (80 columns), and JSON and CSV for programs.

CSV cells that a spreadsheet would run as a formula are neutralised with a
leading apostrophe (OWASP "CSV injection"); :func:`csv_unescape` takes it off
again so that an export imports back unchanged.

Text meant for people passes :func:`printable`, the one helper that shows
terminal control characters escaped (``\\x1b``): a title from an import must
not write to the clipboard (OSC 52) or erase the line it is on. JSON, CSV and
JSON Lines keep the data exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

#: The characters a terminal acts on instead of showing: C0 controls, DEL, C1
#: controls (a lone CSI), the bidi marks, embeddings, overrides and isolates,
#: and the Unicode line and paragraph separators. A pattern's text: ``re``
#: compiles it on first use (and keeps it), not when ``add`` starts; so are the
#: two below.
CONTROLS = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with every terminal control character (:data:`CONTROLS`)
    written as its escape (``\\x1b``, ``\\u202e``); ``newlines``: keep
    ``\\n`` (notes shown on lines of their own). Every other character,
    wide, combining or joining, is kept."""
    if text.isascii() and text.isprintable():
        return text
    return re.sub(CONTROLS, _escape_newlines if not newlines else _escape_but_newline, text)


def _escape_newlines(found: re.Match[str]) -> str:
    return found.group().encode("unicode_escape").decode("ascii")


def _escape_but_newline(found: re.Match[str]) -> str:
    char = found.group()
    return char if char == "\n" else char.encode("unicode_escape").decode("ascii")


_FORMULA = r"^'*[=+\-@\t\r]"
_ESCAPED = r"^'+[=+\-@\t\r]"


def csv_escape(value: Any) -> Any:
    """Prefix a text cell that starts like a formula with an apostrophe."""
    if isinstance(value, str) and re.match(_FORMULA, value):
        return "'" + value
    return value


def csv_unescape(value: str) -> str:
    """Undo :func:`csv_escape` (for import)."""
    if re.match(_ESCAPED, value):
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
    """A table column; ``width`` 0 takes the room the others leave.

    A right-aligned column holds numbers and durations, which are never cut:
    it widens to its widest cell. ``paint`` (optional) styles a cell once it
    is padded: ``paint(padded_text, row) -> text`` (colour, for a terminal).
    """

    __slots__ = ("align", "header", "key", "paint", "width")

    def __init__(
        self,
        key: str,
        header: str,
        width: int = 0,
        align: str = "<",
        paint: Callable[[str, dict], str] | None = None,
    ):
        self.key, self.header, self.width, self.align = key, header, width, align
        self.paint = paint


def render_table(rows: Sequence[dict], columns: Sequence[Column], width: int = 80) -> str:
    """Fixed columns, one flexible (width 0) that takes the remaining room and
    truncates with an ellipsis. Widths are what a terminal shows (a Chinese
    character or an emoji takes two columns), not code points."""
    texts = [
        [_one_line(str(row.get(c.key)) if row.get(c.key) is not None else "") for c in columns]
        for row in rows
    ]
    widths = []
    for index, column in enumerate(columns):
        fixed = column.width
        if fixed and column.align == ">":  # numbers are never cut
            fixed = max([fixed, *(display_width(cells[index]) for cells in texts)])
        widths.append(fixed)
    taken = sum(widths) + 2 * (len(columns) - 1)
    flexible = max(10, width - taken)
    widths = [w or flexible for w in widths]
    lines = ["  ".join(_cell(c.header, w, c.align) for c, w in zip(columns, widths, strict=True))]
    for row, cells in zip(rows, texts, strict=True):
        shown = []
        for column, text, cell_width in zip(columns, cells, widths, strict=True):
            padded = _cell(text, cell_width, column.align)
            if column.paint is not None and text:
                padded = column.paint(padded, row)
            shown.append(padded)
        lines.append("  ".join(shown).rstrip())
    return "\n".join(line.rstrip() for line in lines)


def _one_line(text: str) -> str:
    """A cell: no newlines or tabs inside it, and no terminal controls."""
    return printable(" ".join(text.split()))


def _cell(text: str, width: int, align: str) -> str:
    """``text`` cut (with an ellipsis) and padded to ``width`` terminal columns."""
    text = _one_line(text)
    shown = display_width(text)
    if shown > width:
        text = clip(text, width)
        shown = display_width(text)
    pad = " " * max(0, width - shown)
    return pad + text if align == ">" else text + pad


# --- the width of text on a terminal ----------------------------------------------

#: Zero-width joiner and variation selector 16 (which makes the character
#: before it an emoji, two columns wide).
_ZWJ, _VS16 = "\u200d", "\ufe0f"


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: east Asian wide and fullwidth
    characters (Chinese, Japanese, Korean, most emoji) take two, combining
    marks and zero-width characters none."""
    if text.isascii():
        return len(text)
    return sum(_char_widths(text))


def _char_widths(text: str) -> list[int]:
    import unicodedata

    widths: list[int] = []
    joined = False
    for char in text:
        if char == _VS16:
            if widths and widths[-1] == 1:
                widths[-1] = 2
            widths.append(0)
            continue
        if char == _ZWJ:
            joined = True
            widths.append(0)
            continue
        if joined:  # the next part of an emoji sequence: drawn as one
            joined = False
            widths.append(0)
            continue
        category = unicodedata.category(char)
        if category in ("Mn", "Me", "Cf") or unicodedata.combining(char):
            widths.append(0)
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            widths.append(2)
        else:
            widths.append(1)
    return widths


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` terminal columns, ending in an
    ellipsis when cut (never halfway through a wide character)."""
    if display_width(text) <= width:
        return text
    if width <= 0:
        return ""
    room = width - 1  # the ellipsis
    if text.isascii():
        return text[:room] + "…"
    out = []
    used = 0
    for char, size in zip(text, _char_widths(text), strict=True):
        if used + size > room:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def fit(text: str, width: int, align: str = "<") -> str:
    """``text`` clipped and padded to exactly ``width`` terminal columns."""
    return _cell(text, width, align)


# --- flat rows for CSV ------------------------------------------------------------


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested JSON object as one flat CSV row: nested objects' keys joined
    with dots (``reference.top_percent``); lists of plain values kept (CSV
    joins them with commas); lists of objects left out (tables of their own)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, name + "."))
        elif isinstance(item, list | tuple):
            if not any(isinstance(element, Mapping | list | tuple) for element in item):
                flat[name] = list(item)
        else:
            flat[name] = item
    return flat


def flat_columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of ``rows``, in the order they first appear."""
    return list(dict.fromkeys(key for row in rows for key in row))
