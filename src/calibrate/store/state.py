"""The replicated state of a database, read out and joined in (law 1).

A database's history is a set of records, each a last-writer-wins value
under a stamp (:mod:`calibrate.store.stamps`):

- a task: its uid and registers (:data:`~calibrate.store.stamps.REGISTERS`),
  each with its own stamp;
- a timer interval or a re-estimate: a record with its own uid, its task's
  uid, its values and one stamp (``deleted`` is one of its values: an undone
  sitting is a later version of the record, not a removal);
- a tombstone: a task uid deleted (a stamp), perhaps restored (a later one);
- an alias: a name -> a person (or deleted), keyed by the name;
- a person's opt-out, keyed by the name.

Records travel as plain dicts (:func:`read_tasks` and the other readers; the
JSON Lines export writes them as they are). :func:`join` folds records in:
per record (and per register of a task), the larger stamp wins, so joining is
commutative, associative and idempotent by construction: any order and any
number of merges end in the same state, which :func:`replica_state` returns
(uids, values, stamps, tombstones; no local ids or caches) for the tests to
compare. A task whose uid has an active tombstone is never stored again, and
an arriving tombstone deletes the task here.

Standard library only.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from calibrate.store import similar
from calibrate.store.stamps import (
    NO_STAMP,
    REGISTER_COLUMNS,
    REGISTERS,
    Stamp,
    decode,
    encode,
    newest,
    replica_id,
    second_of,
    wins,
)

#: A task record's columns, in table order: the uid, then every register's.
TASK_COLUMNS = ("uid", *REGISTER_COLUMNS)
#: A child record's values (``deleted`` is a value too), by table.
CHILD_VALUES: dict[str, tuple[str, ...]] = {
    "intervals": ("started_at", "stopped_at", "deleted"),
    "reestimates": ("estimate_h", "at", "reason", "deleted"),
    # the ledgers of METRICS.md section 8 (calibrate.store.ledgers)
    "advice_ledger": ("p50_h", "p80_h", "p90_h", "version", "source", "given_at", "deleted"),
    "forecast_ledger": ("day", "chance", "promise_h", "due", "deleted"),
}
#: The record kinds of a child table, as an export names them.
CHILD_KINDS = {
    "intervals": "interval",
    "reestimates": "reestimate",
    "advice_ledger": "advice",
    "forecast_ledger": "chance",
}
BATCH = 500
#: Whether a record may be stored (the door of :mod:`calibrate.exchange.validate`,
#: which keeps a line per refusal): asked of every record a join would store.
Admit = Callable[[dict], bool]


def _everything(record: dict) -> bool:
    return True


@dataclass
class JoinResult:
    """What a join did: tasks added, updated (something newer arrived),
    kept (ours was newer), unchanged; records and tombstones taken;
    ``buried``: tasks not stored because they were deleted here, ``deleted``:
    tasks here that an arriving tombstone removed; ``conflicts``: registers
    that differed on both sides, by register; ``lines``: one per alias conflict."""

    added: int = 0
    updated: int = 0
    kept: int = 0
    unchanged: int = 0
    records: Counter[str] = field(default_factory=Counter)
    buried: int = 0
    deleted: int = 0
    tombstones: int = 0
    aliases: int = 0
    people: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)


# --- reading records ---------------------------------------------------------------------


def read_tasks(conn: sqlite3.Connection, where: str = "1", params: Iterable = ()) -> Iterator[dict]:
    """Task records (``uid``, every register's columns, ``stamps``: register
    -> [at, replica]) of the tasks matching ``where``, in id order."""
    replica = replica_id(conn)
    columns = ", ".join(TASK_COLUMNS)
    sql = f"SELECT {columns}, updated_at, stamps FROM tasks WHERE {where} ORDER BY id"  # noqa: S608 (fixed names, clause from the caller)
    width = len(TASK_COLUMNS)
    for row in _query(conn, sql, params):
        record = dict(zip(TASK_COLUMNS, row[:width], strict=True))
        try:
            record["stamps"] = decode(row[width + 1], row[width], replica)
        except (ValueError, TypeError, AttributeError, IndexError):
            record["stamps"] = None  # unreadable: the door refuses the record
        yield record


def read_children(
    conn: sqlite3.Connection, table: str, where: str = "1", params: Iterable = ()
) -> Iterator[dict]:
    """The records of ``table`` (intervals or reestimates) whose task matches
    ``where`` (on ``tasks``): ``uid``, ``task`` (its uid), values, ``stamp``."""
    names = CHILD_VALUES[table]
    values = ", ".join(f"c.{name}" for name in names)
    sql = (
        f"SELECT c.uid, tasks.uid, {values}, c.stamp_at, c.stamp_replica "  # noqa: S608 (fixed names)
        f"FROM {table} AS c JOIN tasks ON tasks.id = c.task_id WHERE {where} ORDER BY c.id"
    )
    for row in _query(conn, sql, params):
        record = {"uid": row[0], "task": row[1]}
        record.update(zip(names, row[2 : 2 + len(names)], strict=True))
        record["deleted"] = bool(record["deleted"])
        record["stamp"] = (row[-2] or "", row[-1] or "")
        yield record


def read_tombstones(conn: sqlite3.Connection) -> Iterator[dict]:
    for uid, d_at, d_rep, r_at, r_rep in _query(
        conn,
        "SELECT uid, deleted_at, deleted_replica, restored_at, restored_replica "
        "FROM tombstones ORDER BY uid",
    ):
        yield {
            "uid": uid,
            "deleted": (d_at, d_rep),
            "restored": (r_at, r_rep) if r_at is not None else None,
        }


def read_aliases(conn: sqlite3.Connection) -> Iterator[dict]:
    for alias, person, deleted, at, replica in _query(
        conn, "SELECT alias, person, deleted, stamp_at, stamp_replica FROM aliases ORDER BY alias"
    ):
        yield {"alias": alias, "person": person, "deleted": bool(deleted), "stamp": (at, replica)}


def read_people(conn: sqlite3.Connection) -> Iterator[dict]:
    for name, opt_out, at, replica in _query(
        conn, "SELECT name, opt_out, stamp_at, stamp_replica FROM people ORDER BY name"
    ):
        yield {"name": name, "opt_out": bool(opt_out), "stamp": (at, replica)}


# --- joining records in ------------------------------------------------------------------


def _chunks(items: Iterable, size: int = BATCH, key: str | None = None) -> Iterator[list]:
    """Lists of at most ``size`` items; with ``key``, no two items of a list
    share its value (a record repeated in a file joins after the first)."""
    chunk: list = []
    seen: set = set()
    for item in items:
        if key is not None:
            if item[key] in seen:
                yield chunk
                chunk, seen = [], set()
            seen.add(item[key])
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk, seen = [], set()
    if chunk:
        yield chunk


def _query(conn: sqlite3.Connection, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
    """Rows as plain tuples (faster than the connection's ``sqlite3.Row``)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, list(params))


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def active_tombstones(conn: sqlite3.Connection, uids: list[str]) -> set[str]:
    """Which of ``uids`` are deleted here (deleted later than restored)."""
    found: set[str] = set()
    for chunk in _chunks(uids):
        found.update(
            row[0]
            for row in _query(
                conn,
                f"SELECT uid FROM tombstones WHERE uid IN ({_marks(len(chunk))}) "  # noqa: S608 (marks only)
                "AND (restored_at IS NULL OR (deleted_at, deleted_replica) > "
                "(restored_at, restored_replica))",
                chunk,
            )
        )
    return found


_INSERT_TASK = (
    f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}, updated_at, stamps) "  # noqa: S608 (fixed names)
    f"VALUES ({_marks(len(TASK_COLUMNS) + 2)})"
)
_UPDATE_TASK = (
    f"UPDATE tasks SET {', '.join(f'{c} = ?' for c in REGISTER_COLUMNS)}, "  # noqa: S608 (fixed names)
    "updated_at = ?, stamps = ? WHERE id = ?"
)


