"""Rebuild the reference population shipped as ``calibrate/reference/reference.json``.

``calibrate rank`` and ``calibrate score`` place a person's score among real
developers (METRICS.md section 5). This script computes, from the two public
datasets beside the repository (``../shared/data``, read in place by
``scripts/datasets.py``, never copied), with the tool's own code
(:func:`calibrate.reference.developer_table`), a small table of figures: per
dataset and developer with 30 or more counted tasks, n and the sum and sum of
squares of |clip(r)|, overall and per size bucket (a bucket of fewer than 5
tasks is left out, so no single task's figure is shipped), with the dataset's
quantiles of raw scores, the reference developers' median early share (section
2's flag for someone alone in their team) and attribution. No row of the raw
data goes into the table.

    .venv/bin/python scripts/build_reference.py            # rewrite the table
    .venv/bin/python scripts/build_reference.py --check    # exit 1 if it differs

Every counted task of a developer counts (dated or not). The output is
deterministic (fixed key order, figures rounded to 6 decimals), so that a
rebuild reproduces the shipped file byte for byte; a test checks it where the
data are present.

``advice_spread`` is section 7's reference spread (advice from history): per
size bucket, 99 quantiles of r over every developer with 5+ tasks there, each
weighted equally (:func:`advice_spread`). A developer's held-back buckets total
0 or at least 5 tasks (:func:`calibrate.reference.held_back`), so that no
difference of shipped sums describes fewer than 5 tasks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from calibrate import reference, rules
from calibrate.rules import RANKED_N, SCORE_VERSION

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "src" / "calibrate" / "reference" / "reference.json"
#: Figures are rounded so that a rebuild on any machine gives the same bytes.
DECIMALS = 6
SCORE_DECIMALS = 3
QUANTILES = (5, 10, 25, 50, 75, 90, 95)
ATTRIBUTION = (
    "Per-developer figures computed by calibrate from public datasets collected by "
    "Derek M. Jones (CESAW with W. R. Nichols, SiP with S. Cullum). Only these derived "
    "figures are shipped; the raw data stay in their repositories."
)


def developers(tasks: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibrate.reference.developer_table` of one dataset's tasks (all
    counted ones, dated or not), sorted by raw score."""
    table = reference.developer_table(
        tasks["person"].to_numpy(dtype=object),
        tasks["estimate_h"].to_numpy(dtype=float),
        tasks["actual_h"].to_numpy(dtype=float),
        min_tasks=RANKED_N,
    )
    table["score"] = 100.0 * np.exp2(-table["sum_abs"] / table["n"])
    return table.sort_values(["score", "n"], kind="mergesort")


def rounded(value: float, decimals: int = DECIMALS) -> float:
    return round(float(value), decimals)


def developer_row(row: pd.Series) -> list:
    """[n, sum, sum of squares, [[n_b, sum_b, sq_b] or null for each bucket]]."""
    buckets = []
    for b in range(len(rules.SIZE_LABELS)):
        total = row[f"sum{b}"]
        if np.isfinite(total):
            buckets.append([int(row[f"n{b}"]), rounded(total), rounded(row[f"sq{b}"])])
        else:
            buckets.append(None)
    return [int(row["n"]), rounded(row["sum_abs"]), rounded(row["sum_sq"]), buckets]


def dataset_entry(name: str, table: pd.DataFrame) -> dict:
    scores = table["score"].to_numpy(dtype=float)
    quantiles = np.percentile(scores, QUANTILES)
    return {
        "name": name,
        **datasets.SOURCES[name],
        "people": len(table),
        "tasks": int(table["n"].sum()),
        "quantiles": {
            str(q): rounded(v, SCORE_DECIMALS) for q, v in zip(QUANTILES, quantiles, strict=True)
        },
        "best": rounded(scores.max(), SCORE_DECIMALS),
        "worst": rounded(scores.min(), SCORE_DECIMALS),
        "developers": [developer_row(row) for _, row in table.iterrows()],
    }


