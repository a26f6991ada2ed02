"""Section 8's rows for section 7 (advice from history): the backtest pooled on
each dataset, on a simulated history whose exact hits cluster by week, per
person, and the hint's P90 replayed in time order.

Every figure comes from the product's own functions on arrays:
:func:`calibrate.stats.backtest.backtest` (what ``forecast --backtest``
runs) over :class:`calibrate.stats.pools.Pools` of the dataset in done order
(tasks without a done date dropped, as every row of the suite), and for the
hint :func:`calibrate.stats.draws.predictive_below` (the one predictive
distribution ``suggest``, the hint and ``forecast`` share, with the person's
shift variance from their own tasks before). Fitted without the tested: the
reference spread the pools are blended with is rebuilt from the other
dataset alone (:func:`calibrate.reference.advice_spread`).
"""

from __future__ import annotations

import numpy as np

from calibrate import reference, rules
from calibrate.stats import backtest, draws
from calibrate.stats.binomial import wilson
from calibrate.stats.pools import EXACT, Past, Pools
from tests.validation import realdata
from tests.validation.registry import Context, Line, row
from tests.validation.rows_scores import DATASETS, data

SEED = 20_261_307
#: The simulated Jira-like histories (research 13b, setting B; F printed beside).
SIM_TASKS = 600
SIM_ESTIMATES = np.array([0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24])
SIM_WEIGHTS = np.array([4, 10, 14, 8, 14, 8, 14, 4, 6, 3], dtype=float) / 85
#: People judged on their own backtest need this many counted tasks.
PERSON_MIN = 200
KEEP = "P90 kept (single tasks at or under their P90)"


def _past(ctx: Context, dataset: str) -> Past:
    """The dataset as the product's past: counted tasks with a done date, in done order."""
    key = ("past", dataset)
    if key not in ctx.cache:
        tasks = data(ctx).ordered[dataset]
        ctx.cache[key] = Past.from_arrays(
            tasks["estimate_h"].to_numpy(dtype=float),
            tasks["actual_h"].to_numpy(dtype=float),
            person=tasks["person"].to_numpy(dtype=object),
            team=tasks["team"].to_numpy(dtype=object),
            week=tasks["week"].to_numpy(dtype=np.int64),
        )
    return ctx.cache[key]


def _spread_without(ctx: Context, dataset: str) -> np.ndarray:
    """The reference spread rebuilt without ``dataset`` (from the other one)."""
    key = ("spread without", dataset)
    if key not in ctx.cache:
        (other,) = [name for name in DATASETS if name != dataset]
        tasks = data(ctx).every[other]
        buckets = reference.advice_spread(
            tasks["person"].to_numpy(dtype=object),
            tasks["estimate_h"].to_numpy(dtype=float),
            tasks["actual_h"].to_numpy(dtype=float),
        )
        ctx.cache[key] = np.array([buckets[label]["quantiles"] for label in rules.SIZE_LABELS])
    return ctx.cache[key]


def _pools(ctx: Context, dataset: str) -> Pools:
    key = ("pools", dataset)
    if key not in ctx.cache:
        ctx.cache[key] = Pools(_past(ctx, dataset), _spread_without(ctx, dataset))
    return ctx.cache[key]


def _backtest_lines(result: dict, data_name: str, extra: str = "") -> list[Line]:
    figures = result["methods"]["mixture"]
    blocks = figures["blocks"]
    interval = f"[{figures['coverage_80_low']:.3f}, {figures['coverage_80_high']:.3f}]"
    return [
        Line(
            "backtest 80% interval holds the block's total",
            "blocks of 10",
            "80% (0.75-0.88)",
            rules.BACKTEST_AIM_80[0],
            rules.BACKTEST_AIM_80[1],
            figures["coverage_80"],
            blocks,
            data=data_name,
            detail=f"Wilson {interval}, width_80 {figures['width_80']:.2f}{extra}",
        ),
        Line(
            f"backtest {KEEP}",
            "blocks of 10",
            "90% (0.86-0.95)",
            rules.BACKTEST_AIM_KEEP_90[0],
            rules.BACKTEST_AIM_KEEP_90[1],
            figures["keep_90"],
            blocks * backtest.BLOCK,
            data=data_name,
            detail=f"{blocks:,} blocks",
        ),
    ]


