"""Schema changes, applied when a database is behind.

Each migration is a small function over a :class:`sqlite_utils.Database`,
registered in order. :func:`migrate` copies the file to a backup beside it
(when it holds anything), then applies each missing step in its own
transaction, records its name in ``_migrations`` and sets ``PRAGMA
user_version`` to the step's number, so the check on open stays one pragma.

This module imports sqlite-utils, which costs about a quarter of a second: it
is loaded only when :func:`calibrate.store.connect` finds the version behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from calibrate.durations import now_iso
from calibrate.store import SCHEMA_VERSION

Migration = Callable[[Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: Database) -> None:
    """Tasks, their tags, re-estimates and timer intervals; settings; people."""
    db.execute(
        """
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uid TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            person TEXT NOT NULL,
            team TEXT,
            project TEXT,
            estimate_h REAL NOT NULL CHECK (estimate_h > 0),
            low_h REAL CHECK (low_h > 0),
            high_h REAL,
            confidence REAL CHECK (confidence > 0 AND confidence < 100),
            promise_h REAL CHECK (promise_h > 0),
            due TEXT,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'started', 'done', 'dropped')),
            actual_h REAL CHECK (actual_h > 0),
            created_at TEXT NOT NULL,
            started_at TEXT,
            done_at TEXT,
            updated_at TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'cli',
            notes TEXT,
            tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
            CHECK (high_h IS NULL OR (low_h IS NOT NULL AND high_h > low_h))
        )
        """
    )
    db["tasks"].create_index(["person", "done_at"], index_name="tasks_person_done")
    db["tasks"].create_index(["team", "done_at"], index_name="tasks_team_done")
    db["tasks"].create_index(["done_at"], index_name="tasks_done")
    db["tasks"].create_index(["status"], index_name="tasks_status")
    db.execute(
        """
        CREATE TABLE reestimates (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            estimate_h REAL NOT NULL CHECK (estimate_h > 0),
            at TEXT NOT NULL,
            reason TEXT
        )
        """
    )
    db["reestimates"].create_index(["task_id"], index_name="reestimates_task")
    db.execute(
        """
        CREATE TABLE intervals (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            started_at TEXT NOT NULL,
            stopped_at TEXT,
            CHECK (stopped_at IS NULL OR stopped_at >= started_at)
        )
        """
    )
    db["intervals"].create_index(["task_id"], index_name="intervals_task")
    db.execute("CREATE INDEX intervals_running ON intervals(task_id) WHERE stopped_at IS NULL")
    db["settings"].create({"key": str, "value": str}, pk="key", not_null={"value"})
    db["people"].create(
        {"name": str, "opt_out": int}, pk="name", not_null={"opt_out"}, defaults={"opt_out": 0}
    )
    db["aliases"].create({"alias": str, "person": str}, pk="alias", not_null={"person"})


assert len(MIGRATIONS) == SCHEMA_VERSION, "store.SCHEMA_VERSION must match MIGRATIONS"


def backup_path(path: str | Path, version: int) -> Path:
    path = Path(path)
    return path.with_name(f"{path.name}.bak-v{version}")


def migrate(conn: sqlite3.Connection, path: str | Path) -> list[str]:
    """Apply every missing migration to ``conn`` (the database at ``path``).

    Returns the names applied. Safe when two processes race: each step
    re-reads the version inside its write transaction.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > 0:
        backup = backup_path(path, version)
        target = sqlite3.connect(backup)
        with target:
            conn.backup(target)
        target.close()
    else:
        conn.execute("PRAGMA journal_mode = WAL")
    db = Database(conn, execute_plugins=False)
    applied = []
    for number, step in enumerate(MIGRATIONS, start=1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= number:
                conn.execute("ROLLBACK")
                continue
            step(db)
            if "_migrations" not in db.table_names():
                db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
            db["_migrations"].insert({"name": step.__name__, "applied_at": now_iso()})
            conn.execute(f"PRAGMA user_version = {number:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(step.__name__)
    return applied
