"""The backtest of METRICS.md section 7: how far to trust a forecast.

History is replayed by the protocol of section 7: for each block of 10
consecutive counted tasks from task 100 on, each method predicts knowing only
the tasks before the block (its pools, and the shared shift's tau^2 from the
scope's non-exact tasks before it), and the observed coverage of the nominal
50% and 80% intervals of the block's total (with the 80% one's Wilson 90%
interval over the blocks, and ``width_80``, the median width of the 80%
interval over the block's actual total), and ``keep_90`` (single tasks at or
under the P90 of their own draws, shift included: the one predictive
distribution), are reported per method (``own``: FogBugz-style resampling of
the person's last 200 tasks; ``team``: the pool used alone; ``mixture``: the
tool's; ``no_estimates``: each task's effort drawn from the scope's last 200
actuals, its estimate ignored, so that the tool can say whether estimates are
worth making at all: :func:`estimates_worth`), so that every forecast can say
how far to trust it.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import numpy as np

from calibrate import rules
from calibrate.stats.binomial import wilson
from calibrate.stats.draws import column_quantiles, draw_log_ratios
from calibrate.stats.forecast import tau2_from_sums
from calibrate.stats.pools import EXACT, Components, Past, Pools
from calibrate.stats.similar import with_neighbours

#: Runs per block in the backtest (its quantiles need fewer than a forecast).
BACKTEST_RUNS = 1_000
#: The backtest's blocks: 10 consecutive tasks, the first starting at task 100.
BLOCK = 10
BACKTEST_START = 100
#: Nominal intervals checked by the backtest, as (low, high) quantiles.
INTERVAL_50 = (0.25, 0.75)
INTERVAL_80 = (0.10, 0.90)
METHODS = ("own", "team", "mixture", "no_estimates")
#: The method that ignores estimates (counting tasks), and the one it is weighed against.
COUNTING = "no_estimates"
ESTIMATING = "mixture"
#: (runs x tasks) draws held at once.
CHUNK_DRAWS = 2_000_000


class MethodFigures(TypedDict):
    """A method's observed coverage over the blocks (``None`` without a block):
    the 80% interval's with its Wilson 90% interval, and its median width as
    a share of the block's actual total."""

    coverage_50: float | None
    coverage_80: float | None
    coverage_80_low: float | None
    coverage_80_high: float | None
    width_80: float | None
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


