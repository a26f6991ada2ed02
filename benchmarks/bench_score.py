"""Speed benchmark for `calibrate score` (metrics issue).

Builds (once, cached under benchmarks/.cache/) a database of about 1,000,000
tasks from 1,000 people in 100 teams with the demo generator, then runs
`calibrate score --everyone`, `--team`, `--person` and `--everyone --since all`
as fresh processes, several times each, and prints the median wall time and
the peak memory (max RSS of that process) against the targets: everyone within
5 s and under 1 GB, one person within 2 s.

    .venv/bin/python benchmarks/bench_score.py [--runs 3] [--tasks 1000000] [--rebuild]

The cached database ends on the day it was built; --rebuild makes a fresh one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BIN = Path(sys.executable).parent

TARGETS = {"everyone": (5.0, 1024.0), "person": (2.0, 1024.0)}


def build_database(path: Path, tasks: int, people: int, teams: int, seed: int) -> None:
    """The synthetic team history of ``calibrate.demo``, written to a temporary
    file first so that an interrupted build leaves no half-filled cache."""
    from calibrate import demo, store

    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    conn = store.connect(partial)
    started = time.perf_counter()
    summary = demo.generate(conn, people=people, teams=teams, weeks=52, tasks=tasks, seed=seed)
    conn.close()
    os.replace(partial, path)
    print(f"built {path.name}: {summary['tasks']:,} tasks in {time.perf_counter() - started:.1f} s")


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss / 1024  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    CACHE.mkdir(exist_ok=True)
    db = CACHE / f"score-{args.tasks}-{args.people}p-{args.teams}t-s{args.seed}.db"
    if args.rebuild or not db.exists():
        build_database(db, args.tasks, args.people, args.teams, args.seed)

    import sqlite3

    conn = sqlite3.connect(db)
    total = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    person, team = conn.execute("SELECT person, team FROM tasks ORDER BY id LIMIT 1").fetchone()
    conn.close()
    calibrate = [str(BIN / "calibrate"), "--db", str(db), "score"]
    cases = [
        ("everyone", [*calibrate, "--everyone"]),
        ("team", [*calibrate, "--team", team]),
        ("person", [*calibrate, "--person", person]),
        ("everyone, all history", [*calibrate, "--everyone", "--since", "all"]),
    ]
    print(f"database: {db.name}, {total:,} tasks; {args.runs} runs each (median, max RSS)")
    failed = False
    for name, command in cases:
        runs = [run_once(command) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        verdict = ""
        if name in TARGETS:
            max_wall, max_mb = TARGETS[name]
            ok = wall <= max_wall and peak <= max_mb
            failed |= not ok
            verdict = f"  target {max_wall:g} s, {max_mb:g} MB: {'ok' if ok else 'MISSED'}"
        print(f"  score {name:<22} {wall:6.2f} s  {peak:7.1f} MB{verdict}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
