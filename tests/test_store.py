import hashlib
import json
import multiprocessing
import os
import sqlite3

import pytest

from calibrate import rules, store
from calibrate.errors import DatabaseError
from calibrate.store import schema as migrations
from calibrate.store import tasks


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def columns(conn, table):
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_migrations_build_the_schema_from_empty(db_path):
    conn = store.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tasks", "reestimates", "intervals", "settings", "people", "aliases"} <= tables
    assert {
        "id",
        "uid",
        "title",
        "person",
        "team",
        "project",
        "estimate_h",
        "low_h",
        "high_h",
        "confidence",
        "promise_h",
        "due",
        "status",
        "actual_h",
        "created_at",
        "started_at",
        "done_at",
        "updated_at",
        "source",
        "notes",
        "tags",
        "stamps",
        "imported",
    } == columns(conn, "tasks")
    record = {"uid", "stamp_at", "stamp_replica", "deleted"}
    assert columns(conn, "intervals") == {"id", "task_id", "started_at", "stopped_at"} | record
    assert columns(conn, "reestimates") == {"id", "task_id", "estimate_h", "at", "reason"} | record
    assert columns(conn, "tombstones") == {
        "uid",
        "deleted_at",
        "deleted_replica",
        "restored_at",
        "restored_replica",
    }
    recorded = [r[0] for r in conn.execute("SELECT name FROM _migrations")]
    assert recorded == [m.__name__ for m in migrations.MIGRATIONS]
    conn.close()


def test_the_field_list_is_the_tasks_table(conn):
    from calibrate.store import fields

    declared = {"INTEGER": "integer", "REAL": "real", "TEXT": "text"}
    table = [(row[1], declared[row[2]]) for row in conn.execute("PRAGMA table_info(tasks)")]
    assert [(name, "text" if kind == "json" else kind) for name, kind in fields.FIELDS] == table
    bookkeeping = {"updated_at", "stamps", "imported"}
    assert fields.SHOWN[0] == "id" and set(fields.SHOWN) == set(fields.NAMES) - bookkeeping
    assert set(fields.EDITABLE) < set(fields.STORED) < set(fields.NAMES)


def test_one_migration_per_schema_version():
    assert len(migrations.MIGRATIONS) == store.SCHEMA_VERSION


def test_schema_refuses_impossible_tasks(conn):
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO tasks (uid, title, person, estimate_h, created_at, updated_at) "
            "VALUES ('u', 't', 'p', 0, 'x', 'x')"
        )


def test_open_twice_is_a_no_op(db_path):
    store.connect(db_path).close()
    before = digest(db_path)
    store.connect(db_path).close()
    assert digest(db_path) == before


def test_newer_database_is_refused_and_untouched(db_path):
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE tasks (id INTEGER)")
    raw.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 5}")
    raw.commit()
    raw.close()
    before = digest(db_path)
    with pytest.raises(DatabaseError, match="newer calibrate"):
        store.connect(db_path)
    assert digest(db_path) == before
    assert not (db_path.parent / (db_path.name + "-wal")).exists()


def test_random_bytes_are_refused_and_untouched(db_path):
    db_path.write_bytes(os.urandom(4096))
    before = digest(db_path)
    with pytest.raises(DatabaseError, match="not a calibrate database"):
        store.connect(db_path)
    assert digest(db_path) == before


def test_other_programs_database_is_refused(db_path):
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE invoices (id INTEGER)")
    raw.commit()
    raw.close()
    before = digest(db_path)
    with pytest.raises(DatabaseError, match="another program"):
        store.connect(db_path)
    assert digest(db_path) == before


def test_directory_is_refused(tmp_path):
    with pytest.raises(DatabaseError, match="is a directory"):
        store.connect(tmp_path)


