"""Rebuild the reference population shipped as ``calibrate/reference/reference.json``.

``calibrate rank`` and ``calibrate score`` place a person's raw score among the
per-developer scores of real developers (METRICS.md section 5). This script
computes those scores from the two public datasets beside the repository
(``../shared/data``, read in place, never copied) with the tool's own metrics
code, and writes a small table of figures: per dataset, the sorted raw scores
of the developers with 30 or more counted tasks, their counts and quantiles,
with attribution. No row of the raw data goes into the table.

    .venv/bin/python scripts/build_reference.py            # rewrite the table
    .venv/bin/python scripts/build_reference.py --check    # exit 1 if it differs

The quirks of the data (see ``../shared/data/README.md``):

- CESAW: one row per task, efforts in minutes, ``\\N`` for missing values; a plan
  of 0 means no estimate (the task does not count). A developer is a
  ``person_key``.
- SiP: cp1252 text; a task worked by several developers has one row per
  developer, with the task's estimate and total actual repeated. Each task
  counts once, for the developer who logged most of its hours
  (``DeveloperHoursActual``); on a tie, the first such row in the file.

The output is deterministic (fixed key order, scores rounded to 3 decimals),
so that a rebuild reproduces the shipped file byte for byte; a test checks it
where the data are present.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import lzma
import sys
from pathlib import Path

import numpy as np

from calibrate.rules import RANKED_N, SCORE_VERSION
from calibrate.stats import metrics

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUTPUT = REPO / "src" / "calibrate" / "reference" / "reference.json"
CESAW_FILE = Path("cesaw") / "CESAW_task_fact.csv.xz"
SIP_FILE = Path("sip") / "Sip-task-info.csv"
#: Figures are rounded so that a rebuild on any machine gives the same bytes.
DECIMALS = 3
QUANTILES = (5, 10, 25, 50, 75, 90, 95)
MISSING = {"", "\\N", "NA"}

DATASETS = {
    "CESAW": {
        "source": "Derek-Jones/Software-estimation-datasets @ e3fbd4faa2a5 (CESAW.tgz)",
        "paper": 'D. M. Jones, W. R. Nichols, "The CESAW dataset: a conversation", '
        "arXiv:2106.03679 (2021)",
        "description": "Team Software Process projects, 2010-2017: one row per task; "
        "a developer is a person_key",
    },
    "SiP": {
        "source": "Derek-Jones/SiP_dataset @ eb5fedc7d57b",
        "paper": 'D. M. Jones, S. Cullum, "A conversation around the analysis of the SiP '
        'effort estimation dataset", arXiv:1901.01621 (2019)',
        "description": "one commercial company, 2004-2014: each task counted once, for "
        "the developer who logged most of its hours (DeveloperHoursActual)",
    },
}
ATTRIBUTION = (
    "Per-developer scores computed by calibrate from public datasets collected by "
    "Derek M. Jones (CESAW with W. R. Nichols, SiP with S. Cullum). Only these derived "
    "figures are shipped; the raw data stay in their repositories."
)


def _number(text: str) -> float:
    return float("nan") if text.strip() in MISSING else float(text)


def read_cesaw(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person keys, estimates in hours, actuals in hours), one entry per row."""
    people, estimates, actuals = [], [], []
    with lzma.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            people.append(row["person_key"].strip())
            estimates.append(_number(row["task_plan_time_minutes"]) / 60)
            actuals.append(_number(row["task_actual_time_minutes"]) / 60)
    return np.array(people, dtype=object), np.array(estimates), np.array(actuals)


def read_sip(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(developer ids, estimates, actuals), one entry per task: the row of the
    developer who logged most of its hours, the first in the file on a tie."""
    chosen: dict[str, tuple[float, str, float, float]] = {}
    text = path.read_bytes().decode("cp1252")
    for row in csv.DictReader(io.StringIO(text, newline="")):
        task = row["TaskNumber"].strip()
        hours = _number(row["DeveloperHoursActual"])
        best = chosen.get(task)
        if best is None or hours > best[0]:
            chosen[task] = (
                hours,
                row["DeveloperID"].strip(),
                _number(row["HoursEstimate"]),
                _number(row["HoursActual"]),
            )
    rows = list(chosen.values())
    return (
        np.array([developer for _, developer, _, _ in rows], dtype=object),
        np.array([estimate for _, _, estimate, _ in rows]),
        np.array([actual for _, _, _, actual in rows]),
    )


def developer_scores(people, estimate_h, actual_h) -> tuple[np.ndarray, int]:
    """Raw scores (sorted) of the developers with 30+ counted tasks, and the
    number of counted tasks they hold, with ``metrics.point_stats_by``."""
    stats = metrics.point_stats_by(people, estimate_h, actual_h)
    ranked = stats[stats["n"] >= RANKED_N]
    return np.sort(ranked["score_raw"].to_numpy(dtype=float)), int(ranked["n"].sum())


def rounded(value: float) -> float:
    return round(float(value), DECIMALS)


def dataset_entry(name: str, scores: np.ndarray, tasks: int) -> dict:
    quantiles = np.percentile(scores, QUANTILES)
    return {
        "name": name,
        **DATASETS[name],
        "people": int(scores.size),
        "tasks": tasks,
        "quantiles": {str(q): rounded(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
        "best": rounded(scores.max()),
        "worst": rounded(scores.min()),
        "scores": [rounded(s) for s in scores],
    }


def build(data: Path) -> dict:
    """The reference table from the datasets in ``data``."""
    entries = []
    for name, reader, relative in (
        ("CESAW", read_cesaw, CESAW_FILE),
        ("SiP", read_sip, SIP_FILE),
    ):
        path = data / relative
        if not path.exists():
            raise SystemExit(f"missing {path}: the public datasets are needed to rebuild")
        scores, tasks = developer_scores(*reader(path))
        entries.append(dataset_entry(name, scores, tasks))
    return {
        "table": "calibrate reference population",
        "score_version": SCORE_VERSION,
        "score": "raw S = 100 * 2^-mean(|clip(log2(actual / estimate), -3, 3)|) per "
        "developer, over counted tasks (estimate > 0, actual > 0)",
        "min_tasks": RANKED_N,
        "built_by": "scripts/build_reference.py",
        "attribution": ATTRIBUTION,
        "people": sum(entry["people"] for entry in entries),
        "datasets": entries,
    }


def render(table: dict) -> str:
    """The table as text: keys in a fixed order, one score list per line."""
    lines = json.dumps(table, indent=2, ensure_ascii=False).splitlines()
    out: list[str] = []
    in_scores = False
    for line in lines:
        stripped = line.strip()
        if stripped == '"scores": [':
            in_scores, buffer = True, []
            head = line
            continue
        if in_scores:
            if stripped.startswith("]"):
                out.append(head + ", ".join(buffer) + stripped)
                in_scores = False
            else:
                buffer.append(stripped.rstrip(","))
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="compare with --output instead of writing it"
    )
    args = parser.parse_args(argv)
    text = render(build(args.data))
    if args.check:
        same = args.output.exists() and args.output.read_text(encoding="utf-8") == text
        print(f"{args.output}: {'up to date' if same else 'DIFFERS from a rebuild'}")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    table = json.loads(text)
    shown = ", ".join(f"{d['name']} {d['people']}" for d in table["datasets"])
    print(f"wrote {args.output}: {table['people']} developers ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
