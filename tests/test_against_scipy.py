"""The hand-written statistics against scipy, on many inputs.

calibrate computes its binomial, Wilson, Poisson-binomial and Theil-Sen figures
itself (numpy only: scipy is a large dependency for five small functions).
scipy is installed with the ``test`` extra and imported here only, as the
reference; where calibrate's convention differs from scipy's default, the
test shows the difference exactly (Wilson's z; Theil-Sen's rounding).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibrate import rules
from calibrate.stats import binomial, distributions, ranges, trends

stats = pytest.importorskip("scipy.stats")

SEED = 20_261_201
#: (n, p) pairs: small and large n, shares near 0, near 1 and in between.
BINOMIAL_CASES = [
    (n, p)
    for n in (1, 2, 3, 7, 10, 30, 101, 1_000, 20_000)
    for p in (1e-6, 0.01, 0.1, 0.25, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999_999)
]


# --- the binomial ------------------------------------------------------------------------


def test_binomial_pmf_and_cdf_equal_scipy():
    for n, p in BINOMIAL_CASES:
        k = np.arange(n + 1)
        ours = binomial.binomial_pmf(n, p)
        # every probability to 1e-9 of itself, or (far in a tail) to 1e-300 absolute
        np.testing.assert_allclose(ours, stats.binom.pmf(k, n, p), rtol=1e-9, atol=1e-300)
        for x in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            assert binomial.binomial_cdf(x, n, p) == pytest.approx(
                stats.binom.cdf(x, n, p), rel=1e-9, abs=1e-15
            ), (x, n, p)


def test_binomial_at_the_certain_ends():
    assert binomial.binomial_pmf(5, 0.0).tolist() == stats.binom.pmf(range(6), 5, 0.0).tolist()
    assert binomial.binomial_pmf(5, 1.0).tolist() == stats.binom.pmf(range(6), 5, 1.0).tolist()
    assert binomial.binomial_cdf(-1, 5, 0.5) == 0.0 == stats.binom.cdf(-1, 5, 0.5)
    assert binomial.binomial_cdf(5, 5, 0.5) == 1.0 == stats.binom.cdf(5, 5, 0.5)


@pytest.mark.parametrize("level", [0.5, rules.INTERVAL_LEVEL, 0.95])
def test_binomial_band_is_scipys_quantiles(level):
    """The band's ends are the (1 -+ level) / 2 quantiles of Binomial(n, p), over n."""
    tail = (1 - level) / 2
    for n, p in BINOMIAL_CASES:
        low, high = binomial.binomial_band(n, p, level)
        assert low == stats.binom.ppf(tail, n, p) / n, (n, p)
        assert high == stats.binom.ppf(1 - tail, n, p) / n, (n, p)


def test_binomial_band_default_level_is_the_interval_level():
    assert binomial.binomial_band(40, 0.8) == binomial.binomial_band(40, 0.8, 0.90)


# --- the Wilson interval -----------------------------------------------------------------


def _wilson_cases():
    rng = np.random.default_rng(SEED)
    cases = [(0, 1), (1, 1), (0, 10), (10, 10), (1, 2), (8, 10), (29, 30)]
    for _ in range(150):
        n = int(rng.integers(1, 5_000))
        cases.append((int(rng.integers(0, n + 1)), n))
    return cases


def test_wilson_equals_scipy_at_the_same_z():
    """At scipy's z for 90% (1.6448536...), the interval is scipy's Wilson interval."""
    z = stats.norm.ppf(0.95)
    for k, n in _wilson_cases():
        expected = stats.binomtest(k, n).proportion_ci(0.90, method="wilson")
        low, high = binomial.wilson(k, n, z=z)
        assert (low, high) == pytest.approx((expected.low, expected.high), rel=1e-12, abs=1e-15)


def test_wilson_default_z_is_metrics_md_1645():
    """The default z is METRICS.md's 1.645, not the exact 1.6448536: the same
    X"""
    assert rules.Z90 == 1.645
    confidence = 2 * stats.norm.cdf(1.645) - 1
    assert confidence == pytest.approx(0.900_03, abs=1e-5)
    for k, n in _wilson_cases():
        expected = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
        assert binomial.wilson(k, n) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_wilson_over_arrays_equals_each_scalar():
    cases = _wilson_cases()
    k, n = (np.array(column) for column in zip(*cases, strict=True))
    lows, highs = binomial.wilson(k, n)
    for i, (one_k, one_n) in enumerate(cases):
        assert (lows[i], highs[i]) == binomial.wilson(one_k, one_n)


