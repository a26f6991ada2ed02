"""The benchmark harness (`make bench`): how calibrate's cost grows with history.

Builds synthetic databases with the demo generator at 10,000, 100,000 and
1,000,000 tasks (cached under benchmarks/.cache/, rebuilt when older than a
week so that the default 26-week window keeps covering them), then measures
fresh processes and prints ONE table: command, tasks, median wall time over
--runs runs, peak memory (max RSS of the process), output size, and the ratio
to the row's baseline, measured alternately with it in the same run:

- ``add`` against ``python -c "import click, sqlite3"`` (target: at most 1.3);
- ``import`` of 100,000 CSV rows against ``sqlite-utils insert --csv`` (at most 1.5);
- ``score``, ``rank``, ``report`` and ``forecast`` over everyone's whole history at
  each size, against ``calibrate --help`` (start-up); on the 1,000,000 row, the
  growth factor from 100,000 to 1,000,000 of the time beyond start-up (wall minus
  the ``--help`` median; target at most 12: no worse than linear);
- ``report`` against the notebook a user would write (pandas reads every row,
  plotly express draws every task, ``write_html``; :func:`notebook_report`): at
  100,000 tasks and beyond the report must be both faster and smaller.

    .venv/bin/python benchmarks/bench.py [--runs 5] [--sizes 10000,100000,1000000]
        [--only add,import,score,rank,report,forecast] [--rebuild] [--markdown FILE]

A command that is not in this version of calibrate yet is skipped with a note.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
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
CALIBRATE = str(BIN / "calibrate")
SIZES = (10_000, 100_000, 1_000_000)
IMPORT_ROWS = 100_000
STALE_DAYS = 7
ADD_TARGET, IMPORT_TARGET, GROWTH_TARGET = 1.3, 1.5, 12.0
REPORT_VERSUS_NOTEBOOK_FROM = 100_000
#: The analysis commands, each over everyone's whole history.
ANALYSES = {
    "score": ["score", "--everyone", "--since", "all"],
    "rank": ["rank", "--everyone", "--since", "all"],
    "report": ["report", "--everyone", "--since", "all"],
    "forecast": ["forecast", "--everyone"],
}


@dataclasses.dataclass
class Run:
    wall: float  # seconds
    peak_mb: float  # max RSS of the process
    output: int  # bytes written (stdout, or the report file)


@dataclasses.dataclass
class Row:
    command: str
    tasks: str
    wall: float | None = None
    peak_mb: float | None = None
    output: int | None = None
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


# --- the databases -----------------------------------------------------------------


def people_for(tasks: int) -> tuple[int, int]:
    """About 1,000 tasks a person over the year and ten people a team."""
    people = max(10, tasks // 1000)
    return people, max(1, people // 10)


def database(tasks: int, rebuild: bool) -> Path:
    """The cached demo database of about ``tasks`` tasks, built when missing or stale.

    Building and migrating run in child processes: the harness stays small,
    because a child's peak memory as the kernel reports it starts from the
    size of the process that forked it."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"bench-{tasks}.db"
    stale = path.exists() and time.time() - path.stat().st_mtime > STALE_DAYS * 86400
    if rebuild or stale or not path.exists():
        partial = path.with_name(path.name + ".partial")
        remove_database(partial)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--build", str(tasks), str(partial)],
            check=True,
            env=environment(),
        )
        remove_database(path)
        os.replace(partial, path)
        people, teams = people_for(tasks)
        note(
            f"built {path.name}: {people} people in {teams} teams, "
            f"in {time.perf_counter() - started:.0f} s"
        )
    migrate = "import sys; from calibrate import store; store.connect(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", migrate, str(path)], check=True, env=environment())
    return path


def build(tasks: int, path: Path) -> None:
    """(In a child process.) The synthetic history of ``calibrate.demo``."""
    from calibrate import demo, store

    people, teams = people_for(tasks)
    conn = store.connect(path)
    demo.generate(conn, people=people, teams=teams, weeks=52, tasks=tasks, seed=1)
    conn.close()


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def task_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        conn.close()


# --- measuring -----------------------------------------------------------------------