def join_tasks(
    conn: sqlite3.Connection,
    records: Iterable[dict],
    result: JoinResult,
    admit: Admit = _everything,
) -> None:
    """Fold task records in (inside the caller's transaction): per register,
    the later stamp wins; a task deleted here stays deleted. A record that
    would add or change a task is stored only when ``admit`` lets it (one
    already held as it is changes nothing, and is not asked about)."""
    replica = replica_id(conn)
    for chunk in _chunks(records, key="uid"):
        uids = [record["uid"] for record in chunk]
        buried = active_tombstones(conn, uids)
        ours = {
            row[1]: row
            for row in _query(
                conn,
                f"SELECT id, {', '.join(TASK_COLUMNS)}, updated_at, stamps FROM tasks "  # noqa: S608 (fixed names)
                f"WHERE uid IN ({_marks(len(uids))})",
                uids,
            )
        }
        inserts, updates = [], []
        for record in chunk:
            uid = record["uid"]
            if uid in buried:
                result.buried += 1
                continue
            theirs = record["stamps"]
            mine = ours.get(uid)
            if mine is None:
                if not admit(record):
                    continue
                values = [record[c] for c in TASK_COLUMNS]
                inserts.append((*values, second_of(newest(theirs)[0]), encode(theirs)))
                result.added += 1
                continue
            width = len(TASK_COLUMNS) + 1
            their_text = _encoded(theirs)
            # a row written here without stamps (NULL: the demo, SQL by hand) reads as
            # stamped with its updated_at and this replica: compare that text
            our_text = mine[width + 1] or encode(decode(None, mine[width], replica))
            if their_text is not None and our_text == their_text:
                result.unchanged += 1  # the same writes: held already, as it is
                continue
            if not admit(record):
                continue
            stamps = decode(mine[width + 1], mine[width], replica)
            row = dict(zip(TASK_COLUMNS, mine[1:width], strict=True))
            merged, changed, differed = dict(row), False, False
            for register, columns in REGISTERS.items():
                their_values = _comparable(register, [record[c] for c in columns])
                our_values = _comparable(register, [row[c] for c in columns])
                if their_values != our_values:
                    differed = True
                    result.conflicts[register] += 1
                if theirs[register] == stamps[register] and their_values == our_values:
                    continue
                if wins(theirs[register], their_values, stamps[register], our_values):
                    merged.update((c, record[c]) for c in columns)
                    stamps[register] = theirs[register]
                    changed = True
            if not changed:
                if differed or encode(stamps) != their_text:
                    result.kept += 1
                else:
                    result.unchanged += 1
                continue
            text = encode(stamps)
            updates.append(
                (
                    *(merged[c] for c in REGISTER_COLUMNS),
                    second_of(newest(stamps)[0]),
                    text,
                    mine[0],
                )
            )
            result.updated += 1
        if inserts:
            conn.executemany(_INSERT_TASK, inserts)
            similar.changed_uids(conn, [insert[0] for insert in inserts])
        if updates:
            conn.executemany(_UPDATE_TASK, updates)
            similar.changed(conn, [update[-1] for update in updates])


