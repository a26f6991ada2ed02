"""Concurrency: many ``calibrate add`` at the same moment all land.

Eight processes each run ``add`` over and over against one database (25 times
each in ``make test``, 100 in ``make reliability``) while ``report`` runs
meanwhile: every add succeeds, every id is distinct, every title lands exactly
once, and every report run succeeds. Writers queue on SQLite's write lock
(``BEGIN IMMEDIATE`` with a busy timeout); WAL lets the report read meanwhile.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.reliability.faults import (
    CALIBRATE,
    integrity,
    run_calibrate,
    seeded_database,
    size,
    task_count,
)

WORKERS = 8
ADDS_EACH = size(12, 100)


#: The workers that said they created the database (one, when it was new).
CREATED: list[int] = []


def adder(db, worker: int, adds: int) -> tuple[list[int], list[str]]:
    """One process after another, as a user's shell loop would: (ids, failures).
    The line of the process that created the database is no failure: that
    worker is noted in :data:`CREATED`."""
    ids, failures = [], []
    created_line = f"Created a new database: {db} (--db PATH or $CALIBRATE_DB uses another)\n"
    for n in range(adds):
        result = run_calibrate(
            db,
            "add",
            f"worker {worker} task {n}",
            *["-e", "1h30m", "-q", "--person"],
            f"worker{worker}",
            "-t",
            "load",
        )
        stderr = result.stderr
        if stderr == created_line:
            CREATED.append(worker)
            stderr = ""
        if result.returncode != 0 or stderr.strip():
            failures.append(f"worker {worker} add {n}: exit {result.returncode}: {stderr}")
        else:
            ids.append(int(result.stdout))
    return ids, failures


def test_eight_processes_adding_at_once_lose_nothing_while_a_report_runs(tmp_path):
    db = seeded_database(tmp_path / "team.db")
    before = task_count(db)
    done = threading.Event()
    reports: list[subprocess.CompletedProcess] = []

    def keep_reporting() -> None:
        """Report after report until the adders finish (at least one)."""
        while True:
            out = tmp_path / f"report-{len(reports)}.html"
            command = [*CALIBRATE, "--db", str(db), "report", "--everyone", "-o", str(out)]
            reports.append(subprocess.run(command, capture_output=True, text=True, timeout=300))
            if done.is_set():
                return

    reporter = threading.Thread(target=keep_reporting)
    started = time.perf_counter()
    reporter.start()
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(lambda w: adder(db, w, ADDS_EACH), range(WORKERS)))
    finally:
        done.set()
        reporter.join()
    print(
        f"{WORKERS} processes x {ADDS_EACH} adds in {time.perf_counter() - started:.1f} s, "
        f"{len(reports)} reports meanwhile"
    )

    failures = [line for _, fails in results for line in fails]
    assert failures == []
    ids = [task_id for task_ids, _ in results for task_id in task_ids]
    assert len(ids) == WORKERS * ADDS_EACH
    assert len(set(ids)) == len(ids), "duplicate ids"
    assert task_count(db) == before + WORKERS * ADDS_EACH
    assert integrity(db) == "ok"
    import sqlite3

    conn = sqlite3.connect(db)
    titles = Counter(
        row[0] for row in conn.execute("SELECT title FROM tasks WHERE title LIKE 'worker %'")
    )
    conn.close()
    assert len(titles) == WORKERS * ADDS_EACH and set(titles.values()) == {1}
    assert reports, "the report never ran"
    for report in reports:
        assert report.returncode == 0, report.stderr
        assert report.stderr.strip() == ""


def test_first_use_by_several_processes_at_once(tmp_path):
    """The database does not exist yet: every process races to create and
    migrate it. Each add lands, once, and the schema is whole."""
    db = tmp_path / "new.db"
    workers, adds = 4, size(3, 10)
    CREATED.clear()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda w: adder(db, w, adds), range(workers)))
    assert [line for _, fails in results for line in fails] == []
    assert len(CREATED) == 1  # exactly one process made it, and said where
    ids = [task_id for task_ids, _ in results for task_id in task_ids]
    assert sorted(ids) == list(range(1, workers * adds + 1))
    assert integrity(db) == "ok"
    from calibrate import store

    conn = store.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    migrations = [row[0] for row in conn.execute("SELECT name FROM _migrations")]
    conn.close()
    assert len(migrations) == len(set(migrations)) == store.SCHEMA_VERSION
