"""The metrics library (METRICS.md sections 1-4 and 6): known answers worked out
by hand, laws that must hold for any data, a simulated calibrated person, and
the published figures of the real SiP dataset."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate import durations, rules
from calibrate.stats import binomial, distributions, drift, metrics, promises, ranges, trends
from tests.support.data import requires_shared_data, sip_tasks

approx = pytest.approx

# --- section 1: point estimates -------------------------------------------------


def test_log_ratio_is_log2_of_actual_over_estimate_and_nan_when_not_counted():
    r = metrics.log_ratio([2, 4, 0, 3, 1], [4, 1, 2, np.nan, -1])
    assert r[:2] == approx([1.0, -2.0])
    assert np.isnan(r[2:]).all()


def test_point_summary_known_answer():
    # r = 1, 0, -1, 4 (clipped to 3): |clip r| = 1, 0, 1, 3
    s = metrics.point_summary([1, 1, 1, 1], [2, 1, 0.5, 16])
    assert s["n"] == 4
    assert s["bias"] == approx(0.5)  # median of 1, 0, -1, 4
    assert s["bias_factor"] == approx(math.sqrt(2))
    assert s["malr"] == approx(5 / 4)
    assert s["typical_miss"] == approx(2**1.25)
    assert s["sum_abs"] == approx(5.0)
    assert s["sum_sq"] == approx(11.0)
    assert s["within_25"] == approx(0.25)
    assert (s["over"], s["exact"], s["under"]) == approx((0.5, 0.25, 0.25))
    assert s["score_raw"] is None  # no score below 10 tasks


def test_within_25_bounds_are_inclusive():
    # 4/5 = 0.8 and 5/4 = 1.25 are in; 0.79 and 1.26 are out
    s = metrics.point_summary([5, 4, 100, 100], [4, 5, 79, 126])
    assert s["within_25"] == approx(0.5)


def test_exact_band_is_one_hundredth_of_a_log2():
    estimate = np.ones(4)
    actual = np.exp2([0.01, -0.01, 0.0101, -0.0101])
    s = metrics.point_summary(estimate, actual)
    assert (s["over"], s["exact"], s["under"]) == approx((0.25, 0.5, 0.25))


def test_clipping_limits_one_disaster_to_a_factor_of_eight():
    s = metrics.point_summary([1, 1], [1000, 1])
    assert s["malr"] == approx(1.5)  # (3 + 0) / 2


def test_empty_and_uncounted_input_give_none_not_nan():
    for estimate, actual in (([], []), ([0, 1], [1, 0])):
        s = metrics.point_summary(estimate, actual)
        assert s["n"] == 0
        assert s["sum_abs"] == 0.0
        assert all(s[k] is None for k in ("bias", "malr", "within_25", "over", "score_raw"))


def test_size_buckets_have_inclusive_upper_bounds():
    buckets = rules.size_buckets([0.5, 1, 1.5, 2, 3, 8, 16, 17])
    assert buckets.tolist() == [0, 0, 1, 1, 2, 3, 4, 5]
    rows = metrics.by_size([1, 1, 20], [2, 2, 10])
    assert [row["bucket"] for row in rows] == list(rules.SIZE_LABELS)
    assert rows[0]["n"] == 2 and rows[0]["malr"] == approx(1.0)
    assert rows[5]["n"] == 1 and rows[5]["bias"] == approx(-1.0)
    assert rows[2]["n"] == 0 and rows[2]["malr"] is None


def test_point_stats_by_equals_point_summary_per_group():
    rng = np.random.default_rng(3)
    people = rng.choice(["ann", "bob", "cy"], 300)
    estimate = rng.choice([0.5, 1, 2, 4, 8], 300)
    actual = estimate * np.exp2(rng.normal(0, 1, 300))
    stats = metrics.point_stats_by(people, estimate, actual)
    for person in ("ann", "bob", "cy"):
        mine = people == person
        one = metrics.point_summary(estimate[mine], actual[mine])
        row = stats.loc[person]
        for key in ("n", "bias", "malr", "within_25", "over", "exact", "under", "sum_sq"):
            assert row[key] == approx(one[key]), key
        assert row["score_raw"] == approx(one["score_raw"])


# --- section 2: the score ----------------------------------------------------------


T90_9 = 1.8331129326536335  # t(0.95, 9), scipy.stats.t.ppf(0.95, 9)
T90_39 = 1.6848751217112248  # t(0.95, 39)


def test_score_known_answers():
    # ten tasks each off by exactly 2x: m = 1, sd = 0, no drift
    assert metrics.score_from_stats(10, 10.0, 10.0) == approx((50.0, 50.0, 50.0))
    # shrunk toward a perfect team: m = (10 * 1 + 10 * 0) / 20
    score, low, high = metrics.score_from_stats(10, 10.0, 10.0, prior_malr=0.0)
    assert score == approx(100 * 2**-0.5)
    assert low == high == approx(score)


def test_score_interval_by_hand_under_30_tasks_is_the_log_form():
    # |clip r| = 0, 1, 0, 1, ... (n = 10): m = 0.5, sd = sqrt(2.5 / 9)
    n, sum_abs, sum_sq = 10, 5.0, 5.0
    sd = math.sqrt(2.5 / 9)
    se = sd / math.sqrt(10)
    score, low, high = metrics.score_from_stats(n, sum_abs, sum_sq)
    assert score == approx(100 * 2**-0.5)
    assert low == approx(100 * 2 ** -(0.5 * math.exp(T90_9 * se / 0.5)))
    assert high == approx(100 * 2 ** -(0.5 * math.exp(-T90_9 * se / 0.5)))
    # shrunk toward a team at 1.0 with n0 = 10: m_s = 0.75, se over n + n0
    se = sd / math.sqrt(20)
    score, low, high = metrics.score_from_stats(n, sum_abs, sum_sq, prior_malr=1.0)
    assert score == approx(100 * 2**-0.75)
    assert low == approx(100 * 2 ** -(0.75 * math.exp(T90_9 * se / 0.75)))
    assert high == approx(100 * 2 ** -(0.75 * math.exp(-T90_9 * se / 0.75)))


def test_score_interval_with_drift_by_hand():
    # 40 tasks: m = 0.5, sd = sqrt(10 / 39); the symmetric form from 30 tasks
    n, sum_abs, sum_sq = 40, 20.0, 20.0
    sd2 = 10 / 39
    drift_var = drift.person_drift(40)
    assert drift_var == approx(rules.DRIFT_PERSON_TAU2 * 252 / 292)
    raw, raw_low, raw_high = metrics.score_from_stats(n, sum_abs, sum_sq, drift=drift_var)
    half = T90_39 * math.sqrt(sd2 / 40 + drift_var)
    assert (raw, raw_low, raw_high) == approx(
        (100 * 2**-0.5, 100 * 2 ** -(0.5 + half), 100 * 2 ** -(0.5 - half))
    )
    # shrunk: the point carries (n / (n + n0))^2 of the window's drift
    score, low, high = metrics.score_from_stats(n, sum_abs, sum_sq, 1.0, drift_var)
    m_s = (40 * 0.5 + 10 * 1.0) / 50
    half = T90_39 * math.sqrt(sd2 / 50 + drift_var * (40 / 50) ** 2)
    assert (score, low, high) == approx(
        (100 * 2**-m_s, 100 * 2 ** -(m_s + half), 100 * 2 ** -(m_s - half))
    )


def test_score_interval_never_shows_above_100():
    # nine exact hits and one 8x miss, with drift: m_s - t se < 0 from 30 tasks
    score, low, high = metrics.score_from_stats(30, 3.0, 9.0, drift=0.06)
    assert high == 100.0
    assert low < score < high
    # the log form of a perfect record: m_s floored at 0.01, the interval still holds it
    assert metrics.score_from_stats(10, 0.0, 0.0) == (100.0, 100.0, 100.0)
    score, low, high = metrics.score_from_stats(10, 0.0, 0.0, drift=0.06)
    assert low < score == high == 100.0


def test_prior_leaves_small_groups_to_the_fallback():
    assert metrics.prior_malr(30, 15.0, 0.9) == 0.5
    assert metrics.prior_malr(29, 15.0, 0.9) == 0.9
    assert metrics.prior_malr(np.array([0, 40]), np.array([0.0, 8.0]), 1.1) == approx([1.1, 0.2])


def test_no_score_below_ten_tasks():
    assert metrics.score_from_stats(9, 9.0, 9.0) == (None, None, None)
    assert metrics.score_from_stats(0, 0.0, 0.0, prior_malr=0.5) == (None, None, None)
    assert [metrics.score_status(n) for n in (0, 9, 10, 29, 30)] == [
        "not enough history",
        "not enough history",
        "provisional",
        "provisional",
        "ranked",
    ]


def test_score_from_stats_is_vectorised():
    n = np.array([5, 10, 40])
    sum_abs = np.array([5.0, 5.0, 20.0])
    sum_sq = np.array([5.0, 5.0, 30.0])
    team = np.array([0.7, 0.7, np.nan])  # NaN: no shrinkage
    drift_var = drift.person_drift(n)
    scores, lows, highs = metrics.score_from_stats(n, sum_abs, sum_sq, team, drift_var)
    assert np.isnan(scores[0]) and np.isnan(lows[0]) and np.isnan(highs[0])
    for i in (1, 2):
        one = metrics.score_from_stats(
            int(n[i]),
            sum_abs[i],
            sum_sq[i],
            None if np.isnan(team[i]) else team[i],
            drift.person_drift(int(n[i])),
        )
        assert (scores[i], lows[i], highs[i]) == approx(one)


def test_padding_flags_fire_only_far_above_the_team():
    flags = metrics.padding_flags(40, exact=0.6, under=0.35, team_exact=0.3, team_under=0.36)
    assert flags["exact_hits"]["flag"] is True
    assert flags["early"]["flag"] is False
    assert metrics.padding_flags(5, 0.9, 0.9, 0.1, 0.1)["early"]["flag"] is None


# --- binomial helpers and section 3: ranges ---------------------------------------------


def test_wilson_known_value_and_empty():
    low, high = binomial.wilson(8, 10)
    assert (low, high) == approx((0.54077, 0.93145), abs=1e-5)
    assert binomial.wilson(0, 0) == (None, None)
    lows, highs = binomial.wilson(np.array([0, 10]), np.array([10, 10]))
    assert lows[0] == 0.0 and highs[1] == 1.0


def test_binomial_known_values():
    assert binomial.binomial_pmf(4, 0.5) == approx(np.array([1, 4, 6, 4, 1]) / 16)
    assert binomial.binomial_cdf(1, 3, 0.5) == approx(0.5)
    assert binomial.binomial_pmf(100_000, 0.9).sum() == approx(1.0)
    # Poisson binomial of one 50% and one 90% task
    assert binomial.hits_pmf([0.5, 0.9]) == approx([0.05, 0.5, 0.45])


def test_range_summary_known_answer():
    # range 1h..2h at 90%: log2 range [0, 1], centre 0.5, halfwidth 0.5
    s = ranges.range_summary([1, 1, 1, 1], [2, 2, 2, 2], [1.5, 0.5, 3, 2])
    assert (s["n"], s["hits"], s["below"], s["above"]) == (4, 2, 1, 1)
    assert s["hit_rate"] == 0.5
    assert (s["miss_below"], s["miss_above"]) == (0.25, 0.25)
    assert s["nominal"] == approx(0.9)
    assert s["p_value"] == approx(1 - 4 * 0.9**3 * 0.1 - 0.9**4)  # P(X <= 2 | 4, 0.9)
    assert s["verdict"] == "calibrated"  # 0.0523: not below 0.05
    # interval scores: 1, 1 + 20 * 1, 1 + 20 * log2(1.5), 1
    assert s["interval_score"] == approx((1 + 21 + 1 + 20 * math.log2(1.5) + 1) / 4)
    # |y - centre| / halfwidth = 0.17, 3, 2.17, 1: the ceil(5 * 90 / 100) = 5th
    # smallest of 4 does not exist: not enough ranges to say
    assert s["widen_factor"] is None
    (level,) = s["levels"]
    assert level["confidence"] == approx(0.9) and level["hits"] == 2
    assert level["widen_factor"] is None
    # at 75%: the ceil(5 * 75 / 100) = 4th smallest, 3.0
    s = ranges.range_summary([1, 1, 1, 1], [2, 2, 2, 2], [1.5, 0.5, 3, 2], confidence=0.75)
    assert s["widen_factor"] == approx(3.0) == s["levels"][0]["widen_factor"]


def test_widen_factor_is_the_conformal_order_statistic():
    spreads = np.arange(1, 21) / 10  # 0.1 .. 2.0
    assert rules.conformal_rank(20, 90) == 19
    assert ranges.widen_factor(spreads, 90) == approx(1.9)
    assert ranges.widen_factor(spreads[:9], 90) == approx(0.9)  # ceil(10 * 0.9) = 9 of 9
    assert ranges.widen_factor(spreads[:8], 90) is None  # ceil(9 * 0.9) = 9 of 8
    assert rules.conformal_rank(10, 87.5) == 10  # ceil(11 * 0.875) = ceil(9.625)
    # from a summary's histogram: the bin's upper edge, within its width
    bins = ranges.spread_bins(spreads)
    pairs = [[int(b), 1] for b in bins]
    assert ranges.widen_from_bins(pairs, 90) == approx(1.9, abs=rules.SPREAD_BIN)
    assert ranges.widen_from_bins(pairs, 90) >= ranges.widen_factor(spreads, 90) - 1e-12
    assert ranges.spread_bins([1e6])[0] == round(rules.SPREAD_CAP / rules.SPREAD_BIN)


def test_range_bounds_hold_with_the_slack():
    # a timer total equal to the high bound (up to rounding) is inside
    s = ranges.range_summary([1.0], [2.0], [2.0 * (1 + 1e-12)])
    assert s["hits"] == 1
    s = ranges.range_summary([1.0], [2.0], [1.0 * (1 - 1e-12)])
    assert s["hits"] == 1


def test_range_verdicts_too_narrow_and_too_wide():
    low, high = np.ones(40), np.full(40, 2.0)
    narrow = ranges.range_summary(low, high, np.r_[np.full(20, 1.5), np.full(20, 3.0)])
    assert narrow["verdict"] == "too narrow" and narrow["p_value"] < 1e-6
    assert narrow["widen_factor"] > 1
    wide = ranges.range_summary(low, high, np.full(40, 1.5), confidence=0.5)
    assert wide["verdict"] == "too wide"
    assert wide["widen_factor"] < 1


def test_range_summary_without_ranges_gives_none():
    s = ranges.range_summary([np.nan, 2], [np.nan, 1], [1, 1])  # none valid
    assert s["n"] == 0 and s["hits"] == 0
    assert s["hit_rate"] is None and s["verdict"] is None and s["widen_factor"] is None


def test_binomial_band_brackets_the_nominal_share():
    low, high = binomial.binomial_band(100, 0.9)
    assert low < 0.9 < high
    assert (low, high) == approx((0.85, 0.95), abs=0.011)


# --- section 4: promises -------------------------------------------------------------------

NAT = np.datetime64("NaT")


def outcomes(rows, today=date(2026, 12, 10), **calendar):
    """rows: (status, promise_h, due, done_date, actual_h)."""
    status, promise, due, done, actual = zip(*rows, strict=True)
    return promises.promise_outcomes(
        status=list(status),
        promise_h=[np.nan if p is None else p for p in promise],
        due=[NAT if d is None else np.datetime64(d) for d in due],
        done_date=[NAT if d is None else np.datetime64(d) for d in done],
        actual_h=[np.nan if a is None else a for a in actual],
        today=today,
        **calendar,
    )


def test_effort_promises_kept_exceeded_and_broken():
    frame = outcomes(
        [
            ("done", 5.0, None, "2026-12-01", 4.0),  # kept, exactly 0.8x: exceeded
            ("done", 5.0, None, "2026-12-01", 4.5),  # kept
            ("done", 5.0, None, "2026-12-01", 6.0),  # broken
            ("done", 6.0, None, "2026-12-01", 2.0),  # kept, slack 3
            ("open", 6.0, None, None, None),  # not finished: no cost
        ]
    )
    assert frame["resolved"].tolist() == [True] * 4 + [False]
    assert frame["kept"].tolist() == [True, True, False, True, False]
    assert frame["exceeded"].tolist() == [True, False, False, True, False]
    # the promise cost over all effort promises on finished tasks, kept or not
    assert frame["slack"].tolist()[:4] == approx([5 / 4, 5 / 4.5, 5 / 6, 3.0])
    assert np.isnan(frame["slack"][4])
    assert frame["promised_h"].tolist()[:4] == [5.0, 5.0, 5.0, 6.0]
    assert frame["effort_h"].tolist()[:4] == [4.0, 4.5, 6.0, 2.0]


def test_date_promises_and_working_days():
    # 2026-12-04 is a Friday, 12-05 a Saturday, 12-07 a Monday
    frame = outcomes(
        [
            ("done", None, "2026-12-04", "2026-12-04", 3.0),  # on the day: kept
            ("done", None, "2026-12-04", "2026-12-03", 3.0),  # a working day early: exceeded
            ("done", None, "2026-12-07", "2026-12-04", 3.0),  # Friday for Monday: exceeded
            ("done", None, "2026-12-07", "2026-12-05", 3.0),  # Saturday for Monday: exceeded
            ("done", None, "2026-12-04", "2026-12-05", 3.0),  # late: broken
            ("done", 2.0, "2026-12-04", "2026-12-03", 3.0),  # on time but over effort: broken
        ]
    )
    assert frame["kept"].tolist() == [True, True, True, True, False, False]
    assert frame["exceeded"].tolist() == [False, True, True, True, False, False]
    four_day_week = outcomes(
        [("done", None, "2026-12-04", "2026-12-03", 3.0)], weekmask="Mon Tue Wed Thu"
    )
    assert four_day_week["kept"].all() and not four_day_week["exceeded"].any()
    holiday = outcomes([("done", None, "2026-12-04", "2026-12-03", 3.0)], holidays=["2026-12-04"])
    assert not holiday["exceeded"].any()


def test_open_dropped_and_unpromised_tasks():
    frame = outcomes(
        [
            ("open", None, "2026-12-09", None, None),  # past due yesterday: broken
            ("started", None, "2026-12-10", None, None),  # due today: not yet due
            ("open", 5.0, None, None, None),  # effort promise, not done: not due
            ("dropped", 5.0, None, "2026-12-02", None),  # dropped with a promise: broken
            ("dropped", None, None, "2026-12-02", None),  # no promise
            ("done", None, None, "2026-12-02", 3.0),  # no promise
        ],
        today=date(2026, 12, 10),
    )
    assert frame["has_promise"].tolist() == [True, True, True, True, False, False]
    assert frame["resolved"].tolist() == [True, False, False, True, False, False]
    assert frame["broken"].tolist() == [True, False, False, True, False, False]


def test_promise_summary_rates_shrinkage_and_advice():
    frame = outcomes(
        [("done", 5.0, None, "2026-12-01", 4.5)] * 8 + [("done", 5.0, None, "2026-12-01", 9.0)] * 2
    )
    s = promises.promise_summary(frame, logged=40, promised=10, rest_kept=90, rest_due=100)
    assert s["promise_rate"] == 0.25
    assert (s["due"], s["kept"], s["broken"], s["exceeded"]) == (10, 8, 2, 0)
    assert s["keep_rate_raw"] == 0.8
    # the posterior Beta(8 + 4 * 0.9, 2 + 4 * 0.1): its mean and 5% / 95% quantiles
    a, b = 8 + 3.6, 2 + 0.4
    assert s["keep_rate"] == approx(a / (a + b))
    assert s["keep_low"] == approx(distributions.beta_ppf(0.05, a, b))
    assert s["keep_high"] == approx(distributions.beta_ppf(0.95, a, b))
    assert s["keep_low"] < s["keep_rate"] < s["keep_high"]
    assert s["keep_prior"] == "team" and s["team_keep_rate"] == 0.9 and s["team_due"] == 100
    raw_low, raw_high = binomial.wilson(8, 10)
    assert (s["keep_raw_low"], s["keep_raw_high"]) == (raw_low, raw_high)
    assert s["exceed_rate"] == 0.0
    # the cost over all effort promises on finished tasks: median and total
    assert s["slack"] == approx(5 / 4.5) and s["slack_n"] == 10
    assert s["slack_total"] == approx(50 / 54)
    assert s["gauges"]["promise_rate"]["status"] == "in band"
    assert s["gauges"]["keep_rate"]["status"] == "below"  # 0.83 < 0.85
    assert s["gauges"]["exceed_rate"]["status"] == "below"
    # fewer than 20 promises due in the rest of the team: Jeffreys
    alone = promises.promise_summary(frame, logged=40, promised=10, rest_kept=5, rest_due=19)
    assert alone["keep_prior"] == "jeffreys"
    assert alone["keep_rate"] == approx(8.5 / 11)
    assert alone["keep_low"] == approx(distributions.beta_ppf(0.05, 8.5, 2.5))
    # the team's rate is clamped to [0.02, 0.98]
    perfect = promises.keep_posterior(8, 10, 100, 100)
    assert perfect[0] == approx((8 + 4 * 0.98) / 14)
    assert promises.keep_posterior(0, 0, 90, 100) == (None, None, None)


def test_promise_advice_lines():
    broken = outcomes([("done", 5.0, None, "2026-12-01", 9.0)] * 3)
    many = promises.promise_summary(broken, logged=10, promised=6)
    assert any("promise less" in line for line in many["advice"])
    assert any("P90" in line for line in many["advice"])
    none = promises.promise_summary(None, logged=10, promised=0)
    assert none["keep_rate"] is None and none["exceed_rate"] is None
    assert any("make some" in line for line in none["advice"])
    empty = promises.promise_summary(None, logged=0, promised=0)
    assert empty["promise_rate"] is None and empty["advice"] == []
    assert empty["gauges"]["promise_rate"]["status"] is None


def test_the_keep_advice_speaks_of_the_rate_shown_not_of_the_share_kept():
    """Found trying the README as a new user: one promise, kept, reads 75% (the
    Jeffreys prior of section 4) and was told "Fewer than 80% of your
    promises are kept"; the words now say what is true."""
    one = promises.promise_summary(
        outcomes([("done", 5.0, None, "2026-12-01", 4.5)]), logged=2, promised=1
    )
    assert one["kept"] == 1 and one["keep_rate"] == approx(0.75)
    assert (
        "Your keep rate reads under 80%: promise at your P90 (see 'calibrate suggest')."
        in (one["advice"])
    )
    assert not any("are kept" in line for line in one["advice"])


