"""Taskwarrior's ``task export``: JSON, one task a line (in an array or not).

Each task has a ``uuid`` (its key), a ``description`` (its title), ``entry``,
``start``, ``end`` and ``due`` times (``20170127T141100Z``), ``project``,
``tags`` and ``status`` (pending, waiting, completed, deleted, recurring).
The estimate comes from a user-defined attribute (UDA), ``estimate`` unless
``--map estimate=NAME`` says otherwise, written as an ISO 8601 duration
(``PT3H``, ``PT1H30M``; ``P1D`` is a working day) or a number (hours unless
``--unit``). The actual comes from a UDA too (``actual``, ``spent`` or
``totalactivetime``), else from the last annotation that reads like
``actual: 4h`` (or ``spent 2h30m``, ``took 90m``). A completed task with an
estimate and no actual is left out, counted with how to give it one
(:data:`NO_ACTUAL`); the time Timewarrior tracked for it comes in with
``timew export`` (:mod:`.timewarrior`).

Recurring parents (status ``recurring``) are templates, not work: they are
left out and counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from calibrate import durations
from calibrate.errors import InputError
from calibrate.exchange.formats import (
    MISSING,
    Hours,
    KeyFields,
    RawRow,
    ReadOptions,
    RowError,
    RowStream,
    TextSource,
    safejson,
)

SYNONYMS: dict[str, tuple[str, ...]] = {
    "key": ("uuid",),
    "title": ("description",),
    "estimate": ("estimate", "est", "estimateh", "effort"),
    "actual": ("actual", "actualh", "spent", "timespent", "totalactivetime"),
    "person": ("person", "assignee", "owner"),
    "team": ("team",),
    "project": ("project",),
    "tags": ("tags",),
    "created": ("entry",),
    "started": ("start",),
    "done": ("end",),
    "due": ("due",),
    "low": ("low", "estimatelow"),
    "high": ("high", "estimatehigh"),
    "confidence": ("confidence",),
    "promise": ("promise",),
    "status": ("status",),
}
#: Possessive quantifiers (``*+``): a long run of spaces is read once, never
#: handed back and tried again (the lazy ``[\w. ]*?\s*$`` it replaces took
#: quadratic time, 35 s for an 80 KB note).
_ACTUAL_NOTE = re.compile(
    r"^\s*+(?:actual|spent|took|time spent|effort)\s*+(?:[:=]\s*+)?"
    r"(?P<duration>[\d.][\w. ]*+)\s*+$",
    re.IGNORECASE,
)


def iso_duration_hours(text: str, day_hours: float = 8.0) -> float | None:
    """:func:`calibrate.durations.iso_duration_hours` (``PT1H30M`` -> 1.5,
    ``None`` for text that is not one), a duration in months or years being
    a bad row."""
    try:
        return durations.iso_duration_hours(text, day_hours)
    except InputError as error:
        raise RowError(str(error)) from None


#: Why a completed task without an actual is left out, and how to give it one.
NO_ACTUAL = (
    "completed in Taskwarrior without an actual: give it one with 'task UUID modify "
    "actual:2h' (after 'task config uda.actual.type duration') or 'task UUID annotate "
    "spent 2h', then import again"
)


class TaskwarriorStream(RowStream):
    """The tasks of a ``task export`` file (read whole: such files are small)."""

    format_name = "taskwarrior"
    source = "taskwarrior"

    def __init__(self, options: ReadOptions):
        super().__init__()
        self.options = options
        self.name = options.name or options.path.name
        self.unit = options.unit or "h"
        self.day_hours = options.day_hours
        text = TextSource(options.path, self.name, options.encoding)
        try:
            self.size = text.size
            self._items = self._objects(safejson.whole(text.lines(), self.name))
        finally:
            text.close()
        self._fields_for = KeyFields(self.columns, options.mapping, SYNONYMS, self.name)
        for _, item in self._items:
            fields = self._fields_for(tuple(item))
            self.present.update(fields)
            if "annotations" in item:
                self.present.add("actual")
        self.present.add("status")

    def _objects(self, text: str) -> list[tuple[int, dict]]:
        """(line, object) for each task. ``task export`` writes one task a line,
        so lines name tasks; any other JSON layout is read whole and its tasks
        are numbered instead."""
        if not text.strip():
            raise InputError(f"{self.name} is empty: no tasks")
        items: list[tuple[int, object]] = []
        try:
            for number, line in enumerate(text.splitlines(), start=1):
                body = line.strip()
                if body.startswith("["):
                    body = body[1:].lstrip()
                if body.endswith("]"):
                    body = body[:-1].rstrip()
                body = body.rstrip(",").rstrip()
                if body:
                    items.append((number, safejson.loads(body, f"line {number}")))
        except json.JSONDecodeError:
            try:
                whole = safejson.loads(text, self.name)
            except json.JSONDecodeError as error:
                raise InputError(
                    f"line {error.lineno}: not valid JSON ({error.msg}); expected "
                    "the output of 'task export'"
                ) from None
            whole = whole if isinstance(whole, list) else [whole]
            items = list(enumerate(whole, start=1))
        if not items:
            raise InputError(f"{self.name} holds no tasks")
        tasks = []
        for number, item in items:
            if not isinstance(item, dict):
                raise InputError(f"line {number}: expected a task (a JSON object)")
            tasks.append((number, item))
        return tasks

    def __iter__(self) -> Iterator[RawRow]:
        for number, item in self._items:
            if str(item.get("status", "")).lower() == "recurring":
                self.skipped["recurring template (its instances are the tasks)"] += 1
                continue
            values: dict = {}
            for field_name, key in self._fields_for(tuple(item)).items():
                value = item[key]
                if isinstance(value, str):
                    value = value.strip()
                    if value in MISSING:
                        value = None
                values[field_name] = value
            error = None
            try:
                for field_name in ("estimate", "actual", "low", "high", "promise"):
                    values[field_name] = self._duration(values.get(field_name))
                if values.get("actual") is None and "actual" not in self.options.mapping:
                    values["actual"] = self._actual_from_annotations(item.get("annotations"))
            except RowError as problem:
                error = str(problem)
            if (
                error is None
                and values.get("actual") is None
                and values.get("estimate")
                and str(item.get("status", "")).lower() == "completed"
            ):
                self.skipped[NO_ACTUAL] += 1
                continue
            yield RawRow(number, values, None, error)

    def _duration(self, value):
        if isinstance(value, str):
            hours = iso_duration_hours(value, self.day_hours)
            if hours is not None:
                return Hours(hours)
        return value

    def _actual_from_annotations(self, annotations) -> object:
        if not isinstance(annotations, list):
            return None
        found = None
        for note in annotations:
            text = note.get("description", "") if isinstance(note, dict) else ""
            match = _ACTUAL_NOTE.match(str(text))
            if match:
                found = match.group("duration").rstrip()
        if found is None:
            return None
        hours = iso_duration_hours(found, self.day_hours)
        return Hours(hours) if hours is not None else found

    def date_values(self) -> Iterator[str]:
        for _, item in self._items:
            for key in ("entry", "start", "end", "due"):
                if isinstance(item.get(key), str):
                    yield item[key]


def open_reader(options: ReadOptions) -> TaskwarriorStream:
    return TaskwarriorStream(options)
