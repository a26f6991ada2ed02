"""Importing tasks: rows of any format -> checked task records -> the database.

One import is one transaction: every row lands or none does. A bad row
(an unparseable or negative number, an unknown date, a broken range) aborts
the import with ``line N: why``, unless ``skip_bad``, in which case bad rows
are counted and the first 20 listed, and the good ones land.

What a row needs is an estimate; everything else has a default:

- the title falls back to the key, the person to the importer's person;
- an actual that is missing or zero means no actual: the task is open (or
  started, or dropped, as its status says) when it has no done date, and is
  skipped and counted ("done without time logged") when it has one;
- a row whose estimate is missing or zero is skipped and counted;
- a row with an actual is finished work, whatever status its tracker gave it;
- a start date after the done date is left out (and counted): the effort
  figures stand, the dates cannot both be right;
- a finished task with no date at all is dated by the import.

Each task's uid is ``source:key``; a file without a key column keys each row
by a hash of its content plus its occurrence number among identical rows
(real files repeat rows, and each repetition is a task). Importing inserts new
uids and updates known ones, so importing the same file twice adds nothing, and a changed
file updates just the tasks it changed. Fields the file does not have are
never overwritten. A file exported by calibrate carries uids and sources and
comes back unchanged.

Memory does not grow with the file: rows stream in batches, and the per-file
bookkeeping of keys already seen lives in a temporary SQLite table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sqlite3
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from calibrate import store
from calibrate.durations import (
    MAX_EFFORT_H,
    format_duration,
    now_iso,
    parse_duration,
    unit_hours,
)
from calibrate.errors import InputError
from calibrate.exchange.formats import (
    FIELDS,
    Hours,
    RawRow,
    ReadOptions,
    RowError,
    RowStream,
    get_format,
    guess_format,
    open_reader,
    status_category,
)
from calibrate.exchange.formats.dates import DateError, DateReader
from calibrate.store import settings
from calibrate.store.tasks import clean_tags

BATCH_ROWS = 2000
MAX_LISTED_BAD = 20
PREVIEW_ROWS = 5
HASH_CHARS = 20
CACHE_KIB = 32 * 1024  # SQLite page cache during an import

#: The ``tasks`` columns an import writes, in parameter order (?1, ?2, ...).
COLUMNS = (
    "uid", "title", "person", "team", "project", "estimate_h", "low_h", "high_h",
    "confidence", "promise_h", "due", "status", "actual_h", "created_at", "started_at",
    "done_at", "source", "notes", "tags",
)  # fmt: skip
_P = {column: f"?{number}" for number, column in enumerate(COLUMNS, start=1)}
STAMP = f"?{len(COLUMNS) + 1}"

#: Which file field feeds which column; columns with no field are derived
#: (status, actual, dates) and always written.
_FIELD_OF = {
    "title": "title", "person": "person", "team": "team", "project": "project",
    "low_h": "low", "high_h": "low", "confidence": "low", "promise_h": "promise",
    "due": "due", "started_at": "started", "notes": "notes", "tags": "tags",
}  # fmt: skip


class _Skip(Exception):
    """A row left out on purpose; the message is the reason counted."""


class _DryRun(Exception):
    """Raised at the end of a dry run to roll the transaction back."""


@dataclass
class ImportOptions:
    """What the user asked for; only ``path`` and ``person`` are required."""

    path: Path
    person: str
    format_name: str | None = None
    name: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    source: str | None = None
    team: str | None = None
    join: Path | None = None
    prefer: str | None = None
    skip_bad: bool = False
    dry_run: bool = False


@dataclass
class ImportSummary:
    """What an import did (or, dry, would do)."""

    file: str
    format_name: str
    source: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bad: int = 0
    bad_rows: list[str] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)
    columns: dict[str, str] = field(default_factory=dict)
    dates: str = ""
    dry_run: bool = False
    preview: list[dict] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict:
        return {
            "file": self.file, "format": self.format_name, "source": self.source,
            "rows": self.rows, "added": self.added, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": self.skipped_total,
            "skipped_by_reason": dict(self.skipped), "bad": self.bad,
            "bad_rows": self.bad_rows, "notes": dict(self.notes), "columns": self.columns,
            "dates": self.dates, "dry_run": self.dry_run, "preview": self.preview,
        }  # fmt: skip

    def lines(self) -> list[str]:
        """The summary for people, at most 80 columns a line where it can."""
        verb = "Would import" if self.dry_run else "Imported"
        out = [
            f"{verb} {self.file} ({self.format_name}, source {self.source}): "
            f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.skipped_total:,} skipped" + (f", {self.bad:,} bad" if self.bad else "")
        ]
        shown = [f"{f} <- {c}" for f in FIELDS if (c := self.columns.get(f))]
        out.extend(
            textwrap.wrap(
                ", ".join(shown), width=80, initial_indent="  columns: ",
                subsequent_indent="    ", break_on_hyphens=False,
            )
        )  # fmt: skip
        for reason, count in self.skipped.most_common():
            out.append(f"  skipped {count:,}: {reason}")
        for note, count in self.notes.most_common():
            out.append(f"  note {count:,}: {note}")
        if self.dates:
            out.append(f"  {self.dates}")
        if self.bad:
            out.append(f"  bad rows ({self.bad:,}, left out by --skip-bad):")
            out.extend(f"    {line}" for line in self.bad_rows)
            if self.bad > len(self.bad_rows):
                out.append(f"    ... and {self.bad - len(self.bad_rows):,} more")
        return out


# --- the import ---------------------------------------------------------------


def import_file(
    conn: sqlite3.Connection,
    options: ImportOptions,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import ``options.path`` into ``conn`` in one transaction.

    ``progress(bytes_read, bytes_total)`` is called after each batch.
    """
    encoding = options.encoding
    if encoding:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}") from None
    format_name = options.format_name or guess_format(options.path, encoding)
    get_format(format_name)
    day_hours = float(settings.read(conn, "day-hours"))
    stream = open_reader(
        ReadOptions(
            path=options.path, format_name=format_name,
            name=options.name or options.path.name, encoding=encoding,
            mapping=options.mapping, unit=options.unit, join=options.join,
            prefer=options.prefer, day_hours=day_hours,
        )
    )  # fmt: skip
    try:
        source = (options.source or stream.source).strip()
        if not source:
            raise InputError("--source must not be empty")
        summary = ImportSummary(
            file=options.name or options.path.name, format_name=format_name, source=source,
            dry_run=options.dry_run,
        )  # fmt: skip
        try:
            dates = DateReader(options.date_format, evidence=stream.date_values)
        except DateError as error:
            raise InputError(str(error)) from None
        converter = RowConverter(
            stream, options, source=source, day_hours=day_hours, dates=dates,
            aliases=dict(conn.execute("SELECT alias, person FROM aliases").fetchall()),
            notes=summary.notes,
        )  # fmt: skip
        cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # bounded; spilling costs more
        try:
            with store.transaction(conn):
                _run(conn, stream, converter, options, summary, progress)
                if options.dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        finally:
            conn.execute(f"PRAGMA cache_size = {int(cache_size)}")
        summary.skipped.update(stream.skipped)
        summary.notes.update(stream.notes)
        summary.columns = dict(stream.columns)
        summary.dates = dates.describe()
        return summary
    finally:
        stream.close()