# --- section 6: trends -----------------------------------------------------------------------


def test_week_index_counts_monday_weeks():
    weeks = durations.week_index(
        np.array(["2026-11-30", "2026-12-06", "2026-12-07", "NaT"], dtype="datetime64[D]")
    )
    assert weeks[1] == weeks[0] and weeks[2] == weeks[0] + 1 and weeks[3] == -1
    assert durations.week_monday(int(weeks[0])) == date(2026, 11, 30)


def test_weekly_trend_rolls_eight_weeks():
    weeks = [0, 0, 1, 9]
    r = [1.0, -1.0, 0.0, 2.0]
    frame = trends.weekly_trend(weeks, r, first_week=0, last_week=9)
    assert frame["week"].tolist() == list(range(10))
    assert frame["n_week"].tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert frame["n"].tolist() == [2, 3, 3, 3, 3, 3, 3, 3, 1, 1]  # week 8 drops week 0
    assert frame["malr"][0] == approx(1.0) and frame["malr"][1] == approx(2 / 3)
    assert frame["malr"][8] == approx(0.0) and frame["malr"][9] == approx(2.0)
    assert frame["bias"][1] == approx(0.0) and frame["bias"][9] == approx(2.0)
    assert frame["within_25"][1] == approx(1 / 3)
    assert np.isnan(frame["m_week"][2]) and frame["m_week"][9] == approx(2.0)
    assert frame["faded"].all()


