"""JSON Lines (one task a line) and JSON arrays: calibrate's own exchange format.

``export --format jsonl`` writes a database's whole replicated history (law
8), one object a line, each with a ``kind``: ``task`` (every field, durations
in hours, times in UTC ISO text, tags a list, with its ``stamps`` and the
``imported`` ledger), ``interval``, ``reestimate``, ``alias``, ``person`` and
``tombstone`` (:mod:`calibrate.store.state` reads them out). ``import`` joins
such lines as they are, so that an export imported into an empty database is
the same history.

A line without ``kind`` (an older export, another tool, a hand-written file)
is a task row: keys are matched to fields like CSV headers (``estimate_h``,
``estimate`` and ``Estimate`` all feed the estimate), and a row speaks only
for the keys it has (a line with ``uid`` and ``estimate`` changes the
estimate alone; an explicit ``null`` clears a field). Its ``updated_at``, if
any, is when it changed.

JSON Lines stream; a JSON array (``--format json``) is read whole and holds
tasks only.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator

from calibrate.errors import InputError
from calibrate.exchange.formats import (
    FIELDS,
    KeyFields,
    RawRow,
    ReadOptions,
    RowStream,
    TextSource,
    file_source_name,
    safejson,
)
from calibrate.exchange.formats.csvfile import SYNONYMS

#: The keys of a JSON task line, as CSV headers are read, and its time of change.
JSON_SYNONYMS = {**SYNONYMS, "updated": ("updatedat", "updated", "modified", "modifiedat")}
#: The kinds of line an export writes besides tasks.
RECORD_KINDS = ("interval", "reestimate", "advice", "chance", "alias", "person", "tombstone")


class JsonLinesStream(RowStream):
    """Rows of a JSON Lines file, or of a JSON array of objects."""

    format_name = "jsonl"

    def __init__(self, options: ReadOptions):
        super().__init__()
        self.options = options
        self.name = options.name or options.path.name
        self.source = file_source_name(options.path)
        self.unit = options.unit or "h"
        self.present = set(FIELDS) - {"key", "uid"}  # each row speaks for the keys it has
        self._text = TextSource(options.path, self.name, options.encoding)
        self.size = self._text.size
        self._fields_for = KeyFields(self.columns, options.mapping, JSON_SYNONYMS, self.name)
        self._array = options.format_name == "json"

    def _objects(self) -> Iterator[tuple[int, object, str]]:
        lines = self._text.lines()
        first = ""
        for first in lines:
            if first.strip():
                break
        else:
            raise InputError(f"{self.name} is empty: no tasks")
        if first.lstrip().startswith("["):
            rest = safejson.whole(itertools.chain([first], lines), self.name)  # read whole
            try:
                items = safejson.loads(rest, self.name)
            except json.JSONDecodeError as error:
                raise InputError(f"line {error.lineno}: not valid JSON ({error.msg})") from None
            if not isinstance(items, list):
                raise InputError(f"{self.name}: expected a JSON array of tasks")
            for number, item in enumerate(items, start=1):
                yield number, item, json.dumps(item, sort_keys=True)
            return
        number = self._text.line_number
        yield from self._parse_line(number, first)
        for line in lines:
            if line.strip():
                yield from self._parse_line(self._text.line_number, line)

    @staticmethod
    def _parse_line(number: int, line: str) -> Iterator[tuple[int, object, str]]:
        try:
            item = safejson.loads(line, f"line {number}")
        except json.JSONDecodeError as error:
            raise InputError(f"line {number}: not valid JSON ({error.msg})") from None
        yield number, item, line.strip()

    def __iter__(self) -> Iterator[RawRow]:
        count = 0
        for number, item, text in self._objects():
            if not isinstance(item, dict):
                raise InputError(f"line {number}: expected a JSON object (a task)")
            count += 1
            kind = item.get("kind")
            if kind in RECORD_KINDS or (kind in (None, "task") and "stamps" in item):
                yield RawRow(number, {}, record=item)
                continue
            if kind not in (None, "task"):
                yield RawRow(number, {}, error=f"unknown kind {kind!r}")
                continue
            item = {k: v for k, v in item.items() if k != "kind"}
            fields = self._fields_for(tuple(item))
            values = {}
            for field_name, key in fields.items():
                value = item[key]
                values[field_name] = None if value == "" else value  # JSON has null
            has_id = values.get("uid") is not None or values.get("key") is not None
            yield RawRow(number, values, None if has_id else text)
        if count == 0:
            raise InputError(f"{self.name} holds no tasks")

    def position(self) -> int:
        return self._text.position()

    def date_values(self) -> Iterator[str]:
        source = JsonLinesStream(self.options)
        try:
            for row in source:
                if row.record is not None:
                    continue
                for field_name in ("created", "started", "done", "due"):
                    value = row.values.get(field_name)
                    if isinstance(value, str):
                        yield value
        except InputError:
            return
        finally:
            source.close()

    def close(self) -> None:
        self._text.close()


def open_reader(options: ReadOptions) -> JsonLinesStream:
    return JsonLinesStream(options)


def write_tasks(handle, rows: Iterable[dict], columns: list[str]) -> int:
    """One JSON object a line: a line with a ``kind`` other than ``task`` is
    written as it is; a task with its ``columns``, then its ``stamps`` and
    ``imported`` when it has them. Returns the number of tasks."""
    count = 0
    for row in rows:
        kind = row.get("kind", "task")
        if kind != "task":
            handle.write(json.dumps(row, ensure_ascii=False))
        else:
            line = {c: row.get(c) for c in columns}
            if "stamps" in row:
                line = {"kind": "task", **line}
                line.update((k, row[k]) for k in ("updated_at", "stamps", "imported"))
            handle.write(json.dumps(line, ensure_ascii=False))
            count += 1
        handle.write("\n")
    return count


def write_array(handle, rows: Iterable[dict], columns: list[str]) -> int:
    """A JSON array, one task a line, written as it goes."""
    count = 0
    handle.write("[")
    for row in rows:
        handle.write(",\n" if count else "\n")
        handle.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False))
        count += 1
    handle.write("\n]\n" if count else "]\n")
    return count
