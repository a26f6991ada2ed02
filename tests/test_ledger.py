"""The tool grades itself (METRICS.md section 8): the advice ledger and the
forecast ledger, graded by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibrate.stats import ledger

ADVICE_KEYS = [
    "n",
    "held_50",
    "held_50_low",
    "held_50_high",
    "held_80",
    "held_80_low",
    "held_80_high",
    "held_90",
    "held_90_low",
    "held_90_high",
    "pinball",
]


def test_advice_record_has_exactly_the_keys_of_metrics_section_8():
    record = ledger.advice_record([1.0], [1.0], [2.0], [3.0])
    assert list(record) == ADVICE_KEYS
    empty = ledger.advice_record([], [], [], [])
    assert empty == {key: (0 if key == "n" else None) for key in ADVICE_KEYS}


def test_advice_held_and_its_pinball_loss_by_hand():
    actual = [1.0, 2.0, 4.0, 8.0]
    p50, p80, p90 = [2.0] * 4, [4.0] * 4, [4.0] * 4
    record = ledger.advice_record(actual, p50, p80, p90)
    assert record["n"] == 4
    assert (record["held_50"], record["held_80"], record["held_90"]) == (0.5, 0.75, 0.75)
    low, high = record["held_90_low"], record["held_90_high"]
    assert low < 0.75 < high
    # log2 misses y - q: P50 (-1, 0, 1, 2), P80 and P90 (-2, -1, 0, 1)
    expected = np.mean(
        [
            np.mean([0.5 * 1, 0, 0.5 * 1, 0.5 * 2]),
            np.mean([0.2 * 2, 0.2 * 1, 0, 0.8 * 1]),
            np.mean([0.1 * 2, 0.1 * 1, 0, 0.9 * 1]),
        ]
    )
    assert record["pinball"] == pytest.approx(expected)


def test_an_actual_equal_to_the_quantile_holds_it():
    record = ledger.advice_record([3.0], [3.0 * (1 + 1e-12)], [3.0], [2.9999999999])
    assert (record["held_50"], record["held_80"], record["held_90"]) == (1.0, 1.0, 1.0)


def test_forecast_record_brier_and_reliability_by_tenths():
    chance = [0.95, 0.95, 0.91, 0.42, 0.05, 1.0]
    kept = [True, True, False, True, False, True]
    promise = [1, 1, 2, 3, 4, 5]
    record = ledger.forecast_record(chance, kept, promise)
    assert record["n"] == 6 and record["promises"] == 5
    outcome = np.array(kept, dtype=float)
    assert record["brier"] == pytest.approx(np.mean((np.array(chance) - outcome) ** 2))
    bins = {(b["low"], b["high"]): b for b in record["reliability"]}
    assert set(bins) == {(0.0, 0.1), (0.4, 0.5), (0.9, 1.0)}
    top = bins[(0.9, 1.0)]  # 1.0 belongs to the last tenth
    assert top["n"] == 4 and top["kept"] == 0.75
    assert top["chance"] == pytest.approx((0.95 + 0.95 + 0.91 + 1.0) / 4)
    assert top["kept_low"] < 0.75 < top["kept_high"]
    empty = ledger.forecast_record([], [], [])
    assert empty == {"n": 0, "promises": 0, "brier": None, "reliability": []}


def test_pinball_is_asymmetric():
    assert ledger.pinball(np.array([1.0]), np.array([0.0]), 0.9)[0] == pytest.approx(0.9)
    assert ledger.pinball(np.array([0.0]), np.array([1.0]), 0.9)[0] == pytest.approx(0.1)
    assert math.isclose(ledger.pinball(np.array([2.0]), np.array([2.0]), 0.5)[0], 0.0)
