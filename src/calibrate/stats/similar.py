"""The reference-class blend (issue 16) over numpy components.

A task's similar finished tasks (:mod:`calibrate.store.similar` finds them)
form its reference-class pool: their log ratios, each weighted by its
similarity (the share of the task's words it holds). The pool weighs w = S /
(S + 10) against the size-bucket mixture of METRICS.md section 7
(:func:`calibrate.rules.similar_weight`; S: the similarities' sum), so that
one distribution of r comes out. ``scripts/replay_similar.py`` scores it
against the mixture (issue 16's rule: it passed), and ``forecast`` draws
from it. :func:`with_neighbours` adds the pool to
:class:`~calibrate.stats.pools.Components` as a fifth slice: the similarities
of one query share their denominator (the query's tokens), so each
neighbour's value is repeated as many times as it holds tokens, and the
slice's values weigh the same, as every slice's do. The plain-Python twin is
:func:`calibrate.stats.hints.blend`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from calibrate import rules
from calibrate.stats.pools import EXACT, Components, moments


def with_neighbours(
    components: Components,
    neighbour_r: Sequence[np.ndarray | Sequence[float]],
    found: Sequence[np.ndarray | Sequence[int]],
    query_n: Sequence[int] | np.ndarray,
) -> Components:
    """The components with each task's reference-class pool blended in.

    Per task: ``neighbour_r`` its neighbours' log ratios, ``found`` how many
    of its ``query_n`` distinct tokens each holds (similarity found / query_n).
    A task without neighbours keeps its mixture as it is (w = 0)."""
    tasks = len(components)
    lengths = np.zeros(tasks, dtype=np.int64)
    weights = np.zeros(tasks)
    parts = []
    for task in range(tasks):
        r = np.asarray(neighbour_r[task], dtype=float)
        counts = np.asarray(found[task], dtype=np.int64)
        keep = counts > 0
        if not keep.any() or query_n[task] <= 0:
            continue
        total = float(counts[keep].sum()) / float(query_n[task])
        weights[task] = rules.similar_weight(total)
        values = np.repeat(r[keep], counts[keep])
        parts.append(values)
        lengths[task] = values.size
    if not parts:
        return components
    extra = np.concatenate(parts)
    offset = components.values.size
    starts = offset + np.cumsum(lengths) - lengths
    w = weights
    prob = np.column_stack([components.prob * (1 - w)[:, None], w])
    start = np.column_stack([components.start, np.where(lengths > 0, starts, 0)])
    length = np.column_stack([components.length, lengths])
    # the non-exact moments of the blend, from the mixture's and the pool's
    non_exact = np.abs(extra) > EXACT
    clipped = np.where(non_exact, np.clip(extra, -rules.CONTRACT_CLIP, rules.CONTRACT_CLIP), 0.0)
    owner = np.repeat(np.arange(tasks), lengths)
    per_value = np.divide(w, lengths, out=np.zeros(tasks), where=lengths > 0)[owner]
    pool_w = np.bincount(owner, weights=per_value * non_exact, minlength=tasks)
    pool_s = np.bincount(owner, weights=per_value * clipped, minlength=tasks)
    pool_q = np.bincount(owner, weights=per_value * clipped * clipped, minlength=tasks)
    old_w = components.share_ne * (1 - w)
    total_w = old_w + pool_w
    total_s = old_w * components.mean_ne + pool_s
    total_q = old_w * (components.var_ne + components.mean_ne**2) + pool_q
    mean, var = moments(total_w, total_s, total_q)
    return Components(
        start,
        length,
        prob,
        components.own_n,
        components.pool_n,
        components.pool_kind,
        np.concatenate([components.values, extra]),
        np.concatenate([components.values32, extra.astype(np.float32)]),
        mean,
        var,
        total_w,
    )


def similar_weights(components: Components) -> np.ndarray:
    """Each task's weight of its reference-class pool (0 without one)."""
    if components.prob.shape[1] <= 4:
        return np.zeros(len(components))
    return components.prob[:, 4]
