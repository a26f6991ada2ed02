"""Issue 16, part 1: does the reference-class blend beat the size-bucket mixture?

Replays SiP and CESAW in done order with the product's own code, past data
only, and prints the table of issue 16's rule: the mean pinball loss on log2
ratios over the nine quantiles P10, P20, ..., P90, and the P90 keep rate, of
METRICS.md section 7's size-bucket mixture against the reference-class blend
(:data:`calibrate.rules.SIMILAR_K` most similar finished tasks, the person's
own first, weight S / (S + :data:`calibrate.rules.SIMILAR_PRIOR`)), on each
dataset's held-out second half. The blend is the default only if it lowers
the loss by at least 2% on both datasets and keeps P90 keep within
0.86-0.95 (it does: the product blends it in).

    .venv/bin/python scripts/replay_similar.py            # both datasets
    .venv/bin/python scripts/replay_similar.py --dataset SiP --json out.json
    .venv/bin/python scripts/replay_similar.py --backtest   # block coverage, with and without

The protocol (as the research replay of issue 16):

- tasks: each dataset's counted tasks with a done date, in done order, ties
  in file order (``scripts/datasets.py``); their words as the README's import
  commands give them (SiP: Summary as the title, Category and SubCategory as
  tags, ProjectCode as the project; CESAW: phase_short_name as the title,
  project_key as the project); SiP has no teams (everyone's but the person's);
- the past of task i is the tasks done strictly before it (a tie never sees
  its twin): the mixture from :class:`calibrate.stats.pools.Pools` cut there,
  with the reference spread refitted without the tested dataset (as the
  coverage suite does); the neighbours from the product's index
  (:mod:`calibrate.store.similar`), kept by its own :func:`changed` as tasks
  finish (so its stop list is refreshed as the product refreshes it), and
  asked by its own :func:`neighbours`; the blend by
  :func:`calibrate.stats.similar.with_neighbours`;
- quantiles: two ways. "no shift" is the weighted mixture's own quantile
  (the research's protocol); "shift" is the product's one predictive
  distribution (:func:`calibrate.stats.draws.predictive_quantiles`: the
  contraction and the person's shift variance from their tasks before;
  with ``--shift`` only: it takes far longer);
- held out: from the first task whose done time equals that of task n // 2;
  the 90% interval of the change is a cluster bootstrap over people (2,000
  resamples, seed 0).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "src"))

import datasets  # noqa: E402

from calibrate import durations, reference, rules  # noqa: E402
from calibrate.stats import backtest, draws  # noqa: E402
from calibrate.stats.pools import Past, Pools  # noqa: E402
from calibrate.stats.similar import with_neighbours  # noqa: E402
from calibrate.store import similar  # noqa: E402

TAUS = tuple(k / 10 for k in range(1, 10))
#: The research's protocol (the mixture's own quantile), and with ``--shift``
#: the product's one predictive distribution too.
MODES = ("no shift", "shift")
RULE_CHANGE = -0.02
#: The coverage suite's seed (tests/validation/rows_advice.py), for the backtest.
BACKTEST_SEED = 20_261_307
BOOTSTRAP = 2_000
CHUNK = 256
TASKS_SQL = (
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, tags TEXT, project TEXT, "
    "person TEXT, team TEXT, estimate_h REAL, actual_h REAL, status TEXT)"
)


def load(name: str) -> dict:
    """One dataset's counted tasks in done order, as arrays."""
    readers = {"SiP": datasets.read_sip, "CESAW": datasets.read_cesaw}
    tasks = datasets.in_done_order(readers[name]())
    done = tasks["done"].to_numpy().astype("datetime64[s]").astype(np.int64)
    return {
        "name": name,
        "person": tasks["person"].to_numpy(dtype=object),
        "team": tasks["team"].to_numpy(dtype=object),
        "estimate_h": tasks["estimate_h"].to_numpy(dtype=float),
        "actual_h": tasks["actual_h"].to_numpy(dtype=float),
        "done": done,
        "week": durations.week_index(tasks["done"].to_numpy().astype("datetime64[D]")),
        "title": tasks["title"].to_numpy(dtype=object),
        "tags": list(tasks["tags"]),
        "project": tasks["project"].to_numpy(dtype=object),
    }


