"""The backtest of METRICS.md section 7: how far to trust a forecast.

History is replayed by the protocol of section 7: for each block of 10
consecutive counted tasks from task 100 on, each method predicts knowing only
the tasks before the block, and the observed coverage of the nominal 50% and
80% intervals of the block's total, and ``keep_90`` (single tasks at or under
their P90), are reported per method (``own``: FogBugz-style resampling of the
person's last 200 tasks; ``team``: the pool alone; ``mixture``: the tool's),
so that every forecast can say how far to trust it.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from calibrate import rules
from calibrate.stats.draws import column_quantiles, draw_log_ratios
from calibrate.stats.forecast import tau2_from_sums
from calibrate.stats.pools import Components, Past, Pools

#: Runs per block in the backtest (its quantiles need fewer than a forecast).
BACKTEST_RUNS = 1_000
#: The backtest's blocks: 10 consecutive tasks, the first starting at task 100.
BLOCK = 10
BACKTEST_START = 100
#: Nominal intervals checked by the backtest, as (low, high) quantiles.
INTERVAL_50 = (0.25, 0.75)
INTERVAL_80 = (0.10, 0.90)
METHODS = ("own", "team", "mixture")


class MethodFigures(TypedDict):
    """A method's observed coverage over the blocks (``None`` without a block)."""

    coverage_50: float | None
    coverage_80: float | None
    keep_90: float | None
    blocks: int


class Backtest(TypedDict):
    """What :func:`backtest` returns: each method's figures, the blocks and tasks."""

    methods: dict[str, MethodFigures]
    blocks: int
    tasks: int
    first_task: int | None
    runs: int


def block_starts(scope_size: int, max_blocks: int | None = None) -> np.ndarray:
    """Scope indices where blocks start: 100, 110, ... (whole blocks only);
    with ``max_blocks``, the most recent ones."""
    starts = np.arange(BACKTEST_START, scope_size - BLOCK + 1, BLOCK, dtype=np.int64)
    if max_blocks is not None and starts.size > max_blocks:
        starts = starts[-max_blocks:]
    return starts


def _block_tau2(past: Past, scope: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """tau^2 known at each block start, from the scope's tasks before it."""
    weeks = past.week[scope]
    r = past.log_ratio[scope]
    codes, inverse = np.unique(weeks, return_inverse=True)
    known = weeks >= 0
    counts = np.zeros(codes.size)
    sums = np.zeros(codes.size)
    squares = np.zeros(codes.size)
    out = np.zeros(starts.size)
    done = 0
    for b, s in enumerate(starts):
        new = slice(done, int(s))
        mask = known[new]
        idx = inverse[new][mask]
        np.add.at(counts, idx, 1)
        np.add.at(sums, idx, r[new][mask])
        np.add.at(squares, idx, r[new][mask] ** 2)
        done = int(s)
        out[b] = tau2_from_sums(counts, sums, squares)
    return out


def backtest(
    past: Past,
    scope: np.ndarray | None = None,
    *,
    methods=METHODS,
    runs: int = BACKTEST_RUNS,
    seed: int = 0,
    max_blocks: int | None = None,
    shift_methods=("team", "mixture"),
    progress=None,
    pools: Pools | None = None,
) -> Backtest:
    """Replay history by METRICS.md section 7's protocol.

    ``scope`` holds the positions in the past of the scope's counted tasks
    (all of them when ``None``), in done order. For each block of 10 consecutive
    scope tasks from task 100 on, each method predicts knowing only the
    history before the block's first task. Returns ``{"methods": {name:
    {"coverage_50", "coverage_80", "keep_90", "blocks"}}}`` (fractions; ``None``
    without a block). ``own`` is FogBugz-style own-history resampling; the
    shared shift is applied to the methods in ``shift_methods``. ``progress``,
    if given, is called with (blocks done, blocks to do) over all methods;
    ``pools`` may pass :class:`Pools` of this past already built.
    """
    n = len(past)
    scope = np.arange(n, dtype=np.int64) if scope is None else np.asarray(scope, dtype=np.int64)
    starts = block_starts(scope.size, max_blocks)
    out: Backtest = {
        "methods": {},
        "blocks": int(starts.size),
        "tasks": int(scope.size),
        "first_task": int(starts[0]) if starts.size else None,
        "runs": runs,
    }
    if starts.size == 0:
        for method in methods:
            out["methods"][method] = {
                "coverage_50": None,
                "coverage_80": None,
                "keep_90": None,
                "blocks": 0,
            }
        return out
    tau = np.sqrt(_block_tau2(past, scope, starts))
    members = scope[starts[:, None] + np.arange(BLOCK)[None, :]]  # (blocks, 10)
    cuts = np.repeat(scope[starts], BLOCK)
    flat = members.reshape(-1)
    pools = pools if pools is not None else Pools(past)
    estimate = past.estimate_h[flat]
    actual = past.actual_h[flat]
    actual_totals = actual.reshape(-1, BLOCK).sum(axis=1)
    chunk_blocks = max(1, 4_000_000 // (runs * BLOCK))
    for m_index, method in enumerate(methods):
        rng = np.random.default_rng([seed, m_index])
        components = pools.components(
            past.person[flat], past.team[flat], past.bucket[flat], cuts, method=method
        )
        inside_50 = inside_80 = kept = 0
        for first in range(0, starts.size, chunk_blocks):
            last = min(starts.size, first + chunk_blocks)
            tasks = slice(first * BLOCK, last * BLOCK)
            part = Components(
                components.start[tasks],
                components.length[tasks],
                components.prob[tasks],
                components.own_n[tasks],
                components.pool_n[tasks],
                components.pool_kind[tasks],
            )
            r = draw_log_ratios(pools, part, runs, rng)  # (runs, tasks), float32
            p90 = estimate[tasks] * np.exp2(column_quantiles(r, [rules.PROMISE_QUANTILE])[0])
            kept += int((actual[tasks] <= p90 * (1 + 1e-5)).sum())  # float32 rounding
            r = r.reshape(runs, last - first, BLOCK)
            if method in shift_methods:
                noise = rng.standard_normal((runs, last - first, 1), dtype=np.float32)
                r += noise * tau[first:last, None].astype(np.float32)
            np.exp2(r, out=r)
            r *= estimate[tasks].reshape(1, -1, BLOCK).astype(np.float32)
            totals = r.sum(axis=2, dtype=np.float64)
            q = column_quantiles(totals, [*INTERVAL_50, *INTERVAL_80])
            truth = actual_totals[first:last]
            inside_50 += int(((truth >= q[0]) & (truth <= q[1])).sum())
            inside_80 += int(((truth >= q[2]) & (truth <= q[3])).sum())
            if progress is not None:
                progress(m_index * starts.size + last, len(methods) * starts.size)
        out["methods"][method] = {
            "coverage_50": inside_50 / starts.size,
            "coverage_80": inside_80 / starts.size,
            "keep_90": kept / (starts.size * BLOCK),
            "blocks": int(starts.size),
        }
    return out
