"""Folding another calibrate database into this one (a lead collecting the
team's files, or one person's laptop and desktop).

Tasks are matched by ``uid``, which is globally unique (a uuid for tasks made
with ``add``, ``source:key`` for imported ones):

- a task only the other database has is added, with its re-estimates and
  timer intervals (under a new local id);
- a task both have and that differs keeps the most recent edit: the other
  side's version (fields, re-estimates and intervals, and its ``updated_at``)
  replaces ours only when its ``updated_at`` is later; on a tie ours stays;
- aliases and people the other database has and ours does not are added; an
  opt-out on either side wins (privacy first). Settings are not merged: they
  belong to the database they are set in.

Merging is idempotent: a second run finds every task equal (or ours newer)
and changes nothing. All of it is one transaction. The other file is only
read (a copy is upgraded when its schema is older).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from calibrate import store
from calibrate.errors import DatabaseError, InputError, UsageError
from calibrate.store.fields import NAMES
from calibrate.text import count

#: The task columns a merge copies and compares: all but the local id.
TASK_COLUMNS = tuple(name for name in NAMES if name != "id")

CHILD_TABLES = {
    "reestimates": ("estimate_h", "at", "reason"),
    "intervals": ("started_at", "stopped_at"),
}


@dataclass
class MergeResult:
    other: str
    added: int = 0
    updated: int = 0
    kept: int = 0
    unchanged: int = 0
    aliases_added: int = 0
    people_added: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {
            "other": self.other,
            "added": self.added,
            "updated": self.updated,
            "kept": self.kept,
            "unchanged": self.unchanged,
            "aliases_added": self.aliases_added,
            "people_added": self.people_added,
            "dry_run": self.dry_run,
        }

    def lines(self) -> list[str]:
        verb = "Would merge" if self.dry_run else "Merged"
        out = [
            f"{verb} {self.other}: {self.added:,} added, {self.updated:,} updated "
            f"(newer there), {self.kept:,} kept (newer here), {self.unchanged:,} unchanged"
        ]
        if self.aliases_added or self.people_added:
            aliases = count(self.aliases_added, "alias", "aliases")
            out.append(f"  {aliases} and {count(self.people_added, 'person', 'people')} added")
        return out


class _DryRun(Exception):
    pass


def merge_database(
    conn: sqlite3.Connection,
    other_path: Path,
    *,
    own_path: Path | None = None,
    dry_run: bool = False,
) -> MergeResult:
    """Fold the database at ``other_path`` into ``conn`` (see the module doc)."""
    result = MergeResult(other=other_path.name, dry_run=dry_run)
    if own_path is not None and _same_file(other_path, own_path):
        raise UsageError("cannot merge a database into itself")
    with open_other(other_path) as other:
        try:
            with store.transaction(conn):
                _merge_people(conn, other, result)
                _merge_tasks(conn, other, result)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
    return result


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def open_other(path: Path) -> Iterator[sqlite3.Connection]:
    """The other database, read-only; an older schema is upgraded in a
    temporary copy, never in place."""
    if not path.exists():
        raise InputError(f"no such file: {path}")
    version = store.read_header_version(path)
    if version is None:
        raise DatabaseError(f"{path} is empty, not a calibrate database")
    if version > store.SCHEMA_VERSION:
        raise DatabaseError(
            f"{path} was written by a newer calibrate (schema version {version}; this one "
            f"reads up to {store.SCHEMA_VERSION}): upgrade calibrate to merge it"
        )
    try:
        source = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=store.BUSY_TIMEOUT_S
        )
        source.row_factory = sqlite3.Row
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"{path} is damaged or not a calibrate database ({error})") from None
    if version == 0 or "tasks" not in tables:
        source.close()
        raise DatabaseError(f"{path} is not a calibrate database")
    if version == store.SCHEMA_VERSION:
        try:
            yield source
        finally:
            source.close()
        return
    with tempfile.TemporaryDirectory(prefix="calibrate-merge-") as folder:
        copy_path = Path(folder) / path.name
        target = sqlite3.connect(copy_path)
        with target:
            source.backup(target)
        target.close()
        source.close()
        upgraded = store.connect(copy_path)
        try:
            yield upgraded
        finally:
            upgraded.close()


def _merge_people(conn: sqlite3.Connection, other: sqlite3.Connection, result: MergeResult) -> None:
    for row in other.execute("SELECT alias, person FROM aliases"):
        cursor = conn.execute(
            "INSERT INTO aliases (alias, person) VALUES (?, ?) ON CONFLICT(alias) DO NOTHING",
            (row[0], row[1]),
        )
        result.aliases_added += cursor.rowcount
    for name, opt_out in other.execute("SELECT name, opt_out FROM people").fetchall():
        mine = conn.execute("SELECT opt_out FROM people WHERE name = ?", (name,)).fetchone()
        if mine is None:
            conn.execute("INSERT INTO people (name, opt_out) VALUES (?, ?)", (name, opt_out))
            result.people_added += 1
        elif opt_out > mine[0]:
            conn.execute("UPDATE people SET opt_out = ? WHERE name = ?", (opt_out, name))


def _children(db: sqlite3.Connection, task_id: int) -> dict[str, list[tuple]]:
    out = {}
    for table, columns in CHILD_TABLES.items():
        names = ", ".join(columns)
        out[table] = sorted(
            (
                tuple(r)
                for r in db.execute(
                    f"SELECT {names} FROM {table} WHERE task_id = ?",  # noqa: S608 (fixed names)
                    (task_id,),
                )
            ),
            key=repr,
        )
    return out


def _write_children(conn: sqlite3.Connection, task_id: int, children: dict) -> None:
    for table, columns in CHILD_TABLES.items():
        conn.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))  # noqa: S608
        names = ", ".join(("task_id", *columns))
        marks = ", ".join("?" * (len(columns) + 1))
        conn.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 (fixed names)
            [(task_id, *row) for row in children[table]],
        )


def _merge_tasks(conn: sqlite3.Connection, other: sqlite3.Connection, result: MergeResult) -> None:
    columns = TASK_COLUMNS
    compared = [c for c in columns if c != "updated_at"]
    aliases = dict(conn.execute("SELECT alias, person FROM aliases").fetchall())
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    insert = f"INSERT INTO tasks ({names}) VALUES ({marks})"  # noqa: S608 (column names)
    update = f"UPDATE tasks SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"  # noqa: S608
    select_theirs = f"SELECT id, {names} FROM tasks ORDER BY id"  # noqa: S608 (column names)
    select_ours = f"SELECT id, {names} FROM tasks WHERE uid = ?"  # noqa: S608 (column names)
    for row in other.execute(select_theirs):
        theirs = {c: row[c] for c in columns}
        theirs["person"] = aliases.get(theirs["person"], theirs["person"])
        their_children = _children(other, row["id"])
        mine = conn.execute(select_ours, (theirs["uid"],)).fetchone()
        if mine is None:
            task_id = store.inserted_id(conn.execute(insert, [theirs[c] for c in columns]))
            _write_children(conn, task_id, their_children)
            result.added += 1
            continue
        same = all(mine[c] == theirs[c] for c in compared)
        if same and _children(conn, mine["id"]) == their_children:
            result.unchanged += 1
        elif (theirs["updated_at"] or "") > (mine["updated_at"] or ""):
            conn.execute(update, [*(theirs[c] for c in columns), mine["id"]])
            _write_children(conn, mine["id"], their_children)
            result.updated += 1
        else:
            result.kept += 1