def test_unreadable_file_is_refused(db_path, monkeypatch):
    store.connect(db_path).close()
    before = digest(db_path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store, "open", denied, raising=False)
    with pytest.raises(DatabaseError, match="permission denied"):
        store.connect(db_path)
    monkeypatch.undo()
    assert digest(db_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_mode_is_refused(db_path):
    store.connect(db_path).close()
    db_path.chmod(0)
    try:
        with pytest.raises(DatabaseError, match="cannot be read"):
            store.connect(db_path)
    finally:
        db_path.chmod(0o600)


def test_migration_backs_up_the_file_first(db_path, monkeypatch):
    store.connect(db_path).close()
    before = digest(db_path)

    def m002_example(db):
        db.execute("ALTER TABLE tasks ADD COLUMN example TEXT")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m002_example])
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    conn = store.connect(db_path)
    assert "example" in columns(conn, "tasks")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    conn.close()
    backup = migrations.backup_path(db_path, store.SCHEMA_VERSION - 1)
    assert backup.exists()
    old = sqlite3.connect(backup)
    assert "example" not in columns(old, "tasks")
    old.close()
    assert before  # the original was a valid calibrate file


def test_failed_migration_leaves_the_version(db_path, monkeypatch):
    store.connect(db_path).close()

    def m002_broken(db):
        db.execute("ALTER TABLE tasks ADD COLUMN half TEXT")
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m002_broken])
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    with pytest.raises(RuntimeError):
        store.connect(db_path)
    monkeypatch.undo()
    conn = store.connect(db_path)
    assert "half" not in columns(conn, "tasks")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION


def _add_many(path, person, count):
    from calibrate.store import tasks

    conn = store.connect(path)
    for i in range(count):
        tasks.add_task(conn, tasks.NewTask(title=f"{person} {i}", estimate_h=1, person=person))
    conn.close()


