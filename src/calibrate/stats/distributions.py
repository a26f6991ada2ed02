"""The Beta, Student t and normal distributions the intervals need, without scipy.

- :func:`betainc`: the regularised incomplete beta function I_x(a, b), by the
  continued fraction of Numerical Recipes (modified Lentz), on scalars in plain
  Python and on arrays in numpy;
- :func:`beta_ppf`: a quantile of Beta(a, b), by bisection on :func:`betainc`
  (the keep rate's posterior interval, METRICS.md section 4);
- :func:`t_ppf`: a quantile of Student's t with ``df`` degrees of freedom,
  through the same function (P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2)),
  kept per df (the score's interval uses t(0.95, n - 1), section 2);
- :func:`normal_cdf`: Phi over arrays (numpy has no erf), for the advice's
  predictive distribution (section 7).

scipy is a large dependency for three small functions, so they are written
here; ``tests/test_against_scipy.py`` checks them against ``scipy.special``
and ``scipy.stats`` on many inputs.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: The continued fraction stops when a step changes it by less than this.
EPSILON = 3e-16
#: Iterations of the continued fraction at most (enough for a, b up to ~1e6).
MAX_TERMS = 3000
#: Bisection steps of a quantile: 2^-64 of the unit interval.
BISECTIONS = 64
TINY = 1e-300


# --- the regularised incomplete beta ----------------------------------------------------


def _log_front(x: float, a: float, b: float) -> float:
    """log of x^a (1 - x)^b / (a B(a, b))."""
    return (
        math.lgamma(a + b)
        - math.lgamma(a)
        - math.lgamma(b)
        + a * math.log(x)
        + b * math.log1p(-x)
        - math.log(a)
    )


def _fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) (converges fast for x < (a+1)/(a+b+2))."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > TINY else TINY)
    h = d
    step = 1.0
    for m in range(1, MAX_TERMS + 1):
        m2 = 2 * m
        even = m * (b - m) * x / ((qam + m2) * (a + m2))
        odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        for aa in (even, odd):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > TINY else TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > TINY else TINY
            step = d * c
            h *= step
        if abs(step - 1.0) < EPSILON:
            break
    return h


def _betainc_scalar(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(_log_front(x, a, b)) * _fraction(x, a, b)
    return 1.0 - math.exp(_log_front(1.0 - x, b, a)) * _fraction(1.0 - x, b, a)


_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _log_front_array(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lg = _lgamma(a + b).astype(float) - _lgamma(a).astype(float) - _lgamma(b).astype(float)
    return lg + a * np.log(x) + b * np.log1p(-x) - np.log(a)


def _fraction_array(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) > TINY, d, TINY)
    h = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, MAX_TERMS + 1):
        m2 = 2.0 * m
        step = np.ones_like(x)
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / np.where(np.abs(d) > TINY, d, TINY)
            c = 1.0 + aa / c
            c = np.where(np.abs(c) > TINY, c, TINY)
            step = d * c
            h = np.where(active, h * step, h)
        active &= np.abs(step - 1.0) >= EPSILON
        if not active.any():
            break
    return h


def _betainc_array(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.where(x >= 1.0, 1.0, 0.0)
    inside = (x > 0.0) & (x < 1.0)
    if not inside.any():
        return out
    ai, bi, xi = a[inside], b[inside], x[inside]
    flip = xi >= (ai + 1.0) / (ai + bi + 2.0)
    ax, bx, xx = np.where(flip, bi, ai), np.where(flip, ai, bi), np.where(flip, 1.0 - xi, xi)
    value = np.exp(_log_front_array(xx, ax, bx)) * _fraction_array(xx, ax, bx)
    out[inside] = np.where(flip, 1.0 - value, value)
    return out


def betainc(a, b, x):
    """The regularised incomplete beta function I_x(a, b) (``scipy.special.betainc``),
    a, b > 0, x in [0, 1]; scalars give a float, arrays (broadcast) an array."""
    if np.ndim(a) == 0 and np.ndim(b) == 0 and np.ndim(x) == 0:
        return _betainc_scalar(float(a), float(b), float(x))
    a_, b_, x_ = np.broadcast_arrays(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), np.asarray(x, dtype=float)
    )
    shape = a_.shape
    return _betainc_array(a_.reshape(-1), b_.reshape(-1), x_.reshape(-1)).reshape(shape)


# --- quantiles ----------------------------------------------------------------------------


def beta_ppf(q, a, b):
    """The ``q`` quantile of Beta(a, b) (``scipy.stats.beta.ppf``), a, b > 0:
    the x with I_x(a, b) = q, by bisection to 2^-64. Scalars give a float,
    arrays (broadcast) an array."""
    if np.ndim(q) == 0 and np.ndim(a) == 0 and np.ndim(b) == 0:
        q, a, b = float(q), float(a), float(b)
        if q <= 0.0:
            return 0.0
        if q >= 1.0:
            return 1.0
        return _beta_ppf_scalar(q, a, b)
    qs, as_, bs = np.broadcast_arrays(
        np.asarray(q, dtype=float), np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    )
    shape = qs.shape
    qs, as_, bs = qs.reshape(-1), as_.reshape(-1), bs.reshape(-1)
    out = np.where(qs <= 0.0, 0.0, 1.0)
    inside = (qs > 0.0) & (qs < 1.0)
    if inside.any():
        out[inside] = _beta_ppf_array(qs[inside], as_[inside], bs[inside])
    return out.reshape(shape)


def _beta_ppf_scalar(q: float, a: float, b: float, start: float = 0.5) -> float:
    """:func:`_beta_ppf_array` for one quantile, in plain Python, from ``start``."""
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    low, high, x = 0.0, 1.0, start
    for _ in range(BISECTIONS + 16):
        error = _betainc_scalar(a, b, x) - q
        if error < 0:
            low = x
        else:
            high = x
        try:
            density = math.exp((a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - log_beta)
            step = x - error / density
        except (OverflowError, ValueError, ZeroDivisionError):
            step = math.nan
        nxt = step if low < step < high else (low + high) / 2
        if abs(nxt - x) <= 4e-16 * max(nxt, 1e-300) or high - low <= 1e-17:
            return nxt
        x = nxt
    return x


def _beta_ppf_array(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Newton's method on I_x(a, b) = q inside a bracket kept by bisection: a
    step that would leave the bracket bisects it instead (as many steps as
    plain bisection at worst, a handful at best)."""
    log_beta = _lgamma(a).astype(float) + _lgamma(b).astype(float) - _lgamma(a + b).astype(float)
    low, high = np.zeros(q.shape), np.ones(q.shape)
    x = np.full(q.shape, 0.5)
    active = np.arange(q.size)
    for _ in range(BISECTIONS + 16):
        if active.size == 0:
            break
        xa, aa, ba = x[active], a[active], b[active]
        error = _betainc_array(aa, ba, xa) - q[active]
        lo = np.where(error < 0, xa, low[active])
        hi = np.where(error < 0, high[active], xa)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            density = np.exp((aa - 1) * np.log(xa) + (ba - 1) * np.log1p(-xa) - log_beta[active])
            step = xa - error / density
        usable = np.isfinite(step) & (step > lo) & (step < hi)
        nxt = np.where(usable, step, (lo + hi) / 2)
        low[active], high[active], x[active] = lo, hi, nxt
        done = (np.abs(nxt - xa) <= 4e-16 * np.maximum(nxt, 1e-300)) | (hi - lo <= 1e-17)
        active = active[~done]
    return x