def _encoded(stamps: Any) -> str | None:
    """A record's stamps as their compact text; ``None`` when they are not stamps."""
    try:
        return encode(stamps)
    except (TypeError, KeyError, ValueError, IndexError, AttributeError):
        return None


def _comparable(register: str, values: list) -> list:
    """A register's values as compared: JSON texts (tags, the import ledger)
    by what they hold, not how they were spelled."""
    if register in ("tags", "imported"):
        return [json.loads(value) if value else None for value in values]
    return values


def join_children(
    conn: sqlite3.Connection,
    table: str,
    records: Iterable[dict],
    result: JoinResult,
    admit: Admit = _everything,
) -> None:
    """Fold interval or re-estimate records in: united by uid, the later
    stamp winning per record. A record whose task is not here (deleted here,
    or not in the file) is left out; one to store, unless ``admit`` lets it."""
    names = CHILD_VALUES[table]
    insert = (
        f"INSERT INTO {table} (uid, task_id, {', '.join(names)}, stamp_at, stamp_replica) "  # noqa: S608 (fixed names)
        f"VALUES ({_marks(len(names) + 4)})"
    )
    update = (
        f"UPDATE {table} SET {', '.join(f'{n} = ?' for n in names)}, "  # noqa: S608 (fixed names)
        "stamp_at = ?, stamp_replica = ? WHERE uid = ?"
    )
    kind = CHILD_KINDS[table]
    for chunk in _chunks(records, key="uid"):
        task_uids = list({record["task"] for record in chunk})
        task_ids: dict[str, int] = {}
        for part in _chunks(task_uids):
            task_ids.update(
                (uid, task_id)
                for task_id, uid in _query(
                    conn,
                    f"SELECT id, uid FROM tasks WHERE uid IN ({_marks(len(part))})",  # noqa: S608 (marks only)
                    part,
                )
            )
        uids = [record["uid"] for record in chunk]
        ours = {
            row[0]: row
            for row in _query(
                conn,
                f"SELECT uid, {', '.join(names)}, stamp_at, stamp_replica FROM {table} "  # noqa: S608 (fixed names)
                f"WHERE uid IN ({_marks(len(uids))})",
                uids,
            )
        }
        inserts, updates = [], []
        for record in chunk:
            mine = ours.get(record["uid"])
            if mine is not None and _held(record, mine, names):
                continue  # held already, as it is
            if not admit(record):
                continue
            task_id = task_ids.get(record["task"])
            if task_id is None:
                continue
            values = [int(record[n]) if n == "deleted" else record[n] for n in names]
            stamp = tuple(record["stamp"])
            if mine is None:
                inserts.append((record["uid"], task_id, *values, *stamp))
            else:
                our_values = list(mine[1 : 1 + len(names)])
                our_stamp = (mine[-2] or "", mine[-1] or "")
                if not wins(stamp, values, our_stamp, our_values):
                    continue
                updates.append((*values, *stamp, record["uid"]))
            result.records[kind] += 1
        if inserts:
            conn.executemany(insert, inserts)
        if updates:
            conn.executemany(update, updates)


