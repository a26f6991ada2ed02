"""One row of a file, as an import stores it: :class:`RowConverter`.

A reader gives each row's fields as found (text, numbers, :class:`Hours`);
the converter reads durations in the file's unit, dates in the file's order,
ranges, promises and tags, decides the status (a row with an actual is
finished work, whatever its tracker said), keys the row and returns a
:class:`Row`: the task's values in :data:`COLUMNS` order, which registers the
row speaks for (the fields it has: a JSON line with a ``uid`` and an
``estimate`` speaks for the estimate alone), and the row's own time of
change (JSON Lines ``updated_at``, Jira ``Updated``) when it has one.

A row's uid is its ``uid``, else ``SOURCE:KEY``, else (law 8) a hash of its
source, person, title, estimate and created date with its occurrence among
identical rows: a keyless row that later gains an actual is the same task,
while a changed title or estimate is a new one. A row it leaves out on
purpose raises :class:`Skip` (counted by reason), a bad one ``RowError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections import Counter

from calibrate.durations import effort_problem, now_iso, parse_duration, unit_hours
from calibrate.errors import CalibrateError, InputError
from calibrate.exchange.formats import Hours, RawRow, RowError, RowStream, status_category
from calibrate.exchange.formats.dates import DateError, DateReader
from calibrate.rules import DEFAULT_CONFIDENCE
from calibrate.store.fields import STORED
from calibrate.store.names import clean_name
from calibrate.store.stamps import normal_at
from calibrate.store.tasks import check_task_values, clean_tags

#: The ``tasks`` columns an import writes, in the order of :attr:`Row.values`.
COLUMNS = STORED
#: Characters of a content hash kept in a uid.
HASH_CHARS = 20
#: A file's field -> the register of a task it speaks for (key, uid, source
#: and updated speak for none).
REGISTER_OF_FIELD = {
    "title": "title",
    "person": "person",
    "team": "team",
    "project": "project",
    "estimate": "estimate",
    "low": "range",
    "high": "range",
    "confidence": "range",
    "promise": "promise",
    "due": "promise",
    "status": "state",
    "actual": "state",
    "started": "state",
    "done": "state",
    "created": "created",
    "notes": "notes",
    "tags": "tags",
}


class Skip(Exception):
    """A row left out on purpose; the message is the reason counted."""


class Row:
    """A converted row: ``base`` (its uid, or a keyless row's hash before its
    occurrence is counted), ``keyed``, ``values`` (:data:`COLUMNS` order; the
    uid is filled in later), ``registers`` it speaks for, ``at`` (its own
    time of change, a stamp's ``at``; ``""`` for none), ``legacy``: a keyless
    row's base as imports before law 8 keyed it (by its whole content), and
    ``key``: its key, for telling a renamed file."""

    __slots__ = ("at", "base", "key", "keyed", "legacy", "registers", "values")

    def __init__(self, base, keyed, values, registers, at, legacy=None, key=None):
        self.base, self.keyed, self.values = base, keyed, values
        self.registers, self.at, self.legacy, self.key = registers, at, legacy, key


class RowConverter:
    """Turns a :class:`RawRow` into a :class:`Row`. ``person`` and ``team``:
    the importer's, for rows that name none."""

    def __init__(
        self,
        stream: RowStream,
        *,
        person: str,
        team: str | None,
        source: str,
        day_hours: float,
        dates: DateReader,
        notes: Counter[str],
    ):
        self.stream = stream
        self.source = source
        self.day_hours = day_hours
        self.unit = stream.unit
        try:
            self.unit_factor = unit_hours(self.unit, day_hours)
        except InputError:
            raise InputError(f"unknown --unit {self.unit!r}: use s, m, h or d") from None
        self.dates = dates
        self.default_person = self._person(person)
        self.default_team = team
        self.notes = notes
        self.stamp = now_iso()
        self.labels = {f: f"{f} column {c!r}" if c else f for f, c in stream.columns.items()}
        self._tags: dict[object, str] = {}

    def convert(self, raw: RawRow) -> Row:
        """The row, converted. Raises :class:`Skip` for rows left out and
        :class:`RowError` for bad ones."""
        if raw.error:
            raise RowError(raw.error)
        values = raw.values
        get = values.get
        identified = get("uid") is not None or get("key") is not None
        if "estimate" in values or not identified:
            estimate = self.hours(get("estimate"), "estimate")
            if not estimate:
                raise Skip("no estimate (missing or zero)")
        else:  # a JSON line that speaks for other fields of a known task
            estimate = None
        actual = self.hours(get("actual"), "actual") or None
        low = self.hours(get("low"), "low")
        high = self.hours(get("high"), "high")
        confidence = None
        if low is not None or high is not None:
            confidence = self.confidence(get("confidence"))
        promise = self.hours(get("promise"), "promise") or None
        try:  # the store's one home of a task's checks, as add and edit apply them
            check_task_values(
                estimate_h=estimate,
                low_h=low,
                high_h=high,
                confidence=confidence,
                promise_h=promise,
                actual_h=actual,
            )
        except CalibrateError as error:
            raise RowError(str(error)) from None
        created = self.moment(get("created"), "created")
        started = self.moment(get("started"), "started")
        done = self.moment(get("done"), "done")
        updated = self.moment(get("updated"), "updated")
        due_value = get("due")
        due = self.day(due_value, "due") if due_value is not None else None
        category = status_category(get("status"))
        if actual is not None:
            status, done_at = "done", done or started or created
        elif category == "dropped":
            status, done_at = "dropped", done
        elif done is not None or category == "done":
            raise Skip("done without time logged (no actual)")
        elif category == "started" or (started is not None and category != "open"):
            status, done_at = "started", None
        else:
            status, done_at = "open", None
        if started is not None and done_at is not None and started > done_at:
            self.notes["started after it was done: start date left out"] += 1
            started = None
        key = get("key")
        uid = get("uid")
        source = self.text(get("source")) or self.source
        title = self.text(get("title")) or (str(key).strip() if key is not None else "(no title)")
        person = self._person(self.text(get("person"))) or self.default_person
        legacy = None
        if uid is not None:
            base, keyed = str(uid).strip(), True
        elif key is not None:
            key = str(key).strip()
            base, keyed = f"{source}:{key}", True
        elif raw.content is not None and estimate is not None:
            base, keyed = self.keyless_base(source, person, title, estimate, created), False
            digest = hashlib.sha1(raw.content.encode("utf-8", "surrogatepass")).hexdigest()
            legacy = f"{source}:{digest[:HASH_CHARS]}"
        else:
            raise RowError("no key and no content to identify the row")
        tags = get("tags")
        row = [
            None,
            title,
            person,
            self.text(get("team")) or self.default_team,
            self.text(get("project")),
            estimate,
            low,
            high,
            confidence,
            promise,
            due,
            status,
            actual,
            created or started or done,
            started,
            done_at,
            source,
            self.free_text(get("notes")),
            self.tags(tags) if tags else "[]",
        ]
        registers = {REGISTER_OF_FIELD[f] for f in values if f in REGISTER_OF_FIELD}
        return Row(base, keyed, row, registers, normal_at(updated), legacy, key)

    #: Why a row that names no estimate and no known task is left out.
    UNKNOWN = "no estimate, and no task with its uid or key to update"

    @staticmethod
    def keyless_base(source: str, person, title: str, estimate, created) -> str:
        """A keyless row's identity (law 8): its source, person, title,
        estimate and created date (its occurrence is added later)."""
        text = "\x1f".join((source, str(person), title, repr(float(estimate)), created or ""))
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{source}:{digest[:HASH_CHARS]}"

    # -- values -----------------------------------------------------------------

    def hours(self, value, what: str) -> float | None:
        """A duration in hours: a bare number is in the file's unit."""
        if value is None:
            return None
        if isinstance(value, Hours):
            hours = float(value)
        elif isinstance(value, str):
            try:
                hours = float(value) * self.unit_factor
            except ValueError:
                try:
                    hours = parse_duration(
                        value, day_hours=self.day_hours, unit=self.unit, allow_zero=True
                    )
                except InputError as error:  # its own words: not a duration, too large...
                    raise RowError(f"{self.labels.get(what, what)}: {error}") from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            hours = float(value) * self.unit_factor
        else:
            raise RowError(f"{self.labels.get(what, what)}: not a duration: {value!r}")
        if not math.isfinite(hours):
            raise RowError(f"{self.labels.get(what, what)}: not a duration: {value!r}")
        if hours < 0:
            raise RowError(f"negative {what} {value!r}: effort must be zero or more")
        problem = effort_problem(hours) if hours > 0 else None  # zero: no value
        if problem:
            raise RowError(f"{what} {value!r} {problem}")
        return hours

    def confidence(self, value) -> float:
        if value is None:
            return DEFAULT_CONFIDENCE
        try:
            number = float(str(value).strip().rstrip("%"))
        except ValueError:
            raise RowError(f"confidence {value!r} is not a number") from None
        if not 0 < number < 100:
            raise RowError(f"confidence {value!r} must be between 0 and 100, exclusive")
        return number

    def moment(self, value, what: str) -> str | None:
        if value is None:
            return None
        try:
            return self.dates.moment(str(value))
        except DateError as error:
            raise RowError(f"{error} ({self.labels.get(what, what)})") from None

    def day(self, value, what: str) -> str:
        try:
            return self.dates.day(str(value))
        except DateError as error:
            raise RowError(f"{error} ({self.labels.get(what, what)})") from None

    @staticmethod
    def free_text(value) -> str | None:
        """Notes, kept exactly as written (blank means none)."""
        if value is None:
            return None
        text = str(value)
        return text if text.strip() else None

    @staticmethod
    def text(value) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        return text or None

    def tags(self, value) -> str:
        """Tags as stored (JSON text); the same cells recur, so they are memoised."""
        if isinstance(value, list):
            try:
                memo_key: object = tuple(value)
                hash(memo_key)
            except TypeError:  # a list holding lists or objects: not memoised
                return self._tags_json(value)
        else:
            memo_key = value
        found = self._tags.get(memo_key)
        if found is None:
            if len(self._tags) >= 4096:
                self._tags.clear()
            found = self._tags[memo_key] = self._tags_json(value)
        return found

    def _tags_json(self, value) -> str:
        if isinstance(value, str):
            if value.startswith("["):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            if isinstance(value, str):
                value = [value]
        if not isinstance(value, list):
            raise RowError(f"tags: expected text or a list, not {value!r}")
        return json.dumps(clean_tags(str(tag) for tag in value), ensure_ascii=False)

    @staticmethod
    def _person(name: str | None) -> str | None:
        """A person's name as stored: as the file gives it, in its one
        spelling (an alias maps it when read, law 7)."""
        if not name:
            return None
        return clean_name(name) or None

    def preview(self, record: list) -> dict:
        """A row as it would be stored (the uid is settled later)."""
        shown = dict(zip(COLUMNS, record, strict=True))
        shown["created_at"] = shown["created_at"] or self.stamp
        if shown["status"] in ("done", "dropped") and not shown["done_at"]:
            shown["done_at"] = self.stamp
        shown["tags"] = json.loads(shown["tags"])
        return shown
