"""One row of a file, as an import stores it: :class:`RowConverter`.

A reader gives each row's fields as found (text, numbers, :class:`Hours`);
the converter reads durations in the file's unit, dates in the file's order,
ranges, promises and tags, decides the status (a row with an actual is
finished work, whatever its tracker said), keys the row (its uid: a uid, a
key, else a hash of its content) and returns the parameters of the
importer's statements, in :data:`COLUMNS` order. A row it leaves out on
purpose raises :class:`Skip` (counted by reason), a bad one ``RowError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections import Counter

from calibrate.durations import MAX_EFFORT_H, format_duration, now_iso, parse_duration, unit_hours
from calibrate.errors import InputError
from calibrate.exchange.formats import Hours, RawRow, RowError, RowStream, status_category
from calibrate.exchange.formats.dates import DateError, DateReader
from calibrate.rules import DEFAULT_CONFIDENCE
from calibrate.store.fields import STORED
from calibrate.store.tasks import clean_tags

#: The ``tasks`` columns an import writes, in parameter order (?1, ?2, ...):
#: :meth:`RowConverter.convert` returns its values in this order.
COLUMNS = STORED
#: Characters of a content hash kept in a uid.
HASH_CHARS = 20


class Skip(Exception):
    """A row left out on purpose; the message is the reason counted."""


class RowConverter:
    """Turns a :class:`RawRow` into the parameters of the importer's INSERT and
    UPDATE (``?1`` .. ``?19`` the :data:`COLUMNS`, ``?20`` the import's time).
    ``person`` and ``team``: the importer's, for rows that name none."""

    def __init__(
        self,
        stream: RowStream,
        *,
        person: str,
        team: str | None,
        source: str,
        day_hours: float,
        dates: DateReader,
        aliases: dict[str, str],
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
        self.aliases = aliases
        self.default_person = self._person(person)
        self.default_team = team
        self.notes = notes
        self.stamp = now_iso()
        self.labels = {f: f"{f} column {c!r}" if c else f for f, c in stream.columns.items()}
        self._tags: dict[object, str] = {}

    def convert(self, raw: RawRow) -> tuple[str, bool, list]:
        """(uid base, whether it is a key, the row's parameters). Raises
        :class:`Skip` for rows left out and :class:`RowError` for bad ones."""
        if raw.error:
            raise RowError(raw.error)
        values = raw.values
        get = values.get
        estimate = self.hours(get("estimate"), "estimate")
        if not estimate:
            raise Skip("no estimate (missing or zero)")
        actual = self.hours(get("actual"), "actual") or None
        low = self.hours(get("low"), "low")
        high = self.hours(get("high"), "high")
        confidence = None
        if low is not None or high is not None:
            if low is None or high is None:
                raise RowError("a range needs both a low and a high")
            if not 0 < low < high:
                raise RowError(
                    f"range {format_duration(low)}..{format_duration(high)}: "
                    "its low must be above zero and below its high"
                )
            confidence = self.confidence(get("confidence"))
        promise = self.hours(get("promise"), "promise") or None
        created = self.moment(get("created"), "created")
        started = self.moment(get("started"), "started")
        done = self.moment(get("done"), "done")
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
        if uid is not None:
            base, keyed = str(uid).strip(), True
        elif key is not None:
            key = str(key).strip()
            base, keyed = f"{source}:{key}", True
        elif raw.content is not None:
            digest = hashlib.sha1(raw.content.encode("utf-8", "surrogatepass")).hexdigest()
            base, keyed = f"{source}:{digest[:HASH_CHARS]}", False
        else:
            raise RowError("no key and no content to identify the row")
        title = self.text(get("title")) or (str(key) if key is not None else "(no title)")
        person = self._person(self.text(get("person"))) or self.default_person
        tags = get("tags")
        return (
            base,
            keyed,
            [
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
                self.stamp,
            ],
        )

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
        if hours > MAX_EFFORT_H:
            raise RowError(
                f"{what} {value!r} is more than {MAX_EFFORT_H:,.0f}h: not the effort of one task"
            )
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

    def _person(self, name: str | None) -> str | None:
        if not name:
            return None
        name = name.strip()
        return self.aliases.get(name, name)

    def preview(self, record: list) -> dict:
        """A row as it would be stored (the uid is settled later)."""
        shown = dict(zip(COLUMNS, record[: len(COLUMNS)], strict=True))
        shown["created_at"] = shown["created_at"] or self.stamp
        if shown["status"] in ("done", "dropped") and not shown["done_at"]:
            shown["done_at"] = self.stamp
        shown["tags"] = json.loads(shown["tags"])
        return shown
