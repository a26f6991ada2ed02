"""Section 8's simulated rows: the keep-rate interval and the widened ranges
(METRICS.md sections 4 and 3). Each says it is simulated; both use the
product's functions (:func:`calibrate.stats.promises.keep_posterior`,
:func:`calibrate.stats.ranges.widen_factor`, :func:`calibrate.rules.range_hit_masks`).
"""

from __future__ import annotations

import numpy as np

from calibrate import rules
from calibrate.stats import promises, ranges
from tests.validation import realdata
from tests.validation.registry import Context, Line, row

SEED = 20_261_213
KEEP_SIZES = (5, 10, 20, 35)
KEEP_SPREADS = (4, 10)
TEAM_RATES = (0.7, 0.8, 0.9)
#: The rest of the team: 8 people with 40 promises due each.
OTHERS, PER_OTHER = 8, 40
WIDEN_SIZES = (10, 20, 50)


@row("keep-rate", quick=True)
def keep_rate(ctx: Context) -> list[Line]:
    """Simulated people around a team: each person's true keep rate q ~
    Beta(s p, s (1 - p)) (people differ a lot, s = 4, or a little, s = 10;
    the team's rate p = 0.7, 0.8, 0.9), the rest of the team 8 others with
    40 promises each from the same Beta; the person keeps k ~ Bin(n, q). The
    interval holds when its 5% and 95% quantiles hold q. One line per spread
    and n, the three team rates pooled; every cell must pass on its own too."""
    sims = ctx.size(20_000, 1_000)
    rng = np.random.default_rng(SEED)
    lines = []
    for spread in KEEP_SPREADS:
        for n in KEEP_SIZES:
            cells = []
            for rate in TEAM_RATES:
                a, b = spread * rate, spread * (1 - rate)
                others = rng.binomial(PER_OTHER, rng.beta(a, b, size=(sims, OTHERS))).sum(axis=1)
                q = rng.beta(a, b, size=sims)
                kept = rng.binomial(n, q)
                _, low, high = promises.keep_posterior(
                    kept, np.full(sims, n), others, np.full(sims, OTHERS * PER_OTHER)
                )
                cells.append((float(np.mean((low <= q) & (q <= high))), sims))
            lines.append(
                Line(
                    "keep-rate interval (90%) holds the true rate",
                    f"{n}",
                    "90% (0.85-0.95)",
                    0.85,
                    0.95,
                    float(np.mean([c[0] for c in cells])),
                    sims * len(cells),
                    data=f"simulated, Beta worth {spread}",
                    detail="team 0.7/0.8/0.9: " + "/".join(f"{c[0]:.3f}" for c in cells),
                    cells=cells,
                )
            )
    return lines


def _sip_pools() -> list[np.ndarray]:
    """r = log2(A / E) of each SiP developer with 50+ counted tasks."""
    tasks = realdata.datasets.counted(realdata.datasets.read_sip())
    r = np.log2(tasks["actual_h"].to_numpy(dtype=float) / tasks["estimate_h"].to_numpy(dtype=float))
    people = tasks["person"].to_numpy(dtype=object)
    pools = [r[people == p] for p in sorted(set(people))]
    return [pool for pool in pools if pool.size >= 50]


@row("widened-ranges", quick=True)
def widened_ranges(ctx: Context) -> list[Line]:
    """Simulated people whose 90% ranges are 2x too narrow: one SiP developer's
    log ratios resampled (y - centre = r, exact hits and all), the range's
    half-width half the developer's 90% quantile of |r| (constant, or varying
    by a lognormal factor); after n ranges, the next range widened by the
    widen factor holds its actual."""
    if not realdata.present():
        return []
    sims = ctx.size(40_000, 2_000)
    pools = _sip_pools()
    needed = np.array([np.quantile(np.abs(pool), 0.9) for pool in pools])
    rng = np.random.default_rng(SEED + 1)
    lines = []
    for varying in (False, True):
        for n in WIDEN_SIZES:
            who = rng.integers(len(pools), size=sims)
            r = np.empty((sims, n + 1))
            for j, pool in enumerate(pools):
                chosen = who == j
                r[chosen] = rng.choice(pool, size=(int(chosen.sum()), n + 1), replace=True)
            halfwidth = np.repeat(needed[who][:, None] / 2, n + 1, axis=1)
            if varying:
                halfwidth = halfwidth * np.exp(rng.normal(0, 0.3, size=halfwidth.shape))
            spreads = np.abs(r) / halfwidth
            factors = np.array(
                [
                    ranges.widen_factor(spreads[i, :n], rules.DEFAULT_CONFIDENCE)
                    for i in range(sims)
                ],
                dtype=float,
            )
            reach = factors * halfwidth[:, n]
            below, above = rules.range_hit_masks(np.exp2(-reach), np.exp2(reach), np.exp2(r[:, n]))
            held = ~below & ~above
            lines.append(
                Line(
                    "widened ranges hold the next range's actual",
                    f"{n}",
                    "90% (0.87-0.93)",
                    0.87,
                    0.93,
                    float(held.mean()),
                    sims,
                    data="simulated, 2x too narrow" + (", widths vary" if varying else ""),
                    detail=f"raw ranges held {np.mean(np.abs(r[:, n]) <= halfwidth[:, n]):.3f}",
                )
            )
    return lines
