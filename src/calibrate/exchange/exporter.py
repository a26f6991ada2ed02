"""Exporting tasks: CSV, JSON Lines or a JSON array, to stdout or a file.

An export carries every field of each task (uid and source included), so that
``import`` of it into any calibrate database gives the same tasks back. CSV
cells that a spreadsheet would run as formulas get a leading apostrophe,
which ``import`` removes.

A file is written atomically: into a temporary file in the same folder, then
renamed over the target, so that a failed export never leaves half a file
(nor destroys the previous one).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from calibrate.errors import InputError
from calibrate.exchange.formats import FORMATS, get_format
from calibrate.selection import Selection

#: The fields of an export, in column order: every stored field of a task but
#: its local id (which means nothing in another database) and updated_at.
EXPORT_FIELDS = (
    "uid", "title", "person", "team", "project", "status", "estimate_h", "low_h", "high_h",
    "confidence", "promise_h", "due", "actual_h", "created_at", "started_at", "done_at",
    "source", "tags", "notes",
)  # fmt: skip


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
    columns = ", ".join(EXPORT_FIELDS)
    sql = f"SELECT {columns} FROM tasks WHERE {where} ORDER BY id"  # noqa: S608 (clause from Selection)
    for row in conn.execute(sql, params):
        item = dict(zip(EXPORT_FIELDS, row, strict=True))
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
    return fmt.write(handle, rows, list(EXPORT_FIELDS))


def export_to_file(
    conn: sqlite3.Connection | None, selection: Selection, format_name: str, path: Path
) -> int:
    """Export into ``path`` atomically (temporary file, then rename)."""
    with atomic_text_file(path) as handle:
        return export_tasks(conn, selection, format_name, handle)


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """A text file that appears at ``path`` complete, or not at all."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{path} is a directory: name a file to write")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: no folder {folder}")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise InputError(f"cannot write {path}: {error.strerror or error}") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