def _held(record: dict, mine: tuple, names: tuple[str, ...]) -> bool:
    """Whether a child record is the very one held here (its values and stamp)."""
    try:
        values = [int(record[n]) if n == "deleted" else record[n] for n in names]
        return tuple(record["stamp"]) == (mine[-2] or "", mine[-1] or "") and values == list(
            mine[1 : 1 + len(names)]
        )
    except (TypeError, KeyError, ValueError):
        return False


def join_tombstones(
    conn: sqlite3.Connection,
    records: Iterable[dict],
    result: JoinResult,
    admit: Admit = _everything,
) -> None:
    """Fold tombstones in (deleted and restored, each the later stamp), then
    delete the tasks they hold deleted (only those ``admit`` lets in)."""
    records = (record for record in records if admit(record))
    for chunk in _chunks(records, key="uid"):
        uids = [record["uid"] for record in chunk]
        ours = {
            row[0]: row
            for row in _query(
                conn,
                "SELECT uid, deleted_at, deleted_replica, restored_at, restored_replica "  # noqa: S608 (marks only)
                f"FROM tombstones WHERE uid IN ({_marks(len(uids))})",
                uids,
            )
        }
        for record in chunk:
            uid = record["uid"]
            deleted = tuple(record["deleted"])
            restored = tuple(record["restored"]) if record.get("restored") else NO_STAMP
            mine = ours.get(uid)
            if mine is not None:
                our_deleted = (mine[1], mine[2])
                our_restored = (mine[3], mine[4]) if mine[3] is not None else NO_STAMP
                if our_deleted >= deleted and our_restored >= restored:
                    continue
                deleted, restored = max(deleted, our_deleted), max(restored, our_restored)
            conn.execute(
                "INSERT INTO tombstones (uid, deleted_at, deleted_replica, restored_at, "
                "restored_replica) VALUES (?, ?, ?, ?, ?) ON CONFLICT(uid) DO UPDATE SET "
                "deleted_at = excluded.deleted_at, deleted_replica = excluded.deleted_replica, "
                "restored_at = excluded.restored_at, restored_replica = excluded.restored_replica",
                (uid, *deleted, *(restored if restored != NO_STAMP else (None, None))),
            )
            result.tombstones += 1
            if deleted > restored:
                gone = conn.execute("SELECT id FROM tasks WHERE uid = ?", (uid,)).fetchone()
                result.deleted += conn.execute("DELETE FROM tasks WHERE uid = ?", (uid,)).rowcount
                if gone is not None:
                    similar.changed(conn, [gone[0]])