# --- the Poisson binomial ------------------------------------------------------------------


def _by_convolution(probabilities) -> np.ndarray:
    pmf = np.ones(1)
    for p in probabilities:
        pmf = np.convolve(pmf, [1 - p, p])
    return pmf


def test_hits_of_ranges_at_several_levels_are_scipys_poisson_binomial():
    rng = np.random.default_rng(SEED)
    for _ in range(100):
        size = int(rng.integers(1, 120))
        levels = rng.choice([0.5, 0.8, 0.9, 0.95, 0.99], size=size)
        ours = binomial.hits_pmf(levels)
        np.testing.assert_allclose(
            ours, stats.poisson_binom(levels).pmf(np.arange(size + 1)), rtol=1e-9, atol=1e-15
        )
        np.testing.assert_allclose(ours, _by_convolution(levels), rtol=1e-9, atol=1e-15)


def test_poisson_binomial_of_many_ranges_uses_the_fft_and_stays_exact():
    """Over 4 million products, the convolution goes through the FFT."""
    levels = np.repeat([0.5, 0.9], 3_000)
    ours = binomial.hits_pmf(levels)
    expected = np.convolve(
        stats.binom.pmf(np.arange(3_001), 3_000, 0.5),
        stats.binom.pmf(np.arange(3_001), 3_000, 0.9),
    )
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-14)
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)


def test_the_coverage_p_value_is_the_poisson_binomial_cdf():
    rng = np.random.default_rng(SEED)
    for _ in range(50):
        size = int(rng.integers(5, 80))
        conf = rng.choice([0.5, 0.8, 0.9], size=size)
        low = rng.uniform(1, 2, size)
        high = low * rng.uniform(1.5, 3, size)
        actual = low * rng.uniform(0.3, 4, size)
        summary = ranges.range_summary(low, high, actual, conf)
        hits = summary["hits"]
        reference = stats.poisson_binom(conf)
        assert summary["p_value"] == pytest.approx(reference.cdf(hits), rel=1e-9, abs=1e-15)
        assert summary["p_value_wide"] == pytest.approx(reference.sf(hits - 1), rel=1e-9, abs=1e-15)


# --- Theil-Sen -----------------------------------------------------------------------------


def _theil_sen_cases():
    rng = np.random.default_rng(SEED)
    for _ in range(200):
        n = int(rng.integers(3, 60))
        x = np.sort(rng.choice(200, size=n, replace=False)).astype(float)  # weeks: no ties
        y = 0.9 - 0.004 * x + rng.normal(0, rng.uniform(0.01, 0.5), n)  # no ties in y either
        yield x, y


def test_theil_sen_slope_and_intercept_equal_scipys():
    for x, y in _theil_sen_cases():
        ours = trends.theil_sen(x, y)
        joint = stats.theilslopes(y, x, alpha=0.90, method="joint")
        assert ours["slope"] == joint.slope
        assert ours["intercept"] == pytest.approx(joint.intercept, rel=1e-12, abs=1e-12)


def test_theil_sen_interval_is_scipys_rounded_outward():
    """The interval is Sen (1968) eq. 2.6 at z = Phi^-1(0.95), as
    ``scipy.stats.theilslopes(alpha=0.90)`` computes it (both without ties,
    where scipy's tie correction is zero). The two differ only in rounding the
    order statistics' ranks (N -+ C) / 2: scipy to the nearest, calibrate
    outward (floor below, ceil above), so calibrate's interval is scipy's or
    one order statistic wider at each end, never narrower."""
    same = wider = 0
    for x, y in _theil_sen_cases():
        ours = trends.theil_sen(x, y)
        scipy_line = stats.theilslopes(y, x, alpha=0.90)
        i, j = np.triu_indices(x.size, k=1)
        slopes = np.sort((y[j] - y[i]) / (x[j] - x[i]))
        n, pairs = x.size, slopes.size
        c = stats.norm.ppf(0.95) * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
        low_rank, high_rank = (pairs - c) / 2, (pairs + c) / 2
        scipy_low = max(round(low_rank) - 1, 0)
        scipy_high = min(round(high_rank), pairs - 1)
        ours_low = min(max(math.floor(low_rank) - 1, 0), pairs - 1)
        ours_high = min(max(math.ceil(high_rank), 0), pairs - 1)
        assert (scipy_line.low_slope, scipy_line.high_slope) == (
            slopes[scipy_low],
            slopes[scipy_high],
        )
        assert (ours["low"], ours["high"]) == (slopes[ours_low], slopes[ours_high])
        assert scipy_low - ours_low in (0, 1) and ours_high - scipy_high in (0, 1)
        assert ours["low"] <= scipy_line.low_slope and ours["high"] >= scipy_line.high_slope
        if (ours_low, ours_high) == (scipy_low, scipy_high):
            same += 1
        else:
            wider += 1
    print(f"\nTheil-Sen: {same} intervals as scipy, {wider} one rank wider")
    assert same > 30 and wider > 30  # both cases are exercised


