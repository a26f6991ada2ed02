"""Speed benchmark for `calibrate rank` (teams and percentile ranks issue).

Builds (once, cached under benchmarks/.cache/) a database of about 1,000,000
tasks from 1,000 people in 100 teams with the demo generator, then runs
`calibrate rank --everyone` (the target: within 5 s), `rank --teams` and
`rank --team T` as fresh processes, several times each, and prints the median
wall time and the peak memory (max RSS) of each.

    .venv/bin/python benchmarks/bench_rank.py [--runs 3] [--tasks 1000000] [--rebuild]

The cached database ends on the day it was built; --rebuild makes a fresh one.
The first run after a schema change also migrates it (not timed).
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

TARGETS = {"everyone": 5.0}


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
    db = CACHE / f"rank-{args.tasks}-{args.people}p-{args.teams}t-s{args.seed}.db"
    if args.rebuild or not db.exists():
        build_database(db, args.tasks, args.people, args.teams, args.seed)

    from calibrate import store

    conn = store.connect(db)  # migrates once, outside the timings
    total = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    team = conn.execute("SELECT team FROM tasks ORDER BY id LIMIT 1").fetchone()[0]
    conn.close()
    calibrate = [str(BIN / "calibrate"), "--db", str(db), "rank"]
    cases = [
        ("everyone", [*calibrate, "--everyone"]),
        ("teams", [*calibrate, "--teams"]),
        ("one team", [*calibrate, "--team", team]),
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
            ok = wall <= TARGETS[name]
            failed |= not ok
            verdict = f"  target {TARGETS[name]:g} s: {'ok' if ok else 'MISSED'}"
        print(f"  rank {name:<22} {wall:6.2f} s  {peak:7.1f} MB{verdict}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
