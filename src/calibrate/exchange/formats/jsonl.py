"""JSON Lines (one task a line) and JSON arrays: calibrate's own exchange format.

``export --format jsonl`` writes one object a line with the fields of the
``tasks`` table (durations in hours, times in UTC ISO text, tags a list);
``import`` reads them back unchanged, uid and source included. Keys are
matched to fields like CSV headers (``estimate_h``, ``estimate`` and
``Estimate`` all feed the estimate), so hand-written files work too.

JSON Lines stream; a JSON array (``--format json``) is read whole.
"""

from __future__ import annotations

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
)
from calibrate.exchange.formats.csvfile import SYNONYMS


class JsonLinesStream(RowStream):
    """Rows of a JSON Lines file, or of a JSON array of objects."""

    format_name = "jsonl"

    def __init__(self, options: ReadOptions):
        super().__init__()
        self.options = options
        self.name = options.name or options.path.name
        self.source = file_source_name(options.path)
        self.unit = options.unit or "h"
        self.present = set(FIELDS) - {"key", "uid"}
        self._text = TextSource(options.path, self.name, options.encoding)
        self.size = self._text.size
        self._fields_for = KeyFields(self.columns, options.mapping, SYNONYMS, self.name)
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
            rest = first + "".join(lines)  # an array is read whole
            try:
                items = json.loads(rest)
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
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"line {number}: not valid JSON ({error.msg})") from None
        yield number, item, line.strip()

    def __iter__(self) -> Iterator[RawRow]:
        count = 0
        for number, item, text in self._objects():
            if not isinstance(item, dict):
                raise InputError(f"line {number}: expected a JSON object (a task)")
            count += 1
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
    """One JSON object a line."""
    count = 0
    for row in rows:
        handle.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False))
        handle.write("\n")
        count += 1
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
