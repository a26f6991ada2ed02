"""``calibrate merge``: folding another database in by uid, idempotently, with
the most recent edit of each register winning conflicts (law 1). The laws
themselves, on generated histories, are in ``tests/laws``."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from calibrate import store


def rows(db_path: Path, sql: str = "SELECT * FROM tasks ORDER BY id") -> list[dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    found = [dict(r) for r in conn.execute(sql)]
    conn.close()
    return found


def by_uid(db_path: Path) -> dict[str, dict]:
    return {t["uid"]: t for t in rows(db_path)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def set_stamp(db_path: Path, title: str, register: str, at: str) -> None:
    """Stamp one register of the task titled ``title`` at ``at`` (its replica
    kept): a clock set to that moment when it was edited."""
    from calibrate.store import stamps

    conn = store.connect(db_path)
    with store.transaction(conn):
        row = conn.execute(
            "SELECT id, stamps, updated_at FROM tasks WHERE title = ?", (title,)
        ).fetchone()
        decoded = stamps.decode(row["stamps"], row["updated_at"], stamps.replica_id(conn))
        decoded[register] = (at, decoded[register][1])
        conn.execute("UPDATE tasks SET stamps = ? WHERE id = ?", (stamps.encode(decoded), row[0]))
    conn.close()


@pytest.fixture
def theirs(run, tmp_path) -> Path:
    """A teammate's database: tasks with re-estimates, a timer and an alias."""
    other = tmp_path / "bob.db"
    for command in [
        ("add", "Bob's task", "-e", "2h", "--person", "bob"),
        ("reestimate", "1", "3h", "--reason", "bigger"),
        ("add", "Timed", "-e", "1h", "--person", "bob"),
        ("start", "2", "--at", "2026-01-05T09:00"),
        ("stop", "2", "--at", "2026-01-05T10:30"),
        ("done", "2", "--at", "2026-01-05T10:30"),
    ]:
        result = run("--db", str(other), *command)
        assert result.exit_code == 0, (command, result.output)
    assert run("--db", str(other), "alias", "bobby", "bob").exit_code == 0
    assert run("--db", str(other), "people", "--opt-out", "--person", "bob").exit_code == 0
    return other


def test_merge_adds_tasks_with_their_history(run, db_path, theirs):
    assert run("add", "Mine", "-e", "1h").exit_code == 0
    result = run("merge", str(theirs))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Merged bob.db: 2 added, 0 updated (newer there), 0 kept (newer here), 0 unchanged"
    )
    assert "taken from there: 1 timer interval, 1 re-estimate, 1 alias, 1 opt-out" in result.stdout
    mine = by_uid(db_path)
    source = by_uid(theirs)
    assert set(source) <= set(mine)
    for uid, task in source.items():
        for field in task:
            if field not in ("id", "stamps"):
                assert mine[uid][field] == task[field], field
    timed = next(t for t in mine.values() if t["title"] == "Timed")
    (interval,) = rows(db_path, f"SELECT * FROM intervals WHERE task_id = {timed['id']}")
    assert interval["started_at"] < interval["stopped_at"]
    bobs = next(t for t in mine.values() if t["title"] == "Bob's task")
    (re_est,) = rows(db_path, f"SELECT * FROM reestimates WHERE task_id = {bobs['id']}")
    assert (re_est["estimate_h"], re_est["reason"]) == (3.0, "bigger")
    assert rows(db_path, "SELECT alias, person FROM aliases") == [
        {"alias": "bobby", "person": "bob"}
    ]
    assert rows(db_path, "SELECT name, opt_out FROM people") == [{"name": "bob", "opt_out": 1}]


def test_merging_twice_changes_nothing(run, db_path, theirs):
    assert run("merge", str(theirs)).exit_code == 0
    conn = sqlite3.connect(db_path)
    before = [
        conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("tasks", "intervals", "reestimates", "aliases", "people")
    ]
    conn.close()
    result = run("merge", str(theirs))
    assert "0 added, 0 updated (newer there), 0 kept (newer here), 2 unchanged" in result.stdout
    conn = sqlite3.connect(db_path)
    after = [
        conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("tasks", "intervals", "reestimates", "aliases", "people")
    ]
    conn.close()
    assert after == before