@row("backtest-pooled", quick=True)
def backtest_pooled(ctx: Context) -> list[Line]:
    """Each dataset as one database, every block of 10 from task 100 on
    (everyone's scope, as ``forecast --backtest --everyone --blocks all``): the
    mixture's coverage_80 (0.75-0.88) and keep_90 (0.86-0.95). Quick: SiP's
    last 150 blocks."""
    if not realdata.present():
        return []
    lines = []
    for dataset in DATASETS if ctx.full else ("SiP",):
        past = _past(ctx, dataset)
        result = backtest.backtest(
            past,
            methods=("mixture",),
            max_blocks=None if ctx.full else 150,
            pools=_pools(ctx, dataset),
            seed=SEED,
        )
        lines += _backtest_lines(result, dataset)
    return lines


# --- the simulated Jira-like history -------------------------------------------------------


def _nonexact_errors(ctx: Context) -> np.ndarray:
    """Real non-exact log ratios of both datasets, centred on their median."""
    key = "nonexact errors"
    if key not in ctx.cache:
        parts = []
        for dataset in DATASETS:
            r = _past(ctx, dataset).log_ratio
            parts.append(r[np.abs(r) > EXACT])
        r = np.concatenate(parts)
        ctx.cache[key] = r - np.median(r)
    return ctx.cache[key]


def jira_like(rng, errors, *, couple: float = 0.0, sigma_u: float = 0.5, bias: float = 0.3):
    """One person, no team, 600 tasks over about 100 weeks (1 + Poisson(5) a
    week), Jira-like round estimates; in week w an exact hit (r = 0) with
    chance p_w ~ Beta(1.5, 0.5) (75% exact on average, whole weeks logged "as
    estimated"); otherwise r = bias + u_w + e / 2, u_w ~ N(0, sigma_u^2) the
    week effect and e a real non-exact log ratio. ``couple`` > 0: weeks with
    fewer exact hits overrun more (u_w -= couple (p_w - 0.75)). Research 13b's
    setting B (``couple`` 0) and F (``couple`` 3, sigma_u 0.3, bias 0.5)."""
    sizes = []
    while sum(sizes) < SIM_TASKS:
        sizes.append(1 + int(rng.poisson(5)))
    week = np.repeat(np.arange(len(sizes)), sizes)[:SIM_TASKS]
    p_w = rng.beta(1.5, 0.5, size=len(sizes))
    u_w = rng.normal(0, sigma_u, size=len(sizes)) - couple * (p_w - 0.75)
    exact = rng.random(SIM_TASKS) < p_w[week]
    r = np.where(exact, 0.0, bias + u_w[week] + 0.5 * rng.choice(errors, size=SIM_TASKS))
    r = np.where(~exact & (np.abs(r) <= EXACT), 0.02 * np.sign(r + 1e-12), r)
    estimate = rng.choice(SIM_ESTIMATES, size=SIM_TASKS, p=SIM_WEIGHTS)
    return Past.from_arrays(estimate, estimate * np.exp2(r), week=week + 2000)


def _simulated(ctx: Context, histories: int, **setting) -> tuple[dict, float]:
    """The mixture's backtest over ``histories`` simulated histories, blocks pooled."""
    errors = _nonexact_errors(ctx)
    held = blocks = kept = 0
    widths, exact = [], []
    for h in range(histories):
        rng = np.random.default_rng([SEED, h, int(10 * setting.get("couple", 0))])
        past = jira_like(rng, errors, **setting)
        exact.append(float(np.mean(np.abs(past.log_ratio) <= EXACT)))
        detail: dict = {}
        result = backtest.backtest(past, methods=("mixture",), seed=SEED + h, detail=detail)
        figures = result["methods"]["mixture"]
        held += int(detail["mixture"].sum())
        blocks += figures["blocks"]
        kept += round(figures["keep_90"] * figures["blocks"] * backtest.BLOCK)
        widths.append(figures["width_80"])
    low, high = wilson(held, blocks)
    pooled = {
        "methods": {
            "mixture": {
                "coverage_80": held / blocks,
                "coverage_80_low": low,
                "coverage_80_high": high,
                "keep_90": kept / (blocks * backtest.BLOCK),
                "width_80": float(np.median(widths)),
                "blocks": blocks,
            }
        }
    }
    return pooled, float(np.mean(exact))


@row("backtest-clustered-exact", quick=True)
def backtest_clustered_exact(ctx: Context) -> list[Line]:
    """Simulated one-person histories whose exact hits cluster by week (75%
    exact, a week effect), the mixture's coverage_80 and keep_90 over their
    blocks pooled; the coupled variant (weeks with fewer exact hits overrun
    more, where the shift on non-exact draws alone is weakest) is printed
    beside it, not judged."""
    if not realdata.present():
        return []
    histories = ctx.size(20, 3)
    result, exact = _simulated(ctx, histories)
    coupled, _ = _simulated(ctx, histories, couple=3.0, sigma_u=0.3, bias=0.5)
    c = coupled["methods"]["mixture"]
    extra = f"; {exact:.0%} exact; coupled weeks: {c['coverage_80']:.3f} / keep {c['keep_90']:.3f}"
    name = f"simulated, exact hits by week ({histories} histories of {SIM_TASKS})"
    return _backtest_lines(result, name, extra)


