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

Each task's uid is ``source:key`` (law 8: the source is the tracker where the
format names one, else ``--source``, else the file's name); a file without a
key column keys each row by its source, person, title, estimate and created
date plus its occurrence number among identical rows (real files repeat
rows, and each repetition is a task). Importing inserts new uids and applies
known ones by law 2 (:mod:`calibrate.exchange.ledger`): a field changes only
where the file's value differs from what the same source gave last time, a
status only moves forward, and an edit made here after the file's version
wins, so importing last week's export again never undoes work done since.
Fields the file does not have are never overwritten. A calibrate JSON Lines
export carries its records with their stamps, and is joined as a merge would
(:mod:`calibrate.exchange.validate`, :mod:`calibrate.store.state`).

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
from calibrate.exchange import ledger
from calibrate.exchange.formats import (
    FIELDS,
    ReadOptions,
    RowError,
    RowStream,
    file_source_name,
    get_format,
    guess_format,
    open_reader,
)
from calibrate.exchange.formats.dates import DateError, DateReader
from calibrate.exchange.rows import Row, RowConverter, Skip
from calibrate.exchange.validate import export_line
from calibrate.store import settings, similar, state
from calibrate.store.stamps import now_at, replica_id
from calibrate.text import count as plural

BATCH_ROWS = 2000
MAX_LISTED_BAD = 20
PREVIEW_ROWS = 5
CACHE_KIB = 32 * 1024  # SQLite page cache during an import
KEYLESS_NOTE = (
    "rows without a key are known by source, person, title, estimate and created date: "
    "a changed title or estimate imports as a new task"
)


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
    source_from: str = ""
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
    applied: ledger.Applied = field(default_factory=ledger.Applied)
    joined: state.JoinResult = field(default_factory=state.JoinResult)

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
            "source_from": self.source_from,
            "kept_local": dict(self.applied.kept),
            "kept_forward": dict(self.applied.forward),
            "kept_deleted": self.applied.buried + self.joined.buried,
            "records": {
                "interval": self.joined.records["interval"],
                "reestimate": self.joined.records["reestimate"],
                "alias": self.joined.aliases,
                "person": self.joined.people,
                "tombstone": self.joined.tombstones,
            },
        }

    def lines(self) -> list[str]:
        """What the import did, for people, at most 80 columns a line where it can."""
        verb = "Would import" if self.dry_run else "Imported"
        out = [
            f"{verb} {self.file} ({self.format_name}, source {self.source}): "
            f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.skipped_total:,} skipped" + (f", {self.bad:,} bad" if self.bad else "")
        ]
        if self.source_from:
            out.append(f"  source {self.source}: {self.source_from}")
        out.extend(self._kept_lines())
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
        taken = [
            plural(n, word, words)
            for n, word, words in (
                (self.joined.records["interval"], "timer interval", None),
                (self.joined.records["reestimate"], "re-estimate", None),
                (self.joined.aliases, "alias", "aliases"),
                (self.joined.people, "opt-out", None),
                (self.joined.tombstones, "tombstone", None),
            )
            if n
        ]
        if taken:
            out.append(f"  taken from the file: {', '.join(taken)}")
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

    def _kept_lines(self) -> list[str]:
        """What the database kept, and why (law 2)."""
        out = []
        for word, count in self.applied.kept.most_common():
            out.append(
                f"  {count:,} task{'s' if count != 1 else ''} kept "
                f"{'its' if count == 1 else 'their'} local {word}: edited here after the file's "
                "version"
            )
        for word, count in self.applied.forward.most_common():
            out.append(
                f"  {count:,} task{'s' if count != 1 else ''} kept "
                f"{'its' if count == 1 else 'their'} local {word}: a status only moves forward "
                "(the file's source had not closed it)"
            )
        buried = self.applied.buried + self.joined.buried
        if buried:
            out.append(
                f"  {buried:,} task{'s' if buried != 1 else ''} deleted here not brought back "
                "(rm leaves a tombstone)"
            )
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
        from_name = not options.source and stream.source == file_source_name(options.path)
        result = ImportResult(
            file=options.name or options.path.name,
            format_name=format_name,
            source=source,
            source_from=(
                "from --source"
                if options.source
                else "the file's name (--source names another)"
                if from_name
                else f"named by the {format_name} format"
            ),
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
            notes=result.notes,
        )
        context = ledger.Context(
            at=now_at(),
            now=converter.stamp,
            replica=replica_id(conn),
            file_source=source if from_name else None,
            file_name=result.file,
        )
        cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # bounded; spilling costs more
        try:
            # one transaction; the index of similar tasks kept once, at its end
            with store.transaction(conn), similar.deferred(conn):
                _run(conn, stream, converter, options, result, context, progress)
                if options.dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        finally:
            conn.execute(f"PRAGMA cache_size = {int(cache_size)}")
        result.skipped.update(stream.skipped)
        result.skipped.update(result.applied.skipped)
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
    context: ledger.Context,
    progress: Callable[[int, int], None] | None,
) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_seen (base TEXT PRIMARY KEY, n INTEGER)")
    conn.execute("DELETE FROM temp.import_seen")
    batch: list[Row] = []
    records: dict[str, list[dict]] = {}

    projects: set[str] = set()

    def flush() -> None:
        if batch:
            if stream.format_name == "jira":  # issue keys name their project: WEB-12
                projects.update(row.key.rsplit("-", 1)[0] for row in batch if row.key)
            rows = assign_uids(conn, batch, result)
            ledger.check_renamed(conn, rows, context)
            ledger.apply_rows(conn, rows, context, result.applied)
            batch.clear()
        _join_records(conn, records, result.joined)
        if progress is not None:
            progress(stream.position(), stream.size)

    read = 0
    preview: list[list] = []
    for raw in stream:
        read += 1
        try:
            if raw.record is not None:
                kind, record = export_line(raw.record)
                records.setdefault(kind, []).append(record)
                if sum(len(group) for group in records.values()) >= BATCH_ROWS:
                    flush()
                continue
            row = converter.convert(raw)
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
        batch.append(row)
        if len(preview) < PREVIEW_ROWS:
            preview.append(row.values)  # its uid is filled in by assign_uids
        if len(batch) >= BATCH_ROWS:
            flush()
    flush()
    if read == 0 and not stream.skipped:
        raise InputError(f"{result.file} has no rows to import (a header and nothing else)")
    result.rows = read + sum(stream.skipped.values())
    if projects:
        result.source_from += f" (issue keys of {', '.join(sorted(projects))})"
    joined = result.joined
    result.added = result.applied.added + joined.added
    result.updated = result.applied.updated + joined.updated
    result.unchanged = result.applied.unchanged + joined.unchanged + joined.kept
    result.preview = [converter.preview(values) for values in preview]
    conn.execute("DROP TABLE temp.import_seen")


