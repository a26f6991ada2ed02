"""Check the demo generator's figures against the real SiP data of METRICS.md.

Generates a demo history into a temporary database with ``calibrate.demo`` and
prints, beside SiP's figures, the headline point-estimate figures (median A/E,
P10, P90, within 25%, over/exact/under, MALR, pooled score), the same by
estimate size, the range hit rates and the promise outcomes. When
``../shared/data/sip`` is present SiP's figures are computed from it (read in
place, never copied); otherwise the figures quoted in METRICS.md are shown.

    .venv/bin/python scripts/fit_demo.py [--people 40] [--weeks 52] [--seed 0]

The generator's parameters (the constants of ``calibrate/demo/numbers.py``,
and the roles' traits and the others' catch-up in ``calibrate/demo/people.py``)
were tuned by hand with this script until the two columns agreed, for the
default cast of 12 (whose five roles weigh most) and for bigger ones.
"""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from calibrate import demo, store

REPO = Path(__file__).resolve().parents[1]
SIP = REPO.parent / "shared" / "data" / "sip" / "Sip-task-info.csv"
#: METRICS.md section 1, for machines without the data.
SIP_QUOTED = {
    "n": 10266,
    "median": 1.00,
    "p10": 0.36,
    "p90": 2.0,
    "within_25": 0.476,
    "over": 0.30,
    "exact": 0.34,
    "under": 0.36,
    "malr": 0.692,
    "score": 61.9,
}
SIZE_BUCKETS = (0, 1, 2, 4, 8, 16, np.inf)


def headline(estimate_h: np.ndarray, actual_h: np.ndarray) -> dict:
    """METRICS.md section 1's figures for these tasks."""
    ratio = actual_h / estimate_h
    log_ratio = np.log2(ratio)
    malr = float(np.mean(np.abs(np.clip(log_ratio, -3, 3))))
    return {
        "n": int(ratio.size),
        "median": float(np.median(ratio)),
        "p10": float(np.quantile(ratio, 0.1)),
        "p90": float(np.quantile(ratio, 0.9)),
        "within_25": float(np.mean((ratio >= 0.8 - 1e-9) & (ratio <= 1.25 + 1e-9))),
        "over": float(np.mean(log_ratio > 0.01)),
        "exact": float(np.mean(np.abs(log_ratio) <= 0.01)),
        "under": float(np.mean(log_ratio < -0.01)),
        "malr": malr,
        "score": 100 * 2**-malr,
    }


def by_size(estimate_h: np.ndarray, actual_h: np.ndarray) -> list[tuple[str, dict]]:
    out = []
    for low, high in itertools.pairwise(SIZE_BUCKETS):
        inside = (estimate_h > low) & (estimate_h <= high)
        if inside.any():
            out.append((f"{low:g}-{high:g}h", headline(estimate_h[inside], actual_h[inside])))
    return out


def size_columns(figures: dict) -> str:
    return (
        f"{figures['n']:>6}{figures['exact']:>6.2f}{figures['median']:>6.2f}{figures['malr']:>6.2f}"
    )


def sip_arrays() -> tuple[np.ndarray, np.ndarray] | None:
    if not SIP.exists():
        return None
    import pandas as pd

    rows = pd.read_csv(
        SIP, encoding="cp1252", usecols=["TaskNumber", "HoursEstimate", "HoursActual"]
    )
    tasks = rows.drop_duplicates("TaskNumber")
    tasks = tasks[(tasks.HoursEstimate > 0) & (tasks.HoursActual > 0)]
    return tasks.HoursEstimate.to_numpy(float), tasks.HoursActual.to_numpy(float)


def demo_history(conn: sqlite3.Connection) -> dict[str, np.ndarray]:
    columns = (
        "person",
        "estimate_h",
        "actual_h",
        "low_h",
        "high_h",
        "confidence",
        "promise_h",
        "due",
        "status",
        "done_at",
    )
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM tasks").fetchall()  # noqa: S608
    return {
        name: np.array([row[k] for row in rows], dtype=object) for k, name in enumerate(columns)
    }


