"""Speed benchmark for `calibrate merge` (lossless exchange issue).

Builds (once, cached under benchmarks/.cache/) two demo databases of about
200,000 tasks each (different seeds, so their uids differ), with each version
of the code measured: this worktree's and a baseline source tree (``--baseline
PATH``: a checkout of main before the issue, e.g. made with ``git archive``).
Then, alternately in the same run, each version merges its second database
into a fresh copy of its first (``disjoint``: every task is added), and a copy
of its first database into a fresh copy of itself (``same``: every task is
already there, nothing changes). Prints each one's median wall time and the
ratios (target: at most 2).

Copies are opened once before they are timed, so that a copy's new identity
(or the baseline's lack of one) is not part of the merge.

    .venv/bin/python benchmarks/bench_merge.py --baseline /tmp/main-src [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
OURS = HERE.parent / "src"

BUILD = """
import sys, os
sys.path.insert(0, sys.argv[1])
from calibrate import store, demo
partial = sys.argv[2] + ".partial"
conn = store.connect(partial)
demo.generate(conn, people=int(sys.argv[4]), weeks=52, tasks=int(sys.argv[3]),
              seed=int(sys.argv[5]))
conn.close()
os.replace(partial, sys.argv[2])
"""

OPEN = """
import sys
sys.path.insert(0, sys.argv[1])
from calibrate import store
store.connect(sys.argv[2]).close()
"""


def environment(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CALIBRATE_DATA_DIR"] = str(data)  # the replica registry (ignored by the baseline)
    env["CALIBRATE_PERSON"] = "bench"
    return env


def build(src: Path, label: str, seed: int, tasks: int, env: dict) -> Path:
    path = CACHE / f"merge-{label}-{tasks}-{seed}.db"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", BUILD, str(src), str(path), str(tasks), "100", str(seed)],
            check=True,
            env=env,
        )
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def fresh_copy(src: Path, path: Path, folder: Path, name: str, env: dict) -> Path:
    target = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, target)
    subprocess.run([sys.executable, "-c", OPEN, str(src), str(target)], check=True, env=env)
    return target


def timed_merge(src: Path, into: Path, other: Path, env: dict) -> float:
    command = [sys.executable, "-m", "calibrate", "--db", str(into), "merge", str(other)]
    started = time.perf_counter()
    done = subprocess.run(
        command, env={**env, "PYTHONPATH": str(src)}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="src/ of the baseline")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200_000)
    args = parser.parse_args()
    versions = {"baseline": args.baseline.resolve(), "ours": OURS}
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp:
        folder = Path(tmp)
        env = environment(folder / "data")
        built = {
            label: (build(src, label, 1, args.tasks, env), build(src, label, 2, args.tasks, env))
            for label, src in versions.items()
        }
        for run in range(args.runs):
            for label, src in versions.items():
                first, second = built[label]
                for scenario in ("disjoint", "same"):
                    into = fresh_copy(src, first, folder, f"{label}-into.db", env)
                    other = (
                        second
                        if scenario == "disjoint"
                        else fresh_copy(src, first, folder, f"{label}-same.db", env)
                    )
                    seconds = timed_merge(src, into, other, env)
                    times.setdefault((label, scenario), []).append(seconds)
                    print(f"  run {run + 1}: {label:8} {scenario:8} {seconds:6.2f} s")
    for scenario in ("disjoint", "same"):
        base = statistics.median(times[("baseline", scenario)])
        ours = statistics.median(times[("ours", scenario)])
        verdict = "ok" if ours <= 2 * base else "OVER TARGET"
        print(
            f"{scenario:8}: baseline median {base:6.2f} s, ours {ours:6.2f} s, "
            f"ratio {ours / base:.2f} (target <= 2): {verdict}"
        )


if __name__ == "__main__":
    main()
