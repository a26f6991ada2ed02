"""Exporting tasks: CSV, JSON Lines or a JSON array, to stdout or a file.

An export carries every field of each task but the database's bookkeeping
(:data:`calibrate.store.fields.EXPORTED`: uid and source included), so that
``import`` of it into any calibrate database gives the same tasks back. CSV
cells that a spreadsheet would run as formulas get a leading apostrophe,
which ``import`` removes.

JSON Lines carries the whole replicated history besides (law 8): each task's
stamps and import ledger, its timer intervals and re-estimates, the aliases
and opt-outs of the people exported, and every tombstone (uids only), so
that an export imported into an empty database is the same history and
merges as the original would (:func:`history_rows`).

A file is written atomically (:func:`calibrate.files.output_file`), so that a
failed export never leaves half a file (nor destroys the previous one).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from calibrate import files
from calibrate.exchange.formats import FORMATS, get_format
from calibrate.selection import Selection
from calibrate.store import state
from calibrate.store.fields import EXPORTED
from calibrate.store.names import alias_map, resolve_person
from calibrate.store.stamps import encode, newest, second_of


def format_for_path(path: Path | None, format_name: str | None) -> str:
    """``--format``, else the output file's suffix, else CSV."""
    if format_name:
        return get_format(format_name, reading=False).name
    if path is not None:
        suffix = path.suffix.lower()
        for fmt in FORMATS.values():
            if fmt.writes and suffix in fmt.suffixes:
                return fmt.name
    return "csv"


def task_rows(conn: sqlite3.Connection, selection: Selection) -> Iterator[dict]:
    """The selected tasks, oldest first, as plain dicts (tags as a list)."""
    where, params = selection.where()
    columns = ", ".join(EXPORTED)
    sql = f"SELECT {columns} FROM tasks WHERE {where} ORDER BY id"  # noqa: S608 (clause from Selection)
    for row in conn.execute(sql, params):
        item = dict(zip(EXPORTED, row, strict=True))
        item["tags"] = json.loads(item["tags"])
        yield item


def history_rows(conn: sqlite3.Connection, selection: Selection) -> Iterator[dict]:
    """The selected tasks with their stamps, then their intervals and
    re-estimates, the aliases and opt-outs of their people (all of them for an
    export of everyone) and every tombstone: the lines of a JSON Lines export."""
    where, params = selection.where()
    people: set[str] = set()
    for record in state.read_tasks(conn, where, params):
        people.add(record["person"])
        row = {name: record[name] for name in EXPORTED}
        row["tags"] = json.loads(row["tags"])
        row["updated_at"] = second_of(newest(record["stamps"])[0])
        row["stamps"] = _stamps_object(record["stamps"])
        row["imported"] = json.loads(record["imported"]) if record["imported"] else None
        yield row
    for table, kind in state.CHILD_KINDS.items():
        for child in state.read_children(conn, table, *selection.where("tasks")):
            yield {"kind": kind, **child, "stamp": list(child["stamp"])}
    narrowed = selection.person is not None or selection.team is not None
    aliases = alias_map(conn)
    mine = {aliases.resolve(name) for name in people}
    for alias in state.read_aliases(conn):
        if not narrowed or aliases.resolve(alias["alias"]) in mine or alias["person"] in mine:
            yield {"kind": "alias", **alias, "stamp": list(alias["stamp"])}
    for person in state.read_people(conn):
        if not narrowed or aliases.resolve(person["name"]) in mine:
            yield {"kind": "person", **person, "stamp": list(person["stamp"])}
    for tombstone in state.read_tombstones(conn):
        yield {
            "kind": "tombstone",
            "uid": tombstone["uid"],
            "deleted": list(tombstone["deleted"]),
            "restored": list(tombstone["restored"]) if tombstone["restored"] else None,
        }


def _stamps_object(stamps: dict) -> dict:
    """A task's stamps as written: ``"*"`` and the registers stamped otherwise."""
    return json.loads(encode(stamps))


def export_tasks(
    conn: sqlite3.Connection | None,
    selection: Selection,
    format_name: str,
    handle: TextIO,
) -> int:
    """Write the selected tasks to ``handle``; returns how many. ``conn`` is
    ``None`` for a database that does not exist yet (an empty export)."""
    fmt = get_format(format_name, reading=False)
    if conn is not None:
        selection = resolve_person(conn, selection)  # every name of the person (law 7)
    if conn is None:
        rows: Iterator[dict] = iter(())
    elif fmt.name == "jsonl":
        rows = history_rows(conn, selection)
    else:
        rows = task_rows(conn, selection)
    return fmt.write(handle, rows, list(EXPORTED))


def export_to_file(
    conn: sqlite3.Connection | None,
    selection: Selection,
    format_name: str,
    path: Path,
    *,
    database: str | None = None,
) -> int:
    """Export into ``path`` atomically (temporary file, fsync, then rename), or
    straight into a FIFO or device (:func:`files.output_target`); never into
    ``database`` or its files."""
    with files.output_file(path, database=database) as handle:
        return export_tasks(conn, selection, format_name, handle)
