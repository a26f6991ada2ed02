"""Speed and memory benchmark for `calibrate import` (import/export issue).

Generates (once, cached under benchmarks/.cache/) a 100,000-row CSV of tasks
with the columns a tracker export has (key, title, person, team, project,
estimate, actual, created, done, tags), then runs, alternately in the same
run, `calibrate import FILE` into a fresh database, the same import again into
that database (nothing changed: every row is compared with what the same
source gave last time, and nothing is written), and `sqlite-utils insert DB
tasks FILE --csv` into a fresh database, several times each. Prints each one's
median wall time, the first import's ratio to sqlite-utils (target: at most
1.5), the re-import's ratio to the first import (target: at most 1) and each
one's peak memory (max RSS of the process; target: under 300 MB).

With --big it also imports a 1,000,000-row file once and prints its peak
memory beside the 100,000-row one: the import streams, so the two should be
close (the target is memory that does not grow with the file).

    .venv/bin/python benchmarks/bench_import.py [--runs 5] [--rows 100000] [--big]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

from common import run_once

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BIN = Path(sys.executable).parent


def make_csv(path: Path, rows: int) -> Path:
    """A tracker-like CSV of `rows` tasks (cached: the same file every run)."""
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    rng = random.Random(42)
    partial = path.with_suffix(".part")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        handle.write("key,title,person,team,project,estimate,actual,created,done,tags\n")
        for n in range(rows):
            estimate = rng.choice([0.5, 1, 2, 3, 4, 6, 8, 16])
            actual = round(estimate * rng.lognormvariate(0, 0.7), 2)
            day = 1 + n % 28
            handle.write(
                f"T-{n},Task {n}: fix the thing in module {n % 97},person{n % 200},"
                f"team{n % 10},project{n % 40},{estimate},{actual},"
                f"2025-{1 + n % 12:02d}-{day:02d}T09:00:00Z,"
                f'2025-{1 + n % 12:02d}-{day:02d}T17:30:00Z,"bug,p{n % 3}"\n'
            )
    partial.rename(path)
    return path


def calibrate_import(csv_path: Path, folder: Path, n: int) -> tuple[float, float]:
    """`calibrate import` into the database of run ``n`` (fresh the first time)."""
    db = folder / f"calibrate-{n}.db"
    os.environ["CALIBRATE_DATA_DIR"] = str(folder / "data")  # the registry of replicas
    return run_once(
        [str(BIN / "calibrate"), "--db", str(db), "import", str(csv_path), "--person", "bench"]
    )


def sqlite_utils_insert(csv_path: Path, folder: Path, n: int) -> tuple[float, float]:
    db = folder / f"sqlite-utils-{n}.db"
    return run_once([str(BIN / "sqlite-utils"), "insert", str(db), "tasks", str(csv_path), "--csv"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", action="store_true", help="also import 1,000,000 rows once")
    args = parser.parse_args()

    csv_path = make_csv(CACHE / f"import-{args.rows}.csv", args.rows)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"{args.rows:,} rows, {size_mb:.1f} MB: {csv_path}")
    ours: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        for n in range(args.runs):
            ours.append(calibrate_import(csv_path, folder, n))
            again.append(calibrate_import(csv_path, folder, n))
            theirs.append(sqlite_utils_insert(csv_path, folder, n))
            print(
                f"  run {n + 1}: calibrate import {ours[-1][0]:.2f} s, "
                f"again {again[-1][0]:.2f} s, sqlite-utils insert {theirs[-1][0]:.2f} s"
            )
        ours_time = statistics.median(t for t, _ in ours)
        again_time = statistics.median(t for t, _ in again)
        theirs_time = statistics.median(t for t, _ in theirs)
        ours_rss = max(m for _, m in ours)
        again_rss = max(m for _, m in again)
        theirs_rss = max(m for _, m in theirs)
        ratio = ours_time / theirs_time
        print(f"calibrate import        median {ours_time:6.2f} s   peak RSS {ours_rss:6.0f} MB")
        print(f"  the same file again   median {again_time:6.2f} s   peak RSS {again_rss:6.0f} MB")
        print(
            f"sqlite-utils insert     median {theirs_time:6.2f} s   peak RSS {theirs_rss:6.0f} MB"
        )
        verdict = "ok" if ratio <= 1.5 and ours_rss < 300 else "OVER TARGET"
        print(
            f"ratio {ratio:.2f} (target <= 1.5), peak {ours_rss:.0f} MB (target < 300): {verdict}"
        )
        verdict = "ok" if again_time <= ours_time else "OVER TARGET"
        print(f"re-import / import {again_time / ours_time:.2f} (target <= 1): {verdict}")
        if args.big:
            big = make_csv(CACHE / "import-1000000.csv", 1_000_000)
            seconds, rss = calibrate_import(big, folder, 999)
            print(
                f"1,000,000 rows: calibrate import {seconds:.1f} s, peak RSS {rss:.0f} MB "
                f"({rss / ours_rss:.2f}x the {args.rows:,}-row import's)"
            )


if __name__ == "__main__":
    main()
