"""Helpers of the reliability suite (fixtures are in conftest.py): the size
switch, running calibrate as a process, fingerprinting files, and what every
rejected command must look like.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from calibrate import store

FULL = os.environ.get("CALIBRATE_RELIABILITY", "").strip().lower() == "full"
CALIBRATE = [sys.executable, "-m", "calibrate"]


def size(small: int, full: int) -> int:
    """``small`` in ``make test``, ``full`` in ``make reliability``."""
    return full if FULL else small


def run_calibrate(
    db: Path, *args: str, timeout: float = 120, **popen
) -> subprocess.CompletedProcess:
    """``calibrate --db DB ARGS`` as a fresh process; text output captured."""
    return subprocess.run(
        [*CALIBRATE, "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def file_state(path: Path) -> tuple[str, ...]:
    """A fingerprint of a database and its side files: SHA-256 of each that
    exists (an empty WAL or journal, which any reader may leave, holds nothing).
    Equal fingerprints mean nothing on disk changed."""
    state = []
    for suffix in ("", "-wal", "-journal"):
        part = Path(f"{path}{suffix}")
        if part.exists() and (not suffix or part.stat().st_size):
            state.append(f"{suffix or 'db'}:{hashlib.sha256(part.read_bytes()).hexdigest()}")
    return tuple(state)


def task_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        conn.close()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy (SQLite's backup API: the WAL folded in)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def one_error_line(stderr: str) -> str:
    """The single ``Error: ...`` line a failure must print, and nothing else."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def seeded_database(path: Path, *, people: int = 4, weeks: int = 8, seed: int = 3) -> Path:
    """A small demo history (finished and open tasks, ranges, promises)."""
    from calibrate import demo

    conn = store.connect(path)
    try:
        demo.generate(conn, people=people, teams=2, weeks=weeks, seed=seed)
    finally:
        conn.close()
    return path


def assert_clean_failure(result, *, codes=(1, 2)) -> str:
    """A rejected command: exit 1 or 2, one ``Error:`` line, no traceback."""
    assert result.exit_code in codes, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return one_error_line(result.stderr)


def assert_no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


def fresh_copy(source: Path, folder: Path, name: str) -> Path:
    target = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, target)
    return settled(target)


def settled(path: Path) -> Path:
    """A copied database opened once, so that it has taken its own identity
    (law 4) before a test fingerprints it: the command under test then prints
    and writes only what it does itself."""
    store.connect(path).close()
    return path
