"""Start-up benchmark for `calibrate add` (foundation issue).

Builds (once, cached under benchmarks/.cache/) a database holding 100,000
tasks (titles in the demo's words, with the index of similar tasks), then
times `calibrate add` (a title with similar tasks: its hint names the closest)
against the bare interpreter start-up `python -c "import click, sqlite3"`,
alternating the two in the same run, and prints both medians and their ratio
(target: at most 1.3).

    .venv/bin/python benchmarks/bench_add.py [--runs 40] [--tasks 100000]
    .venv/bin/python benchmarks/bench_add.py --instructions

Times move with the machine's load; ``--instructions`` counts the instructions
each command runs instead (valgrind's callgrind, one run each: the same figure
on a busy machine as on a quiet one, though it leaves out the waits for the
disk, such as SQLite's checkpoint on close).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BIN = Path(sys.executable).parent


def title_of(i: int) -> str:
    """Titles in the demo's words (a verb and an object, one of 5 x 37 x 6),
    so that the index of similar tasks has words to rank as a real one does."""
    from calibrate.demo.people import OBJECTS, VERBS

    verb = VERBS[i % len(VERBS)][0]
    thing = OBJECTS[(i // len(VERBS)) % len(OBJECTS)]
    return f"{verb} {thing} ({i % 6})"


def build_database(path: Path, tasks: int) -> None:
    """A database of `tasks` finished tasks, made through the package's own
    schema (store.connect), filled with one bulk insert, and the index of
    similar tasks built over them (as an import or the demo builds it)."""
    from calibrate import store
    from calibrate.store import similar

    conn = store.connect(path)
    rows = (
        (
            f"bench:{i}",
            title_of(i),
            f"person{i % 50}",
            "team",
            1.0 + i % 8,
            1.0 + i % 5,
            "done",
            "2026-01-01T00:00:00Z",
            "2026-01-02T00:00:00Z",
            "2026-01-02T00:00:00Z",
        )
        for i in range(tasks)
    )
    with store.transaction(conn):
        conn.executemany(
            "INSERT INTO tasks (uid, title, person, team, estimate_h, actual_h, status, "
            "created_at, done_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if similar.available():
            similar.rebuild(conn)
    conn.close()


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    # stderr too: add prints its advice hint there once the history has one
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def instructions(command: list[str], env: dict[str, str]) -> int:
    """The instructions ``command`` runs, counted by callgrind."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        run = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command]
        result = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)|I\s+refs:\s+([\d,]+)", result.stderr)
    if found is None:
        raise SystemExit(f"callgrind said no count:\n{result.stderr[-2000:]}")
    return int((found.group(1) or found.group(2)).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind) instead"
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")

    CACHE.mkdir(exist_ok=True)
    os.environ["CALIBRATE_DATA_DIR"] = str(CACHE / "data")  # the registry of replicas (law 4)
    from calibrate.store import SCHEMA_VERSION

    cached = CACHE / f"add-{args.tasks}-v{SCHEMA_VERSION}.db"
    if not cached.exists():
        build_database(cached, args.tasks)
    work = CACHE / "add-work.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(cached, work)

    drop = ("CALIBRATE_PERSON", "CALIBRATE_DB", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}  # as on a user's machine
    env["CALIBRATE_DB"] = str(work)
    env["CALIBRATE_DATA_DIR"] = str(CACHE / "data")  # the registry of replicas (law 4)
    # The person is remembered in the user's config file after the first use:
    # here in the cache, not in the config folder of whoever runs the benchmark.
    env["CALIBRATE_CONFIG_DIR"] = str(CACHE / "config")
    baseline = [sys.executable, "-c", "import click, sqlite3"]
    # a title with words in the index: the hint names the closest finished task
    add = [str(BIN / "calibrate"), "add", "Fix the login form timeout", "-e", "1h30m"]
    if args.instructions:
        timed(add, env)  # the first add after a copy: a new replica, and .pyc files written
        base_count, add_count = instructions(baseline, env), instructions(add, env)
        print(f"python -c 'import click, sqlite3'  {base_count / 1e6:7.1f} million instructions")
        print(f"calibrate add                      {add_count / 1e6:7.1f} million instructions")
        print(f"ratio {add_count / base_count:.3f} (the target, 1.3, is for times)")
        return
    for _ in range(3):  # warm the file cache
        timed(baseline, env)
        timed(add, env)
    base_times, add_times = [], []
    for _ in range(args.runs):
        base_times.append(timed(baseline, env))
        add_times.append(timed(add, env))
    conn = sqlite3.connect(work)
    count = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    conn.close()
    base, cmd = statistics.median(base_times), statistics.median(add_times)
    print(f"database: {count:,} tasks; {args.runs} alternating runs each")
    print(f"python -c 'import click, sqlite3'  median {base * 1000:6.1f} ms")
    print(f"calibrate add                      median {cmd * 1000:6.1f} ms")
    print(f"ratio {cmd / base:.2f} (target <= 1.30)")


if __name__ == "__main__":
    main()