def join_aliases(
    conn: sqlite3.Connection,
    records: Iterable[dict],
    result: JoinResult,
    admit: Admit = _everything,
) -> None:
    """Fold aliases in (those ``admit`` lets in), last writer winning per
    name; where the two sides map a name differently, one line says which
    mapping stays and why."""
    for record in filter(admit, records):
        alias, stamp = record["alias"], tuple(record["stamp"])
        value = [record["person"], bool(record["deleted"])]
        mine = conn.execute(
            "SELECT person, deleted, stamp_at, stamp_replica FROM aliases WHERE alias = ?",
            (alias,),
        ).fetchone()
        if mine is not None:
            ours = [mine[0], bool(mine[1])]
            our_stamp = (mine[2], mine[3])
            if (our_stamp, ours) == (stamp, value):
                continue
            theirs_win = wins(stamp, value, our_stamp, ours)
            if ours != value and not (ours[1] and value[1]):
                kept, lost = (value, ours) if theirs_win else (ours, value)
                result.lines.append(
                    f"alias {alias}: {_alias_words(kept)} kept over {_alias_words(lost)} "
                    "(the later edit, by time then replica)"
                )
            if not theirs_win:
                continue
        conn.execute(
            "INSERT INTO aliases (alias, person, deleted, stamp_at, stamp_replica) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(alias) DO UPDATE SET person = excluded.person, "
            "deleted = excluded.deleted, stamp_at = excluded.stamp_at, "
            "stamp_replica = excluded.stamp_replica",
            (alias, value[0], int(value[1]), *stamp),
        )
        result.aliases += 1


def _alias_words(value: list) -> str:
    return "no alias" if value[1] else f"-> {value[0]}"


def join_people(
    conn: sqlite3.Connection,
    records: Iterable[dict],
    result: JoinResult,
    admit: Admit = _everything,
) -> None:
    """Fold opt-outs in (those ``admit`` lets in), last writer winning per name."""
    for record in filter(admit, records):
        name, stamp, opt_out = record["name"], tuple(record["stamp"]), int(bool(record["opt_out"]))
        mine = conn.execute(
            "SELECT opt_out, stamp_at, stamp_replica FROM people WHERE name = ?", (name,)
        ).fetchone()
        if mine is not None and not wins(stamp, opt_out, (mine[1], mine[2]), mine[0]):
            continue
        if mine is not None and (mine[0], mine[1], mine[2]) == (opt_out, *stamp):
            continue
        conn.execute(
            "INSERT INTO people (name, opt_out, stamp_at, stamp_replica) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET opt_out = excluded.opt_out, "
            "stamp_at = excluded.stamp_at, stamp_replica = excluded.stamp_replica",
            (name, opt_out, *stamp),
        )
        result.people += 1


# --- the canonical state -----------------------------------------------------------------


def replica_state(conn: sqlite3.Connection) -> dict:
    """The canonical state of a database: every task's uid with each
    register's values and stamp, child records by uid, tombstones, aliases
    and people; no local ids, no caches, no ``updated_at``. Two databases
    hold the same history exactly when their states are equal."""
    tasks = {}
    for record in read_tasks(conn):
        registers = {}
        for register, columns in REGISTERS.items():
            values = [record[c] for c in columns]
            if register in ("tags", "imported"):
                values = [json.loads(v) if v else None for v in values]
            registers[register] = (values, tuple(record["stamps"][register]))
        tasks[record["uid"]] = registers
    children = {
        table: {
            r["uid"]: (r["task"], [r[n] for n in CHILD_VALUES[table]], tuple(r["stamp"]))
            for r in read_children(conn, table)
        }
        for table in CHILD_VALUES
    }
    return {
        "tasks": tasks,
        **children,
        "tombstones": {
            r["uid"]: (tuple(r["deleted"]), tuple(r["restored"]) if r["restored"] else None)
            for r in read_tombstones(conn)
        },
        "aliases": {
            r["alias"]: (r["person"], r["deleted"], tuple(r["stamp"])) for r in read_aliases(conn)
        },
        "people": {r["name"]: (r["opt_out"], tuple(r["stamp"])) for r in read_people(conn)},
    }


def stamp_of(value: object) -> Stamp:
    """A stamp as a tuple (records read from JSON carry lists)."""
    return tuple(value) if isinstance(value, list | tuple) else NO_STAMP
