"""Are estimates worth making? The backtest's ``no_estimates`` method (METRICS.md
section 7: each task's effort drawn from the scope's last 200 actuals, its
estimate ignored) against the tool's forecasts, and the one line that says so."""

from __future__ import annotations

import json

import numpy as np

from calibrate import rules
from calibrate.stats.backtest import backtest, counted_draws, estimates_worth
from calibrate.stats.binomial import wilson
from calibrate.stats.pools import Past
from calibrate.words import worth_line
from tests.test_forecast import history_of, insert, open_rows


def informative(n=1300, seed=3, noise=0.3) -> Past:
    """Sizes that differ a lot (estimates 0.5h to 40h), estimated with a small error."""
    rng = np.random.default_rng(seed)
    estimate = np.exp2(rng.uniform(-1, 5.3, n))
    return Past.from_arrays(estimate, estimate * np.exp2(rng.normal(0, noise, n)))


def uninformative(n=1300, seed=4) -> Past:
    """Every task the same size, estimated as 2h whatever it takes."""
    rng = np.random.default_rng(seed)
    actual = 2.0 * np.exp2(rng.normal(0, 0.6, n))
    return Past.from_arrays(np.full(n, 2.0), actual)


def test_counting_draws_come_from_the_scope_s_last_200_actuals_only():
    past = Past.from_arrays(np.ones(400), np.arange(1, 401, dtype=float))
    scope = np.arange(400)
    drawn = counted_draws(past, scope, np.array([100, 350]), 500, np.random.default_rng(0))
    assert drawn.shape == (500, 20)
    first, second = drawn[:, :10], drawn[:, 10:]
    assert first.min() >= 1 and first.max() <= 100  # tasks 0-99: fewer than 200 before
    assert second.min() >= 151 and second.max() <= 350  # tasks 150-349
    assert len(np.unique(second)) > 150  # all of the 200 are drawn from


def test_counting_ignores_the_estimates():
    past = informative()
    doubled = Past.from_arrays(past.estimate_h * 3.0, past.actual_h)
    one = backtest(past, methods=("no_estimates",), runs=200)["methods"]["no_estimates"]
    two = backtest(doubled, methods=("no_estimates",), runs=200)["methods"]["no_estimates"]
    assert one == two


def test_estimates_that_tell_sizes_apart_make_tighter_forecasts():
    result = backtest(informative(), methods=("mixture", "no_estimates"), runs=400)
    methods = result["methods"]
    assert methods["no_estimates"]["width_80"] > 1.5 * methods["mixture"]["width_80"]
    worth = estimates_worth(methods["mixture"], methods["no_estimates"])
    if worth["verdict"] == "tighter":  # both calibrated on this history
        assert worth["tighter"] > 0.3
    else:
        assert worth["verdict"].endswith("miscalibrated")


def test_estimates_that_tell_nothing_are_no_better_than_counting():
    result = backtest(uninformative(), methods=("mixture", "no_estimates"), runs=400)
    methods = result["methods"]
    ratio = methods["mixture"]["width_80"] / methods["no_estimates"]["width_80"]
    assert 0.85 <= ratio <= 1.15, methods
    low, high = rules.BACKTEST_AIM_80
    assert low - 0.08 <= methods["no_estimates"]["coverage_80"] <= high + 0.08


def figures(coverage, width, blocks=200):
    """A method's backtest figures: coverage_80 over ``blocks`` with its Wilson interval."""
    if coverage is None:
        return {"coverage_80": None, "width_80": None}
    low, high = wilson(round(coverage * blocks), blocks)
    return {
        "coverage_80": coverage,
        "coverage_80_low": low,
        "coverage_80_high": high,
        "width_80": width,
    }


def test_widths_are_compared_only_where_both_are_calibrated():
    tighter = estimates_worth(figures(0.80, 1.2), figures(0.81, 2.0))
    assert tighter["verdict"] == "tighter"
    assert abs(tighter["tighter"] - 0.4) < 1e-12
    assert (
        worth_line(tighter)
        == "Your estimates make forecasts 40% tighter than counting tasks would."
    )
    same = estimates_worth(figures(0.80, 1.9), figures(0.81, 2.0))
    assert same["verdict"] == "no_better" and abs(same["tighter"] - 0.05) < 1e-12
    assert worth_line(same) == (
        "Counting tasks forecasts as well as your estimates: estimate less, or estimate "
        "differently."
    )
    wider = estimates_worth(figures(0.80, 2.5), figures(0.81, 2.0))
    assert wider["verdict"] == "no_better"
    narrow = estimates_worth(figures(0.60, 0.5), figures(0.81, 2.0))
    assert narrow["verdict"] == "estimates_miscalibrated" and narrow["tighter"] is None
    assert (
        "from your estimates are miscalibrated (80% intervals held 60% of blocks, too narrow"
        in (worth_line(narrow) or "")
    )
    padded = estimates_worth(figures(0.80, 1.0), figures(0.95, 3.0))
    assert padded["verdict"] == "counting_miscalibrated"
    assert "counting tasks are miscalibrated (80% intervals held 95% of blocks, too wide" in (
        worth_line(padded) or ""
    )
    both = estimates_worth(figures(0.5, 1.0), figures(0.95, 3.0))
    assert both["verdict"] == "both_miscalibrated"
    edge = estimates_worth(figures(0.75, 1.0), figures(0.88, 3.0))  # the aim's ends count
    assert edge["verdict"] == "tighter"
    # A person's five blocks that all held: consistent with the aim, so compared.
    few = estimates_worth(figures(1.0, 1.0, blocks=5), figures(1.0, 3.0, blocks=5))
    assert few["verdict"] == "tighter"
    just_outside = estimates_worth(figures(0.70, 1.0, blocks=20), figures(0.8, 3.0))
    assert just_outside["verdict"] == "tighter"  # 70% of 20 blocks: the interval reaches 75%
    unknown = estimates_worth(figures(None, None), figures(None, None))
    assert unknown["verdict"] == "unknown" and worth_line(unknown) is None


def test_forecast_backtest_says_it_in_one_line(run, conn):
    rng = np.random.default_rng(5)
    estimates = list(np.exp2(rng.uniform(-1, 5, 300)))
    ratios = list(np.exp2(rng.normal(0, 0.3, 300)))
    insert(conn, history_of(ratios, estimates) + open_rows(3))
    data = json.loads(run("forecast", "--backtest", "--json").stdout)
    worth = data["estimates_worth"]
    assert worth["width_80"] == data["methods"]["mixture"]["width_80"]
    assert worth["counting_width_80"] == data["methods"]["no_estimates"]["width_80"]
    text = run("forecast", "--backtest").stdout
    line = worth_line(worth)
    assert line is not None and line.split(":")[0].split(" (")[0][:30] in text.replace("\n", " ")
    quoted = json.loads(run("forecast", "--everyone", "--json").stdout)["backtest"]
    assert quoted["estimates_worth"]["verdict"] in (
        "tighter",
        "no_better",
        "estimates_miscalibrated",
        "counting_miscalibrated",
        "both_miscalibrated",
    )