def _join_records(
    conn: sqlite3.Connection, records: dict[str, list[dict]], joined: state.JoinResult
) -> None:
    """Join the export's records read so far (tombstones first, tasks before
    their timer intervals and re-estimates), then forget them."""
    if not records:
        return
    state.join_tombstones(conn, records.pop("tombstone", []), joined)
    state.join_tasks(conn, records.pop("task", []), joined)
    state.join_children(conn, "intervals", records.pop("interval", []), joined)
    state.join_children(conn, "reestimates", records.pop("reestimate", []), joined)
    state.join_children(conn, "advice_ledger", records.pop("advice", []), joined)
    state.join_children(conn, "forecast_ledger", records.pop("chance", []), joined)
    state.join_aliases(conn, records.pop("alias", []), joined)
    state.join_people(conn, records.pop("person", []), joined)
    records.clear()


def assign_uids(conn: sqlite3.Connection, batch: list[Row], result: ImportResult) -> list[Row]:
    """Final uids for a batch: a key is its uid (a repeat updates the earlier
    row, and is counted); a keyless row's base gets ``#N`` for its Nth
    occurrence in the file, and keeps the uid an import before law 8 gave it
    (by its content) when the database has that one. Counts of bases seen so
    far live in ``temp.import_seen``."""
    bases = list(
        dict.fromkeys(
            base
            for row in batch
            for base in ((row.base,) if row.keyed else (row.base, row.legacy))
            if base is not None
        )
    )
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
    repeated = keyless = 0
    legacy: dict[int, str] = {}
    for number, row in enumerate(batch):
        count = seen.get(row.base, 0) + 1
        seen[row.base] = count
        if row.keyed:
            repeated += count > 1
            row.values[0] = row.base
            continue
        keyless += 1
        row.values[0] = row.base if count == 1 else f"{row.base}#{count}"
        if row.legacy is not None:
            old = seen.get(row.legacy, 0) + 1
            seen[row.legacy] = old
            legacy[number] = row.legacy if old == 1 else f"{row.legacy}#{old}"
    if legacy:
        _keep_legacy_uids(conn, batch, legacy)
    if repeated:
        result.notes["repeated key in the file (the later row wins)"] += repeated
    if keyless:
        result.notes[KEYLESS_NOTE] += keyless
    conn.executemany(
        "INSERT INTO temp.import_seen (base, n) VALUES (?, ?) "
        "ON CONFLICT(base) DO UPDATE SET n = excluded.n",
        [(base, seen[base]) for base in bases],
    )
    return batch


def _keep_legacy_uids(conn: sqlite3.Connection, batch: list[Row], legacy: dict[int, str]) -> None:
    """Keyless rows stored by an import before law 8 (keyed by their whole
    content) keep that uid, so that re-importing an old file adds nothing."""
    wanted = [uid for number, uid in legacy.items()] + [batch[n].values[0] for n in legacy]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT uid FROM tasks WHERE uid IN ({','.join('?' * len(chunk))})",  # noqa: S608 (only marks)
                chunk,
            )
        )
    for number, old in legacy.items():
        if old in found and batch[number].values[0] not in found:
            batch[number].values[0] = old


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
