"""Drawing from the pools (:mod:`.pools`): seeded vectorised draws, the exact
distribution of one task, and quantiles.

:func:`draw_log_ratios` draws from each task's mixture of slices, vectorised
over runs and tasks, and applies the contraction and the shared shift to
the non-exact draws (METRICS.md section 7); :func:`mixture` gives one task's
mixture exactly, as sorted values with their probabilities
(:func:`mixture_quantiles`); :func:`predictive_quantiles` the quantiles of
the one predictive distribution of a task (the contracted mixture with the
shift's variance: what ``suggest``, the hint and ``forecast`` all quote; the
hint computes the same in plain Python, :mod:`calibrate.stats.hints`);
:func:`column_quantiles` the quantiles of (runs, tasks) draws by sorting.
The (runs, tasks) arrays are float32: half the memory traffic of float64.
"""

from __future__ import annotations

import math

import numpy as np

from calibrate.stats.distributions import normal_cdf
from calibrate.stats.pools import EXACT, Components

#: Bisection steps of :func:`predictive_quantiles` (a bracket of width 64 to 2^-34).
PREDICTIVE_STEPS = 40


def uniforms(rng: np.random.Generator, tasks: int, runs: int) -> np.ndarray:
    """(runs, tasks) float32 uniforms read task by task from the stream, so
    that drawing tasks in chunks reads exactly the numbers one draw would."""
    return rng.random((tasks, runs), dtype=np.float32).T


def draw_log_ratios(
    components: Components,
    runs: int,
    rng: np.random.Generator,
    *,
    lam: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    u: np.ndarray | None = None,
) -> np.ndarray:
    """(runs, tasks) draws of r (float32), each task from its own mixture of slices.

    One uniform per draw picks the slice (by the cumulative probabilities)
    and, rescaled within that slice's share, the element in it: exact, and
    half the random numbers of drawing the two separately. With ``lam`` (one
    per task) each non-exact draw is pulled toward the mean of its task's
    non-exact values, m + lam (r - m); with ``shift`` (per run, (runs, 1), or
    per run and task) the shift is added to the non-exact draws only: exact
    hits do not move. ``u``: the uniforms (:func:`uniforms`), else drawn.

    The work is done task by task (a (tasks, runs) array, returned transposed):
    each task's tables are then one row's.
    """
    tasks = len(components)
    if tasks == 0:
        return np.zeros((runs, 0), dtype=np.float32)
    if u is None:
        u = uniforms(rng, tasks, runs)
    u = u.T  # (tasks, runs), C-contiguous when drawn by `uniforms`
    prob = components.prob
    columns = prob.shape[1]
    cumulative = np.cumsum(prob, axis=1)
    low = (cumulative - prob).astype(np.float32)  # where each slice's share of [0, 1) starts
    later = np.cumsum(prob[:, ::-1], axis=1)[:, ::-1]  # this slice's and the later ones'
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(prob > 0, components.length / prob, 0.0).astype(np.float32)
    wide = components.values32.size >= 2**31
    index_type = np.int64 if wide else np.int32
    start = components.start.astype(index_type)
    last = (components.start + np.maximum(components.length - 1, 0)).astype(index_type)
    column = np.zeros(u.shape, dtype=index_type)
    for k in range(columns - 1):  # thresholds; past the last used slice, never (rounding at 1)
        cut = np.where(later[:, k + 1] > 1e-15, low[:, k + 1], np.inf).astype(np.float32)
        column += u >= cut[:, None]
    # flat (task, slice) tables, read with np.take (faster than 2-D fancy indexing)
    column += (np.arange(tasks, dtype=index_type) * columns)[:, None]
    flat = column
    offset = u - np.take(low.reshape(-1), flat)
    offset *= np.take(scale.reshape(-1), flat)
    index = offset.astype(index_type)
    del offset
    index += np.take(start.reshape(-1), flat)
    np.minimum(index, np.take(last.reshape(-1), flat), out=index)
    del flat, column
    r = np.take(components.values32, index)
    del index
    if lam is not None or shift is not None:
        moved = r.copy()
        if lam is not None:
            mean = components.mean_ne.astype(np.float32)[:, None]
            moved -= mean
            moved *= np.asarray(lam, dtype=np.float32)[:, None]
            moved += mean
        if shift is not None:
            moved += np.asarray(shift, dtype=np.float32).T
        np.copyto(r, moved, where=np.abs(r) > np.float32(EXACT))
    return r.T


