"""Binomial helpers the ranges and promises lean on: the Wilson interval of a
share, the binomial distribution (pmf, cdf, the central band of the
calibration chart, the order statistics that bound a median) and the Poisson
binomial (hits of ranges at several confidence levels).

Hand-written in numpy rather than taken from scipy (a large dependency for
four small functions); the tests check each against scipy on many inputs.
"""

from __future__ import annotations

import math

import numpy as np

from calibrate.rules import INTERVAL_LEVEL, Z90
from calibrate.stats.arrays import floats, optional


def wilson(successes, n, z: float = Z90):
    """Wilson score interval for a share (90% by default): ``(low, high)``.

    centre -+ half with centre = (p + z^2 / 2n) / (1 + z^2 / n) and half =
    z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2), clipped to [0, 1]:
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` at the same
    z (the default z is METRICS.md's 1.645, not the exact 1.6448536...).
    Scalars give floats, or ``(None, None)`` when n is 0; arrays give arrays
    with NaN where n is 0.
    """
    scalar = np.ndim(successes) == 0 and np.ndim(n) == 0
    k = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    safe = np.where(total > 0, total, 1.0)
    p = k / safe
    z2 = z * z
    denom = 1.0 + z2 / safe
    centre = (p + z2 / (2 * safe)) / denom
    half = z / denom * np.sqrt(np.maximum(p * (1 - p) / safe + z2 / (4 * safe * safe), 0.0))
    low = np.where(total > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(total > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if scalar:
        return optional(low), optional(high)
    return low, high


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """P(X = k) for k = 0..n, X ~ Binomial(n, p); exact to rounding for any n
    (log-space recurrence, no factorials)."""
    n = int(n)
    if n < 0:
        raise ValueError("n must be >= 0")
    if p <= 0 or p >= 1:
        pmf = np.zeros(n + 1)
        pmf[0 if p <= 0 else n] = 1.0
        return pmf
    k = np.arange(1, n + 1, dtype=float)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(n - k + 1) - np.log(k))])
    kk = np.arange(n + 1, dtype=float)
    log_pmf = log_choose + kk * math.log(p) + (n - kk) * math.log1p(-p)
    return np.exp(log_pmf)


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size * b.size <= 4_000_000:
        return np.convolve(a, b)
    size = a.size + b.size - 1
    fft_size = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, fft_size) * np.fft.rfft(b, fft_size), fft_size)[:size]
    return np.clip(out, 0.0, None)


def hits_pmf(confidences) -> np.ndarray:
    """Distribution of the number of hits when task i hits with probability
    c_i (the Poisson binomial, ``scipy.stats.poisson_binom``): exact
    binomials per distinct level, convolved."""
    c = floats(confidences)
    pmf = np.ones(1)
    levels, counts = np.unique(c, return_counts=True)
    for level, count in zip(levels, counts, strict=True):
        pmf = _convolve(pmf, binomial_pmf(int(count), float(level)))
    return pmf


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(min(1.0, binomial_pmf(n, p)[: k + 1].sum()))


def binomial_band(
    n: int, p: float, level: float = INTERVAL_LEVEL
) -> tuple[float, float] | tuple[None, None]:
    """The central ``level`` band of the observed share X/n when X ~
    Binomial(n, p): the band around the diagonal of the calibration chart.

    Its ends are the smallest k with P(X <= k) >= (1 - level) / 2, and with
    P(X <= k) >= (1 + level) / 2 (each less 1e-12 for rounding), over n: the
    quantiles ``scipy.stats.binom.ppf`` gives."""
    if n <= 0:
        return None, None
    cdf = np.cumsum(binomial_pmf(n, p))
    tail = (1.0 - level) / 2
    low = int(np.searchsorted(cdf, tail - 1e-12, side="left"))
    high = int(np.searchsorted(cdf, 1.0 - tail - 1e-12, side="left"))
    return low / n, min(high, n) / n


def median_ranks(n: int, level: float = INTERVAL_LEVEL) -> tuple[int, int] | None:
    """The distribution-free ``level`` interval of a median from n values: the
    1-based ranks ``(l, n + 1 - l)`` of the order statistics that bound it, l
    the largest with P(B <= l - 1) <= (1 - level) / 2 for B ~ Binomial(n, 1/2)
    (the interval then holds the median with probability 1 - 2 P(B <= l - 1),
    at least ``level``, whatever the distribution); ``None`` when n is too
    small for any (n < 5 at 90%)."""
    if n <= 0:
        return None
    cdf = np.cumsum(binomial_pmf(n, 0.5))
    lower = int(np.searchsorted(cdf, (1.0 - level) / 2 + 1e-12, side="right"))
    if lower == 0:
        return None
    return lower, n + 1 - lower