def spread_without(name: str) -> np.ndarray:
    """The reference spread refitted from the other dataset alone."""
    readers = {"SiP": datasets.read_sip, "CESAW": datasets.read_cesaw}
    (other,) = [o for o in readers if o != name]
    tasks = datasets.counted(readers[other]())
    buckets = reference.advice_spread(
        (other + ":" + tasks["person"].astype(str)).to_numpy(dtype=object),
        tasks["estimate_h"].to_numpy(dtype=float),
        tasks["actual_h"].to_numpy(dtype=float),
    )
    return np.array([buckets[label]["quantiles"] for label in rules.SIZE_LABELS])


def retrieve(
    d: dict, log=sys.stderr, cut: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each task's neighbours among the tasks done strictly before it (or
    among the first ``cut[i]`` tasks: never decreasing), from the product's
    index kept as the product keeps it. Returns (positions (n, K), tokens
    found (n, K), the query's token count (n,), the cut (n,))."""
    n = d["done"].size
    if cut is None:
        cut = np.searchsorted(d["done"], d["done"], side="left")
    k = rules.SIMILAR_K
    positions = np.full((n, k), -1, dtype=np.int64)
    found = np.zeros((n, k), dtype=np.int64)
    query_n = np.zeros(n, dtype=np.int64)
    conn = sqlite3.connect(":memory:")
    conn.execute(TASKS_SQL)
    conn.execute(similar.STATE_TABLE)
    similar.rebuild(conn)  # empty, current
    indexed = 0
    started = time.time()
    for i in range(n):
        if cut[i] > indexed:
            rows = [
                (
                    j + 1,
                    d["title"][j],
                    json.dumps(list(d["tags"][j])),
                    d["project"][j],
                    d["person"][j],
                    d["team"][j],
                    d["estimate_h"][j],
                    d["actual_h"][j],
                    "done",
                )
                for j in range(indexed, int(cut[i]))
            ]
            conn.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            similar.changed(conn, [row[0] for row in rows])
            indexed = int(cut[i])
        text = similar.task_text(d["title"][i], d["tags"][i], d["project"][i])
        query_n[i] = len(similar.tokens(text)[: rules.SIMILAR_MAX_TOKENS])
        if indexed == 0:
            continue
        stop = similar.ready(conn)
        team = d["team"][i] if d["team"][i] else None
        found_here = similar.neighbours(conn, text, [d["person"][i]], team, k, stop=stop)
        for slot, neighbour in enumerate(found_here):
            positions[i, slot] = neighbour.task_id - 1
            found[i, slot] = neighbour.found
        if i % 10_000 == 0:
            print(f"  {d['name']}: {i:,}/{n:,} tasks, {time.time() - started:.0f}s", file=log)
    assert ((positions < 0) | (positions < cut[:, None])).all()
    return positions, found, query_n, cut


def person_tau2_before(past: Past, cut: np.ndarray) -> np.ndarray:
    """Each task's person's shift variance from their tasks done before it."""
    out = np.zeros(len(past))
    for code in np.unique(past.person).tolist():
        mine = np.flatnonzero(past.person == code)
        starts = np.searchsorted(mine, cut[mine], side="left")
        out[mine] = backtest.block_tau2(past, mine, starts)
    return out


def pinball(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Mean over the levels of (tau - 1[y < q]) (y - q); q is (levels, tasks)."""
    taus = np.asarray(TAUS)[:, None]
    return ((taus - (y[None, :] < q)) * (y[None, :] - q)).mean(axis=0)


def score(d: dict, spread: np.ndarray, modes=("no shift",), log=sys.stderr) -> dict:
    past = Past.from_arrays(d["estimate_h"], d["actual_h"], d["person"], d["team"], week=d["week"])
    pools = Pools(past, spread)
    started = time.time()
    positions, found, query_n, cut = retrieve(d, log)
    seconds_retrieve = time.time() - started
    tau2 = person_tau2_before(past, cut)
    n = len(past)
    r = past.log_ratio
    results = {}
    for shift in modes:
        loss = np.zeros((2, n))
        keep = np.zeros((2, n), dtype=bool)
        weight = np.zeros(n)
        for first in range(0, n, CHUNK):
            rows = np.arange(first, min(n, first + CHUNK))
            mixture = pools.components(
                past.person[rows], past.team[rows], past.bucket[rows], cut[rows]
            )
            picked = [positions[i][positions[i] >= 0] for i in rows]
            blended = with_neighbours(
                mixture,
                [r[p] for p in picked],
                [found[i][: p.size] for i, p in zip(rows, picked, strict=True)],
                query_n[rows],
            )
            if blended.prob.shape[1] > 4:
                weight[rows] = blended.prob[:, 4]
            t2 = tau2[rows] if shift == "shift" else 0.0
            for m, components in enumerate((mixture, blended)):
                q = draws.predictive_quantiles(components, t2, TAUS)
                loss[m, rows] = pinball(r[rows], q)
                keep[m, rows] = r[rows] <= q[8] + 1e-12
        results[shift] = {"loss": loss, "keep": keep, "weight": weight}
        print(f"  {d['name']} {shift}: scored in {time.time() - started:.0f}s", file=log)
    half = int(np.searchsorted(d["done"], d["done"][n // 2], side="left"))
    return {
        "results": results,
        "half": half,
        "n": n,
        "person": past.person,
        "seconds_retrieve": seconds_retrieve,
        "seconds": time.time() - started,
    }


def summarise(name: str, scored: dict) -> dict:
    half, n = scored["half"], scored["n"]
    held = slice(half, n)
    people = scored["person"][held]
    codes, inverse = np.unique(people, return_inverse=True)
    rng = np.random.default_rng(0)
    out = {"dataset": name, "tasks": n, "held_out": n - half, "people": int(codes.size)}
    for shift, res in scored["results"].items():
        loss, keep = res["loss"][:, held], res["keep"][:, held]
        mixture, blend = loss.mean(axis=1)
        # cluster bootstrap over people: resample people, sum their tasks' losses
        sums = np.array(
            [np.bincount(inverse, weights=loss[m], minlength=codes.size) for m in (0, 1)]
        )
        draws_ = rng.integers(0, codes.size, (BOOTSTRAP, codes.size))
        counts = np.apply_along_axis(np.bincount, 1, draws_, minlength=codes.size)
        changes = (counts @ sums[1]) / (counts @ sums[0]) - 1
        low, high = np.quantile(changes, [0.05, 0.95])
        tuning = slice(0, half)
        t_mix, t_blend = res["loss"][:, tuning].mean(axis=1)
        out[shift] = {
            "mixture_pinball": float(mixture),
            "blend_pinball": float(blend),
            "change": float(blend / mixture - 1),
            "change_low": float(low),
            "change_high": float(high),
            "mixture_keep_90": float(keep[0].mean()),
            "blend_keep_90": float(keep[1].mean()),
            "mean_weight": float(res["weight"][held].mean()),
            "tuning_change": float(t_blend / t_mix - 1),
            "tuning_blend_keep_90": float(res["keep"][1, tuning].mean()),
            "passes": bool(
                blend / mixture - 1 <= RULE_CHANGE
                and rules.BACKTEST_AIM_KEEP_90[0] <= keep[1].mean() <= rules.BACKTEST_AIM_KEEP_90[1]
            ),
        }
    out["seconds_retrieve"] = round(scored["seconds_retrieve"], 1)
    out["seconds"] = round(scored["seconds"], 1)
    return out


def backtest_blend(d: dict, spread: np.ndarray, log=sys.stderr) -> dict:
    """``forecast --backtest --everyone --blocks all``'s mixture (the coverage
    suite's rows, its seed) with and without the blend: each block's tasks
    with their similar tasks among the tasks before the block only (the
    index holds the first s tasks for the block starting at s)."""
    past = Past.from_arrays(d["estimate_h"], d["actual_h"], d["person"], d["team"], week=d["week"])
    pools = Pools(past, spread)
    cut = np.searchsorted(d["done"], d["done"], side="left")
    for start in backtest.block_starts(len(past)).tolist():
        cut[start : start + backtest.BLOCK] = start
    started = time.time()
    positions, found, query_n, _ = retrieve(d, log, cut)
    out: dict = {"dataset": d["name"], "seconds_retrieve": round(time.time() - started, 1)}
    for label, similar_tasks in (("mixture", None), ("blend", (positions, found, query_n))):
        result = backtest.backtest(
            past, methods=("mixture",), pools=pools, seed=BACKTEST_SEED, similar=similar_tasks
        )
        out[label] = result["methods"]["mixture"]
    return out


def backtest_table(results: list[dict]) -> str:
    lines = [
        "The backtest (blocks of 10 from task 100, everyone's scope, past data only): the",
        "size-bucket mixture against the mixture with the similar tasks blended in",
        "",
        f"{'dataset':<8}{'method':<9}{'blocks':>7}{'coverage_80':>12}  {'[90% interval]':<16}"
        f"{'width_80':>9}{'coverage_50':>12}{'keep_90':>8}",
    ]
    for result in results:
        for label in ("mixture", "blend"):
            f = result[label]
            lines.append(
                f"{result['dataset']:<8}{label:<9}{f['blocks']:>7,}{f['coverage_80']:>12.3f}  "
                f"[{f['coverage_80_low']:.3f}, {f['coverage_80_high']:.3f}]  "
                f"{f['width_80']:>9.2f}{f['coverage_50']:>12.3f}{f['keep_90']:>8.3f}"
            )
    return "\n".join(lines)


def table(summaries: list[dict]) -> str:
    lines = [
        "Issue 16: the reference-class blend against the size-bucket mixture (held-out halves)",
        f"k = {rules.SIMILAR_K}, own first, w = S / (S + {rules.SIMILAR_PRIOR:g}), "
        f"stop list at {rules.SIMILAR_STOP_SHARE:.0%}",
        "",
        f"{'dataset':<8}{'quantiles':<10}{'tasks':>7}{'mixture':>9}{'keep':>7}{'blend':>8}"
        f"{'keep':>7}{'change':>9}  {'90% (people)':<18}{'w':>5}",
    ]
    for s in summaries:
        for shift in MODES:
            if shift not in s:
                continue
            f = s[shift]
            lines.append(
                f"{s['dataset']:<8}{shift:<10}{s['held_out']:>7,}{f['mixture_pinball']:>9.4f}"
                f"{f['mixture_keep_90']:>7.3f}{f['blend_pinball']:>8.4f}{f['blend_keep_90']:>7.3f}"
                f"{f['change']:>+9.2%}  [{f['change_low']:+.1%}, {f['change_high']:+.1%}]"
                f"{'':<3}{f['mean_weight']:>5.2f}"
            )
    verdicts = []
    for shift in MODES:
        if not all(shift in s for s in summaries):
            continue
        passes = all(s[shift]["passes"] for s in summaries)
        verdicts.append(f"{shift}: {'passes' if passes else 'fails'}")
    lines += [
        "",
        "The rule (pinball at least 2% lower on both, blend P90 keep within 0.86-0.95): "
        + "; ".join(verdicts)
        + ".",
        "Shipped: the blend is in suggest, add's hint and forecast.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=("SiP", "CESAW"), action="append")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--shift",
        action="store_true",
        help="also score the product's predictive quantiles (with the shift: slow)",
    )
    parser.add_argument(
        "--backtest",
        action="store_true",
        help="instead: the backtest's mixture with and without the blend (block coverage)",
    )
    args = parser.parse_args(argv)
    if not datasets.present():
        print(f"the datasets are not in {datasets.DATA}", file=sys.stderr)
        return 1
    if not similar.available():
        print("this sqlite3 has no FTS5: nothing to replay", file=sys.stderr)
        return 1
    if args.backtest:
        results = [
            backtest_blend(load(name), spread_without(name))
            for name in args.dataset or ("SiP", "CESAW")
        ]
        print(backtest_table(results))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
        return 0
    summaries = []
    for name in args.dataset or ("SiP", "CESAW"):
        modes = MODES if args.shift else MODES[:1]
        scored = score(load(name), spread_without(name), modes)
        summaries.append(summarise(name, scored))
    print(table(summaries))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
