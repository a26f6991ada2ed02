"""Speed benchmark for `calibrate forecast` and `calibrate suggest` (advice issue).

Builds (once, cached under benchmarks/.cache/) a database of about 100,000
finished tasks from 100 people in 10 teams with the demo generator, plus 500
open tasks (five a person), then times as fresh processes:

- `calibrate forecast --everyone` over the 500 open tasks, 10,000 runs: cold
  (the quoted backtest recomputed: history changed) and warm (the cached one);
  target: within 2 s;
- `calibrate suggest 3h --person P` against `calibrate --help`, alternating the
  two, with the hint stored (the same precomputed summary as `add`'s hint);
  target: a ratio of at most 1.5; and once with a stale hint, recomputed;
- with ``--large``, the big case of METRICS.md section 7 (issue 13): a demo of
  5,000 people in 50 teams with about 200,000 finished tasks and 15,000 open
  ones (three a person, the first started), `calibrate forecast --everyone`,
  10,000 runs, cold and warm, each in a process of its own with its peak
  memory (RSS) and CPU time; target: under 1 GB and under 10 s.

    .venv/bin/python benchmarks/bench_forecast.py [--runs 5] [--tasks 100000] [--rebuild]
    .venv/bin/python benchmarks/bench_forecast.py --large [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BIN = Path(sys.executable).parent
PEOPLE, TEAMS, OPEN_EACH = 100, 10, 5
FORECAST_TARGET_S = 2.0
SUGGEST_TARGET_RATIO = 1.5
#: The large case: 5,000 people in 50 teams, 200,000 finished tasks, 3 open each.
LARGE_PEOPLE, LARGE_TEAMS, LARGE_TASKS, LARGE_OPEN = 5_000, 50, 200_000, 3
LARGE_TARGET_S, LARGE_TARGET_MB = 10.0, 1024
#: Runs a command and reports its wall time, CPU time and peak RSS (as JSON).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - started
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": used.ru_utime + used.ru_stime, "mb": used.ru_maxrss / 1024}))
"""


def build_database(
    path: Path,
    tasks: int,
    people: int = PEOPLE,
    teams: int = TEAMS,
    open_each: int = OPEN_EACH,
) -> None:
    from calibrate import demo, store

    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    conn = store.connect(partial)
    started = time.perf_counter()
    summary = demo.generate(
        conn,
        people=people,
        teams=teams,
        weeks=52,
        tasks=tasks,
        seed=0,
        open_tasks_per_person=open_each,
    )
    conn.close()
    os.replace(partial, path)
    print(f"built {path.name}: {summary['tasks']:,} tasks in {time.perf_counter() - started:.1f} s")


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def touch_history(db: Path) -> None:
    """Change the history stamp (as a finished task would) without changing the data."""
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE history_state SET version = version + 1 WHERE id = 1")
    conn.close()


def measured(command: list[str], env: dict) -> dict:
    """Wall time, CPU time and peak RSS of one run of ``command``, in a process of its own."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def large(args) -> None:
    """The 5,000-person case: forecast --everyone over 15,000 open tasks."""
    CACHE.mkdir(exist_ok=True)
    cached = CACHE / f"forecast-large-{LARGE_TASKS}.db"
    if args.rebuild or not cached.exists():
        build_database(cached, LARGE_TASKS, LARGE_PEOPLE, LARGE_TEAMS, LARGE_OPEN)
    work = CACHE / "forecast-large-work.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(cached, work)
    conn = sqlite3.connect(work)
    finished, still_open = conn.execute(
        "SELECT count(actual_h), sum(status IN ('open', 'started')) FROM tasks"
    ).fetchone()
    conn.close()
    drop = ("CALIBRATE_PERSON", "CALIBRATE_DB", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["CALIBRATE_DB"] = str(work)
    command = [str(BIN / "calibrate"), "forecast", "--everyone"]
    print(
        f"database: {finished:,} finished tasks, {still_open:,} open, "
        f"{LARGE_PEOPLE:,} people in {LARGE_TEAMS} teams"
    )
    timed(command, env)  # migrates the copy once and warms the file cache
    rows = {"cold": [], "warm": []}
    for _ in range(args.runs):
        touch_history(work)  # cold: the history and the quoted backtest recomputed
        rows["cold"].append(measured(command, env))
        rows["warm"].append(measured(command, env))
    for name, runs in rows.items():
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        mb = max(r["mb"] for r in runs)
        print(
            f"forecast --everyone, {name:<5}  median {wall:5.1f} s wall, {cpu:5.1f} s CPU; "
            f"peak {mb:,.0f} MB (targets: < {LARGE_TARGET_S:g} s, < {LARGE_TARGET_MB:,} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--large", action="store_true", help="the 5,000-person case (15,000 open tasks) only"
    )
    args = parser.parse_args()
    if args.large:
        large(args)
        return

    CACHE.mkdir(exist_ok=True)
    cached = CACHE / f"forecast-{args.tasks}.db"
    if args.rebuild or not cached.exists():
        build_database(cached, args.tasks)
    work = CACHE / "forecast-work.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(cached, work)

    conn = sqlite3.connect(work)
    finished, still_open = conn.execute(
        "SELECT count(actual_h), sum(status IN ('open', 'started')) FROM tasks"
    ).fetchone()
    person = conn.execute("SELECT person FROM tasks ORDER BY id LIMIT 1").fetchone()[0]
    conn.close()
    drop = ("CALIBRATE_PERSON", "CALIBRATE_DB", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["CALIBRATE_DB"] = str(work)
    calibrate = str(BIN / "calibrate")
    print(f"database: {finished:,} finished tasks, {still_open:,} open, {PEOPLE} people")

    forecast = [calibrate, "forecast", "--everyone"]
    timed(forecast, env)  # migrates the copy once and warms the file cache
    cold, warm = [], []
    for _ in range(args.runs):
        touch_history(work)
        cold.append(timed(forecast, env))
        warm.append(timed(forecast, env))
    print(f"forecast --everyone, cold backtest  median {statistics.median(cold):6.2f} s")
    print(
        f"forecast --everyone, cached         median {statistics.median(warm):6.2f} s "
        f"(target <= {FORECAST_TARGET_S:g} s)"
    )

    suggest = [calibrate, "suggest", "3h", "--person", person]
    helping = [calibrate, "--help"]
    for _ in range(3):
        timed(helping, env)
        timed(suggest, env)
    help_times, suggest_times = [], []
    for _ in range(max(20, 4 * args.runs)):
        help_times.append(timed(helping, env))
        suggest_times.append(timed(suggest, env))
    stale = []
    for _ in range(args.runs):
        touch_history(work)
        stale.append(timed(suggest, env))
    base, fresh = statistics.median(help_times), statistics.median(suggest_times)
    print(f"calibrate --help                    median {base * 1000:6.1f} ms")
    print(f"calibrate suggest 3h (stored hint)  median {fresh * 1000:6.1f} ms")
    print(f"calibrate suggest 3h (stale hint)   median {statistics.median(stale) * 1000:6.1f} ms")
    print(f"suggest / --help ratio {fresh / base:.2f} (target <= {SUGGEST_TARGET_RATIO:g})")


if __name__ == "__main__":
    main()