def test_the_most_recent_edit_of_each_field_wins(run, db_path, theirs, tmp_path):
    assert run("merge", str(theirs)).exit_code == 0
    assert run("--db", str(theirs), "edit", "1", "--title", "Renamed there").exit_code == 0
    assert run("edit", "1", "--notes", "noted here").exit_code == 0  # another field: both stay
    assert run("edit", "2", "--notes", "edited here").exit_code == 0
    set_stamp(db_path, "Timed", "notes", "2030-06-01T00:00:00.000000Z")
    assert run("--db", str(theirs), "edit", "2", "--notes", "edited there, earlier").exit_code == 0
    set_stamp(theirs, "Timed", "notes", "2030-02-01T00:00:00.000000Z")
    result = run("merge", str(theirs))
    assert "0 added, 1 updated (newer there), 1 kept (newer here), 0 unchanged" in result.stdout
    assert "fields differed between the files" in result.stdout
    mine = {t["title"]: t for t in rows(db_path)}
    assert mine["Renamed there"]["notes"] == "noted here"
    assert mine["Timed"]["notes"] == "edited here"
    again = run("merge", str(theirs))
    assert "0 added, 0 updated (newer there), 2 kept (newer here), 0 unchanged" in again.stdout


def test_equal_times_are_decided_by_the_replica_id_on_both_sides(run, db_path, theirs):
    assert run("merge", str(theirs)).exit_code == 0
    assert run("--db", str(theirs), "edit", "1", "--title", "Theirs").exit_code == 0
    assert run("edit", "1", "--title", "Ours").exit_code == 0
    set_stamp(theirs, "Theirs", "title", "2030-01-01T00:00:00.000000Z")
    set_stamp(db_path, "Ours", "title", "2030-01-01T00:00:00.000000Z")
    assert run("merge", str(theirs)).exit_code == 0
    assert run("--db", str(theirs), "merge", str(db_path)).exit_code == 0
    titles = {rows(path)[0]["title"] for path in (db_path, theirs)}
    assert len(titles) == 1  # one winner, the same on both sides


def test_opt_outs_and_aliases_take_the_later_edit(run, db_path, theirs, conn):
    add = run("add", "Mine", "-e", "1h", "--person", "bob")
    assert add.exit_code == 0
    assert run("alias", "bobby", "Robert").exit_code == 1  # Robert is nobody here
    assert run("add", "R", "-e", "1h", "--person", "Robert").exit_code == 0
    assert run("alias", "bobby", "Robert").exit_code == 0  # later than theirs
    result = run("merge", str(theirs))
    assert "alias bobby: -> Robert kept over -> bob (the later edit" in result.stdout
    assert rows(db_path, "SELECT alias, person FROM aliases") == [
        {"alias": "bobby", "person": "Robert"}
    ]
    assert rows(db_path, "SELECT name, opt_out FROM people") == [{"name": "bob", "opt_out": 1}]
    assert run("people", "--opt-in", "--person", "bob").exit_code == 0  # a later opt-in wins
    back = run("--db", str(theirs), "merge", str(db_path))
    assert back.exit_code == 0, back.output
    assert rows(theirs, "SELECT name, opt_out FROM people") == [{"name": "bob", "opt_out": 0}]


def test_the_other_file_is_only_read(run, db_path, theirs):
    before = digest(theirs)
    assert run("merge", str(theirs)).exit_code == 0
    assert digest(theirs) == before


def test_dry_run_changes_nothing(run, db_path, theirs):
    assert run("add", "Mine", "-e", "1h").exit_code == 0
    before = rows(db_path)
    result = run("merge", str(theirs), "--dry-run", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["dry_run"]) == (2, True)
    assert rows(db_path) == before


def test_merging_a_database_into_itself_is_refused(run, db_path):
    assert run("add", "Mine", "-e", "1h").exit_code == 0
    result = run("merge", str(db_path))
    assert result.exit_code == 2
    assert error_line(result) == (
        "Error: cannot merge a database into itself (see 'calibrate merge --help')"
    )


def test_merging_a_file_that_is_not_a_calibrate_database(run, db_path, tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello, this is not SQLite" * 10)
    result = run("merge", str(text))
    assert result.exit_code == 1
    assert error_line(result) == f"Error: {text} is not a calibrate database (not an SQLite file)"
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    result = run("merge", str(foreign))
    assert result.exit_code == 1
    assert error_line(result) == f"Error: {foreign} is not a calibrate database"


def test_merging_a_newer_database_is_refused(run, db_path, theirs, tmp_path):
    newer = tmp_path / "newer.db"
    shutil.copy(theirs, newer)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    conn.close()
    result = run("merge", str(newer))
    assert result.exit_code == 1
    assert error_line(result) == (
        f"Error: {newer} was written by a newer calibrate (schema version "
        f"{store.SCHEMA_VERSION + 1}; this one reads up to {store.SCHEMA_VERSION}): upgrade "
        "calibrate to merge it"
    )