@lru_cache(maxsize=4096)
def _t_upper(p: float, df: float) -> float:
    # P(T > t) = (1 - p) = I_{df / (df + t^2)}(df / 2, 1 / 2) / 2, solved from
    # the Cornish-Fisher guess t = z + (z^3 + z) / (4 df)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(p)
    guess = z + (z**3 + z) / (4 * df)
    start = min(max(df / (df + guess * guess), 1e-300), 1 - 1e-16)
    x = _beta_ppf_scalar(2.0 * (1.0 - p), df / 2.0, 0.5, start)
    return math.sqrt(df * (1.0 - x) / x) if x > 0 else math.inf


def t_ppf(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` > 0 degrees of freedom
    (``scipy.stats.t.ppf``); p in (0, 1). Kept per (p, df)."""
    p, df = float(p), float(df)
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if df <= 0:
        raise ValueError("df must be > 0")
    if p == 0.5:
        return 0.0
    if p > 0.5:
        return _t_upper(p, df)
    return -_t_upper(1.0 - p, df)


def t_ppf_array(p: float, df) -> np.ndarray:
    """:func:`t_ppf` for many degrees of freedom at once (NaN where df <= 0)."""
    dfs = np.asarray(df, dtype=float)
    flat = dfs.reshape(-1)
    out = np.full(flat.shape, np.nan)
    for value in np.unique(flat[np.isfinite(flat) & (flat > 0)]):
        out[flat == value] = t_ppf(p, float(value))
    return out.reshape(dfs.shape)


# --- the normal distribution -------------------------------------------------------------

#: Chebyshev coefficients of erfc (Numerical Recipes' ``erfcc``: relative error
#: under 1.2e-7 everywhere), innermost first.
_ERFC = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def normal_cdf(x) -> np.ndarray:
    """Phi(x), the standard normal distribution function, over arrays (absolute
    error under 1e-7: Numerical Recipes' ``erfcc``)."""
    x = np.asarray(x, dtype=float)
    z = np.abs(x) * (1 / math.sqrt(2))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.full_like(t, _ERFC[-1])
    for coefficient in _ERFC[-2::-1]:
        poly = poly * t + coefficient
    tail = 0.5 * t * np.exp(-z * z + poly)  # 1 - Phi(|x|)
    return np.where(x >= 0, 1.0 - tail, tail)
