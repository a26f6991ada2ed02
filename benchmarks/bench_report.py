"""Speed and size benchmark for `calibrate report` (report issue).

Builds (once, cached under benchmarks/.cache/) demo databases of about 10,000
tasks (10 people in 1 team) and 1,000,000 tasks (1,000 people in 100 teams;
the same file bench_score.py uses), then writes the report for everyone, one
team and one person as fresh processes, several times each, and prints the
median wall time, the peak memory (max RSS of that process) and the file size.

Targets: 1,000,000 tasks within 20 s and 1.5 GB, under 10 MB of HTML; the time
should grow no faster than the number of tasks (the line "growth" compares the
everyone reports of both sizes, start-up included).

    .venv/bin/python benchmarks/bench_report.py [--runs 3] [--sizes 10000 1000000] [--rebuild]

The cached databases end on the day they were built; --rebuild makes fresh ones.
Last, the everyone report of the largest size is built once in this process and
timed step by step (loading, each section, rendering), to show where time goes.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import build_database, run_once

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BIN = Path(sys.executable).parent

MAX_SECONDS, MAX_MB, MAX_HTML_MB = 20.0, 1536.0, 10.0


def database_for(tasks: int, seed: int, rebuild: bool) -> Path:
    people = max(tasks // 1000, 2)
    teams = max(people // 10, 1)
    path = CACHE / f"score-{tasks}-{people}p-{teams}t-s{seed}.db"  # shared with bench_score
    if rebuild or not path.exists():
        build_database(path, tasks, people, teams, seed)
    from calibrate import store

    store.connect(path).close()  # migrate a cache of an older schema before timing
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    CACHE.mkdir(exist_ok=True)
    import sqlite3

    failed = False
    everyone_wall: dict[int, float] = {}
    out_dir = Path(tempfile.mkdtemp(prefix="bench-report-"))
    for size in args.sizes:
        db = database_for(size, args.seed, args.rebuild)
        conn = sqlite3.connect(db)
        total = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
        person, team = conn.execute("SELECT person, team FROM tasks ORDER BY id LIMIT 1").fetchone()
        conn.close()
        calibrate = [str(BIN / "calibrate"), "--db", str(db), "report"]
        cases = [
            ("everyone", ["--everyone"]),
            ("everyone, all history", ["--everyone", "--since", "all"]),
            ("team", ["--team", team]),
            ("person", ["--person", person]),
        ]
        print(f"database: {db.name}, {total:,} tasks; {args.runs} runs each (median, max RSS)")
        for name, scope in cases:
            out = out_dir / f"{size}-{name.replace(' ', '').replace(',', '-')}.html"
            runs = [run_once([*calibrate, *scope, "-o", str(out)]) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            html_mb = out.stat().st_size / 1e6
            verdict = ""
            if size >= 1_000_000:
                ok = wall <= MAX_SECONDS and peak <= MAX_MB and html_mb <= MAX_HTML_MB
                failed |= not ok
                verdict = (
                    f"  target {MAX_SECONDS:g} s, {MAX_MB:g} MB, {MAX_HTML_MB:g} MB of HTML: "
                    f"{'ok' if ok else 'MISSED'}"
                )
            if name == "everyone":
                everyone_wall[total] = wall
            print(
                f"  report {name:<22} {wall:6.2f} s  {peak:7.1f} MB  {html_mb:5.2f} MB html"
                f"{verdict}"
            )
    if len(everyone_wall) >= 2:
        (small, small_wall), (large, large_wall) = sorted(everyone_wall.items())[
            :: len(everyone_wall) - 1
        ]
        print(
            f"growth: {large / small:,.0f}x the tasks took {large_wall / small_wall:.1f}x the time "
            f"({'sub-linear: ok' if large_wall / small_wall <= large / small else 'SUPER-LINEAR'})"
        )
    for leftover in out_dir.iterdir():
        leftover.unlink()
    out_dir.rmdir()
    print_breakdown(database_for(max(args.sizes), args.seed, rebuild=False))
    sys.exit(1 if failed else 0)


def print_breakdown(db: Path) -> None:
    """Seconds per step of one everyone report, built in this process."""
    from calibrate import report, store
    from calibrate.durations import parse_since
    from calibrate.selection import Selection

    steps: list[tuple[str, float]] = []

    def step(label: str) -> None:
        now = time.perf_counter()
        steps.append((label, now))

    conn = store.connect(db)
    report.build_report(conn, Selection(everyone=True, since=parse_since("26w")), progress=step)
    conn.close()
    steps.append(("end", time.perf_counter()))
    parts = [f"{label} {later - now:.2f}" for (label, now), (_, later) in itertools.pairwise(steps)]
    print(f"breakdown, everyone, {db.name} (s): " + ", ".join(parts))


if __name__ == "__main__":
    main()
