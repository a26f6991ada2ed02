"""An import never undoes local work (law 2): rows applied against the ledger.

Each imported task keeps, in its ``imported`` column, the last values the
source that imported it gave (per field: the ledger). A row of a file
changes a register of a stored task only when:

1. the row speaks for it (the file has the field: a JSON line with ``uid``
   and ``estimate`` speaks for the estimate alone);
2. its value differs from what the same source gave last time (a tracker
   that did not change the field leaves local edits alone: re-importing last
   week's export changes nothing);
3. its value differs from the stored one;
4. for the status (with the actual and dates): it moves forward (open <
   started < done; dropped from open or started), unless the source that
   closed the task now says it is open (the tracker reopened it);
5. its stamp, the row's own time of change (JSON Lines ``updated_at``, Jira
   ``Updated``) or else the import's, is later than the register's: an edit
   made here after the file's version wins.

What a row could not change is counted by register, for the import's summary
("3 tasks kept their local actual"). A task whose uid was deleted here is not
brought back. Unchanged rows are recognised by their ledger text alone, so
re-importing a file writes nothing and reads each task once.

Rows whose uid is new are inserted, stamped with the row's (or the import's)
time. A file named after its day (``tracker-2026-12-01.csv``) whose keys
already exist under another file's name with the same titles is refused
before anything is written (law 8): :func:`check_renamed`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from calibrate.errors import InputError
from calibrate.exchange.rows import COLUMNS, Row, RowConverter
from calibrate.store import similar, state
from calibrate.store.stamps import (
    REGISTERS,
    Stamp,
    after,
    decode,
    encode,
    newest,
    second_of,
    single,
    wins,
)

#: The order a status moves forward in (dropped: from open or started).
RANK = {"open": 0, "started": 1, "done": 2, "dropped": 2}
#: How a summary names a register a task kept.
WORDS = {
    "title": "title",
    "person": "person",
    "team": "team",
    "project": "project",
    "estimate": "estimate",
    "range": "range",
    "promise": "promise",
    "state": "status",
    "created": "created date",
    "notes": "notes",
    "tags": "tags",
}
_INDEX = {column: number for number, column in enumerate(COLUMNS)}
_ROW_COLUMNS = state.TASK_COLUMNS
_INSERT = (
    f"INSERT INTO tasks ({', '.join(_ROW_COLUMNS)}, updated_at, stamps) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join('?' * (len(_ROW_COLUMNS) + 2))})"
)
_UPDATE = (
    f"UPDATE tasks SET {', '.join(f'{c} = ?' for c in _ROW_COLUMNS[1:])}, "  # noqa: S608 (fixed names)
    "updated_at = ?, stamps = ? WHERE id = ?"
)


@dataclass
class Context:
    """What every row of one import shares: its time (``at``, and ``now`` as
    stored times are written), this database's replica id, and the source
    named after the file (for :func:`check_renamed`; ``None`` when the source
    was given or named by the format)."""

    at: str
    now: str
    replica: str
    file_source: str | None = None
    file_name: str = ""
    other_sources: list[str] | None = None


@dataclass
class Applied:
    """What applying rows did, for the import's summary."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    buried: int = 0
    kept: Counter[str] = field(default_factory=Counter)  # newer here
    forward: Counter[str] = field(default_factory=Counter)  # a status only moves forward
    skipped: Counter[str] = field(default_factory=Counter)


def ledger_of(row: Row) -> dict:
    """The fields this row gives, by column, for the registers it speaks for."""
    values = row.values
    return {
        column: values[_INDEX[column]]
        for register in REGISTERS
        if register in row.registers
        for column in REGISTERS[register]
    }


def ledger_text(source: str, fields: dict, at: str = "") -> str:
    """The ledger as stored: the source, the fields it gave and, when its rows
    carry their own time of change, that time."""
    ledger: dict = {"source": source, "fields": fields}
    if at:
        ledger["at"] = at
    return json.dumps(ledger, ensure_ascii=False, separators=(",", ":"))