def advice_spread(tasks: dict[str, pd.DataFrame]) -> dict:
    """Section 7's reference spread (:func:`calibrate.reference.advice_spread`):
    per size bucket, the quantiles of r over every counted task of the
    developers with 5+ tasks there (not only those with 30+), each developer
    weighted equally, the datasets pooled (developer ids prefixed by dataset)."""
    frames = [datasets.counted(frame) for frame in tasks.values()]
    people = np.concatenate(
        [
            np.array([f"{name}:{who}" for who in frame["person"]], dtype=object)
            for name, frame in zip(tasks, frames, strict=True)
        ]
    )
    estimate = np.concatenate([frame["estimate_h"].to_numpy(dtype=float) for frame in frames])
    actual = np.concatenate([frame["actual_h"].to_numpy(dtype=float) for frame in frames])
    return {
        "rule": "per size bucket, the quantiles of log2(actual / estimate) at p = 0.01, 0.02, "
        "..., 0.99 over the counted tasks of every developer with at least 5 there, each "
        "developer weighing 1 (1/n a task); the quantile at p is the smallest value whose "
        "cumulative weight reaches p",
        "datasets": list(tasks),
        "buckets": reference.advice_spread(people, estimate, actual),
    }


def build(data: Path) -> dict:
    """The reference table from the datasets in ``data``."""
    if not datasets.present(data):
        raise SystemExit(f"missing datasets in {data}: the public datasets are needed to rebuild")
    raw = datasets.read_all(data)
    tables = {name: developers(tasks) for name, tasks in raw.items()}
    early = np.concatenate([table["early"].to_numpy(dtype=float) for table in tables.values()])
    return {
        "table": "calibrate reference population",
        "score_version": SCORE_VERSION,
        "score": "per developer over counted tasks (estimate > 0, actual > 0): n, and the sum "
        "and sum of squares of |clip(log2(actual / estimate), -3, 3)|, overall and per size "
        "bucket (<=1h, 1-2h, 2-4h, 4-8h, 8-16h, >16h by estimate; null: held back, a bucket "
        "of fewer than 5 tasks, and the smallest others until the held-back tasks number 0 "
        "or at least 5)",
        "min_tasks": RANKED_N,
        "bucket_min": rules.REFERENCE_BUCKET_MIN,
        "built_by": "scripts/build_reference.py",
        "attribution": ATTRIBUTION,
        "people": sum(len(table) for table in tables.values()),
        "early_median": rounded(float(np.median(early)), SCORE_DECIMALS),
        "advice_spread": advice_spread(raw),
        "datasets": [dataset_entry(name, table) for name, table in tables.items()],
    }


def render(table: dict) -> str:
    """The table as text: keys in a fixed order, one developer per line."""
    head = {key: value for key, value in table.items() if key != "datasets"}
    text = json.dumps(head, indent=2, ensure_ascii=False)
    # lists of numbers (the spread's quantiles) on one line each
    text = re.sub(
        r"\[\s*(-?[0-9][-0-9.e,\s]*?)\s*\]",
        lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
        text,
    )
    lines = text.splitlines()[:-1]
    lines[-1] += ","
    lines.append('  "datasets": [')
    for i, dataset in enumerate(table["datasets"]):
        meta = {key: value for key, value in dataset.items() if key != "developers"}
        block = json.dumps(meta, indent=2, ensure_ascii=False).splitlines()[:-1]
        lines.extend("    " + line for line in block)
        lines[-1] += ","
        lines.append('      "developers": [')
        rows = [json.dumps(row, separators=(", ", ": ")) for row in dataset["developers"]]
        lines.extend(f"        {row}," for row in rows[:-1])
        lines.append(f"        {rows[-1]}")
        lines.append("      ]")
        lines.append("    }" + ("," if i < len(table["datasets"]) - 1 else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=datasets.DATA, help="the shared data folder")
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