def _run(
    conn: sqlite3.Connection,
    stream: RowStream,
    converter: RowConverter,
    options: ImportOptions,
    summary: ImportSummary,
    progress: Callable[[int, int], None] | None,
) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_seen (base TEXT PRIMARY KEY, n INTEGER)")
    conn.execute("DELETE FROM temp.import_seen")
    insert, update = insert_sql(), update_sql(stream.present)
    batch: list[tuple[str, bool, list]] = []

    def flush() -> None:
        records = assign_uids(conn, batch, summary)
        new, known = split_new(conn, records)
        conn.executemany(insert, new)
        summary.added += len(new)
        if known:
            changed = conn.executemany(update, known).rowcount  # not counting triggers
            summary.updated += changed
            summary.unchanged += len(known) - changed
        batch.clear()
        if progress is not None:
            progress(stream.position(), stream.size)

    read = 0
    preview: list[list] = []
    for raw in stream:
        read += 1
        try:
            base, keyed, record = converter.convert(raw)
        except _Skip as reason:
            summary.skipped[str(reason)] += 1
            continue
        except RowError as error:
            message = f"line {raw.line}: {error}"
            if not options.skip_bad:
                raise InputError(
                    f"{message} (nothing was imported; --skip-bad imports the other rows)"
                ) from None
            summary.bad += 1
            if len(summary.bad_rows) < MAX_LISTED_BAD:
                summary.bad_rows.append(message)
            continue
        batch.append((base, keyed, record))
        if len(preview) < PREVIEW_ROWS:
            preview.append(record)  # its uid is filled in by assign_uids
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    if read == 0 and not stream.skipped:
        raise InputError(f"{summary.file} has no rows to import (a header and nothing else)")
    summary.rows = read + sum(stream.skipped.values())
    summary.preview = [converter.preview(record) for record in preview]
    conn.execute("DROP TABLE temp.import_seen")