def block_tau2(past: Past, scope: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """tau^2 known at each block start, from the scope's non-exact tasks before it."""
    weeks = past.week[scope]
    r = past.log_ratio[scope]
    codes, inverse = np.unique(weeks, return_inverse=True)
    inverse = inverse.reshape(-1)
    known = (weeks >= 0) & (np.abs(r) > EXACT)
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


def empty_figures() -> MethodFigures:
    return {
        "coverage_50": None,
        "coverage_80": None,
        "coverage_80_low": None,
        "coverage_80_high": None,
        "width_80": None,
        "keep_90": None,
        "blocks": 0,
    }


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
    detail: dict | None = None,
    similar: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Backtest:
    """Replay history by METRICS.md section 7's protocol.

    ``scope`` holds the positions in the past of the scope's counted tasks
    (all of them when ``None``), in done order. For each block of 10
    consecutive scope tasks from task 100 on, each method predicts knowing
    only the history before the block's first task. Returns ``{"methods":
    {name: MethodFigures}}`` (fractions; ``None`` without a block). ``own`` is
    FogBugz-style own-history resampling; the methods in ``shift_methods`` are
    contracted and shifted (tau^2 from the scope's tasks before each block).
    ``progress``, if given, is called with (blocks done, blocks to do) over
    all methods; ``pools`` may pass :class:`Pools` of this past already built;
    ``detail``, a dict, receives per method the blocks' inside-80% flags.
    ``similar``: each past task's similar tasks among those before its block
    (positions in the past, -1 for none, (n, k); the query tokens each holds
    (n, k); the query's token count (n,)), blended into the ``mixture``
    (issue 16, :func:`calibrate.stats.similar.with_neighbours`): what
    ``scripts/replay_similar.py --backtest`` grades; ``forecast --backtest``
    does not pass it (the backtest grades the size-bucket mixture).
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
            out["methods"][method] = empty_figures()
        return out
    tau2 = block_tau2(past, scope, starts)
    tau32 = np.sqrt(tau2).astype(np.float32)
    members = scope[starts[:, None] + np.arange(BLOCK)[None, :]]  # (blocks, 10)
    cuts = np.repeat(scope[starts], BLOCK)
    flat = members.reshape(-1)
    pools = pools if pools is not None else Pools(past)
    estimate = past.estimate_h[flat]
    actual = past.actual_h[flat]
    actual_totals = actual.reshape(-1, BLOCK).sum(axis=1)
    chunk_blocks = max(1, CHUNK_DRAWS // (runs * BLOCK))
    for m_index, method in enumerate(methods):
        rng = np.random.default_rng([seed, m_index])
        shifted = method in shift_methods
        inside_50 = np.zeros(starts.size, dtype=bool)
        inside_80 = np.zeros(starts.size, dtype=bool)
        widths = np.empty(starts.size)
        kept = 0
        for first in range(0, starts.size, chunk_blocks):
            last = min(starts.size, first + chunk_blocks)
            blocks = last - first
            tasks = slice(first * BLOCK, last * BLOCK)
            if method == COUNTING:
                drawn = counted_draws(past, scope, starts[first:last], runs, rng)
                p90 = column_quantiles(drawn, [rules.PROMISE_QUANTILE])[0]
                kept += int((actual[tasks] <= p90 * (1 + 1e-5)).sum())
                totals = drawn.reshape(runs, blocks, BLOCK).sum(axis=2, dtype=np.float64)
                del drawn
                q = column_quantiles(totals, [*INTERVAL_50, *INTERVAL_80])
                truth = actual_totals[first:last]
                inside_50[first:last] = (truth >= q[0]) & (truth <= q[1])
                inside_80[first:last] = (truth >= q[2]) & (truth <= q[3])
                widths[first:last] = (q[3] - q[2]) / truth
                if progress is not None:
                    progress(m_index * starts.size + last, len(methods) * starts.size)
                continue
            components = pools.components(
                past.person[flat[tasks]],
                past.team[flat[tasks]],
                past.bucket[flat[tasks]],
                cuts[tasks],
                method=method,
            )
            if similar is not None and method == "mixture":
                components = _with_similar(past, components, flat[tasks], similar)
            lam = shift = None
            if shifted:
                lam = components.contraction(np.repeat(tau2[first:last], BLOCK))
                noise = rng.standard_normal((runs, blocks), dtype=np.float32) * tau32[first:last]
                shift = np.repeat(noise, BLOCK, axis=1)
            r = draw_log_ratios(components, runs, rng, lam=lam, shift=shift)  # (runs, tasks)
            del shift
            p90 = estimate[tasks] * np.exp2(column_quantiles(r, [rules.PROMISE_QUANTILE])[0])
            kept += int((actual[tasks] <= p90 * (1 + 1e-5)).sum())  # float32 rounding
            np.exp2(r, out=r)
            r *= estimate[tasks].astype(np.float32)
            totals = r.reshape(runs, blocks, BLOCK).sum(axis=2, dtype=np.float64)
            del r
            q = column_quantiles(totals, [*INTERVAL_50, *INTERVAL_80])
            truth = actual_totals[first:last]
            inside_50[first:last] = (truth >= q[0]) & (truth <= q[1])
            inside_80[first:last] = (truth >= q[2]) & (truth <= q[3])
            widths[first:last] = (q[3] - q[2]) / truth
            if progress is not None:
                progress(m_index * starts.size + last, len(methods) * starts.size)
        held = int(inside_80.sum())
        low, high = wilson(held, int(starts.size))
        out["methods"][method] = {
            "coverage_50": float(inside_50.mean()),
            "coverage_80": held / starts.size,
            "coverage_80_low": low,
            "coverage_80_high": high,
            "width_80": float(np.median(widths)),
            "keep_90": kept / (starts.size * BLOCK),
            "blocks": int(starts.size),
        }
        if detail is not None:
            detail[method] = inside_80
    return out


def _with_similar(
    past: Past,
    components: Components,
    rows: np.ndarray,
    similar: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Components:
    """The components of the tasks at ``rows`` with their similar tasks blended in."""
    positions, found, query_n = similar
    picked = [positions[i][positions[i] >= 0] for i in rows.tolist()]
    return with_neighbours(
        components,
        [past.log_ratio[p] for p in picked],
        [found[i][: p.size] for i, p in zip(rows.tolist(), picked, strict=True)],
        query_n[rows],
    )


def counted_draws(
    past: Past, scope: np.ndarray, starts: np.ndarray, runs: int, rng: np.random.Generator
) -> np.ndarray:
    """The ``no_estimates`` method's draws of effort (hours, float32, ``(runs,
    blocks * 10)``): each task of the block starting at scope index ``s`` takes
    the actual of one of the scope's last :data:`rules.NO_ESTIMATES_POOL`
    tasks before ``s``, drawn with replacement; its estimate is ignored."""
    size = np.minimum(starts, rules.NO_ESTIMATES_POOL)  # (blocks,)
    size_each = np.repeat(size, BLOCK)
    first_each = np.repeat(starts - size, BLOCK)
    picks = (rng.random((runs, size_each.size)) * size_each).astype(np.int64)
    picks = np.minimum(picks, size_each - 1) + first_each
    return past.actual_h[scope[picks]].astype(np.float32)


class EstimatesWorth(TypedDict):
    """Whether estimates make forecasts better than counting tasks
    (:func:`estimates_worth`): the tool's method (``mixture``) against
    ``no_estimates``, their 80% coverages and median widths, how much
    tighter the tool's are (``1 - width / counting width``; ``None`` where
    not compared), and the verdict."""

    verdict: Literal[
        "tighter",
        "no_better",
        "estimates_miscalibrated",
        "counting_miscalibrated",
        "both_miscalibrated",
        "unknown",
    ]
    tighter: float | None
    coverage_80: float | None
    width_80: float | None
    counting_coverage_80: float | None
    counting_width_80: float | None


def estimates_worth(
    estimating: MethodFigures | dict, counting: MethodFigures | dict
) -> EstimatesWorth:
    """Are estimates worth making? Widths are compared only where both methods'
    coverage_80 is consistent with the aim (0.75 to 0.88, METRICS.md section 7;
    judged as :func:`verdict` judges it, by the Wilson interval over the blocks,
    so that a person's few blocks never call a method miscalibrated by chance): then
    ``tighter`` when the tool's 80% interval is at least
    :data:`rules.WORTH_TIGHTER` narrower than counting tasks', else
    ``no_better``; otherwise which is miscalibrated (``unknown`` without blocks)."""
    cover, width = estimating.get("coverage_80"), estimating.get("width_80")
    count_cover, count_width = counting.get("coverage_80"), counting.get("width_80")
    out: EstimatesWorth = {
        "verdict": "unknown",
        "tighter": None,
        "coverage_80": cover,
        "width_80": width,
        "counting_coverage_80": count_cover,
        "counting_width_80": count_width,
    }
    if cover is None or count_cover is None or width is None or not count_width:
        return out
    ours, theirs = verdict(estimating) is None, verdict(counting) is None
    if not ours and not theirs:
        out["verdict"] = "both_miscalibrated"
    elif not ours:
        out["verdict"] = "estimates_miscalibrated"
    elif not theirs:
        out["verdict"] = "counting_miscalibrated"
    else:
        tighter = 1.0 - width / count_width
        out["tighter"] = tighter
        out["verdict"] = "tighter" if tighter >= rules.WORTH_TIGHTER else "no_better"
    return out


def verdict(figures: MethodFigures | dict, aim=rules.BACKTEST_AIM_80) -> str | None:
    """A backtest's coverage_80 judged against the aim (0.75 to 0.88) only when
    its Wilson interval lies wholly outside it: ``"overconfident"`` (too
    narrow), ``"padded"`` (too wide), else ``None`` (consistent with the aim:
    a person's few blocks never judge it against the band alone)."""
    low, high = figures.get("coverage_80_low"), figures.get("coverage_80_high")
    if low is None or high is None:
        return None
    if high < aim[0]:
        return "overconfident"
    if low > aim[1]:
        return "padded"
    return None