# --- people on their own history -----------------------------------------------------------


@row("backtest-people")
def backtest_people(ctx: Context) -> list[Line]:
    """Each person with 200+ counted tasks backtested on their own history
    (their scope in the whole dataset, as ``forecast --backtest --person``):
    the share whose coverage_80 Wilson 90% interval excludes 0.80, at most 20%
    (a calibrated forecast leaves about 10% out by chance)."""
    if not realdata.present():
        return []
    lines = []
    verdicts = {}
    for dataset in DATASETS:
        past = _past(ctx, dataset)
        pools = _pools(ctx, dataset)
        wide = narrow = 0
        counts = np.bincount(past.person[past.person >= 0], minlength=len(past.people))
        people = np.flatnonzero(counts >= PERSON_MIN)
        for code in people.tolist():
            scope = np.flatnonzero(past.person == code)
            result = backtest.backtest(
                past, scope, methods=("mixture",), pools=pools, seed=SEED + code
            )
            figures = result["methods"]["mixture"]
            if figures["coverage_80_low"] > 0.80:
                wide += 1
            elif figures["coverage_80_high"] < 0.80:
                narrow += 1
        verdicts[dataset] = (wide, narrow, int(people.size))
    for name in (*DATASETS, "both"):
        chosen = list(verdicts.values()) if name == "both" else [verdicts[name]]
        wide, narrow, total = (sum(v[k] for v in chosen) for k in range(3))
        lines.append(
            Line(
                "people with 200+ tasks whose coverage_80 interval excludes 0.80",
                "-",
                "at most 20%",
                None,
                0.20,
                (wide + narrow) / total if total else None,
                total,
                data=name,
                detail=f"{wide + narrow} of {total} people: {wide} too wide, {narrow} too narrow",
            )
        )
    return lines


# --- the hint, replayed ----------------------------------------------------------------------


def _person_tau2_before(past: Past) -> np.ndarray:
    """Each task's person's shift variance from their own tasks before it
    (non-exact, by week): what their hint used when the task was added."""
    out = np.zeros(len(past))
    for code in np.unique(past.person).tolist():
        positions = np.flatnonzero(past.person == code)
        result = backtest.block_tau2(past, positions, np.arange(positions.size))
        out[positions] = result
    return out


@row("hint-replay", quick=True)
def hint_replay(ctx: Context) -> list[Line]:
    """Every task of a dataset in done order, from each person's first: its
    hint's P90 from the tasks before it only (the one predictive distribution:
    the person's pools, the team's without them, the reference spread, the
    person's shift), and whether the actual kept it: 0.86-0.95. Quick: SiP's
    first 3,000 tasks."""
    if not realdata.present():
        return []
    lines = []
    for dataset in DATASETS if ctx.full else ("SiP",):
        past = _past(ctx, dataset)
        pools = _pools(ctx, dataset)
        n = len(past) if ctx.full else min(len(past), 3_000)
        tau2 = _person_tau2_before(past)[:n]
        positions = np.arange(n)
        below = np.empty(n)
        for first in range(0, n, 2_048):
            rows = positions[first : first + 2_048]
            components = pools.components(
                past.person[rows], past.team[rows], past.bucket[rows], rows
            )
            below[rows] = draws.predictive_below(components, tau2[rows], past.log_ratio[rows])
        kept = below < rules.PROMISE_QUANTILE - 1e-12
        rank = np.zeros(n, dtype=np.int64)  # each task's place in its person's history
        for code in np.unique(past.person[:n]).tolist():
            mine = np.flatnonzero(past.person[:n] == code)
            rank[mine] = np.arange(mine.size)
        early = rank < 3
        lines.append(
            Line(
                "hint P90 replayed from each person's first task (past data only)",
                "every task",
                "90% (0.86-0.95)",
                rules.BACKTEST_AIM_KEEP_90[0],
                rules.BACKTEST_AIM_KEEP_90[1],
                float(kept.mean()),
                int(n),
                data=dataset,
                detail=(
                    f"{len(np.unique(past.person[:n]))} people; their first 3 tasks "
                    f"{kept[early].mean():.3f} of {int(early.sum())}; shift sd median "
                    f"{np.median(np.sqrt(tau2)):.2f}"
                ),
            )
        )
    return lines