def mixture(components: Components, task: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One task's draw distribution exactly: sorted log ratios and the
    cumulative probability at each (the last is 1)."""
    v, w = mixture_values(components, task)
    order = np.argsort(v, kind="stable")
    cumulative = np.cumsum(w[order])
    return v[order], cumulative / cumulative[-1]


def mixture_values(components: Components, task: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One task's mixture as its values and their probabilities (not sorted)."""
    values, weights = [], []
    for k in range(components.prob.shape[1]):
        length = int(components.length[task, k])
        prob = float(components.prob[task, k])
        if length and prob > 0:
            start = int(components.start[task, k])
            values.append(components.values[start : start + length])
            weights.append(np.full(length, prob / length))
    return np.concatenate(values), np.concatenate(weights)


def mixture_quantiles(sorted_values: np.ndarray, cumulative: np.ndarray, probs) -> np.ndarray:
    """Quantiles of a weighted empirical distribution: the smallest value whose
    cumulative probability reaches each level (the rule
    :func:`calibrate.stats.hints.mixture_quantiles` applies in plain Python)."""
    probs = np.asarray(probs, dtype=float)
    index = np.searchsorted(cumulative, probs - 1e-12, side="left")
    return sorted_values[np.minimum(index, sorted_values.size - 1)]


def predictive_quantiles(components: Components, tau2, probs, *, chunk: int = 256) -> np.ndarray:
    """(len(probs), tasks) quantiles of r of each task's one predictive
    distribution (METRICS.md section 7): its mixture with the non-exact values
    contracted toward their mean by lambda and spread by N(0, tau^2),

        F(x) = sum_exact w [v <= x] + sum_non-exact w Phi((x - m - lambda (v - m)) / tau),

    the quantile the smallest x with F(x) >= p (by bisection); with tau^2 = 0,
    the mixture's own quantile (:func:`mixture_quantiles`). ``tau2``: a scalar
    or one per task. What ``forecast`` draws for a task, computed exactly;
    :func:`calibrate.stats.hints.predictive_quantiles` is the same in plain Python.
    """
    probs = np.asarray(probs, dtype=float)
    tasks = len(components)
    tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), (tasks,))
    lam = components.contraction(tau2)
    out = np.empty((probs.size, tasks))
    for first in range(0, tasks, chunk):
        rows = np.arange(first, min(tasks, first + chunk))
        values, weights = _padded(components, rows)
        mean = components.mean_ne[rows, None]
        exact = np.abs(values) <= EXACT
        moved = np.where(exact, values, mean + lam[rows, None] * (values - mean))
        order = np.argsort(moved, axis=1, kind="stable")
        moved = np.take_along_axis(moved, order, axis=1)
        weights = np.take_along_axis(weights, order, axis=1)
        exact = np.take_along_axis(exact, order, axis=1)
        cumulative = np.cumsum(weights, axis=1)
        cumulative /= cumulative[:, -1:]
        tau = np.sqrt(tau2[rows])
        smooth = tau > 0
        for k, p in enumerate(probs):
            index = (cumulative < p - 1e-12).sum(axis=1)
            out[k, rows] = moved[np.arange(rows.size), np.minimum(index, moved.shape[1] - 1)]
            if not smooth.any():
                continue
            s = np.flatnonzero(smooth)
            lo = moved[s, 0] - 8 * tau[s] - 1
            hi = moved[s, -1] + 8 * tau[s] + 1
            for _ in range(PREDICTIVE_STEPS):
                x = (lo + hi) / 2
                below = np.where(
                    exact[s],
                    moved[s] <= x[:, None],
                    normal_cdf((x[:, None] - moved[s]) / tau[s, None]),
                )
                f = (weights[s] * below).sum(axis=1) / cumulative[s, -1]
                lo = np.where(f < p, x, lo)
                hi = np.where(f < p, hi, x)
            # an exact hit inside the last bracket is where F jumps past p: the quantile itself
            inside = exact[s] & (moved[s] > lo[:, None]) & (moved[s] <= hi[:, None])
            atom = np.where(inside, moved[s], np.inf).min(axis=1)
            out[k, first + s] = np.where(np.isfinite(atom), atom, hi)
    return out


def predictive_below(components: Components, tau2, x, *, chunk: int = 256) -> np.ndarray:
    """F(x-) per task: the probability of the one predictive distribution
    (:func:`predictive_quantiles`) strictly below ``x`` (one per task). A
    value r is at or under the p-quantile exactly when F(r-) < p (up to the
    quantiles' 1e-12 slack): so whether an actual kept its P90 takes one
    evaluation, not a bisection (the coverage suite's hint replay)."""
    tasks = len(components)
    tau2 = np.broadcast_to(np.asarray(tau2, dtype=float), (tasks,))
    x = np.broadcast_to(np.asarray(x, dtype=float), (tasks,))
    lam = components.contraction(tau2)
    out = np.empty(tasks)
    for first in range(0, tasks, chunk):
        rows = np.arange(first, min(tasks, first + chunk))
        values, weights = _padded(components, rows)
        mean = components.mean_ne[rows, None]
        exact = np.abs(values) <= EXACT
        moved = np.where(exact, values, mean + lam[rows, None] * (values - mean))
        tau = np.sqrt(tau2[rows])[:, None]
        at = x[rows, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            smooth = normal_cdf((at - moved) / np.where(tau > 0, tau, 1.0))
        below = np.where(exact | (tau == 0), moved < at, smooth)
        out[rows] = (weights * below).sum(axis=1) / weights.sum(axis=1)
    return out


def _padded(components: Components, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mixtures of ``rows`` as (rows, K) values and weights, padded with
    weight 0 (at the last value, so sorting keeps the padding harmless)."""
    sizes = (components.length[rows] * (components.prob[rows] > 0)).sum(axis=1)
    width = int(sizes.max()) if rows.size else 0
    values = np.zeros((rows.size, max(width, 1)))
    weights = np.zeros((rows.size, max(width, 1)))
    for i, task in enumerate(rows.tolist()):
        v, w = mixture_values(components, task)
        values[i, : v.size], weights[i, : w.size] = v, w
        values[i, v.size :] = v.max()
    return values, weights


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