def assign_uids(
    conn: sqlite3.Connection, batch: list[tuple[str, bool, list]], summary: ImportSummary
) -> list[list]:
    """Final uids for a batch: a key is its uid (a repeat updates the earlier
    row, and is counted); a content hash gets ``#N`` for its Nth occurrence in
    the file. Counts of bases seen so far live in ``temp.import_seen``."""
    bases = list(dict.fromkeys(base for base, _, _ in batch))
    seen: dict[str, int] = {}
    for start in range(0, len(bases), 500):
        chunk = bases[start : start + 500]
        marks = ",".join("?" * len(chunk))
        seen.update(
            conn.execute(
                f"SELECT base, n FROM temp.import_seen WHERE base IN ({marks})",  # noqa: S608 (only marks)
                chunk,
            ).fetchall()
        )
    records = []
    repeated = 0
    for base, keyed, record in batch:
        count = seen.get(base, 0) + 1
        seen[base] = count
        if keyed:
            repeated += count > 1
            record[0] = base
        else:
            record[0] = base if count == 1 else f"{base}#{count}"
        records.append(record)
    if repeated:
        summary.notes["repeated key in the file (the later row wins)"] += repeated
    conn.executemany(
        "INSERT INTO temp.import_seen (base, n) VALUES (?, ?) "
        "ON CONFLICT(base) DO UPDATE SET n = excluded.n",
        [(base, seen[base]) for base in bases],
    )
    return records


def split_new(conn: sqlite3.Connection, records: list[list]) -> tuple[list[list], list[list]]:
    """A batch's records split into new tasks and tasks already stored (or
    added earlier in this batch), in order. Inserting and updating apart keeps
    inserts fast: a plain INSERT never runs the tasks table's update triggers."""
    uids = list(dict.fromkeys(record[0] for record in records))
    stored: set[str] = set()
    for start in range(0, len(uids), 500):
        chunk = uids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        stored.update(
            row[0]
            for row in conn.execute(
                f"SELECT uid FROM tasks WHERE uid IN ({marks})",  # noqa: S608 (only marks)
                chunk,
            )
        )
    new, known = [], []
    for record in records:
        if record[0] in stored:
            known.append(record)
        else:
            new.append(record)
            stored.add(record[0])
    return new, known


def insert_sql() -> str:
    """INSERT of a new task; a finished task with no date is dated by the import."""
    p = _P
    values = []
    for column in COLUMNS:
        if column == "created_at":
            values.append(f"coalesce({p[column]}, {STAMP})")
        elif column == "done_at":
            values.append(
                f"CASE WHEN {p['status']} IN ('done', 'dropped') "
                f"THEN coalesce({p[column]}, {STAMP}) END"
            )
        else:
            values.append(p[column])
    return (
        f"INSERT INTO tasks ({', '.join(COLUMNS)}, updated_at) "  # noqa: S608 (fixed names)
        f"VALUES ({', '.join(values)}, {STAMP})"
    )


def update_sql(present: set[str]) -> str:
    """UPDATE of a stored task from a row of a file with the fields
    ``present``: only the fields the file has (plus the derived status,
    actual and dates) are written, and only when something differs, so that
    unchanged tasks stay untouched (and are counted as such). A date the file
    lacks keeps the stored one."""
    p = _P
    updates: dict[str, str] = {}
    for column in COLUMNS[1:]:
        wanted = _FIELD_OF.get(column)
        if wanted is not None and wanted not in present:
            continue
        if column == "created_at":
            updates[column] = f"coalesce({p[column]}, created_at)"
        elif column == "done_at":
            updates[column] = (
                f"CASE WHEN {p['status']} IN ('done', 'dropped') "
                f"THEN coalesce({p[column]}, done_at, {STAMP}) END"
            )
        else:
            updates[column] = p[column]
    assignments = ", ".join(f"{c} = {e}" for c, e in updates.items())
    differs = " OR ".join(f"{c} IS NOT {e}" for c, e in updates.items())
    return (
        f"UPDATE tasks SET {assignments}, updated_at = {STAMP} "  # noqa: S608 (fixed names)
        f"WHERE uid = {_P['uid']} AND ({differs})"
    )


