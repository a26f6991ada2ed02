"""Class 8, unwritable places: a healthy database that cannot be written where
it is still reads, and a write says what is wrong.

- a writable database in a folder that takes no new files (no room for its
  ``-wal`` and ``-shm``): every read command works (it was "damaged or not a
  calibrate database"), every write says the folder takes no new files;
- a teammate's file in such a folder opens for ``merge`` (it was "damaged"
  too), and a normal merge leaves no ``-wal`` or ``-shm`` beside "the other
  file (only read)", whose bytes stay as they were;
- on a full disk (simulated with ``RLIMIT_FSIZE``: every write past one byte
  fails, as on a full file system) every read command works, so the data can
  be exported off it; caches and ledgers are skipped (best effort); a write
  says "the disk is full" and changes nothing.

Root ignores file modes: a folder is made unwritable with the immutable
attribute (``chattr +i``), as tests/reliability/test_files.py does; where
that is impossible the test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.reliability.faults import (
    CALIBRATE,
    file_state,
    integrity,
    seeded_database,
    task_count,
)

#: Read commands, ``{out}`` a writable folder for their files.
READS = [
    ["list", "--everyone", "--status", "any"],
    ["show", "1"],
    ["status"],
    ["people"],
    ["score", "--everyone", "--since", "all"],
    ["rank", "--everyone", "--since", "all"],
    ["export"],
    ["export", "--format", "jsonl"],
    ["export", "--summary"],
    ["export", "-o", "{out}/export.csv"],
    ["config"],
    ["report", "--everyone", "-o", "{out}/report.html"],
    ["forecast", "--everyone", "--runs", "200"],
    ["suggest", "3h"],
]
WRITES = [
    ["add", "New task", "-e", "2h"],
    ["done", "{open_id}", "--actual", "1h"],
    ["edit", "1", "--title", "Renamed"],
    ["config", "day-hours", "7"],
    ["import", "{out}/tasks.csv"],
    ["merge", "{out}/other.db"],
    ["rm", "1", "--yes"],
]


def clear_sides(db: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def open_id(db: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT min(id) FROM tasks WHERE status = 'open'").fetchone()[0])
    finally:
        conn.close()


@contextlib.contextmanager
def folder_takes_no_files(folder: Path):
    """``folder`` refuses new files, for root too (the immutable attribute);
    for anyone else its mode."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a folder unwritable")
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def run(db: Path, words: list[str], *, limit: int | None = None) -> subprocess.CompletedProcess:
    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*CALIBRATE, "--db", str(db), *words],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CALIBRATE_PERSON": "Nobody Here"},
        preexec_fn=full_disk if limit is not None else None,
    )


@pytest.fixture
def place(tmp_path, seeded):
    """A folder holding a settled copy of the seeded database (no side files),
    and a writable folder with an import file and a database to merge."""
    folder = tmp_path / "locked"
    folder.mkdir()
    db = folder / "calibrate.db"
    shutil.copy(seeded, db)
    clear_sides(db)
    out = tmp_path / "out"
    out.mkdir()
    (out / "tasks.csv").write_text("key,title,estimate\nK-1,One,2h\n", encoding="utf-8")
    seeded_database(out / "other.db", people=2, weeks=2, seed=9)
    (out / "open_id").write_text(open_id(db))
    clear_sides(db)
    return db, out


def filled(words: list[str], db: Path, out: Path) -> list[str]:
    task = (out / "open_id").read_text()
    return [w.replace("{out}", str(out)).replace("{open_id}", task) for w in words]


def test_a_healthy_database_in_a_folder_that_takes_no_files_reads(place):
    """The issue's example: it was called "damaged or not a calibrate database"."""
    db, out = place
    before = file_state(db)
    with folder_takes_no_files(db.parent):
        for words in READS:
            result = run(db, filled(words, db, out))
            assert result.returncode == 0, (words, result.stderr)
            assert "damaged" not in result.stderr
        for words in WRITES:
            result = run(db, filled(words, db, out))
            assert result.returncode == 1, (words, result.stderr)
            line = assert_one_line(result.stderr)
            assert "takes no new files" in line and "reading works" in line, (words, line)
        assert sorted(p.name for p in db.parent.iterdir()) == ["calibrate.db"]
    assert file_state(db) == before


