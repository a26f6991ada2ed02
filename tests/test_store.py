import hashlib
import multiprocessing
import os
import sqlite3

import pytest

from calibrate import store
from calibrate.errors import DatabaseError
from calibrate.store import schema as migrations


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
        "id", "uid", "title", "person", "team", "project", "estimate_h", "low_h", "high_h",
        "confidence", "promise_h", "due", "status", "actual_h", "created_at", "started_at",
        "done_at", "updated_at", "source", "notes", "tags",
    } == columns(conn, "tasks")  # fmt: skip
    assert columns(conn, "intervals") == {"id", "task_id", "started_at", "stopped_at"}
    assert columns(conn, "reestimates") == {"id", "task_id", "estimate_h", "at", "reason"}
    recorded = [r[0] for r in conn.execute("SELECT name FROM _migrations")]
    assert recorded == [m.__name__ for m in migrations.MIGRATIONS]
    conn.close()


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


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CALIBRATE_DB", str(tmp_path / "x.db"))
    assert store.default_db_path() == str(tmp_path / "x.db")
    monkeypatch.delenv("CALIBRATE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert store.default_db_path() == str(tmp_path / "data" / "calibrate" / "calibrate.db")