# --- one row -------------------------------------------------------------------


class RowConverter:
    """Turns a :class:`RawRow` into the parameters of :func:`insert_sql` and
    :func:`update_sql` (``?1`` .. ``?19`` the columns, ``?20`` the import's time)."""

    def __init__(
        self,
        stream: RowStream,
        options: ImportOptions,
        *,
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
        self.default_person = self._person(options.person)
        self.default_team = options.team
        self.notes = notes
        self.stamp = now_iso()
        self.labels = {f: f"{f} column {c!r}" if c else f for f, c in stream.columns.items()}
        self._tags: dict[object, str] = {}

    def convert(self, raw: RawRow) -> tuple[str, bool, list]:
        """(uid base, whether it is a key, the row's parameters). Raises
        :class:`_Skip` for rows left out and :class:`RowError` for bad ones."""
        if raw.error:
            raise RowError(raw.error)
        values = raw.values
        get = values.get
        estimate = self.hours(get("estimate"), "estimate")
        if not estimate:
            raise _Skip("no estimate (missing or zero)")
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
            raise _Skip("done without time logged (no actual)")
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
        return base, keyed, [
            None, title, person, self.text(get("team")) or self.default_team,
            self.text(get("project")), estimate, low, high, confidence, promise, due, status,
            actual, created or started or done, started, done_at, source,
            self.free_text(get("notes")), self.tags(tags) if tags else "[]", self.stamp,
        ]  # fmt: skip

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
            return 90.0
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


# --- a database for a dry run when there is none yet ----------------------------


@contextlib.contextmanager
def scratch_connection() -> Iterator[sqlite3.Connection]:
    """An empty calibrate database in a temporary folder, removed afterwards:
    a dry run against a database that does not exist yet creates nothing."""
    with tempfile.TemporaryDirectory(prefix="calibrate-dry-run-") as folder:
        conn = store.connect(Path(folder) / "dry-run.db")
        try:
            yield conn
        finally:
            conn.close()


def preview_table(summary: ImportSummary) -> str:
    """The first rows of a dry run, as they would be stored (80 columns)."""
    from calibrate.text import Column, render_table

    rows = [
        {**row, "estimate": format_duration(row["estimate_h"]),
         "actual": format_duration(row["actual_h"]), "done": (row["done_at"] or "")[:10]}
        for row in summary.preview
    ]  # fmt: skip
    columns = [
        Column("uid", "UID", 14), Column("status", "STATUS", 7),
        Column("estimate", "EST", 6, ">"), Column("actual", "ACTUAL", 6, ">"),
        Column("done", "DONE", 10), Column("person", "PERSON", 9), Column("title", "TITLE"),
    ]  # fmt: skip
    return render_table(rows, columns)


@contextlib.contextmanager
def input_file(path: Path) -> Iterator[tuple[Path, str]]:
    """(a readable path, its name for messages). ``-`` is standard input,
    copied to a temporary file first: guessing the format, detecting date
    orders and ``--prefer`` read the file more than once."""
    if str(path) != "-":
        if not path.exists():
            raise InputError(f"no such file: {path}")
        yield path, path.name
        return
    import shutil
    import sys

    with tempfile.TemporaryDirectory(prefix="calibrate-stdin-") as folder:
        copy = Path(folder) / "stdin"
        with open(copy, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle, 1024 * 1024)
        yield copy, "stdin"


@contextlib.contextmanager
def target_connection(
    db_path: Path,
    connect: Callable[[], sqlite3.Connection],
    close: Callable[[], None],
    *,
    dry_run: bool = False,
) -> Iterator[sqlite3.Connection]:
    """The database to import into. When it does not exist yet, a dry run uses
    a scratch one, and a failed import removes the file it created: either way
    the user's disk is as it was."""
    if db_path.exists():
        yield connect()
        return
    if dry_run:
        with scratch_connection() as conn:
            yield conn
        return
    try:
        yield connect()
    except BaseException:
        close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{db_path}{suffix}")
        raise