def test_merge_of_a_file_in_a_folder_that_takes_no_files(place, tmp_path):
    """The issue's example: a teammate's file there was "damaged" too."""
    theirs, _out = place  # the locked folder's database is the teammate's
    mine = seeded_database(tmp_path / "mine.db", people=2, weeks=2, seed=4)
    before = file_state(theirs)
    with folder_takes_no_files(theirs.parent):
        result = run(mine, ["merge", str(theirs)])
        assert result.returncode == 0, result.stderr
        assert "damaged" not in result.stderr
    assert task_count(mine) > 2
    assert file_state(theirs) == before
    assert sorted(p.name for p in theirs.parent.iterdir()) == ["calibrate.db"]


@pytest.mark.parametrize("dry_run", [False, True], ids=["merge", "dry-run"])
def test_a_normal_merge_leaves_no_side_files_beside_the_other_file(tmp_path, dry_run):
    """The issue's example: a merge left -wal and -shm beside "the other file
    (only read)"; its bytes are unchanged as well."""
    mine = seeded_database(tmp_path / "mine.db", people=2, weeks=2, seed=1)
    theirs = seeded_database(tmp_path / "theirs" / "theirs.db", people=2, weeks=2, seed=2)
    clear_sides(theirs)
    before = file_state(theirs)
    result = run(mine, ["merge", str(theirs), *(["--dry-run"] if dry_run else [])])
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in theirs.parent.iterdir()) == ["theirs.db"]
    assert file_state(theirs) == before


def test_a_merge_leaves_the_side_files_of_a_file_in_use_alone(tmp_path):
    """When the other file is open elsewhere (its -wal and -shm exist), they
    are that process's: the merge reads through them and leaves them."""
    import sqlite3

    mine = seeded_database(tmp_path / "mine.db", people=2, weeks=2, seed=1)
    theirs = seeded_database(tmp_path / "theirs.db", people=2, weeks=2, seed=2)
    holder = sqlite3.connect(theirs)
    try:
        holder.execute("SELECT count(*) FROM tasks").fetchone()
        assert Path(f"{theirs}-shm").exists()
        result = run(mine, ["merge", str(theirs)])
        assert result.returncode == 0, result.stderr
        assert Path(f"{theirs}-shm").exists() and Path(f"{theirs}-wal").exists()
        holder.execute("SELECT count(*) FROM tasks").fetchone()
    finally:
        holder.close()
    assert integrity(theirs) == "ok"


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no RLIMIT_FSIZE here")
def test_on_a_full_disk_reads_work_and_writes_say_the_disk_is_full(place):
    """The issue's example: on a full disk read commands failed too, so a user
    could not export their data off it."""
    db, out = place
    before = file_state(db)
    tasks = task_count(db)
    for words in READS:
        if "-o" in words:  # a file on the full disk cannot be written either
            continue
        result = run(db, filled(words, db, out), limit=1)
        assert result.returncode == 0, (words, result.stderr)
    exported = run(db, ["export", "--format", "jsonl"], limit=1)
    assert exported.stdout.count('"kind": "task"') == tasks
    for words in WRITES:
        result = run(db, filled(words, db, out), limit=1)
        assert result.returncode == 1, (words, result.stderr)
        line = assert_one_line(result.stderr)
        assert "disk" in line and "full" in line, (words, line)
    clear_sides(db)  # the empty index files the failed openings made
    assert file_state(db) == before
    assert task_count(db) == tasks
    assert integrity(db) == "ok"
    assert not [p for p in db.parent.iterdir() if p.name.startswith(".calibrate-probe")]


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no RLIMIT_FSIZE here")
def test_an_output_file_on_a_full_disk_is_one_line_and_nothing_left(place):
    db, out = place
    for words in (
        ["export", "-o", f"{out}/x.csv"],
        ["report", "--everyone", "-o", f"{out}/r.html"],
    ):
        result = run(db, words, limit=1)
        assert result.returncode == 1, result.stderr
        assert "cannot write" in assert_one_line(result.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["open_id", "other.db", "tasks.csv"]


def assert_one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not _warning(line)]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def _warning(line: str) -> bool:
    return line.startswith(("Warning: ", "Note: "))