def test_concurrent_writers_wait_instead_of_failing(db_path):
    store.connect(db_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(db_path, f"p{i}", 25)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    conn = store.connect(db_path)
    assert tuple(conn.execute("SELECT count(*), count(DISTINCT id) FROM tasks").fetchone()) == (
        100,
        100,
    )


def _io_error(name: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorname = name
    return error


def test_a_passing_failure_to_open_is_tried_again(db_path, monkeypatch):
    """An open that fails the way an unwritable file does, where the folder
    takes files and the disk has room, is a passing failure (another
    process's side files came and went under it): it is tried again, and the
    file is written, not opened to read only."""
    store.connect(db_path).close()
    real, failures = store._open_writable, [_io_error("SQLITE_IOERR_DELETE_NOENT")]

    def racing(path, **options):
        if failures:
            raise store._Unwritable(failures.pop())
        return real(path, **options)

    monkeypatch.setattr(store, "_open_writable", racing)
    conn = store.connect(db_path)
    assert failures == [] and conn.read_only_reason == ""
    tasks.add_task(conn, tasks.NewTask(title="lands", estimate_h=1, person="ana"))
    assert conn.execute("SELECT title FROM tasks").fetchone()[0] == "lands"
    conn.close()


def test_a_new_database_appears_whole_and_once(db_path, monkeypatch):
    """Found by CI: processes racing to create one database opened it while
    another was still making it (SQLite's journal deleted under them, fell
    back to reading). A new file is made aside and linked into place: here
    another process puts its own there first; this one opens that file, does
    not say it created it, and leaves no file of its own behind."""
    real, raced = store._open_writable, []
    theirs = db_path.parent / "theirs.db"

    def other_process_wins(path, **options):
        conn = real(path, **options)
        if not raced and path != str(db_path):  # building its own aside
            raced.append(path)
            other = store.connect(theirs)
            tasks.add_task(other, tasks.NewTask(title="theirs", estimate_h=1, person="bo"))
            other.close()
            os.link(theirs, db_path)
        return conn

    monkeypatch.setattr(store, "_open_writable", other_process_wins)
    conn = store.connect(db_path)
    assert conn.execute("SELECT title FROM tasks").fetchone()[0] == "theirs"
    assert raced and not store.created_here(db_path)
    conn.close()
    assert [p.name for p in db_path.parent.iterdir() if p.name.startswith(".")] == []


def test_a_new_database_says_it_was_created_here(db_path):
    conn = store.connect(db_path)
    assert store.created_here(db_path) and not store.created_here(db_path)  # said once
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    conn.close()
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_an_open_that_keeps_failing_falls_back_to_reading(db_path, monkeypatch):
    """Not a race after all (every attempt fails, the folder takes files):
    the file still reads, and a write says it cannot be written here."""
    store.connect(db_path).close()
    attempts = []

    def failing(path, **options):
        attempts.append(path)
        raise store._Unwritable(_io_error("SQLITE_IOERR_WRITE"))

    monkeypatch.setattr(store, "_open_writable", failing)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    conn = store.connect(db_path)
    assert len(attempts) == store._OPEN_ATTEMPTS
    assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 0
    with pytest.raises(DatabaseError, match="cannot be written here: reading works"):
        tasks.add_task(conn, tasks.NewTask(title="refused", estimate_h=1, person="ana"))
    conn.close()


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CALIBRATE_DB", str(tmp_path / "x.db"))
    assert store.default_db_path() == str(tmp_path / "x.db")
    monkeypatch.delenv("CALIBRATE_DB")
    monkeypatch.setenv("CALIBRATE_DATA_DIR", str(tmp_path / "mine"))
    assert store.default_db_path() == str(tmp_path / "mine" / "calibrate.db")
    assert store.registry_path() == str(tmp_path / "mine" / "replicas.json")
    monkeypatch.delenv("CALIBRATE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert store.default_db_path() == str(tmp_path / "data" / "calibrate" / "calibrate.db")


# --- upgrading databases that hold data ------------------------------------------------

#: Tasks as a version-1 database held them (every column but the id): finished
#: work with and without ranges (one with the confidence left out), promises of
#: effort and of a date, tags and notes, a dropped task, open and started ones.
OLD_COLUMNS = (
    "uid",
    "title",
    "person",
    "team",
    "project",
    "estimate_h",
    "low_h",
    "high_h",
    "confidence",
    "promise_h",
    "due",
    "status",
    "actual_h",
    "created_at",
    "started_at",
    "done_at",
    "updated_at",
    "source",
    "notes",
    "tags",
)


def _old_tasks() -> list[tuple]:
    rows = []
    for i in range(12):
        day = f"2026-01-{5 + i:02d}"
        estimate = [1.0, 2.0, 4.0, 0.5][i % 4]
        actual = estimate * [1.0, 1.5, 0.75, 2.0, 1.1, 0.9][i % 6]
        low, high, confidence = (None, None, None)
        if i % 3 == 0:
            low, high, confidence = estimate / 2, estimate * 2, [90.0, 80.0, None][i % 9 // 3]
        promise, due = (estimate * 1.5, None) if i % 4 == 1 else (None, None)
        if i % 5 == 2:
            due = f"2026-01-{6 + i:02d}"
        person = ["Jane Doe", "Bob"][i % 2]
        rows.append(
            (
                f"u{i}",
                f"task {i}",
                person,
                "Core" if i % 2 else "Web",
                "p" if i % 3 else None,
                estimate,
                low,
                high,
                confidence,
                promise,
                due,
                "done",
                actual,
                f"{day}T09:00:00Z",
                f"{day}T10:00:00Z",
                f"{day}T15:30:00Z",
                f"{day}T15:30:00Z",
                "cli" if i % 2 else "jira",
                'a note, with "quotes"' if i == 4 else None,
                '["bug", "ui"]' if i % 2 else "[]",
            )
        )
    rows.append(
        (
            "u-dropped",
            "dropped",
            "Bob",
            "Core",
            None,
            3.0,
            None,
            None,
            None,
            4.0,
            "2026-01-30",
            "dropped",
            None,
            "2026-01-20T09:00:00Z",
            None,
            "2026-01-21T09:00:00Z",
            "2026-01-21T09:00:00Z",
            "cli",
            None,
            "[]",
        )
    )
    rows.append(
        (
            "u-started",
            "started",
            "Jane Doe",
            "Web",
            None,
            5.0,
            3.0,
            8.0,
            90.0,
            None,
            "2026-02-20",
            "started",
            None,
            "2026-02-01T09:00:00Z",
            "2026-02-02T09:00:00Z",
            None,
            "2026-02-02T09:00:00Z",
            "cli",
            None,
            '["infra"]',
        )
    )
    rows.append(
        (
            "u-open",
            "open",
            "jdoe",
            None,
            None,
            1.0,
            None,
            None,
            None,
            None,
            None,
            "open",
            None,
            "2026-02-03T09:00:00Z",
            None,
            None,
            "2026-02-03T09:00:00Z",
            "cli",
            "",
            "[]",
        )
    )
    return rows


def _old_database(path, version: int) -> None:
    """A database at schema ``version`` holding data, made by running the
    historical migrations m001 (and m002) only, as ``schema.migrate`` ran
    them then, and filling the tables they made."""
    from sqlite_utils import Database

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    db = Database(conn, execute_plugins=False)
    for number, step in enumerate(migrations.MIGRATIONS[:version], start=1):
        conn.execute("BEGIN IMMEDIATE")
        step(db)
        if "_migrations" not in db.table_names():
            db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
        db["_migrations"].insert({"name": step.__name__, "applied_at": "2026-01-01T00:00:00Z"})
        conn.execute(f"PRAGMA user_version = {number:d}")
        conn.execute("COMMIT")
    conn.execute("BEGIN")
    marks = ", ".join("?" * len(OLD_COLUMNS))
    conn.executemany(f"INSERT INTO tasks ({', '.join(OLD_COLUMNS)}) VALUES ({marks})", _old_tasks())
    ids = dict(conn.execute("SELECT uid, id FROM tasks"))
    conn.executemany(
        "INSERT INTO reestimates (task_id, estimate_h, at, reason) VALUES (?, ?, ?, ?)",
        [
            (ids["u1"], 3.0, "2026-01-06T10:00:00Z", "bigger"),
            (ids["u-started"], 6.0, "2026-02-02T12:00:00Z", None),
        ],
    )
    conn.executemany(
        "INSERT INTO intervals (task_id, started_at, stopped_at) VALUES (?, ?, ?)",
        [
            (ids["u3"], "2026-01-08T10:00:00Z", "2026-01-08T12:00:00Z"),
            (ids["u3"], "2026-01-08T13:00:00Z", "2026-01-08T14:15:00Z"),
            (ids["u-started"], "2026-02-02T09:00:00Z", None),
        ],
    )
    conn.execute("INSERT INTO aliases (alias, person) VALUES ('jdoe', 'Jane Doe')")
    conn.executemany(
        "INSERT INTO people (name, opt_out) VALUES (?, ?)", [("Jane Doe", 1), ("Bob", 0)]
    )
    conn.execute("INSERT INTO settings (key, value) VALUES ('day-hours', '7.5')")
    if version >= 2:  # an imported team summary
        conn.execute(
            "INSERT INTO summaries (database_id, file, exported_at, imported_at, since, until, "
            "format_version, score_version) VALUES ('elsewhere', 'other.json', "
            "'2026-01-30T10:00:00Z', '2026-01-31T10:00:00Z', '2026-01-05', NULL, 1, 1)"
        )
        conn.executemany(
            "INSERT INTO summary_people (summary_id, person, team, opt_out) VALUES (1, ?, ?, ?)",
            [("Zed", "Other", 0), ("Yan", None, 1)],
        )
        conn.executemany(
            "INSERT INTO summary_weeks (summary_id, person, team, week, n, sum_abs, sum_sq, over, "
            "exact, under, within_25, due, kept, exceeded, histogram, ranges) "
            "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "Zed",
                    "Other",
                    "2026-01-05",
                    2,
                    0.6,
                    0.26,
                    1,
                    0,
                    1,
                    1,
                    1,
                    1,
                    0,
                    "[[-10, 1], [50, 1]]",
                    "[[90.0, 1, 1, 0, 0]]",
                ),
                ("Yan", None, None, 1, 0.0, 0.0, 0, 1, 0, 1, 0, 0, 0, "[[0, 1]]", "[]"),
            ],
        )
    conn.execute("COMMIT")
    conn.close()


def _contents(conn) -> dict[str, list[tuple]]:
    """Every row of every table, in rowid order (sorted, without rowids)."""
    out = {}
    for (table,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall():
        try:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        except sqlite3.OperationalError:  # WITHOUT ROWID
            rows = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        out[table] = [tuple(row) for row in rows]
    return out


def _old_columns(conn, table) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6, 7])
def test_an_old_database_with_data_is_upgraded_whole(db_path, run, version):
    _old_database(db_path, version)
    old = sqlite3.connect(db_path)
    before = _contents(old)
    old_columns = {table: _old_columns(old, table) for table in before}
    old.close()
    assert before["tasks"] and before["intervals"] and before["aliases"]

    conn = store.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION == 9
    after = _contents(conn)
    for table, rows in before.items():
        if table == "_migrations":  # the steps run now are added after the old ones
            assert after[table][: len(rows)] == rows
            assert [row[0] for row in after[table][len(rows) :]] == [
                step.__name__ for step in migrations.MIGRATIONS[version:]
            ]
        elif table == "meta":  # m005 made the database's identity its replica id
            renamed = {"database_id": "replica_id"}
            assert sorted((renamed.get(k, k), v) for k, v in rows) == sorted(
                (k, v) for k, v in after[table] if k != "replica_path"
            )
        else:  # every row and value, as it was (new columns beside them)
            kept = ", ".join(old_columns[table])
            try:
                found = [
                    tuple(r) for r in conn.execute(f"SELECT {kept} FROM {table} ORDER BY rowid")
                ]
            except sqlite3.OperationalError:  # WITHOUT ROWID
                found = sorted(
                    (tuple(r) for r in conn.execute(f"SELECT {kept} FROM {table}")), key=repr
                )
            assert found == rows, table
            if table == "summary_weeks":  # m004 adds a detail column, empty for old weeks
                assert all(row[-1] is None for row in after[table])
            if table == "summaries":  # m008: each counted under its own replica id
                assert all(
                    row["replica"] == row["database_id"] and row["scope_kind"] == "everyone"
                    for row in conn.execute("SELECT * FROM summaries")
                )
    assert {"history_state", "hints", "advice_cache", "meta", "summary_weeks"} <= set(after)
    assert {"tombstones", "advice_ledger", "forecast_ledger", "undo_log", "undo_items"} <= set(
        after
    )
    # m009 indexed the words of the finished tasks (issue 16)
    from calibrate.store import similar

    counted = conn.execute(f"SELECT count(*) FROM tasks WHERE {rules.counted_sql()}").fetchone()[0]
    assert after["similar_state"][0][1] == ("current" if similar.available() else "stale")
    if similar.available():
        assert conn.execute("SELECT count(*) FROM task_fts").fetchone()[0] == counted > 0
    if version == 1:  # m002 gave the database an identity on the way
        assert {row[0] for row in after["meta"]} == {"replica_id", "pseudonym_salt", "replica_path"}
    conn.close()

    backup = migrations.backup_path(db_path, version)
    assert backup.exists()
    kept_db = sqlite3.connect(backup)
    assert kept_db.execute("PRAGMA user_version").fetchone()[0] == version
    assert _contents(kept_db) == before
    kept_db.close()

    listed = run("list", "--everyone", "--status", "any", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [row["uid"] for row in rows] == [task[0] for task in _old_tasks()]
    assert rows[0]["tags"] == [] and rows[1]["tags"] == ["bug", "ui"]
    assert rows[-1]["person"] == "jdoe"  # stored before the alias existed; kept as it was
    scored = run("score", "--everyone", "--since", "all", "--json")
    assert scored.exit_code == 0, scored.output
    panel = json.loads(scored.output)
    # the 12 tasks, and from version 2 the summary's 2 of Zed (law 6; Yan opted out there)
    assert panel["n"] == (14 if version >= 2 else 12) and panel["score"] is not None
    ranges = run("score", "--person", "Jane Doe", "--since", "all", "--json")
    assert ranges.exit_code == 0, ranges.output


def test_a_version_3_database_gets_its_stamps_from_its_own_history(db_path, run):
    """m005 on a real version-3 file with data: stamps from ``updated_at`` and
    the replica id (the identity m002 made), child records with stable uids
    and stamps of their own times, aliases and people stamped, no tombstone."""
    from calibrate.store import stamps
    from calibrate.store.state import replica_state

    _old_database(db_path, 3)
    old = sqlite3.connect(db_path)
    identity = old.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0]
    updated = dict(old.execute("SELECT uid, updated_at FROM tasks"))
    old.close()
    conn = store.connect(db_path)
    assert stamps.replica_id(conn) == identity
    state = replica_state(conn)
    for uid, registers in state["tasks"].items():
        for _values, stamp in registers.values():
            assert stamp == (stamps.normal_at(updated[uid]), identity)
    intervals = state["intervals"]
    assert len(intervals) == 3 and all(len(uid) == 32 for uid in intervals)
    assert sorted(stamp for _, _, stamp in intervals.values()) == [
        ("2026-01-08T12:00:00.000000Z", identity),
        ("2026-01-08T14:15:00.000000Z", identity),
        ("2026-02-02T09:00:00.000000Z", identity),  # still running: its start
    ]
    assert {values[0] for _, values, _ in state["reestimates"].values()} == {3.0, 6.0}
    assert state["aliases"]["jdoe"][:2] == ("Jane Doe", False)
    assert state["people"]["Jane Doe"][0] is True
    assert state["tombstones"] == {}
    conn.close()
    # the same old file migrated elsewhere gives its records the same uids
    other = db_path.with_name("elsewhere.db")
    _old_database(other, 3)
    twin = store.connect(other)
    assert set(replica_state(twin)["intervals"]) == set(intervals)
    twin.close()


def test_a_backup_has_the_database_files_permissions(db_path):
    _old_database(db_path, 3)
    db_path.chmod(0o600)
    store.connect(db_path).close()
    backup = migrations.backup_path(db_path, 3)
    assert backup.stat().st_mode & 0o777 == 0o600


# --- the one fetcher ---------------------------------------------------------------------


def test_the_fetcher_reads_the_same_in_chunks_and_at_once(conn, monkeypatch):
    import numpy as np

    from calibrate.store import fetch

    rows = [
        (
            f"u{i}",
            f"task {i}",
            ["Ana", "Bo\u00e9", "C, d"][i % 3],
            0.1 * (i + 1),
            1 / 3 * (i + 1),
            f"2026-01-{1 + i % 28:02d}T10:00:00Z",
        )
        for i in range(250)
    ]
    conn.executemany(
        "INSERT INTO tasks (uid, title, person, estimate_h, actual_h, done_at, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'done', 'x', 'x')",
        rows,
    )
    monkeypatch.setattr(fetch, "FETCH_ROWS", 7)  # many chunks
    sql = "SELECT id, person, estimate_h, actual_h, coalesce(team, '') FROM tasks ORDER BY id"
    names = ("id", "person", "estimate_h", "actual_h", "team")
    chunked = fetch.fetch_columns(conn, sql, (), names, {"id": np.int64})
    at_once = fetch.fetch_columns(conn, sql, (), names, {"id": np.int64}, at_once=True)
    assert chunked["estimate_h"].dtype == float and chunked["person"].dtype == object
    for name in names:
        assert chunked[name].tolist() == at_once[name].tolist(), name  # numbers to the bit
    assert chunked["actual_h"].tolist() == [row[4] for row in rows]
    # NULLs (a number that is not there, a team that is not there) come back as
    # NaN and None either way: at once falls back to the chunks for them
    conn.execute("UPDATE tasks SET actual_h = NULL, team = NULL WHERE id = 3")
    sql = "SELECT actual_h, team FROM tasks ORDER BY id"
    for at in (False, True):
        got = fetch.fetch_columns(conn, sql, (), ("actual_h", "team"), at_once=at)
        assert np.isnan(got["actual_h"][2]) and got["team"][2] is None
        assert len(got["team"]) == 250
    empty = fetch.fetch_columns(conn, "SELECT id FROM tasks WHERE 0", (), ["id"], at_once=True)
    assert empty["id"].size == 0


def test_the_fetcher_names_a_field_that_is_not_a_number(conn):
    conn.execute(
        "INSERT INTO tasks (uid, title, person, estimate_h, actual_h, status, created_at, "
        "updated_at) VALUES ('u', 't', 'p', 'lots', 2, 'done', 'x', 'x')"
    )
    from calibrate.store.fetch import fetch_columns

    for at_once in (False, True):
        with pytest.raises(DatabaseError, match="a task's estimate_h is not a number"):
            fetch_columns(conn, "SELECT estimate_h FROM tasks", (), ["estimate_h"], at_once=at_once)
