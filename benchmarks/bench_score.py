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
import statistics
import sys
from pathlib import Path

from common import build_database, run_once

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BIN = Path(sys.executable).parent

TARGETS = {"everyone": (5.0, 1024.0), "person": (2.0, 1024.0)}


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
