"""Crash safety: an import or a merge killed half-way leaves the database as it was.

A large import (50,000 rows in ``make test``, 200,000 in ``make reliability``)
and a merge of a database that large are killed with SIGKILL at a random
moment (seeded, spread over the command's measured duration), each trial on a
fresh copy of the database: afterwards ``PRAGMA integrity_check`` is ok, the
task count is either the old one or the new one, never in between, and
calibrate opens the file (and, in ``make reliability``, finishes the job when
asked again).
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from calibrate import store
from tests.reliability.faults import (
    CALIBRATE,
    FULL,
    fresh_copy,
    integrity,
    run_calibrate,
    seeded_database,
    size,
    task_count,
)

IMPORT_ROWS = size(50_000, 200_000)
MERGE_ROWS = size(20_000, 200_000)
TRIALS = size(3, 10)
SEED = 20261130


def write_tasks_csv(path: Path, rows: int, prefix: str = "T") -> Path:
    """A tracker-like CSV: every row a distinct key, an estimate and an actual."""
    rng = random.Random(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("key,title,person,team,project,estimate,actual,created,done,tags\n")
        for n in range(rows):
            estimate = rng.choice([0.5, 1, 2, 3, 4, 6, 8, 16])
            actual = round(estimate * rng.lognormvariate(0, 0.7), 2) or 0.25
            day = 1 + n % 28
            handle.write(
                f"{prefix}-{n},Task {n} of the crash test,person{n % 40},team{n % 4},"
                f"project{n % 9},{estimate},{actual},2025-{1 + n % 12:02d}-{day:02d}T09:00:00Z,"
                f'2025-{1 + n % 12:02d}-{day:02d}T17:30:00Z,"crash,p{n % 3}"\n'
            )
    return path


def kill_at(command: list[str], delay: float) -> int:
    """Start ``command``, SIGKILL it after ``delay`` seconds; its exit status
    (negative: killed; 0: it finished first)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    return process.wait()


def timed_run(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - started


def kill_trials(base: Path, folder: Path, command_for, old: int, new: int) -> list[str]:
    """Kill ``command_for(db)`` at random moments, TRIALS times, each on a fresh
    copy of ``base``; check every outcome. Returns what each trial saw."""
    reference = fresh_copy(base, folder, "reference.db")
    duration = timed_run(command_for(reference))
    assert task_count(reference) == new
    rng = random.Random(SEED)
    outcomes = []
    for trial in range(TRIALS):
        db = fresh_copy(base, folder, f"trial-{trial}.db")
        before = (integrity(db), task_count(db))
        assert before == ("ok", old)
        delay = duration * rng.uniform(0.15, 0.95)
        status = kill_at(command_for(db), delay)
        check = integrity(db)
        count = task_count(db)
        outcomes.append(f"trial {trial}: killed after {delay:.2f}s (status {status}): {count}")
        assert check == "ok", outcomes[-1] + f": integrity {check}"
        assert count in (old, new), outcomes[-1]
        store.connect(db).close()  # calibrate opens what the kill left
        if trial == 0 and FULL:  # and finishes the job when asked again
            timed_run(command_for(db))
            assert task_count(db) == new and integrity(db) == "ok"
    kept_old = sum(line.endswith(f": {old}") for line in outcomes)
    print(
        f"{TRIALS} kills over a {duration:.1f} s run: {kept_old} left the old {old:,} tasks, "
        f"{TRIALS - kept_old} the new {new:,}; integrity ok every time"
    )
    print("\n".join(outcomes))
    return outcomes


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A database with some history already in it."""
    return seeded_database(tmp_path_factory.mktemp("crash") / "base.db")


def test_an_import_killed_at_random_moments_leaves_the_old_or_the_new_database(base, tmp_path):
    csv_file = write_tasks_csv(tmp_path / "big.csv", IMPORT_ROWS)
    old = task_count(base)

    def command(db: Path) -> list[str]:
        return [*CALIBRATE, "--db", str(db), "import", str(csv_file), "--person", "crash"]

    outcomes = kill_trials(base, tmp_path, command, old, old + IMPORT_ROWS)
    assert any("status -9" in line for line in outcomes), outcomes


def test_a_merge_killed_at_random_moments_leaves_the_old_or_the_new_database(base, tmp_path):
    # another person's history (with timer intervals) plus a large import
    other = seeded_database(tmp_path / "other.db", seed=7)
    csv_file = write_tasks_csv(tmp_path / "other.csv", MERGE_ROWS, prefix="M")
    result = run_calibrate(other, "import", str(csv_file), "--person", "other", timeout=600)
    assert result.returncode == 0, result.stderr
    old = task_count(base)

    def command(db: Path) -> list[str]:
        return [*CALIBRATE, "--db", str(db), "merge", str(other)]

    outcomes = kill_trials(base, tmp_path, command, old, old + task_count(other))
    assert any("status -9" in line for line in outcomes), outcomes
