"""Files in a bad state: every command says what is wrong in one line, and the
file is left exactly as it was (its SHA-256 compared before and after).

- read-only (a read-only file, and a read-only file in a read-only folder):
  reads work, writes say the database is read-only;
- a full disk (simulated portably: ``RLIMIT_FSIZE`` in the child, so writes past
  a size fail with EFBIG as on a full file system): "the disk is full";
- locked by another process for longer than the busy timeout: "locked";
- truncated at several points, from a newer schema, or not a database at all
  (text, random bytes, another program's SQLite file, a folder).
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from calibrate import store
from tests.reliability.faults import (
    assert_clean_failure,
    file_state,
    fresh_copy,
    integrity,
    one_error_line,
    run_calibrate,
    seeded_database,
    task_count,
)

CSV = "key,title,estimate,actual\nK-1,One,2h,3h\nK-2,Two,1h,1h\n"

#: (name, arguments) of commands that only read the database.
READS = [
    ("list", ["list", "--everyone", "--status", "any"]),
    ("show", ["show", "1"]),
    ("score", ["score", "--everyone", "--json"]),
    ("export", ["export"]),
    ("config", ["config"]),
    ("rank", ["rank", "--everyone", "--since", "all"]),
    ("report", ["report", "--everyone", "-o", "{tmp}/report.html"]),
    ("forecast", ["forecast", "--everyone", "--runs", "200"]),
    ("suggest", ["suggest", "3h", "--person", "{person}"]),
]
#: (name, arguments) of commands that write.
WRITES = [
    ("add", ["add", "New task", "-e", "2h"]),
    ("done", ["done", "{open_id}", "--actual", "1h"]),
    ("edit", ["edit", "1", "--title", "Renamed"]),
    ("config", ["config", "day-hours", "7"]),
    ("import", ["import", "{tmp}/tasks.csv"]),
    ("merge", ["merge", "{tmp}/other.db"]),
    ("rm", ["rm", "1", "--yes"]),
]
ALL = READS + WRITES


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return seeded_database(tmp_path_factory.mktemp("files") / "pristine.db", people=3, weeks=10)


@pytest.fixture
def setup(tmp_path, pristine):
    """A fresh copy of the database, the import file and another database to
    merge; returns a function that fills in a command's arguments."""
    db = fresh_copy(pristine, tmp_path, "calibrate.db")
    (tmp_path / "tasks.csv").write_text(CSV, encoding="utf-8")
    seeded_database(tmp_path / "other.db", people=2, weeks=2, seed=9)
    conn = sqlite3.connect(db)
    person = conn.execute("SELECT person FROM tasks ORDER BY id LIMIT 1").fetchone()[0]
    open_id = conn.execute("SELECT min(id) FROM tasks WHERE status = 'open'").fetchone()[0]
    conn.close()

    def fill(args: list[str]) -> list[str]:
        values = {"tmp": str(tmp_path), "person": person, "open_id": str(open_id)}
        return [arg.format(**values) for arg in args]

    return db, fill


def available(invoke, db: Path, command: str) -> bool:
    """Whether this version has the command (some arrive with later issues)."""
    return invoke(db, command, "--help").exit_code == 0


# --- read-only ---------------------------------------------------------------------


@contextlib.contextmanager
def read_only(*paths: Path):
    """Make ``paths`` unwritable even for root (which ignores file modes): the
    immutable attribute when running as root, the file mode otherwise."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a file read-only")
        for path in paths:
            result = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if result.returncode != 0:
                pytest.skip(f"chattr +i is not supported here: {result.stderr.decode().strip()}")
        try:
            yield
        finally:
            for path in paths:
                subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


@pytest.mark.parametrize("folder_too", [False, True], ids=["file", "file-and-folder"])
def test_a_read_only_database_reads_and_refuses_writes(setup, invoke, tmp_path, folder_too):
    db, fill = setup
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    locked_folder = tmp_path / "ro"
    locked_folder.mkdir()
    target = locked_folder / "calibrate.db" if folder_too else db
    if folder_too:
        shutil.move(db, target)
    before = file_state(target)
    with read_only(target, *([locked_folder] if folder_too else [])):
        for name, args in READS:
            if not available(invoke, target, name):
                continue
            args = [
                a.replace(str(tmp_path) + "/report", str(out_folder) + "/report")
                for a in fill(args)
            ]
            result = invoke(target, *args)
            assert result.exit_code == 0, (name, result.output, result.exception)
        for name, args in WRITES:
            if not available(invoke, target, name):
                continue
            result = invoke(target, *fill(args))
            line = assert_clean_failure(result, codes=(1,))
            assert "read-only" in line, (name, line)
        assert file_state(target) == before


# --- a full disk -----------------------------------------------------------------------


def file_size_limit(limit: int):
    """For ``preexec_fn``: writes beyond ``limit`` bytes fail with EFBIG (the
    signal that would kill the process is ignored, as a full disk would not
    kill it either)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def big_csv(path: Path, rows: int) -> Path:
    rng = random.Random(5)
    lines = ["key,title,estimate,actual,notes"]
    lines += [
        f"F-{n},Task {n},{rng.randint(1, 8)}h,{rng.randint(1, 12)}h,{'x' * 200}"
        for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no RLIMIT_FSIZE here")
@pytest.mark.parametrize("command", ["import", "merge", "add"])
def test_a_full_disk_fails_cleanly_and_changes_nothing(setup, tmp_path, command):
    db, _ = setup
    before, count = file_state(db), task_count(db)
    if command == "import":
        args = ["import", str(big_csv(tmp_path / "big.csv", 20_000))]
        headroom = 64 * 1024  # room for the WAL index, not for 20,000 rows
    elif command == "merge":
        other = seeded_database(tmp_path / "big-other.db", people=6, weeks=30, seed=4)
        args, headroom = ["merge", str(other)], 64 * 1024
    else:  # no room even for the WAL index: the write fails at once
        args, headroom = ["add", "One more", "-e", "1h"], None
    limit = db.stat().st_size + headroom if headroom else 16 * 1024
    result = run_calibrate(db, *args, preexec_fn=file_size_limit(limit))
    assert result.returncode == 1, result
    line = one_error_line(result.stderr)
    assert "disk is full" in line or "may be full" in line, line
    assert file_state(db) == before
    assert task_count(db) == count and integrity(db) == "ok"


def test_a_report_or_export_onto_a_full_disk_leaves_no_partial_file(tmp_path):
    db = seeded_database(tmp_path / "bigger.db", people=6, weeks=30)
    limit = file_size_limit(40 * 1024)  # room to read the database, not to write the output
    assert len(run_calibrate(db, "export").stdout) > 40 * 1024
    for args, out in (
        (["export", "-o", str(tmp_path / "all.csv")], tmp_path / "all.csv"),
        (["report", "--everyone", "-o", str(tmp_path / "r.html")], tmp_path / "r.html"),
    ):
        result = run_calibrate(db, *args, preexec_fn=limit)
        assert result.returncode == 1, result
        line = one_error_line(result.stderr)
        assert "full" in line or "too large" in line.lower(), line
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}")]


