"""The migration backups beside a database, and forgetting a person in them (law 3).

Before a migration, :func:`calibrate.store.schema.migrate` copies the file to
``NAME.bak-vN`` beside it, with the database file's own permissions (a
private database leaves no world-readable copy). Those copies hold every task
as it was, so ``rm --person`` removes the person from them too
(:func:`forget_person`): their tasks (with timers and re-estimates), summary
rows, hints and what ``undo`` kept of them go, and the file is vacuumed so
that no deleted page keeps them. A backup that cannot be rewritten (read-only, locked, damaged) is
named, for the user to delete.

Standard library only: ``rm`` is an everyday command.
"""

from __future__ import annotations

import glob
import os
import sqlite3

from calibrate.store import similar
from calibrate.store.names import clean_name


def backups_of(path: str | os.PathLike) -> list[str]:
    """The migration backups beside the database at ``path``, oldest first."""
    path = os.fspath(path)
    found = glob.glob(f"{glob.escape(path)}.bak-v*")
    return sorted(
        (p for p in found if p.rsplit("-v", 1)[-1].isdigit()),
        key=lambda p: int(p.rsplit("-v", 1)[-1]),
    )


def forget_person(path: str | os.PathLike, names: list[str]) -> tuple[list[str], list[str]]:
    """Remove every row of the person going by ``names`` from each backup of
    the database at ``path``. Returns (backups rewritten, lines naming the
    backups that still hold them and why)."""
    rewritten, left = [], []
    for backup in backups_of(path):
        try:
            if _forget(backup, names):
                rewritten.append(backup)
        except (sqlite3.Error, OSError) as error:
            left.append(f"{backup} ({error})")
    return rewritten, left


def _forget(backup: str, names: list[str]) -> bool:
    """Delete the person's rows in one backup and vacuum it; ``True`` when it held any."""
    if not os.access(backup, os.W_OK):
        raise OSError("it is read-only")
    conn = sqlite3.connect(backup, timeout=1, isolation_level=None)
    try:
        conn.create_function("clean_name", 1, lambda n: clean_name(n or ""), deterministic=True)
        conn.execute("PRAGMA foreign_keys = ON")  # timers and re-estimates go with their task
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        marks = ", ".join("?" * len(names))
        held = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            if "undo_items" in tables:  # what undo kept of their tasks
                held += conn.execute(
                    "DELETE FROM undo_items WHERE task_uid IN (SELECT uid FROM tasks WHERE "  # noqa: S608 (marks only)
                    f"clean_name(person) IN ({marks}) UNION SELECT task_uid FROM undo_items "
                    f"WHERE clean_name(json_extract(before, '$.task.person')) IN ({marks}))",
                    [*names, *names],
                ).rowcount
                conn.execute(
                    "DELETE FROM undo_log WHERE id NOT IN (SELECT entry_id FROM undo_items)"
                )
            for table, column in (
                ("tasks", "person"),
                ("summary_weeks", "person"),
                ("summary_people", "person"),
                ("hints", "person"),
            ):
                if table in tables:
                    held += conn.execute(
                        f"DELETE FROM {table} WHERE clean_name({column}) IN ({marks})",  # noqa: S608 (fixed names, marks)
                        names,
                    ).rowcount
            if held and "similar_state" in tables:  # the index of similar tasks held their words
                similar.forget_index(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if held:
            conn.execute("VACUUM")  # no free page keeps what was deleted
        return held > 0
    finally:
        conn.close()
