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
    db.table("tasks").create_index(["person", "done_at"], index_name="tasks_person_done")
    db.table("tasks").create_index(["team", "done_at"], index_name="tasks_team_done")
    db.table("tasks").create_index(["done_at"], index_name="tasks_done")
    db.table("tasks").create_index(["status"], index_name="tasks_status")
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
    db.table("reestimates").create_index(["task_id"], index_name="reestimates_task")
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
    db.table("intervals").create_index(["task_id"], index_name="intervals_task")
    db.execute("CREATE INDEX intervals_running ON intervals(task_id) WHERE stopped_at IS NULL")
    db.table("settings").create({"key": str, "value": str}, pk="key", not_null={"value"})
    db.table("people").create(
        {"name": str, "opt_out": int}, pk="name", not_null={"opt_out"}, defaults={"opt_out": 0}
    )
    db.table("aliases").create({"alias": str, "person": str}, pk="alias", not_null={"person"})


@migration
def m002_team_summaries(db: Database) -> None:
    """Team summaries imported from other databases (per person and week, never
    tasks: see ``summary.py``), this database's identity and pseudonym key, and
    an index that finds a person's most recent task (their team) without a scan."""
    import secrets

    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('database_id', ?), ('pseudonym_salt', ?)",
        [secrets.token_hex(16), secrets.token_hex(32)],
    )
    db.execute(
        """
        CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            database_id TEXT NOT NULL UNIQUE,
            file TEXT NOT NULL,
            exported_at TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            since TEXT,
            until TEXT,
            format_version INTEGER NOT NULL,
            score_version INTEGER NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE summary_people (
            summary_id INTEGER NOT NULL REFERENCES summaries(id) ON DELETE CASCADE,
            person TEXT NOT NULL,
            team TEXT,
            opt_out INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (summary_id, person)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE summary_weeks (
            summary_id INTEGER NOT NULL REFERENCES summaries(id) ON DELETE CASCADE,
            person TEXT NOT NULL,
            team TEXT,
            week TEXT,
            n INTEGER NOT NULL CHECK (n >= 0),
            sum_abs REAL NOT NULL CHECK (sum_abs >= 0),
            sum_sq REAL NOT NULL CHECK (sum_sq >= 0),
            over INTEGER NOT NULL,
            exact INTEGER NOT NULL,
            under INTEGER NOT NULL,
            within_25 INTEGER NOT NULL,
            due INTEGER NOT NULL,
            kept INTEGER NOT NULL,
            exceeded INTEGER NOT NULL,
            histogram TEXT NOT NULL DEFAULT '[]',
            ranges TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    db.execute("CREATE INDEX summary_weeks_summary ON summary_weeks(summary_id)")
    db.execute("CREATE INDEX summary_weeks_person ON summary_weeks(person, week)")
    db.execute("CREATE INDEX tasks_person_created ON tasks(person, created_at, id)")


@migration
def m003_advice(db: Database) -> None:
    """The advice caches (``hints``: per person and size; ``advice_cache``: the
    history as arrays and the quoted backtests) and the history stamp they
    are checked against: a counter bumped by triggers whenever a counted
    task's estimate, actual, status (to or from dropped), person, team or done
    time changes, or one is deleted. Inserts need no trigger (bulk imports stay
    fast): the newest id with an actual tells them apart."""
    db.execute(
        "CREATE TABLE history_state (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "version INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO history_state (id, version) VALUES (1, 0)")
    bump = "BEGIN UPDATE history_state SET version = version + 1 WHERE id = 1; END"
    db.execute(
        f"""
        CREATE TRIGGER tasks_history_update
        AFTER UPDATE OF estimate_h, actual_h, status, person, team, done_at ON tasks
        WHEN (OLD.actual_h IS NOT NULL OR NEW.actual_h IS NOT NULL) AND (
            OLD.estimate_h IS NOT NEW.estimate_h OR OLD.actual_h IS NOT NEW.actual_h
            OR (OLD.status = 'dropped') IS NOT (NEW.status = 'dropped')
            OR OLD.person IS NOT NEW.person OR OLD.team IS NOT NEW.team
            OR OLD.done_at IS NOT NEW.done_at)
        {bump}
        """
    )
    # a deleted task takes what was derived from it along (rm --person forgets them)
    db.execute(
        "CREATE TRIGGER tasks_history_delete AFTER DELETE ON tasks WHEN OLD.actual_h IS NOT NULL "
        "BEGIN UPDATE history_state SET version = version + 1 WHERE id = 1; "
        "DELETE FROM advice_cache; END"
    )
    db.execute(
        "CREATE TRIGGER tasks_forget_hints AFTER DELETE ON tasks "
        "BEGIN DELETE FROM hints WHERE person = OLD.person; END"
    )
    db.execute(
        """
        CREATE TABLE hints (
            person TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            own_n INTEGER NOT NULL,
            pool_n INTEGER NOT NULL,
            pool TEXT NOT NULL,
            team TEXT,
            p50 REAL NOT NULL,
            p80 REAL NOT NULL,
            p90 REAL NOT NULL,
            stamp TEXT NOT NULL,
            PRIMARY KEY (person, bucket)
        ) WITHOUT ROWID
        """
    )
    # forecast's caches, by key: the loaded history (arrays) and each scope's backtest
    db.execute(
        "CREATE TABLE advice_cache (key TEXT PRIMARY KEY, stamp TEXT NOT NULL, value BLOB NOT NULL)"
    )


@migration
def m004_summary_detail(db: Database) -> None:
    """What a version-2 team summary carries per person and week beside the
    sums of ``summary_weeks`` (METRICS.md section 5: the sums per size bucket,
    tasks logged, the widen factor's histograms, the promise cost's sums), as
    one JSON object; ``NULL`` for a week imported from an older summary."""
    db.execute("ALTER TABLE summary_weeks ADD COLUMN detail TEXT")


@migration
def m005_replicas(db: Database) -> None:
    """A replicated history (PRODUCT.md, "How tasks travel"): this file's
    replica id (the identity m002 made), stamps on every task register
    (``stamps``, from ``updated_at``) and the last values an import's source
    gave (``imported``); uids and stamps on timer intervals and re-estimates
    (records of their own, merged as a set; a row written without them gets
    them from a trigger); aliases and people stamped (last writer wins);
    tombstones; and every stored name in its one spelling (:func:`clean_name`).
    Every value stays as it was, but names that were not in that spelling."""
    from calibrate.store.names import clean_name
    from calibrate.store.stamps import normal_at, now_at

    conn = db.conn
    conn.create_function("normal_at", 1, normal_at, deterministic=True)
    conn.create_function("clean_name", 1, clean_name, deterministic=True)
    conn.create_function("child_uid", 4, _child_uid, deterministic=True)
    replica = conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0]
    at = now_at()
    db.execute("UPDATE meta SET key = 'replica_id' WHERE key = 'database_id'")
    db.execute("ALTER TABLE tasks ADD COLUMN stamps TEXT")
    db.execute("ALTER TABLE tasks ADD COLUMN imported TEXT")
    db.execute(
        """UPDATE tasks SET stamps = '{"*":["' || normal_at(updated_at) || '","' || ? || '"]}'""",
        [replica],
    )
    db.execute(
        "UPDATE tasks SET person = clean_name(person) WHERE person IS NOT clean_name(person)"
    )
    for table, start, moment in (
        ("intervals", "started_at", "coalesce({row}stopped_at, {row}started_at)"),
        ("reestimates", "at", "{row}at"),
    ):
        for column in ("uid TEXT", "stamp_at TEXT", "stamp_replica TEXT"):
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        db.execute(f"ALTER TABLE {table} ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0")
        # one record in two files migrated apart (merged before) gets one uid
        db.execute(
            f"""
            WITH numbered AS (
                SELECT {table}.id, child_uid(tasks.uid, '{table}', {table}.{start},
                    row_number() OVER (PARTITION BY task_id, {table}.{start} ORDER BY {table}.id)
                ) AS uid
                FROM {table} JOIN tasks ON tasks.id = {table}.task_id
            )
            UPDATE {table} SET
                uid = (SELECT uid FROM numbered WHERE numbered.id = {table}.id),
                stamp_at = normal_at({moment.format(row="")}),
                stamp_replica = ?
            """,  # noqa: S608 (fixed names)
            [replica],
        )
        db.execute(f"CREATE UNIQUE INDEX {table}_uid ON {table}(uid)")
        # a row written without a uid (the demo, a Timewarrior import, SQL by hand)
        # gets one, the same in every file for the same task and start (so that one
        # sitting imported into two files is one record), and a stamp
        new_moment = moment.format(row="NEW.")
        made = f"(SELECT uid FROM tasks WHERE id = NEW.task_id) || '/' || NEW.{start}"  # noqa: S608
        db.execute(
            f"""
            CREATE TRIGGER {table}_stamped AFTER INSERT ON {table} WHEN NEW.uid IS NULL
            BEGIN
                UPDATE {table} SET
                    uid = CASE WHEN EXISTS (SELECT 1 FROM {table} WHERE uid = {made})
                        THEN {made} || '/' || NEW.id ELSE {made} END,
                    stamp_at = coalesce(NEW.stamp_at, CASE length({new_moment})
                        WHEN 20 THEN substr({new_moment}, 1, 19) || '.000000Z'
                        ELSE {new_moment} END),
                    stamp_replica = coalesce(NEW.stamp_replica,
                        (SELECT value FROM meta WHERE key = 'replica_id'))
                WHERE id = NEW.id;
            END
            """  # noqa: S608 (fixed names)
        )
    for table in ("aliases", "people"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN stamp_at TEXT NOT NULL DEFAULT ''")
        db.execute(f"ALTER TABLE {table} ADD COLUMN stamp_replica TEXT NOT NULL DEFAULT ''")
        db.execute(f"UPDATE {table} SET stamp_at = ?, stamp_replica = ?", [at, replica])  # noqa: S608
    db.execute("ALTER TABLE aliases ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0")
    _clean_names(conn, clean_name, (at, replica))
    db.execute(
        """
        CREATE TABLE tombstones (
            uid TEXT PRIMARY KEY,
            deleted_at TEXT NOT NULL,
            deleted_replica TEXT NOT NULL,
            restored_at TEXT,
            restored_replica TEXT
        ) WITHOUT ROWID
        """
    )


@migration
def m006_ledgers(db: Database) -> None:
    """The ledgers of METRICS.md section 8, records of the replicated history
    (a uid and a stamp each, merged as sets, gone with their task): the advice
    given for a task before it was done (its P50, P80 and P90 in hours, the
    advice rule's version, where it came from and when), and the chance a
    forecast gave an open promise, at most one a promise a local day (the
    promise as it stood then beside it); and the hints made by version 1's
    rule forgotten (made again when next needed)."""
    db.execute(
        """
        CREATE TABLE advice_ledger (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            p50_h REAL NOT NULL CHECK (p50_h > 0),
            p80_h REAL NOT NULL CHECK (p80_h >= p50_h),
            p90_h REAL NOT NULL CHECK (p90_h >= p80_h),
            version INTEGER NOT NULL,
            source TEXT NOT NULL,
            given_at TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0,
            stamp_at TEXT NOT NULL,
            stamp_replica TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX advice_ledger_task ON advice_ledger(task_id, given_at)")
    db.execute(
        """
        CREATE TABLE forecast_ledger (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            day TEXT NOT NULL,
            chance REAL NOT NULL CHECK (chance >= 0 AND chance <= 1),
            promise_h REAL CHECK (promise_h > 0),
            due TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            stamp_at TEXT NOT NULL,
            stamp_replica TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX forecast_ledger_task ON forecast_ledger(task_id, day)")
    db.execute("DELETE FROM hints")


@migration
def m007_undo_log(db: Database) -> None:
    """The operation log of ``undo`` (PRODUCT.md, "A day's use"): per command
    typed here that changed tasks (``undo_log``: when, and what it was, by ids
    alone), per task it changed (``undo_items``) what reverses it: the task and
    the records it changed as they were before (``before``, JSON; NULL when
    the command made the task) and the stamps it left (NULL when it deleted
    the task), so that an undo writes the old values back under new, later
    stamps where nothing has changed them since. Local to this file: never
    merged, exported or imported."""
    db.execute(
        """
        CREATE TABLE undo_log (
            id INTEGER PRIMARY KEY,
            typed_at TEXT NOT NULL,
            command TEXT NOT NULL,
            undone_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE undo_items (
            entry_id INTEGER NOT NULL REFERENCES undo_log(id) ON DELETE CASCADE,
            task_uid TEXT NOT NULL,
            task_id INTEGER NOT NULL,
            before TEXT CHECK (before IS NULL OR json_valid(before)),
            stamps TEXT,
            records TEXT CHECK (records IS NULL OR json_valid(records))
        )
        """
    )
    db.execute("CREATE INDEX undo_items_entry ON undo_items(entry_id)")
    db.execute("CREATE INDEX undo_items_task ON undo_items(task_uid)")


@migration
def m008_summary_replicas(db: Database) -> None:
    """Team summaries at a lead kept per export, by replica (law 4): every
    imported export is a row of ``summaries`` (no longer one per database),
    with ``replica``: the key a lead counts it under (the file's replica id,
    ``database_id``, with ``~N`` for a fork: one id, two histories), the
    exporter's ``today``, whom it covers (``scope_kind``: everyone, team or
    person, and ``scope_name``) and how many opted-out people it left out
    (``left_out``; ``NULL``: not said). A later export of one replica
    supersedes the weeks it covers; what an earlier one alone covers stays.
    The three tables are rebuilt (children first: their rows are kept)."""
    saved = {
        table: db.conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 (fixed names)
        for table in ("summaries", "summary_people", "summary_weeks")
    }
    for table in ("summary_weeks", "summary_people", "summaries"):
        db.execute(f"DROP TABLE {table}")
    db.execute(
        """
        CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            replica TEXT NOT NULL,
            database_id TEXT NOT NULL,
            file TEXT NOT NULL,
            exported_at TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            today TEXT,
            since TEXT,
            until TEXT,
            scope_kind TEXT NOT NULL DEFAULT 'everyone',
            scope_name TEXT,
            left_out INTEGER,
            format_version INTEGER NOT NULL,
            score_version INTEGER NOT NULL,
            UNIQUE (replica, exported_at)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE summary_people (
            summary_id INTEGER NOT NULL REFERENCES summaries(id) ON DELETE CASCADE,
            person TEXT NOT NULL,
            team TEXT,
            opt_out INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (summary_id, person)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE summary_weeks (
            summary_id INTEGER NOT NULL REFERENCES summaries(id) ON DELETE CASCADE,
            person TEXT NOT NULL,
            team TEXT,
            week TEXT,
            n INTEGER NOT NULL CHECK (n >= 0),
            sum_abs REAL NOT NULL CHECK (sum_abs >= 0),
            sum_sq REAL NOT NULL CHECK (sum_sq >= 0),
            over INTEGER NOT NULL,
            exact INTEGER NOT NULL,
            under INTEGER NOT NULL,
            within_25 INTEGER NOT NULL,
            due INTEGER NOT NULL,
            kept INTEGER NOT NULL,
            exceeded INTEGER NOT NULL,
            histogram TEXT NOT NULL DEFAULT '[]',
            ranges TEXT NOT NULL DEFAULT '[]',
            detail TEXT
        )
        """
    )
    db.conn.executemany(
        "INSERT INTO summaries (id, replica, database_id, file, exported_at, imported_at, "
        "since, until, format_version, score_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(row[0], row[1], *row[1:]) for row in saved["summaries"]],
    )
    db.conn.executemany("INSERT INTO summary_people VALUES (?, ?, ?, ?)", saved["summary_people"])
    marks = ", ".join("?" * 17)
    db.conn.executemany(f"INSERT INTO summary_weeks VALUES ({marks})", saved["summary_weeks"])  # noqa: S608
    db.execute("CREATE INDEX summary_weeks_summary ON summary_weeks(summary_id)")
    db.execute("CREATE INDEX summary_weeks_person ON summary_weeks(person, week)")
    db.execute("CREATE INDEX summary_weeks_team ON summary_weeks(team)")
    db.execute("CREATE INDEX summary_people_person ON summary_people(person)")


@migration
def m009_similar(db: Database) -> None:
    """Similar past tasks (issue 16): the state of the full-text index of the
    counted tasks' words (``similar_state``: current or stale, and its stop
    list), and the index itself (``task_fts``, SQLite FTS5) built from every
    counted task where this sqlite3 has FTS5; where it has not, the state
    says stale and the first reader with FTS5 builds it. No triggers: the
    code that writes tasks keeps the index (a trigger naming an FTS5 table
    would break every write where the module is missing)."""
    from calibrate.store import similar

    db.execute(similar.STATE_TABLE)
    db.execute("INSERT INTO similar_state (id, status) VALUES (1, 'stale')")
    if similar.available(db.conn):
        similar.rebuild(db.conn)


def _child_uid(task_uid: str, kind: str, start: str, occurrence: int) -> str:
    """A stable uid for a record that had none: the same record (a task's
    sitting, or re-estimate, at the same moment) in two files gets the same one."""
    import hashlib

    text = "\x00".join((task_uid, kind, start, str(occurrence)))
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _clean_names(
    conn: sqlite3.Connection, clean_name: Callable[[str], str], stamp: tuple[str, str]
) -> None:
    """Aliases and people under their names' one spelling; where two spellings
    of a name meet, one alias stays, and an opt-out (privacy first)."""
    for alias, person in conn.execute("SELECT alias, person FROM aliases").fetchall():
        name, target = clean_name(alias), clean_name(person)
        if (name, target) != (alias, person):
            conn.execute(
                "UPDATE OR REPLACE aliases SET alias = ?, person = ? WHERE alias = ?",
                (name, target, alias),
            )
    conn.execute("DELETE FROM aliases WHERE alias = person")
    for name, opt_out in conn.execute("SELECT name, opt_out FROM people").fetchall():
        clean = clean_name(name)
        if clean != name:
            other = conn.execute("SELECT opt_out FROM people WHERE name = ?", (clean,)).fetchone()
            conn.execute("DELETE FROM people WHERE name = ?", (name,))
            if other is None:
                conn.execute(
                    "INSERT INTO people (name, opt_out, stamp_at, stamp_replica) "
                    "VALUES (?, ?, ?, ?)",
                    (clean, opt_out, *stamp),
                )
            elif opt_out > other[0]:
                conn.execute("UPDATE people SET opt_out = ? WHERE name = ?", (opt_out, clean))


def backup_path(path: str | Path, version: int) -> Path:
    path = Path(path)
    return path.with_name(f"{path.name}.bak-v{version}")


def write_backup(conn: sqlite3.Connection, path: str | Path, backup: Path) -> None:
    """Copy the database into ``backup`` with the database file's own
    permissions (law 3: a private database leaves no world-readable copy).
    The file is made with them before a byte is written."""
    import os

    mode = os.stat(path).st_mode & 0o777
    backup.unlink(missing_ok=True)
    try:
        descriptor = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:  # another process, migrating the same version, is writing it
        return
    os.close(descriptor)
    os.chmod(backup, mode)  # the umask may have taken bits away
    target = sqlite3.connect(backup)
    try:
        with target:
            conn.backup(target)
    finally:
        target.close()


def migrate(conn: sqlite3.Connection, path: str | Path) -> list[str]:
    """Apply every missing migration to ``conn`` (the database at ``path``).

    Returns the names applied. Safe when two processes race: each step
    re-reads the version inside its write transaction.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= len(MIGRATIONS):  # another process migrated it meanwhile: no backup to make
        return []
    if version > 0:
        write_backup(conn, path, backup_path(path, version))
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
                db.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
            db.table("_migrations").insert({"name": step.__name__, "applied_at": now_iso()})
            conn.execute(f"PRAGMA user_version = {number:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(step.__name__)
    return applied