def test_weekly_trend_empty():
    assert trends.weekly_trend([], []).empty
    frame = trends.weekly_trend([], [], first_week=3, last_week=4)
    assert frame["n"].tolist() == [0, 0] and frame["malr"].isna().all()


def test_theil_sen_known_answers():
    line = trends.theil_sen([0, 1, 2, 3], [1, 3, 5, 7])
    assert (line["slope"], line["low"], line["high"], line["intercept"]) == approx((2, 2, 2, 1))
    robust = trends.theil_sen([0, 1, 2, 3, 4], [0, 1, 2, 3, 100])
    assert robust["slope"] == approx(1.0) and robust["intercept"] == approx(0.0)
    assert trends.theil_sen([1], [1])["slope"] is None


def test_trend_summary_verdicts():
    rng = np.random.default_rng(7)
    weeks = np.repeat(np.arange(20), 6)
    improving = np.abs(rng.normal(0, 1.5 - 0.06 * weeks))
    frame = trends.weekly_trend(weeks, improving)
    summary = trends.trend_summary(frame)
    assert summary["verdict"] == "improving" and summary["high"] < 0
    flat = trends.trend_summary(trends.weekly_trend(weeks, rng.normal(0, 1, weeks.size)))
    assert flat["verdict"] == "no clear change" and flat["low"] <= 0 <= flat["high"]
    short = trends.trend_summary(trends.weekly_trend([0, 1, 2], [1, 1, 1]))
    assert short["verdict"] is None and short["weeks_used"] == 3


