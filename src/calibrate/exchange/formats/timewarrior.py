"""Timewarrior's ``timew export``: tracked time, to become timer intervals.

``timew export`` writes a JSON array of intervals, one a line::

    [
    {"id":2,"start":"20261201T083000Z","end":"20261201T100000Z","tags":["cal:12","web"]},
    {"id":1,"start":"20261201T110000Z","tags":["WEB-7"],"annotation":"review"}
    ]

Times are UTC (``YYYYMMDDTHHMMSSZ``); an interval still being tracked has no
``end``. This module only reads the file into :class:`Interval` records, each
with its tags; which task an interval belongs to (a tag such as ``cal:12``, or
a task's key) and storing it as a timer interval is
:mod:`calibrate.exchange.intervals`' job. These are not tasks: ``import`` sends
a Timewarrior file there instead of through the task importer, so
:func:`open_reader` only says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from calibrate.errors import InputError
from calibrate.exchange.formats import ReadOptions, RowStream, TextSource, safejson

#: How Timewarrior writes a moment.
_MOMENT = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")


@dataclass(frozen=True)
class Interval:
    """One tracked interval: its line in the file, its UTC ISO start and end
    (``None`` while it is still being tracked), its tags and annotation."""

    line: int
    start: str
    end: str | None
    tags: tuple[str, ...]
    annotation: str | None = None


def moment(text: object, line: int, what: str) -> str:
    """Timewarrior's ``20261201T083000Z`` as calibrate's ``2026-12-01T08:30:00Z``."""
    found = _MOMENT.match(text) if isinstance(text, str) else None
    if found is None:
        raise InputError(f"line {line}: {what} {text!r} is not a Timewarrior time")
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    try:
        parsed = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise InputError(f"line {line}: {what} {text!r} is not a real time") from None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_intervals(path: Path, name: str, encoding: str | None = None) -> list[Interval]:
    """The intervals of a ``timew export`` file (read whole: such files are
    small), in the file's order. A malformed file or interval raises
    :class:`InputError` naming its line."""
    text = TextSource(path, name, encoding)
    try:
        whole = safejson.whole(text.lines(), name)
    finally:
        text.close()
    if not whole.strip():
        raise InputError(f"{name} is empty: no intervals")
    lines = whole.splitlines()
    try:
        items = safejson.loads(whole, name)
    except json.JSONDecodeError as error:
        raise InputError(
            f"line {error.lineno}: not valid JSON ({error.msg}); expected the output of "
            "'timew export'"
        ) from None
    if not isinstance(items, list):
        raise InputError(f"{name}: expected a JSON array of intervals, as 'timew export' writes")
    starts = _object_lines(lines)
    out = []
    for index, item in enumerate(items):
        line = starts[index] if index < len(starts) else index + 1
        if not isinstance(item, dict):
            raise InputError(f"line {line}: expected an interval (a JSON object)")
        start = moment(item.get("start"), line, "start")
        end = moment(item["end"], line, "end") if item.get("end") is not None else None
        if end is not None and end < start:
            raise InputError(f"line {line}: the interval ends ({end}) before it starts ({start})")
        tags = item.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise InputError(f"line {line}: tags must be a list of text")
        note = item.get("annotation")
        out.append(Interval(line, start, end, tuple(tags), note if isinstance(note, str) else None))
    return out


def _object_lines(lines: list[str]) -> list[int]:
    """The line each interval starts on, for ``timew export``'s one-a-line layout."""
    return [number for number, line in enumerate(lines, start=1) if line.lstrip().startswith("{")]


def open_reader(options: ReadOptions) -> RowStream:
    raise InputError(
        f"{options.name or options.path.name} is a Timewarrior export: intervals, not tasks "
        "('calibrate import' adds them to the tasks their tags name)"
    )