def apply_rows(conn: sqlite3.Connection, rows: list[Row], ctx: Context, done: Applied) -> None:
    """Insert the new rows and apply the known ones (the module doc), inside
    the import's transaction. Rows are in file order; a uid repeated in the
    batch applies after the first."""
    uids = [row.values[0] for row in rows]
    buried = state.active_tombstones(conn, uids)
    stored: dict[str, tuple] = {}
    for start in range(0, len(uids), 500):
        chunk = list(dict.fromkeys(uids[start : start + 500]))
        cursor = conn.cursor()
        cursor.row_factory = None
        stored.update(
            (row[1], row)
            for row in cursor.execute(
                f"SELECT id, {', '.join(_ROW_COLUMNS)}, updated_at, stamps FROM tasks "  # noqa: S608 (fixed names)
                f"WHERE uid IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    inserts: list[tuple] = []
    updates: list[tuple] = []
    pending: set[str] = set()
    for row in rows:
        uid = row.values[0]
        if uid in buried:
            done.buried += 1
            continue
        if uid in pending:  # repeated in this batch: write what came before first
            _write(conn, inserts, updates)
            inserts, updates, pending = [], [], set()
            stored.update(_reread(conn, uid))
        source = row.values[_INDEX["source"]]
        fields = ledger_of(row)
        text = ledger_text(source, fields, row.at)
        mine = stored.get(uid)
        if mine is None and row.values[_INDEX["estimate_h"]] is None:
            done.skipped[RowConverter.UNKNOWN] += 1  # a line for a known task, not here
            continue
        if mine is None:
            inserts.append(_new_task(row, text, ctx))
            done.added += 1
        else:
            update = _known_task(row, mine, source, fields, text, ctx, done)
            if update is not None:
                updates.append(update)
        pending.add(uid)
    _write(conn, inserts, updates)


def _write(conn: sqlite3.Connection, inserts: list[tuple], updates: list[tuple]) -> None:
    if inserts:
        conn.executemany(_INSERT, inserts)
        similar.changed_uids(conn, [insert[0] for insert in inserts])
    if updates:
        conn.executemany(_UPDATE, updates)
        similar.changed(conn, [update[-1] for update in updates])


def _reread(conn: sqlite3.Connection, uid: str) -> list[tuple[str, tuple]]:
    cursor = conn.cursor()
    cursor.row_factory = None
    row = cursor.execute(
        f"SELECT id, {', '.join(_ROW_COLUMNS)}, updated_at, stamps FROM tasks WHERE uid = ?",  # noqa: S608 (fixed names)
        (uid,),
    ).fetchone()
    return [(uid, row)] if row is not None else []


def _new_task(row: Row, ledger: str, ctx: Context) -> tuple:
    """The INSERT parameters of a new task: dated by the import where the row
    has no date (a finished task without one is finished now)."""
    values = dict(zip(COLUMNS, row.values, strict=True))
    values["created_at"] = values["created_at"] or ctx.now
    if values["status"] in ("done", "dropped"):
        values["done_at"] = values["done_at"] or ctx.now
    values["imported"] = ledger
    at = row.at or ctx.at
    return (
        *(values[c] for c in _ROW_COLUMNS),
        second_of(at),
        single(at, ctx.replica),
    )


def _known_task(
    row: Row,
    mine: tuple,
    source: str,
    fields: dict,
    text: str,
    ctx: Context,
    done: Applied,
) -> tuple | None:
    """The UPDATE parameters for a stored task (``None``: nothing to write)."""
    width = len(_ROW_COLUMNS) + 1
    current = dict(zip(_ROW_COLUMNS, mine[1:width], strict=True))
    if current["imported"] == text:
        done.unchanged += 1  # the source says what it said last time
        return None
    before, said_at = _ledger(current["imported"], source)
    restated = bool(row.at) and row.at > said_at  # the source says it again, later
    stamps = decode(mine[width + 1], mine[width], ctx.replica)
    stamp: Stamp = (row.at or ctx.at, ctx.replica)
    file = dict(zip(COLUMNS, row.values, strict=True))
    merged = dict(current)
    changed = False
    for register, columns in REGISTERS.items():
        if register not in row.registers:
            continue
        said = [file[c] for c in columns]
        unchanged = all(c in before for c in columns) and [before[c] for c in columns] == said
        if unchanged and not restated:
            continue  # the tracker did not change it
        wanted = _wanted(register, file, current, ctx)
        if wanted is None:
            continue
        local = [current[c] for c in columns]
        if wanted == local:
            continue
        word = _word(register, current)
        if register == "state" and not _forward(current["status"], file["status"], before):
            done.forward[word] += 1
            continue
        if not wins(stamp, wanted, stamps[register], local):
            done.kept[word] += 1
            continue
        merged.update(zip(columns, wanted, strict=True))
        stamps[register] = stamp
        changed = True
    ledger = ledger_text(source, {**before, **fields}, max(row.at, said_at))
    if not changed and ledger == current["imported"]:
        done.unchanged += 1
        return None
    merged["imported"] = ledger
    previous = stamps["imported"][0]
    stamps["imported"] = (ctx.at if ctx.at > previous else after(previous), ctx.replica)
    if changed:
        done.updated += 1
    else:
        done.unchanged += 1
    return (
        *(merged[c] for c in _ROW_COLUMNS[1:]),
        second_of(newest(stamps)[0]),
        encode(stamps),
        mine[0],
    )


def _ledger(text: str | None, source: str) -> tuple[dict, str]:
    """What ``source`` gave last, by column, and the time its row said it
    changed (nothing when another source imported the task)."""
    if not text:
        return {}, ""
    try:
        ledger = json.loads(text)
    except ValueError:
        return {}, ""
    if not isinstance(ledger, dict) or ledger.get("source") != source:
        return {}, ""
    fields, at = ledger.get("fields"), ledger.get("at")
    return (fields if isinstance(fields, dict) else {}), (at if isinstance(at, str) else "")


def _wanted(register: str, file: dict, current: dict, ctx: Context) -> list | None:
    """The register's values the row asks for (``None``: nothing), with the
    dates the file lacks kept as stored."""
    if register == "created":
        return None if file["created_at"] is None else [file["created_at"]]
    if register == "state":
        status = file["status"]
        started = file["started_at"] or current["started_at"]
        if status in ("done", "dropped"):
            finished = file["done_at"] or current["done_at"] or ctx.now
        else:
            finished = None
        return [status, file["actual_h"], started, finished]
    return [file[c] for c in REGISTERS[register]]


def _forward(local: str, wanted: str, before: dict) -> bool:
    """Whether a status may move from ``local`` to ``wanted``: forward, or
    reopened by the source that had closed it."""
    if wanted == local or RANK[wanted] > RANK[local]:
        return True
    return before.get("status") in ("done", "dropped") and wanted in ("open", "started")


def _word(register: str, current: dict) -> str:
    if register == "state" and current["actual_h"] is not None:
        return "actual"
    return WORDS.get(register, register)


def check_renamed(conn: sqlite3.Connection, rows: list[Row], ctx: Context) -> None:
    """Refuse a file named after its day whose keys already exist, with the
    same titles, under another file's name (law 8): a renamed export must not
    duplicate every task silently. Raises before anything of the batch is
    written; the import's transaction then leaves the database as it was."""
    if ctx.file_source is None:
        return
    keyed = [row for row in rows if row.key is not None and row.values[16] == ctx.file_source]
    if not keyed:
        return
    cursor = conn.cursor()
    cursor.row_factory = None
    uids = [row.values[0] for row in keyed]
    known: set[str] = set()
    for start in range(0, len(uids), 500):
        chunk = uids[start : start + 500]
        known.update(
            r[0]
            for r in cursor.execute(
                f"SELECT uid FROM tasks WHERE uid IN ({', '.join('?' * len(chunk))})",  # noqa: S608 (marks only)
                chunk,
            )
        )
    new = [row for row in keyed if row.values[0] not in known]
    if not new:
        return
    if ctx.other_sources is None:
        ctx.other_sources = [
            r[0]
            for r in cursor.execute(
                "SELECT DISTINCT source FROM tasks WHERE source != ? LIMIT 1000",
                (ctx.file_source,),
            )
        ]
    for other in ctx.other_sources:
        titles: dict[str, str] = {}
        for start in range(0, len(new), 500):
            chunk = new[start : start + 500]
            titles.update(
                cursor.execute(
                    f"SELECT uid, title FROM tasks WHERE uid IN ({', '.join('?' * len(chunk))})",  # noqa: S608 (marks only)
                    [f"{other}:{row.key}" for row in chunk],
                ).fetchall()
            )
        same = sum(titles.get(f"{other}:{row.key}") == row.values[1] for row in new)
        if same and same * 2 >= len(new):
            raise InputError(
                f"{ctx.file_name}: {same:,} of its {len(new):,} new keys already exist under "
                f"source {other!r} with the same titles (a renamed file?), so nothing was "
                f"imported: give --source {other} to update those tasks, or --source NEW to "
                "import them as new ones"
            )
