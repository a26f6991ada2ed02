"""Each case of issue 12 ("Lossless exchange") in this issue's scope, as a
regression test named after it, through the command line as a user meets it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from calibrate import store
from calibrate.store import schema
from calibrate.store.state import replica_state
from tests.laws.history import copy_file


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def task(db: Path, where: str = "1") -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute(f"SELECT * FROM tasks WHERE {where}").fetchone())
    finally:
        conn.close()


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def state(db: Path) -> dict:
    conn = store.connect(db)
    try:
        return replica_state(conn)
    finally:
        conn.close()


JIRA = (
    "Issue key,Summary,Assignee,Status,Original Estimate,Created,Updated\n"
    "WEB-1,{title},ana,{status},7200,2026-11-02 09:00,{updated}\n"
)


# --- law 2: an import never undoes local work --------------------------------------------


def test_the_reimported_jira_csv_keeps_the_local_actual_and_done_date(run, db_path, tmp_path):
    export = tmp_path / "jira.csv"
    export.write_text(JIRA.format(title="Login", status="To Do", updated="2026-11-02 09:00"))
    ok(run("import", str(export), "--format", "jira"))
    ok(run("done", "1", "--actual", "3h", "--at", "2026-11-20T15:00"))
    done = task(db_path)
    again = ok(run("import", str(export), "--format", "jira"))
    assert "0 added, 0 updated, 1 unchanged" in again.stdout
    after = task(db_path)
    assert (after["status"], after["actual_h"], after["done_at"]) == (
        "done",
        3.0,
        done["done_at"],
    )
    # the tracker moves on: a new title is taken, its status "In Progress" is not
    export.write_text(
        JIRA.format(title="Login page", status="In Progress", updated="2026-11-21 10:00")
    )
    moved = ok(run("import", str(export), "--format", "jira"))
    assert "0 added, 1 updated, 0 unchanged" in moved.stdout
    assert "1 task kept its local actual: a status only moves forward" in moved.stdout
    after = task(db_path)
    assert (after["title"], after["status"], after["actual_h"]) == ("Login page", "done", 3.0)


def test_the_reimported_plain_csv_keeps_the_local_actual(run, db_path, tmp_path):
    export = tmp_path / "tracker.csv"
    export.write_text("key,title,estimate\nT-1,Fix it,2h\nT-2,Test it,1h\n")
    ok(run("import", str(export)))
    ok(run("done", "1", "--actual", "3h"))
    ok(run("reestimate", "2", "4h"))
    ok(run("start", "2", "--at", "2026-11-30T09:00"))
    ok(run("stop", "2", "--at", "2026-11-30T10:00"))
    before = state(db_path)
    again = ok(run("import", str(export)))
    assert "0 added, 0 updated, 2 unchanged" in again.stdout
    assert state(db_path) == before


def test_an_older_calibrate_export_keeps_what_was_done_since(run, db_path, tmp_path):
    ok(run("add", "Write the docs", "-e", "2h"))
    old = tmp_path / "old.jsonl"
    ok(run("export", "--format", "jsonl", "-o", str(old)))
    ok(run("start", "1", "--at", "2026-11-30T09:00"))
    ok(run("done", "1", "--actual", "2h30m", "--at", "2026-11-30T11:30"))
    before = state(db_path)
    result = ok(run("import", str(old)))
    assert "0 added, 0 updated, 1 unchanged" in result.stdout
    assert state(db_path) == before


def test_the_uid_and_estimate_json_line_changes_the_estimate_and_nothing_else(
    run, db_path, tmp_path
):
    options = "--range 2h..5h --promise 6h --team Web --project site -t ui --notes cache"
    ok(run("add", "Ranged", "-e", "3h", *options.split()))
    before = task(db_path)
    line = tmp_path / "estimate.jsonl"
    line.write_text(json.dumps({"uid": before["uid"], "estimate": 4}) + "\n")
    result = ok(run("import", str(line)))
    assert "0 added, 1 updated, 0 unchanged" in result.stdout
    after = task(db_path)
    assert after["estimate_h"] == 4.0
    for field in ("title", "person", "team", "project", "tags", "notes", "low_h", "high_h"):
        assert after[field] == before[field], field
    assert (after["confidence"], after["promise_h"]) == (before["confidence"], before["promise_h"])


def test_an_explicit_json_null_with_a_newer_updated_at_clears_a_field(run, db_path, tmp_path):
    ok(run("add", "Noted", "-e", "1h", "--notes", "keep me"))
    uid = task(db_path)["uid"]
    line = tmp_path / "clear.jsonl"
    line.write_text(json.dumps({"uid": uid, "notes": None, "updated_at": "2020-01-01T00:00:00Z"}))
    older = ok(run("import", str(line)))
    assert "1 task kept its local notes: edited here after the file's version" in older.stdout
    assert task(db_path)["notes"] == "keep me"
    line.write_text(json.dumps({"uid": uid, "notes": None, "updated_at": "2099-01-01T00:00:00Z"}))
    ok(run("import", str(line)))  # the same source says it again, after the local edit
    assert task(db_path)["notes"] is None


def test_the_tracker_that_closed_a_task_may_reopen_it(run, db_path, tmp_path):
    export = tmp_path / "jira.csv"
    export.write_text(
        "Issue key,Summary,Status,Original Estimate,Time Spent,Resolved\n"
        "WEB-2,Deploy,Done,3600,5400,2026-11-20 10:00\n"
    )
    ok(run("import", str(export), "--format", "jira"))
    assert task(db_path)["status"] == "done"
    export.write_text("Issue key,Summary,Status,Original Estimate\nWEB-2,Deploy,Reopened,3600\n")
    ok(run("import", str(export), "--format", "jira"))
    assert task(db_path)["status"] == "open"


# --- law 1: merge is a join ------------------------------------------------------------------


def test_the_two_sittings_on_laptop_and_desktop_both_count(run, db_path, tmp_path):
    ok(run("add", "Long task", "-e", "4h"))
    desktop = copy_file(db_path, tmp_path / "desktop.db")
    ok(run("start", "1", "--at", "2026-11-30T09:00"))
    ok(run("stop", "1", "--at", "2026-11-30T10:00"))
    ok(run("--db", str(desktop), "start", "1", "--at", "2026-11-30T11:00"))
    ok(run("--db", str(desktop), "stop", "1", "--at", "2026-11-30T12:30"))
    ok(run("merge", str(desktop)))
    ok(run("--db", str(desktop), "merge", str(db_path)))
    for db in (db_path, desktop):
        shown = json.loads(ok(run("--db", str(db), "show", "1", "--json")).stdout)
        assert shown["timer_h"] == 2.5
        assert len(shown["intervals"]) == 2
    assert state(db_path) == state(desktop)


# --- law 4: every file has its own identity ------------------------------------------------


def test_the_copied_template_gets_its_own_identity(run, tmp_path):
    template = tmp_path / "template.db"
    ok(run("--db", str(template), "add", "Set up", "-e", "1h"))
    web, app = tmp_path / "web.db", tmp_path / "app.db"
    shutil.copy(template, web)
    shutil.copy(template, app)
    first = run("--db", str(web), "list")
    assert f"this file is a copy of {template}: it gets its own identity" in first.stderr
    assert "copy" not in run("--db", str(web), "list").stderr  # said once
    ok(run("--db", str(app), "list"))
    ids = {count_id(path) for path in (template, web, app)}
    assert len(ids) == 3
    summaries = [
        json.loads(ok(run("--db", str(db), "export", "--summary")).stdout)["database_id"]
        for db in (web, app)
    ]
    assert summaries[0] != summaries[1]  # a lead keeps both teams' summaries


def count_id(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'replica_id'").fetchone()[0]
    finally:
        conn.close()


def test_a_moved_file_keeps_its_identity(run, db_path, tmp_path):
    ok(run("add", "Mine", "-e", "1h"))
    identity = count_id(db_path)
    moved = tmp_path / "elsewhere" / "moved.db"
    moved.parent.mkdir()
    os.replace(db_path, moved)
    result = ok(run("--db", str(moved), "list"))
    assert "copy" not in result.stderr
    assert count_id(moved) == identity


def test_a_restored_backup_keeps_its_identity(run, db_path, tmp_path):
    ok(run("add", "Mine", "-e", "1h"))
    identity = count_id(db_path)
    backup = copy_file(db_path, tmp_path / "backup.db")
    db_path.unlink()  # the disk died; the backup is restored, under another name
    result = ok(run("--db", str(backup), "list"))
    assert "copy" not in result.stderr
    assert count_id(backup) == identity
    shutil.copy(backup, db_path)  # and put back where it was: the one file again
    backup.unlink()
    assert "copy" not in ok(run("list")).stderr
    assert count_id(db_path) == identity


def test_an_unwritable_registry_never_stops_a_command(run, db_path, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CALIBRATE_DATA_DIR", str(blocker / "data"))
    ok(run("add", "Mine", "-e", "1h"))
    ok(run("list"))


# --- law 7: aliases are explicit ---------------------------------------------------------------


def test_the_alias_by_merge_maps_score_and_rm_person(run, db_path, tmp_path, conn):
    from tests.test_people import add_done

    add_done(conn, "jdoe", "core", 0.5, 11)  # the login, here
    other = tmp_path / "hr.db"
    other_conn = store.connect(other)
    add_done(other_conn, "Jane Doe", "core", 0.5, 8)  # the full name, there
    add_done(other_conn, "jdoe", "core", 0.5, 1)
    other_conn.close()
    ok(run("--db", str(other), "alias", "Jane Doe", "jdoe"))
    ok(run("merge", str(other)))
    listed = json.loads(ok(run("people", "--json")).stdout)
    assert [(row["person"], row["tasks"], row["aliases"]) for row in listed] == [
        ("jdoe", 20, ["Jane Doe"])
    ]
    scored = json.loads(ok(run("score", "--person", "jdoe", "--since", "all", "--json")).stdout)
    assert scored["n"] == 20
    also = json.loads(ok(run("score", "--person", "Jane Doe", "--since", "all", "--json")).stdout)
    assert also["n"] == 20
    result = ok(run("rm", "--person", "jdoe", "--yes"))
    assert "Deleted 20 tasks of jdoe (also named Jane Doe)" in result.stdout
    assert count(db_path, "SELECT count(*) FROM tasks") == 0
    assert count(db_path, "SELECT count(*) FROM tombstones") == 20


def test_a_name_typed_two_ways_is_one_person(run, db_path):
    ok(run("add", "One", "-e", "1h", "--person", "Jos\u00e9"))
    ok(run("add", "Two", "-e", "1h", "--person", "Jose\u0301\u200b"))
    listed = json.loads(ok(run("people", "--json")).stdout)
    assert [(row["person"], row["tasks"]) for row in listed] == [("Jos\u00e9", 2)]


def test_add_stores_the_name_it_was_given(run, db_path):
    ok(run("add", "One", "-e", "1h", "--person", "Jane Doe"))
    ok(run("alias", "jdoe", "Jane Doe"))
    ok(run("add", "Two", "-e", "1h", "--person", "jdoe"))
    assert task(db_path, "title = 'Two'")["person"] == "jdoe"


def test_conflicting_aliases_resolve_by_time_then_replica_with_one_line(run, db_path, tmp_path):
    ok(run("add", "One", "-e", "1h", "--person", "Jane Doe"))
    ok(run("add", "Two", "-e", "1h", "--person", "John Doe"))
    other = copy_file(db_path, tmp_path / "other.db")
    ok(run("alias", "jd", "Jane Doe"))
    ok(run("--db", str(other), "alias", "jd", "John Doe"))  # later
    result = ok(run("merge", str(other)))
    assert "alias jd: -> John Doe kept over -> Jane Doe (the later edit" in result.stdout
    assert result.stdout.count("alias jd") == 1
    ok(run("--db", str(other), "merge", str(db_path)))
    assert state(db_path)["aliases"] == state(other)["aliases"]


# --- law 3: deletion is durable, and private -------------------------------------------------


def test_rm_person_then_merge_the_old_file_does_not_bring_them_back(run, db_path, tmp_path):
    for title in ("One", "Two", "Three"):
        ok(run("add", title, "-e", "1h", "--person", "bob"))
    ok(run("add", "Mine", "-e", "1h"))
    old = copy_file(db_path, tmp_path / "bob-old.db")
    ok(run("rm", "--person", "bob", "--yes"))
    tombstones = count(db_path, "SELECT count(*) FROM tombstones")
    assert tombstones == 3
    conn = sqlite3.connect(db_path)
    assert all(len(row) == 1 for row in conn.execute("SELECT uid FROM tombstones"))
    conn.close()
    result = ok(run("merge", str(old)))
    assert "3 of theirs not brought back (deleted here)" in result.stdout
    assert count(db_path, "SELECT count(*) FROM tasks WHERE person = 'bob'") == 0
    ok(run("import", str(export_of(run, old, tmp_path))))
    assert count(db_path, "SELECT count(*) FROM tasks WHERE person = 'bob'") == 0
    ok(run("add", "New work", "-e", "1h", "--person", "bob"))  # a new uid: never blocked
    assert count(db_path, "SELECT count(*) FROM tasks WHERE person = 'bob'") == 1
    ok(run("--db", str(old), "merge", str(db_path)))  # the tombstones travel
    assert count(old, "SELECT count(*) FROM tasks WHERE person = 'bob'") == 1


def export_of(run, db: Path, folder: Path) -> Path:
    path = folder / f"{db.stem}.jsonl"
    ok(run("--db", str(db), "export", "--format", "jsonl", "-o", str(path)))
    return path


def test_rm_person_removes_them_from_the_migration_backups(run, db_path):
    from tests.test_store import _old_database

    _old_database(db_path, 3)  # Jane Doe's tasks, and jdoe's (her alias)
    db_path.chmod(0o600)
    ok(run("list"))  # the upgrade leaves calibrate.db.bak-v3 beside it
    backup = schema.backup_path(db_path, 3)
    assert backup.stat().st_mode & 0o777 == 0o600
    assert count(backup, "SELECT count(*) FROM tasks WHERE person IN ('Jane Doe', 'jdoe')") > 0
    result = ok(run("rm", "--person", "jdoe", "--yes"))
    assert f"and from 1 backup: {backup.name}" in result.stdout
    assert count(backup, "SELECT count(*) FROM tasks WHERE person IN ('Jane Doe', 'jdoe')") == 0
    assert count(backup, "PRAGMA freelist_count") == 0  # vacuumed: no page keeps the old rows
    assert backup.stat().st_mode & 0o777 == 0o600


def test_rm_person_says_which_backups_still_hold_them(run, db_path):
    from tests.test_store import _old_database

    _old_database(db_path, 3)
    ok(run("list"))
    backup = schema.backup_path(db_path, 3)
    backup.chmod(0o400)
    if os.access(backup, os.W_OK):
        pytest.skip("root writes any file")
    result = ok(run("rm", "--person", "jdoe", "--yes"))
    assert f"still held by the backup {backup}" in result.stderr


# --- law 8: lossless round trip; sources and keys ----------------------------------------------


def test_the_round_trip_keeps_reestimates_and_intervals(run, db_path, tmp_path):
    ok(run("add", "Timed", "-e", "2h"))
    ok(run("reestimate", "1", "3h", "--reason", "bigger"))
    ok(run("start", "1", "--at", "2026-11-30T09:00"))
    ok(run("stop", "1", "--at", "2026-11-30T10:00"))
    ok(run("start", "1", "--at", "2026-11-30T11:00"))  # still running
    ok(run("alias", "al", "alice"))
    ok(run("add", "Gone", "-e", "1h"))
    ok(run("rm", "2", "--yes"))
    path = export_of(run, db_path, tmp_path)
    empty = tmp_path / "empty.db"
    result = ok(run("--db", str(empty), "import", str(path)))
    assert "taken from the file: 2 timer intervals, 1 re-estimate, 1 alias, 1 tombstone" in (
        result.stdout
    )
    assert state(empty) == state(db_path)
    shown = json.loads(ok(run("--db", str(empty), "show", "1", "--json")).stdout)
    assert shown["current_estimate_h"] == 3.0
    assert len(shown["intervals"]) == 2 and shown["timer_h"] >= 1.0


def test_an_old_export_without_kinds_still_imports(run, db_path, tmp_path):
    old = tmp_path / "old.jsonl"
    old.write_text(
        json.dumps(
            {
                "uid": "cli-1",
                "title": "From an old export",
                "person": "ana",
                "status": "done",
                "estimate_h": 2.0,
                "actual_h": 3.0,
                "created_at": "2026-01-05T09:00:00Z",
                "done_at": "2026-01-06T09:00:00Z",
                "source": "cli",
                "tags": ["x"],
            }
        )
        + "\n"
    )
    result = ok(run("import", str(old)))
    assert "1 added" in result.stdout
    assert task(db_path)["actual_h"] == 3.0


def test_the_renamed_tracker_file_adds_nothing_and_names_the_source(run, db_path, tmp_path):
    rows = "key,title,estimate\nT-1,Fix it,2h\nT-2,Test it,1h\n"
    first = tmp_path / "tracker-2026-11-24.csv"
    first.write_text(rows)
    imported = ok(run("import", str(first)))
    assert "source tracker-2026-11-24: the file's name (--source names another)" in (
        imported.stdout
    )
    second = tmp_path / "tracker-2026-12-01.csv"
    second.write_text(rows.replace("2h", "3h").replace("1h", "90m"))
    refused = run("import", str(second))
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: tracker-2026-12-01.csv: 2 of its 2 new keys already exist under source "
        "'tracker-2026-11-24' with the same titles (a renamed file?), so nothing was imported: "
        "give --source tracker-2026-11-24 to update those tasks, or --source NEW to import them "
        "as new ones\n"
    )
    assert count(db_path, "SELECT count(*) FROM tasks") == 2
    updated = ok(run("import", str(second), "--source", "tracker-2026-11-24"))
    assert (
        "0 added, 2 updated" in updated.stdout
        and "source tracker-2026-11-24: from --source" in (updated.stdout)
    )
    ok(run("import", str(second), "--source", "tracker-b"))
    assert count(db_path, "SELECT count(*) FROM tasks") == 4


def test_the_keyless_row_gaining_an_actual_updates_its_task(run, db_path, tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("title,estimate,person\nFix login,2h,ana\nWrite docs,1h,ana\n")
    first = ok(run("import", str(sheet)))
    assert "a changed title or estimate imports as a new task" in first.stdout
    sheet.write_text("title,estimate,person,actual\nFix login,2h,ana,3h\nWrite docs,1h,ana,\n")
    result = ok(run("import", str(sheet)))
    assert "0 added, 1 updated, 1 unchanged" in result.stdout
    assert count(db_path, "SELECT count(*) FROM tasks") == 2
    assert task(db_path, "title = 'Fix login'")["actual_h"] == 3.0


def test_one_timewarrior_sitting_imported_on_two_replicas_counts_once(run, db_path, tmp_path):
    ok(run("add", "Fix login", "-e", "2h"))
    desktop = copy_file(db_path, tmp_path / "desktop.db")
    timew = tmp_path / "timew.json"
    timew.write_text(
        '[\n{"id":1,"start":"20261130T083000Z","end":"20261130T091500Z","tags":["cal:1"]}\n]\n'
    )
    ok(run("import", str(timew)))
    ok(run("--db", str(desktop), "import", str(timew)))
    ok(run("merge", str(desktop)))
    ok(run("--db", str(desktop), "merge", str(db_path)))
    for db in (db_path, desktop):
        shown = json.loads(ok(run("--db", str(db), "show", "1", "--json")).stdout)
        assert (len(shown["intervals"]), shown["timer_h"]) == (1, 0.75)
    assert state(db_path) == state(desktop)