# --- laws ------------------------------------------------------------------------------------

hours = st.integers(min_value=1, max_value=6000).map(lambda minutes: minutes / 60)
tasks = st.lists(st.tuples(hours, hours), min_size=1, max_size=60)
SCORE_KEYS = (
    "n",
    "bias",
    "malr",
    "typical_miss",
    "score_raw",
    "within_25",
    "over",
    "exact",
    "under",
    "sum_abs",
    "sum_sq",
)


def _same(a: dict, b: dict) -> None:
    for key in SCORE_KEYS:
        if a[key] is None:
            assert b[key] is None, key
        else:
            assert b[key] == approx(a[key], rel=1e-9, abs=1e-12), key


@settings(max_examples=60, deadline=None)
@given(tasks, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_every_estimate_and_actual_changes_no_score(pairs, factor):
    estimate, actual = (np.array(column) for column in zip(*pairs, strict=True))
    before = metrics.point_summary(estimate, actual)
    after = metrics.point_summary(estimate * factor, actual * factor)
    _same(before, after)
    low, high = estimate / 2, estimate * 2
    ranges_before = ranges.range_summary(low, high, actual)
    ranges_after = ranges.range_summary(low * factor, high * factor, actual * factor)
    assert ranges_after["hits"] == ranges_before["hits"]
    assert ranges_after["interval_score"] == approx(ranges_before["interval_score"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(hours, hours), min_size=2, max_size=60).flatmap(
        lambda pairs: st.tuples(st.just(pairs), st.permutations(range(len(pairs))))
    )
)
def test_reordering_tasks_changes_nothing(case):
    pairs, order = case
    estimate, actual = (np.array(column) for column in zip(*pairs, strict=True))
    order = np.array(order)
    _same(
        metrics.point_summary(estimate, actual),
        metrics.point_summary(estimate[order], actual[order]),
    )
    weeks = np.arange(len(pairs)) % 5
    r = metrics.log_ratio(estimate, actual)
    pd.testing.assert_frame_equal(
        trends.weekly_trend(weeks, r), trends.weekly_trend(weeks[order], r[order])
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(hours, min_size=10, max_size=80))
def test_a_perfect_person_scores_100_and_padding_by_2x_scores_50(actuals):
    actual = np.array(actuals)
    perfect = metrics.point_summary(actual, actual)
    assert perfect["score_raw"] == 100.0 and perfect["typical_miss"] == 1.0
    assert metrics.score_from_stats(
        perfect["n"], perfect["sum_abs"], perfect["sum_sq"], prior_malr=perfect["malr"]
    ) == (100.0, 100.0, 100.0)
    padded = metrics.point_summary(2 * actual, actual)
    assert padded["typical_miss"] == 2.0
    assert padded["score_raw"] == 50.0
    assert padded["under"] == 1.0 and padded["bias_factor"] == 0.5


# --- simulation: a calibrated synthetic person -----------------------------------------------

Z80 = 1.2815515655446004  # 90th percentile of the standard normal


def _simulated_person(seed: int, width_factor: float, n: int = 400):
    """Actuals drawn from exactly the log-normal that 80% ranges of the given
    width describe (width_factor 1: the ranges are honest)."""
    rng = np.random.default_rng(seed)
    estimate = rng.choice([1, 2, 3, 4, 6, 8, 12, 16], n).astype(float)
    sigma = rng.uniform(0.4, 1.2, n)  # log2 spread, task by task
    actual = estimate * np.exp2(rng.normal(0, sigma))
    half = Z80 * sigma * width_factor
    return estimate * np.exp2(-half), estimate * np.exp2(half), actual


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_calibrated_person_hits_near_80_percent_and_is_not_called_narrow(seed):
    low, high, actual = _simulated_person(seed, 1.0)
    s = ranges.range_summary(low, high, actual, confidence=0.8)
    assert 0.74 <= s["hit_rate"] <= 0.86
    assert s["hit_low"] <= 0.8 <= s["hit_high"]
    assert s["verdict"] != "too narrow"
    assert 0.85 <= s["widen_factor"] <= 1.15


def test_a_person_with_half_width_ranges_is_called_too_narrow():
    low, high, actual = _simulated_person(4, 0.5)
    s = ranges.range_summary(low, high, actual, confidence=0.8)
    assert s["hit_rate"] < 0.6
    assert s["verdict"] == "too narrow"
    assert 1.7 <= s["widen_factor"] <= 2.3


# --- the real SiP data: METRICS.md's published figures ---------------------------------------


@pytest.mark.realdata
@requires_shared_data("sip/Sip-task-info.csv")
def test_sip_reproduces_the_published_figures():
    sip = sip_tasks()
    s = metrics.point_summary(sip["HoursEstimate"], sip["HoursActual"])
    assert s["n"] == 10_266
    assert s["bias_factor"] == approx(1.00, abs=0.005)
    assert round(s["within_25"], 3) == 0.476
    assert [round(s[k], 2) for k in ("over", "exact", "under")] == [0.30, 0.34, 0.36]
    assert round(s["malr"], 3) == 0.692
    assert round(s["score_raw"], 1) == 61.9
    assert round(s["ratio_p10"], 2) == 0.36 and round(s["ratio_p90"], 1) == 2.0
    pooled = metrics.score_from_stats(s["n"], s["sum_abs"], s["sum_sq"])
    assert round(pooled[0], 1) == 61.9
    # developers with 30+ tasks range 37.6-76.8, raw (METRICS.md section 2)
    people = metrics.point_stats_by(
        sip["DeveloperID"].to_numpy(), sip["HoursEstimate"], sip["HoursActual"]
    )
    people = people[people["n"] >= 30]
    scores, _, _ = metrics.score_from_stats(
        people["n"].to_numpy(), people["sum_abs"].to_numpy(), people["sum_sq"].to_numpy()
    )
    assert round(scores.min(), 1) == 37.6 and round(scores.max(), 1) == 76.8
