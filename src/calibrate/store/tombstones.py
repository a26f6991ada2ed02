"""Tombstones: a deleted task's uid, so that it stays deleted (law 3).

``rm`` and ``rm --person`` delete a task's row (its timer intervals and
re-estimates go with it) and leave a tombstone: the uid and a stamp, never a
name or any other value. Merges, exports and imports carry tombstones
(:mod:`calibrate.store.state`), so no older file brings the task back; a
later ``restored`` stamp (for ``undo``) would revive it everywhere.

Standard library only: ``rm`` is an everyday command.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from calibrate.store import similar
from calibrate.store.stamps import next_at, replica_id


def bury(conn: sqlite3.Connection, uids: Sequence[str]) -> None:
    """Delete the tasks of ``uids`` and leave a tombstone for each (uid and
    stamp only: never a name), inside the caller's transaction."""
    replica = replica_id(conn)
    for start in range(0, len(uids), 500):
        chunk = list(uids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        known = dict(
            conn.execute(
                f"SELECT uid, max(deleted_at, coalesce(restored_at, '')) FROM tombstones "  # noqa: S608 (marks only)
                f"WHERE uid IN ({marks})",
                chunk,
            ).fetchall()
        )
        conn.executemany(
            "INSERT INTO tombstones (uid, deleted_at, deleted_replica) VALUES (?, ?, ?) "
            "ON CONFLICT(uid) DO UPDATE SET deleted_at = excluded.deleted_at, "
            "deleted_replica = excluded.deleted_replica",
            [(uid, next_at(known.get(uid, "")), replica) for uid in chunk],
        )
        ids = [
            row[0]
            for row in conn.execute(f"SELECT id FROM tasks WHERE uid IN ({marks})", chunk)  # noqa: S608 (marks only)
        ]
        conn.execute(f"DELETE FROM tasks WHERE uid IN ({marks})", chunk)  # noqa: S608 (marks only)
        similar.changed(conn, ids)  # their words leave the index of similar tasks
