"""Regression tests for what the reliability suite found, one small test each,
so that a fix cannot quietly come undone."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import sqlite3
from datetime import UTC, datetime

import pytest

from calibrate import store
from calibrate.durations import (
    MAX_EFFORT_H,
    parse_date,
    parse_duration,
    parse_since,
    parse_when,
    to_iso,
)
from calibrate.errors import DatabaseError, InputError, UsageError
from calibrate.store import tasks
from calibrate.text import to_csv
from tests.reliability.faults import assert_clean_failure, file_state


def test_a_transaction_survives_sqlite_rolling_back_by_itself(conn):
    """On a full disk SQLite rolls the transaction back itself; the original
    error must surface, not 'cannot rollback - no transaction is active'."""

    class Full(sqlite3.OperationalError):
        pass

    with pytest.raises(Full), store.transaction(conn):
        conn.execute("INSERT INTO settings (key, value) VALUES ('day-hours', '7')")
        conn.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL
        raise Full("database or disk is full")
    assert not conn.in_transaction


def test_io_errors_read_as_a_disk_problem():
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorname = "SQLITE_IOERR_WRITE"
    message = str(store.translate(error))
    assert "may be full or failing" in message and "nothing was written" in message


def test_a_truncated_file_is_refused_before_sqlite_reads_it(db_path):
    conn = store.connect(db_path)
    with store.transaction(conn):
        for n in range(300):
            conn.execute(
                "INSERT INTO tasks (uid, title, person, estimate_h, created_at, updated_at) "
                "VALUES (?, ?, 'a', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                (f"u{n}", "x" * 300),
            )
    conn.close()
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) - 4096])
    before = file_state(db_path)
    with pytest.raises(DatabaseError, match="truncated"):
        store.connect(db_path)
    assert file_state(db_path) == before


def test_a_short_file_with_a_pending_wal_is_not_called_truncated(db_path):
    """After an interrupted checkpoint the file may be shorter than its header
    says while the WAL still holds the pages: that is SQLite's to recover."""
    store.connect(db_path).close()
    header = bytearray(db_path.read_bytes()[:100])
    header[28:32] = (10_000).to_bytes(4, "big")  # claims many more pages
    db_path.write_bytes(bytes(header) + db_path.read_bytes()[100:])
    with open(f"{db_path}-wal", "wb") as wal:
        wal.write(b"\0" * 32)
    store._refuse_truncated(str(db_path), bytes(header))  # no error
    (db_path.parent / f"{db_path.name}-wal").unlink()
    with pytest.raises(DatabaseError, match="truncated"):
        store._refuse_truncated(str(db_path), bytes(header))


def test_undecodable_arguments_are_refused_by_name(run, db_path):
    result = run("add", "caf\udce9", "-e", "1h")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: argument 'caf\\xe9' is not valid UTF-8 text: check your terminal's encoding\n"
    )
    assert not db_path.exists()


def test_error_lines_escape_control_characters(run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a\x1b[31m\x1e,b\u202e\n1,2\n", encoding="utf-8")
    result = run("import", str(bad))
    assert_clean_failure(result, codes=(1,))
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
    assert "\\x1b" in result.stderr


def test_csv_output_keeps_a_lone_carriage_return_inside_its_cell():
    text = to_csv([{"title": "a\rb", "n": 1}, {"title": "plain", "n": 2}], ["title", "n"])
    assert text == 'title,n\n"a\rb","1"\nplain,2\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["title", "n"],
        ["a\rb", "1"],
        ["plain", "2"],
    ]


@pytest.mark.parametrize("text", ["+99999999999d", "-99999999w", "0001-01-01", "2200-01-01"])
def test_dates_out_of_range_are_input_errors(text):
    with pytest.raises(InputError, match="out of range"):
        parse_date(text)


@pytest.mark.parametrize("text", ["99999999999h ago", "0001-01-01T00:00", "9999-12-31T23:59-05:00"])
def test_moments_out_of_range_are_input_errors(text):
    with pytest.raises(InputError):
        parse_when(text)


def test_a_window_before_1900_is_an_input_error():
    with pytest.raises(InputError, match="starts before 1900"):
        parse_since("999999999w")


def test_stored_times_always_have_four_digit_years():
    assert to_iso(datetime(1950, 1, 2, 3, 4, 5, tzinfo=UTC)) == "1950-01-02T03:04:05Z"
    assert to_iso(datetime(900, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0900-01-02T03:04:05Z"


def test_efforts_are_bounded(conn):
    assert parse_duration("100000h") == MAX_EFFORT_H
    with pytest.raises(InputError, match="not the effort of one task"):
        parse_duration("100001h")
    with pytest.raises(UsageError, match="not the effort of one task"):
        tasks.add_task(conn, tasks.NewTask("Huge", 1e9, "a"))


def test_an_import_refuses_an_effort_beyond_the_bound(run, tmp_path, db_path):
    path = tmp_path / "huge.csv"
    path.write_text("key,estimate\nA,2\nB,99999999999\n", encoding="utf-8")
    result = run("import", str(path))
    line = assert_clean_failure(result, codes=(1,))
    assert "line 3" in line and "not the effort of one task" in line


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_a_damaged_compressed_file_is_one_clear_error(run, tmp_path, compress):
    data = compress(b"key,estimate\n" + b"A,2\n" * 5000)
    path = tmp_path / "tasks.csv"
    path.write_bytes(data[: len(data) // 2] + b"\0garbage" * 10)
    line = assert_clean_failure(run("import", str(path)), codes=(1,))
    assert "damaged or incomplete" in line


def test_add_trims_person_team_and_project_as_import_does(run, db_path):
    result = run("add", "Trim", "-e", "1h", "--person", " Ann\t", "--team", " ", "--project", " p ")
    assert result.exit_code == 0, result.output
    row = sqlite3.connect(db_path).execute("SELECT person, team, project FROM tasks").fetchone()
    assert row == ("Ann", None, "p")
    empty = run("add", "No one", "-e", "1h", "--person", "  ")
    assert_clean_failure(empty, codes=(2,))