def promise_outcomes(h: dict[str, np.ndarray], today: str) -> dict:
    """Kept / broken / exceeded over promises that are due (METRICS.md section 4,
    simplified: days in UTC, exceeded by effort margin or a day early)."""
    has = (h["promise_h"] != None) | (h["due"] != None)  # noqa: E711 (object arrays)
    status = h["status"]
    done_day = np.array([d[:10] if d else "" for d in h["done_at"]], dtype=object)
    due = h["due"]
    past_due = np.array([d is not None and d < today for d in due])
    is_due = has & ((status == "done") | (status == "dropped") | past_due)
    kept = np.zeros(status.size, bool)
    exceeded = np.zeros(status.size, bool)
    for i in np.flatnonzero(is_due & (status == "done")):
        on_time = due[i] is None or done_day[i] <= due[i]
        in_effort = h["promise_h"][i] is None or h["actual_h"][i] <= h["promise_h"][i]
        kept[i] = on_time and in_effort
        margin = h["promise_h"][i] is not None and h["actual_h"][i] <= 0.8 * h["promise_h"][i]
        early = due[i] is not None and done_day[i] < due[i]
        exceeded[i] = kept[i] and (margin or early)
    due_count = int(is_due.sum())
    people = np.unique(h["person"])
    per_person = []
    for person in people:
        mine = is_due & (h["person"] == person)
        if mine.sum():
            per_person.append(kept[mine].sum() / mine.sum())
    return {
        "promise_rate": float(has.mean()),
        "due": due_count,
        "keep_rate": float(kept.sum() / due_count),
        "exceed_rate": float(exceeded.sum() / due_count),
        "keep_rate_people": (
            float(np.min(per_person)),
            float(np.median(per_person)),
            float(np.max(per_person)),
        ),
    }


def range_hits(h: dict[str, np.ndarray]) -> dict:
    done = (h["status"] == "done") & (h["low_h"] != None)  # noqa: E711
    out = {}
    for level in (90.0, 80.0, 50.0):
        mine = done & (h["confidence"] == level)
        if mine.any():
            actual = h["actual_h"][mine].astype(float)
            hit = (h["low_h"][mine].astype(float) <= actual) & (
                actual <= h["high_h"][mine].astype(float)
            )
            out[f"{level:g}%"] = (int(mine.sum()), float(hit.mean()))
    out["share"] = float((h["low_h"] != None).mean())  # noqa: E711
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        conn = store.connect(Path(folder) / "demo.db")
        today = date(2026, 11, 30)
        demo.generate(conn, people=args.people, weeks=args.weeks, seed=args.seed, today=today)
        history = demo_history(conn)
        conn.close()
    done = history["status"] == "done"
    estimate_h = history["estimate_h"][done].astype(float)
    actual_h = history["actual_h"][done].astype(float)
    ours = headline(estimate_h, actual_h)
    real = sip_arrays()
    theirs = headline(*real) if real else SIP_QUOTED
    print(f"{'figure':<12}{'demo':>10}{'SiP':>10}")
    for key in ours:
        print(f"{key:<12}{ours[key]:>10.3f}{theirs[key]:>10.3f}")
    print("\nby size (demo | SiP): n, exact, median, MALR")
    real_sizes = dict(by_size(*real)) if real else {}
    for label, figures in by_size(estimate_h, actual_h):
        other = real_sizes.get(label)
        line = f"  {label:<8}{size_columns(figures)}"
        if other:
            line += f"  |{size_columns(other)}"
        print(line)
    people = np.unique(history["person"][done])
    malrs = []
    for person in people:
        mine = done & (history["person"] == person)
        if mine.sum() >= 30:
            ratio = history["actual_h"][mine].astype(float) / history["estimate_h"][mine].astype(
                float
            )
            malrs.append(100 * 2 ** -np.mean(np.abs(np.clip(np.log2(ratio), -3, 3))))
    print(
        f"\nper-person score (30+ tasks): n={len(malrs)} min {min(malrs):.1f} "
        f"median {np.median(malrs):.1f} max {max(malrs):.1f}  [SiP: 45-74]"
    )
    print("ranges (n, hit rate):", range_hits(history))
    print("promises:", promise_outcomes(history, today.isoformat()))
    print("statuses:", dict(zip(*np.unique(history["status"], return_counts=True), strict=True)))


if __name__ == "__main__":
    main()
