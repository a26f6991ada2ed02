"""Drawing from the pools (:mod:`.pools`): seeded vectorised draws, the exact
mixture of one task, and quantiles of draws.

:func:`draw_log_ratios` draws from each task's pools, vectorised over runs
and tasks; :func:`mixture` gives the same distribution exactly, as sorted
values with their probabilities, for quantiles (:func:`mixture_quantiles`);
:func:`column_quantiles` takes the quantiles of (runs, tasks) draws by
sorting (numpy's vectorised sort beats the partition np.quantile uses).
The (runs, tasks) arrays are float32: half the memory traffic of float64.
"""

from __future__ import annotations

import math

import numpy as np

from calibrate.stats.pools import Components, Pools


def draw_log_ratios(
    pools: Pools, components: Components, runs: int, rng: np.random.Generator
) -> np.ndarray:
    """(runs, tasks) draws of r (float32), each task from its own mixture of slices.

    One uniform per draw picks the slice (by the cumulative probabilities)
    and, rescaled within that slice's share, the element in it: exact, and
    half the random numbers of drawing the two separately.
    """
    tasks = len(components)
    if tasks == 0:
        return np.zeros((runs, 0), dtype=np.float32)
    prob = components.prob
    cumulative = np.cumsum(prob, axis=1)
    low = cumulative - prob  # where each slice's share of [0, 1) starts
    # thresholds between slices; past the last used slice, never (rounding at 1)
    first_cut = np.where(prob[:, 1] + prob[:, 2] > 0, cumulative[:, 0], np.inf)
    second_cut = np.where(prob[:, 2] > 0, cumulative[:, 1], np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(prob > 0, components.length / prob, 0.0)
    last = components.start + np.maximum(components.length - 1, 0)
    # flat per-(slice, task) tables, read with np.take (faster than 2-D fancy indexing)
    low_t, start_t, scale_t, last_t = (
        x.T.reshape(-1) for x in (low, components.start, scale, last)
    )
    u = rng.random((runs, tasks))
    column = (u >= first_cut).astype(np.int64) + (u >= second_cut)
    flat = column * tasks + np.arange(tasks)
    offset = ((u - np.take(low_t, flat)) * np.take(scale_t, flat)).astype(np.int64)
    index = np.minimum(np.take(start_t, flat) + offset, np.take(last_t, flat))
    return np.take(pools.values32, index)


def mixture(pools: Pools, components: Components, task: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One task's draw distribution exactly: sorted log ratios and the
    cumulative probability at each (the last is 1)."""
    values, weights = [], []
    for k in range(3):
        length = int(components.length[task, k])
        prob = float(components.prob[task, k])
        if length and prob > 0:
            start = int(components.start[task, k])
            values.append(pools.values[start : start + length])
            weights.append(np.full(length, prob / length))
    v = np.concatenate(values)
    w = np.concatenate(weights)
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    return v[order], cumulative / cumulative[-1]


def mixture_quantiles(sorted_values: np.ndarray, cumulative: np.ndarray, probs) -> np.ndarray:
    """Quantiles of a weighted empirical distribution: the smallest value whose
    cumulative probability reaches each level (the rule
    :func:`calibrate.stats.hints.mixture_quantiles` applies in plain Python)."""
    probs = np.asarray(probs, dtype=float)
    index = np.searchsorted(cumulative, probs - 1e-12, side="left")
    return sorted_values[np.minimum(index, sorted_values.size - 1)]


def column_quantiles(matrix: np.ndarray, probs, method: str = "linear") -> np.ndarray:
    """Quantiles of each column of a (runs, columns) matrix, as np.quantile's
    ``linear`` (or ``higher``) method, by sorting: numpy's vectorised sort is
    several times faster than the partition np.quantile uses."""
    ordered = np.sort(np.ascontiguousarray(matrix.T), axis=1)
    n = ordered.shape[1]
    out = np.empty((len(probs), ordered.shape[0]))
    for k, q in enumerate(probs):
        position = q * (n - 1)
        low = math.floor(position)
        high = min(low + 1, n - 1)
        if method == "higher":
            out[k] = ordered[:, math.ceil(position)]
        else:
            weight = position - low
            out[k] = ordered[:, low] * (1 - weight) + ordered[:, high] * weight
    return out