def test_trend_summary_uses_the_interval_level():
    x = np.arange(12, dtype=float)
    y = 1.0 - 0.03 * x + np.random.default_rng(SEED).normal(0, 0.02, x.size)
    assert trends.theil_sen(x, y) == trends.theil_sen(x, y, rules.INTERVAL_LEVEL)


# --- the Beta and t distributions (the keep rate's and the score's intervals) ------------


def test_regularised_incomplete_beta_equals_scipy():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(SEED)
    a = np.concatenate([rng.uniform(0.05, 5, 300), rng.uniform(5, 5_000, 300)])
    b = np.concatenate([rng.uniform(0.05, 5, 300), rng.uniform(5, 5_000, 300)])
    rng.shuffle(b)
    x = rng.uniform(0, 1, a.size)
    x[:5] = [0.0, 1.0, 1e-12, 1 - 1e-12, 0.5]
    np.testing.assert_allclose(
        distributions.betainc(a, b, x), special.betainc(a, b, x), rtol=1e-9, atol=1e-12
    )
    for i in range(0, a.size, 7):  # the scalar path gives the same
        assert distributions.betainc(a[i], b[i], x[i]) == pytest.approx(
            special.betainc(a[i], b[i], x[i]), rel=1e-9, abs=1e-12
        )


def test_beta_quantiles_equal_scipy():
    """The keep rate's interval: 5% and 95% quantiles of Beta(k + 4p, n - k + 4(1 - p))
    and of Jeffreys' Beta(k + 1/2, n - k + 1/2), over the counts promises come in."""
    cases = []
    for n in (1, 2, 5, 10, 20, 35, 100, 1_000, 20_000):
        for k in sorted({0, 1, n // 2, n - 1, n}):
            for p in (0.02, 0.5, 0.9, 0.98):
                cases.append((k + 4 * p, n - k + 4 * (1 - p)))
            cases.append((k + 0.5, n - k + 0.5))
    a, b = (np.array(column) for column in zip(*cases, strict=True))
    for q in (0.05, 0.5, 0.95):
        ours = distributions.beta_ppf(q, a, b)
        np.testing.assert_allclose(ours, stats.beta.ppf(q, a, b), rtol=1e-9, atol=1e-12)
    for a_one, b_one in cases[::5]:
        assert distributions.beta_ppf(0.05, a_one, b_one) == pytest.approx(
            stats.beta.ppf(0.05, a_one, b_one), rel=1e-9, abs=1e-12
        )


def test_t_quantiles_equal_scipy():
    """t(0.95, n - 1) of the score's interval, for every n a score is given at."""
    for df in [*range(1, 400), 999, 10_000]:
        assert distributions.t_ppf(0.95, df) == pytest.approx(stats.t.ppf(0.95, df), rel=1e-9)
    # a million tasks: lgamma's rounding at a = 500,000 leaves 1e-9 of the quantile
    assert distributions.t_ppf(0.95, 1e6) == pytest.approx(stats.t.ppf(0.95, 1e6), rel=1e-8)
    for p in (0.5, 0.6, 0.975, 0.05):
        assert distributions.t_ppf(p, 7) == pytest.approx(stats.t.ppf(p, 7), rel=1e-9, abs=1e-15)
    ours = distributions.t_ppf_array(0.95, np.array([9, 29, 0, 99]))
    assert ours[1] == pytest.approx(stats.t.ppf(0.95, 29), rel=1e-9) and np.isnan(ours[2])
