"""What the benchmark scripts share: building a cached demo database and
timing one fresh process. Imported by ``bench_score.py``, ``bench_rank.py``
and ``bench_report.py`` (run as scripts, so this folder is on the path)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


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
