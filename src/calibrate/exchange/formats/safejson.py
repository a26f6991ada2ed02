"""JSON from files that may be hostile: every way ``json.loads`` can fail, one
:class:`InputError`.

Python's parser takes anything JSON allows, and some of it breaks what comes
after: an array nested 100,000 deep ends in a ``RecursionError``, an integer of
hundreds of digits in an ``OverflowError`` (or ``ValueError`` past 4,300 digits)
when it becomes a float, ``1e999`` is infinity, and a lone surrogate escape
(``"\\ud800"``) is a string that no UTF-8 file, database or terminal can hold.
:func:`loads` refuses each with one line naming where; every reader of JSON
files (JSON Lines, JSON arrays, Taskwarrior, Timewarrior, team summaries) reads
through it.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable
from types import FrameType
from typing import Any

from calibrate.errors import InputError

#: The most digits an integer in a file may have: 10^30 is beyond every count,
#: id and duration calibrate keeps (ids are 64-bit: 19 digits).
MAX_INT_DIGITS = 30
#: How deep arrays and objects may nest: a task, a record or a summary is
#: three or four levels deep.
MAX_DEPTH = 64
#: The most text a JSON document read whole may hold (a JSON array, a
#: Taskwarrior or Timewarrior export, a team summary): parsed, a document of
#: tiny objects takes some 30 times its size in memory, so this keeps any file
#: under 1 GB. JSON Lines and CSV stream, so they have no such limit.
MAX_DOCUMENT_CHARS = 32 * 1024 * 1024
#: A ``\\ud800``-``\\udfff`` escape: rare, so the parsed value is walked for a
#: lone surrogate only when the text holds one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
#: The frames between the count and the parser (``JSONDecoder.decode``,
#: ``raw_decode``, and the level the parser counts on entry): allowed for.
_PARSER_FRAMES = 3


class _Refused(ValueError):
    """A value the hooks refuse; its message is the reason."""


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"a number of {digits:,} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"a number out of range ({text[:40]})")
    return value


def _parse_constant(name: str) -> float:
    raise _Refused(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)


def loads(text: str, where: str = "") -> Any:
    """``json.loads(text)``, refusing what would break later with an
    :class:`InputError` that starts with ``where`` (``"line 3"``, a file's name).
    A syntax error is raised as ``json.JSONDecodeError`` (a ``ValueError``),
    as ``json.loads`` raises it, for the caller to word."""
    prefix = f"{where}: " if where else ""
    try:
        if text.count("[") + text.count("{") <= MAX_DEPTH:  # cannot nest too deep: as it is
            value = _DECODER.decode(text)
        else:
            value = _decode_shallow(text)
    except _Refused as error:
        raise InputError(f"{prefix}{error}") from None
    except RecursionError:
        raise InputError(f"{prefix}arrays or objects nested more than {MAX_DEPTH} deep") from None
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # e.g. Python's limit on the digits of an integer
        raise InputError(f"{prefix}{error}") from None
    if _SURROGATE_ESCAPE.search(text):
        bad = _lone_surrogate(value)
        if bad is not None:
            raise InputError(
                f"{prefix}text with a lone surrogate escape ('{bad}' is not a character)"
            )
    return value


def whole(lines: Iterable[str], name: str) -> str:
    """The lines of a document read whole, joined; an :class:`InputError`
    once they pass :data:`MAX_DOCUMENT_CHARS` (read no further)."""
    parts, size = [], 0
    for line in lines:
        size += len(line)
        if size > MAX_DOCUMENT_CHARS:
            raise InputError(
                f"{name} holds over {MAX_DOCUMENT_CHARS // 2**20} MB of JSON read whole "
                "(a JSON array, a Taskwarrior or Timewarrior export, a summary): split it, "
                "or use JSON Lines, which stream"
            )
        parts.append(line)
    return "".join(parts)


def _decode_shallow(text: str) -> Any:
    """The parsed text, with Python's recursion limit set :data:`MAX_DEPTH`
    levels above the caller for the time of the parse: the C parser counts each
    array and object it enters against it, so deeper nesting is a
    ``RecursionError`` at once, and nothing deeper ever reaches code that
    recurses (``repr``, ``json.dumps``). Linear, and free for shallow files."""
    frame: FrameType | None = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + MAX_DEPTH + _PARSER_FRAMES)
    try:
        return _DECODER.decode(text)
    finally:
        sys.setrecursionlimit(limit)


def _lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) holding a lone surrogate, escaped; ``None``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as error:
                    return item[error.start].encode("utf-8", "backslashreplace").decode()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
