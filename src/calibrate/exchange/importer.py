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

One row's conversion (units, dates, status, uid) is
:class:`calibrate.exchange.rows.RowConverter`'s; this module runs the import.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from calibrate import store
from calibrate.durations import format_duration
from calibrate.errors import InputError
from calibrate.exchange.formats import (
    FIELDS,
    ReadOptions,
    RowError,
    RowStream,
    get_format,
    guess_format,
    open_reader,
)
from calibrate.exchange.formats.dates import DateError, DateReader
from calibrate.exchange.rows import COLUMNS, RowConverter, Skip
from calibrate.store import settings

BATCH_ROWS = 2000
MAX_LISTED_BAD = 20
PREVIEW_ROWS = 5
CACHE_KIB = 32 * 1024  # SQLite page cache during an import

_P = {column: f"?{number}" for number, column in enumerate(COLUMNS, start=1)}
STAMP = f"?{len(COLUMNS) + 1}"

#: Which file field feeds which column; columns with no field are derived
#: (status, actual, dates) and always written.
_FIELD_OF = {
    "title": "title",
    "person": "person",
    "team": "team",
    "project": "project",
    "low_h": "low",
    "high_h": "low",
    "confidence": "low",
    "promise_h": "promise",
    "due": "due",
    "started_at": "started",
    "notes": "notes",
    "tags": "tags",
}


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
    delimiter: str | None = None


@dataclass
class ImportResult:
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
            "file": self.file,
            "format": self.format_name,
            "source": self.source,
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped_total,
            "skipped_by_reason": dict(self.skipped),
            "bad": self.bad,
            "bad_rows": self.bad_rows,
            "notes": dict(self.notes),
            "columns": self.columns,
            "dates": self.dates,
            "dry_run": self.dry_run,
            "preview": self.preview,
        }

    def lines(self) -> list[str]:
        """What the import did, for people, at most 80 columns a line where it can."""
        verb = "Would import" if self.dry_run else "Imported"
        out = [
            f"{verb} {self.file} ({self.format_name}, source {self.source}): "
            f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.skipped_total:,} skipped" + (f", {self.bad:,} bad" if self.bad else "")
        ]
        shown = [f"{f} <- {c}" for f in FIELDS if (c := self.columns.get(f))]
        out.extend(
            textwrap.wrap(
                ", ".join(shown),
                width=80,
                initial_indent="  columns: ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
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
) -> ImportResult:
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
            path=options.path,
            format_name=format_name,
            name=options.name or options.path.name,
            encoding=encoding,
            mapping=options.mapping,
            unit=options.unit,
            join=options.join,
            prefer=options.prefer,
            day_hours=day_hours,
            delimiter=options.delimiter,
        )
    )
    try:
        source = (options.source or stream.source).strip()
        if not source:
            raise InputError("--source must not be empty")
        result = ImportResult(
            file=options.name or options.path.name,
            format_name=format_name,
            source=source,
            dry_run=options.dry_run,
        )
        try:
            dates = DateReader(options.date_format, evidence=stream.date_values)
        except DateError as error:
            raise InputError(str(error)) from None
        converter = RowConverter(
            stream,
            person=options.person,
            team=options.team,
            source=source,
            day_hours=day_hours,
            dates=dates,
            aliases=dict(conn.execute("SELECT alias, person FROM aliases").fetchall()),
            notes=result.notes,
        )
        cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # bounded; spilling costs more
        try:
            with store.transaction(conn):
                _run(conn, stream, converter, options, result, progress)
                if options.dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        finally:
            conn.execute(f"PRAGMA cache_size = {int(cache_size)}")
        result.skipped.update(stream.skipped)
        result.notes.update(stream.notes)
        result.columns = dict(stream.columns)
        result.dates = dates.describe()
        return result
    finally:
        stream.close()


def _run(
    conn: sqlite3.Connection,
    stream: RowStream,
    converter: RowConverter,
    options: ImportOptions,
    result: ImportResult,
    progress: Callable[[int, int], None] | None,
) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_seen (base TEXT PRIMARY KEY, n INTEGER)")
    conn.execute("DELETE FROM temp.import_seen")
    insert, update = insert_sql(), update_sql(stream.present)
    batch: list[tuple[str, bool, list]] = []

    def flush() -> None:
        records = assign_uids(conn, batch, result)
        new, known = split_new(conn, records)
        conn.executemany(insert, new)
        result.added += len(new)
        if known:
            changed = conn.executemany(update, known).rowcount  # not counting triggers
            result.updated += changed
            result.unchanged += len(known) - changed
        batch.clear()
        if progress is not None:
            progress(stream.position(), stream.size)

    read = 0
    preview: list[list] = []
    for raw in stream:
        read += 1
        try:
            base, keyed, record = converter.convert(raw)
        except Skip as reason:
            result.skipped[str(reason)] += 1
            continue
        except RowError as error:
            message = f"line {raw.line}: {error}"
            if not options.skip_bad:
                raise InputError(
                    f"{message} (nothing was imported; --skip-bad imports the other rows)"
                ) from None
            result.bad += 1
            if len(result.bad_rows) < MAX_LISTED_BAD:
                result.bad_rows.append(message)
            continue
        batch.append((base, keyed, record))
        if len(preview) < PREVIEW_ROWS:
            preview.append(record)  # its uid is filled in by assign_uids
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    if read == 0 and not stream.skipped:
        raise InputError(f"{result.file} has no rows to import (a header and nothing else)")
    result.rows = read + sum(stream.skipped.values())
    result.preview = [converter.preview(record) for record in preview]
    conn.execute("DROP TABLE temp.import_seen")


def assign_uids(
    conn: sqlite3.Connection, batch: list[tuple[str, bool, list]], result: ImportResult
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
        result.notes["repeated key in the file (the later row wins)"] += repeated
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


def preview_table(result: ImportResult) -> str:
    """The first rows of a dry run, as they would be stored (80 columns)."""
    from calibrate.clock import local_text
    from calibrate.text import Column, render_table

    rows = [
        {
            **row,
            "estimate": format_duration(row["estimate_h"]),
            "actual": format_duration(row["actual_h"]),
            "done": local_text(row["done_at"])[:10],  # the local day people read
        }
        for row in result.preview
    ]
    columns = [
        Column("uid", "UID", 14),
        Column("status", "STATUS", 7),
        Column("estimate", "EST", 6, ">"),
        Column("actual", "ACTUAL", 6, ">"),
        Column("done", "DONE", 10),
        Column("person", "PERSON", 9),
        Column("title", "TITLE"),
    ]
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
