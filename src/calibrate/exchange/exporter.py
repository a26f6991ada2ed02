"""Exporting tasks: CSV, JSON Lines or a JSON array, to stdout or a file.

An export carries every field of each task but the database's bookkeeping
(:data:`calibrate.store.fields.EXPORTED`: uid and source included), so that
``import`` of it into any calibrate database gives the same tasks back. CSV
cells that a spreadsheet would run as formulas get a leading apostrophe,
which ``import`` removes.

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
from calibrate.store.fields import EXPORTED


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


def export_tasks(
    conn: sqlite3.Connection | None,
    selection: Selection,
    format_name: str,
    handle: TextIO,
) -> int:
    """Write the selected tasks to ``handle``; returns how many. ``conn`` is
    ``None`` for a database that does not exist yet (an empty export)."""
    fmt = get_format(format_name, reading=False)
    rows = task_rows(conn, selection) if conn is not None else iter(())
    return fmt.write(handle, rows, list(EXPORTED))


def export_to_file(
    conn: sqlite3.Connection | None, selection: Selection, format_name: str, path: Path
) -> int:
    """Export into ``path`` atomically (temporary file, fsync, then rename)."""
    with files.output_file(path) as handle:
        return export_tasks(conn, selection, format_name, handle)