def environment(db: Path | None = None) -> dict:
    """The user's environment, without the test variables; ``db`` as CALIBRATE_DB."""
    drop = ("CALIBRATE_PERSON", "CALIBRATE_DB", "CALIBRATE_TEAM", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if db is not None:
        env["CALIBRATE_DB"] = str(db)
    return env


def measure(command: list[str], env: dict, output_file: Path | None = None) -> Run:
    """One fresh process: wall time, peak RSS, and the size of what it wrote."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed: {stderr.read().decode()[-2000:]}")
        written = output_file.stat().st_size if output_file else stdout.tell()
    return Run(wall, usage.ru_maxrss / 1024, written)  # ru_maxrss is in KB on Linux


def alternate(
    commands: dict[str, tuple[list[str], dict, Path | None]], runs: int, warm: int = 1
) -> dict[str, list[Run]]:
    """Run each command ``runs`` times, interleaved, after ``warm`` untimed rounds."""
    for _ in range(warm):
        for command, env, output in commands.values():
            measure(command, env, output)
    results: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, env, output) in commands.items():
            results[name].append(measure(command, env, output))
    return results


def median_wall(runs: list[Run]) -> float:
    return statistics.median(r.wall for r in runs)


def summary_row(command: str, tasks: str, runs: list[Run]) -> Row:
    return Row(
        command,
        tasks,
        median_wall(runs),
        max(r.peak_mb for r in runs),
        statistics.median(r.output for r in runs),
    )


def available(command: str) -> bool:
    """Whether this version of calibrate has ``command``."""
    result = subprocess.run([CALIBRATE, command, "--help"], capture_output=True, env=environment())
    return result.returncode == 0


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the notebook baseline ---------------------------------------------------------------


def notebook_report(db: Path, out: Path) -> None:
    """What a user would write in a notebook: read every task with pandas, draw
    every finished one with plotly express (estimate against actual, coloured by
    team, the title on hover), and ``write_html`` (plotly.js inline, offline like
    the report)."""
    import pandas as pd
    import plotly.express as px

    conn = sqlite3.connect(db)
    tasks = pd.read_sql_query("SELECT * FROM tasks", conn)
    conn.close()
    done = tasks[tasks["actual_h"].notna()]
    figure = px.scatter(
        done,
        x="estimate_h",
        y="actual_h",
        color="team",
        hover_name="title",
        log_x=True,
        log_y=True,
        title="Estimate against actual",
    )
    figure.write_html(out)


# --- the rows of the table ------------------------------------------------------------


def bench_add(db: Path, tasks: int, runs: int) -> Row:
    """``add`` on a copy of the database, alternating with the bare interpreter."""
    with tempfile.TemporaryDirectory(prefix="bench-add-", dir=CACHE) as folder:
        work = Path(folder) / "add.db"
        shutil.copy(db, work)
        env = environment(work)
        commands = {
            "baseline": ([sys.executable, "-c", "import click, sqlite3"], env, None),
            "add": ([CALIBRATE, "add", "Benchmark task", "-e", "1h30m"], env, None),
        }
        # Start-up times are milliseconds: four times the runs for a stable median.
        results = alternate(commands, runs * 4, warm=3)
    row = summary_row("add", f"{tasks:,}", results["add"])
    ratio = row.wall / median_wall(results["baseline"])
    row.baseline = f"import click, sqlite3 {median_wall(results['baseline']) * 1000:.0f} ms"
    row.ratio, row.target = f"{ratio:.2f}", f"<= {ADD_TARGET}"
    row.verdict = "ok" if ratio <= ADD_TARGET else "MISSED"
    return row


def bench_import(runs: int) -> Row:
    """``import`` of a 100,000-row CSV into a fresh database, alternating with
    ``sqlite-utils insert --csv`` of the same file."""
    sys.path.insert(0, str(HERE))
    from bench_import import make_csv  # the same tracker-like file as bench_import.py

    csv_path = make_csv(CACHE / f"import-{IMPORT_ROWS}.csv", IMPORT_ROWS)
    env = environment()
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=CACHE) as folder:
        ours, theirs = [], []
        for n in range(runs + 1):
            ours_db, theirs_db = Path(folder) / f"c{n}.db", Path(folder) / f"s{n}.db"
            run_ours = measure(
                [CALIBRATE, "--db", str(ours_db), "import", str(csv_path), "--person", "bench"], env
            )
            run_theirs = measure(
                [
                    str(BIN / "sqlite-utils"),
                    "insert",
                    str(theirs_db),
                    "tasks",
                    str(csv_path),
                    "--csv",
                ],
                env,
            )
            if n:  # the first round warms the file cache
                ours.append(run_ours)
                theirs.append(run_theirs)
            remove_database(ours_db)
            remove_database(theirs_db)
    row = summary_row("import (CSV)", f"{IMPORT_ROWS:,} rows", ours)
    ratio = row.wall / median_wall(theirs)
    row.baseline = f"sqlite-utils insert --csv {median_wall(theirs):.2f} s"
    row.ratio, row.target = f"{ratio:.2f}", f"<= {IMPORT_TARGET}"
    row.verdict = "ok" if ratio <= IMPORT_TARGET else "MISSED"
    return row


def bench_analyses(dbs: dict[int, Path], names: list[str], runs: int) -> list[Row]:
    """score, rank, report and forecast at each size, each alternating with
    ``calibrate --help``; the report also with the notebook baseline."""
    rows: list[Row] = []
    beyond: dict[tuple[str, int], float] = {}
    for tasks, db in dbs.items():
        env = environment(db)
        with tempfile.TemporaryDirectory(prefix="bench-out-", dir=CACHE) as folder:
            report_out = Path(folder) / "report.html"
            notebook_out = Path(folder) / "notebook.html"
            commands: dict[str, tuple[list[str], dict, Path | None]] = {
                "--help": ([CALIBRATE, "--help"], env, None)
            }
            for name in names:
                args = [CALIBRATE, *ANALYSES[name]]
                output = None
                if name == "report":
                    args += ["-o", str(report_out)]
                    output = report_out
                commands[name] = (args, env, output)
            if "report" in names:
                commands["notebook"] = (
                    [sys.executable, __file__, "--notebook", str(db), str(notebook_out)],
                    env,
                    notebook_out,
                )
            note(f"measuring {', '.join(commands)} at {tasks:,} tasks ({runs} runs)")
            results = alternate(commands, runs)
        start_up = median_wall(results["--help"])
        for name in names:
            row = summary_row(name, f"{tasks:,}", results[name])
            beyond[name, tasks] = row.wall - start_up
            row.baseline = f"--help {start_up * 1000:.0f} ms"
            row.ratio = f"{row.wall / start_up:.1f}"
            if name == "report":
                notebook = results["notebook"]
                faster = row.wall / median_wall(notebook)
                smaller = row.output / statistics.median(r.output for r in notebook)
                row.baseline = f"notebook {median_wall(notebook):.1f} s"
                row.ratio = f"{faster:.2f} time, {smaller:.2f} size"
                if tasks >= REPORT_VERSUS_NOTEBOOK_FROM:
                    row.target = "< 1 both"
                    row.verdict = "ok" if faster < 1 and smaller < 1 else "MISSED"
            if tasks == 1_000_000 and (name, 100_000) in beyond:
                growth = beyond[name, tasks] / beyond[name, 100_000]
                row.ratio += f"; growth {growth:.1f}"
                row.target = (
                    row.target + ", " if row.target else ""
                ) + f"growth <= {GROWTH_TARGET:g}"
                ok = growth <= GROWTH_TARGET and row.verdict != "MISSED"
                row.verdict = "ok" if ok else "MISSED"
            rows.append(row)
        if "report" in names:
            notebook_row = summary_row("notebook (baseline)", f"{tasks:,}", results["notebook"])
            notebook_row.baseline = "pandas + plotly express"
            rows.append(notebook_row)
    return rows


# --- the table ------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GB RAM"
    except (ValueError, OSError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


HEADERS = ("command", "tasks", "median", "peak MB", "output", "baseline", "ratio", "target", "")


def cells(row: Row) -> list[str]:
    wall = (
        ""
        if row.wall is None
        else (f"{row.wall * 1000:.0f} ms" if row.wall < 1 else f"{row.wall:.2f} s")
    )
    peak = "" if row.peak_mb is None else f"{row.peak_mb:.0f}"
    return [
        row.command,
        row.tasks,
        wall,
        peak,
        human_bytes(row.output),
        row.baseline,
        row.ratio,
        row.target,
        row.verdict,
    ]


def human_bytes(size: int | float | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def text_table(rows: list[Row]) -> str:
    table = [list(HEADERS), *(cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    right = {2, 3, 4}
    lines = []
    for line in table:
        lines.append(
            "  ".join(
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join((*HEADERS[:-1], "verdict")) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--only", default="add,import,score,rank,report,forecast")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--notebook", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--build", nargs=2, metavar=("TASKS", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(int(args.build[0]), Path(args.build[1]))
        return
    if args.notebook:
        notebook_report(Path(args.notebook[0]), Path(args.notebook[1]))
        return

    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: list[Row] = []
    skipped: list[str] = []
    present = []
    for name in wanted:
        command = "import" if name == "import" else name
        if available(command):
            present.append(name)
        else:
            skipped.append(f"{name}: not in this version of calibrate yet")
    dbs = {size: database(size, args.rebuild) for size in sizes}
    counts = {size: task_count(db) for size, db in dbs.items()}
    note("databases: " + ", ".join(f"{counts[s]:,} tasks" for s in sizes))
    if "add" in present:
        for size, db in dbs.items():
            note(f"measuring add at {size:,} tasks")
            rows.append(bench_add(db, counts[size], args.runs))
    if "import" in present:
        note(f"measuring import of {IMPORT_ROWS:,} rows")
        rows.append(bench_import(args.runs))
    analyses = [name for name in ANALYSES if name in present]
    if analyses:
        rows += bench_analyses(dbs, analyses, args.runs)
    for row in rows:  # the demo rounds the task count: show the real one
        for size in sizes:
            if row.tasks == f"{size:,}":
                row.tasks = f"{counts[size]:,}"

    header = f"calibrate benchmarks, {args.runs} runs each (median), on {machine()}"
    print(header)
    print(text_table(rows))
    for line in skipped:
        print(f"skipped {line}")
    if args.markdown:
        text = f"{header}\n\n{markdown_table(rows)}\n"
        text += "".join(f"\nSkipped {line}." for line in skipped)
        args.markdown.write_text(text + "\n", encoding="utf-8")
    sys.exit(1 if any(row.verdict == "MISSED" for row in rows) else 0)


if __name__ == "__main__":
    main()