# --- locked by another process ------------------------------------------------------------

HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def test_a_database_locked_beyond_the_busy_timeout(setup, tmp_path, monkeypatch):
    db, fill = setup
    before = file_state(db)
    monkeypatch.setenv("CALIBRATE_BUSY_TIMEOUT", "0.3")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        for args in (
            ["add", "Blocked", "-e", "1h"],
            ["import", str(tmp_path / "tasks.csv")],
            ["done", fill(["{open_id}"])[0], "--actual", "2h"],
        ):
            result = run_calibrate(db, *args)
            assert result.returncode == 1, result
            line = one_error_line(result.stderr)
            assert "locked by another process" in line and "0.3s" in line, line
        reading = run_calibrate(db, "list", "--everyone")  # readers are not blocked
        assert reading.returncode == 0, reading.stderr
    finally:
        holder.communicate("")
    assert file_state(db) == before
    after = run_calibrate(db, "add", "Unblocked", "-e", "1h")
    assert after.returncode == 0, after.stderr


def test_the_busy_timeout_setting_is_read_safely(monkeypatch):
    for text, expected in (
        ("0.3", 0.3),
        ("", 10.0),
        ("soon", 10.0),
        ("-1", 10.0),
        ("nan", 10.0),
        ("1e9", 10.0),
        ("0", 0.0),
    ):
        monkeypatch.setenv("CALIBRATE_BUSY_TIMEOUT", text)
        assert store._busy_timeout() == expected, text


# --- truncated, too new, not a database --------------------------------------------------


def truncated(db: Path, keep: int | str) -> None:
    data = db.read_bytes()
    page = 4096
    cut = {"half": len(data) // 2, "last page": len(data) - page, "one page": page}.get(keep, keep)
    db.write_bytes(data[:cut])


def newer(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    conn.close()


def foreign(db: Path) -> None:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    conn.execute("INSERT INTO photos (path) VALUES ('holiday.jpg')")
    conn.commit()
    conn.close()


BAD_FILES = {
    "truncated to 50 bytes": (lambda db: truncated(db, 50), "not an SQLite file"),
    "truncated to its header": (lambda db: truncated(db, 100), "truncated"),
    "truncated to one page": (lambda db: truncated(db, "one page"), "truncated"),
    "truncated by half": (lambda db: truncated(db, "half"), "truncated"),
    "missing its last page": (lambda db: truncated(db, "last page"), "truncated"),
    "from a newer schema": (newer, "newer calibrate"),
    "a text file": (lambda db: db.write_text("id,title\n1,hello\n" * 20), "not an SQLite file"),
    "random bytes": (lambda db: db.write_bytes(random.Random(1).randbytes(9000)), "not an SQLite"),
    "another program's database": (foreign, "another program"),
}


@pytest.mark.parametrize("fault", list(BAD_FILES))
def test_a_bad_file_gets_one_clear_line_and_stays_as_it_was(setup, invoke, fault):
    db, fill = setup
    damage, expected = BAD_FILES[fault]
    damage(db)
    before = file_state(db)
    for name, args in ALL:
        result = invoke(db, *fill(args))
        if result.exit_code == 2 and "No such command" in result.stderr:
            continue  # a command of a later issue
        line = assert_clean_failure(result, codes=(1,))
        assert expected in line, (name, line)
        assert file_state(db) == before, name


@pytest.mark.parametrize("fault", list(BAD_FILES))
def test_merging_a_bad_file_is_refused_and_changes_nothing(setup, invoke, tmp_path, fault):
    db, _ = setup
    other = tmp_path / "other.db"
    BAD_FILES[fault][0](other)
    before, other_before = file_state(db), file_state(other)
    result = invoke(db, "merge", str(other))
    assert_clean_failure(result, codes=(1,))
    assert file_state(db) == before and file_state(other) == other_before


def test_a_folder_where_the_database_should_be(invoke, tmp_path):
    folder = tmp_path / "calibrate.db"
    folder.mkdir()
    for _, args in (("list", ["list"]), ("add", ["add", "x", "-e", "1h"])):
        line = assert_clean_failure(invoke(folder, *args), codes=(1,))
        assert "directory" in line
    assert list(folder.iterdir()) == []
