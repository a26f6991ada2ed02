"""The drift of section 2: its variance terms by hand, the estimator on
synthetic data, and the shipped values reproduced from the real data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibrate import rules
from calibrate.stats import drift
from tests.support.data import SHARED_DATA, requires_shared_data

REPO = Path(__file__).resolve().parents[1]


def test_the_three_scopes_drift_by_hand():
    values = drift.Drift(person_tau2=0.06, person_l=250.0, team_tau2=0.02, team_l=1000.0)
    assert drift.person_drift(50, values) == pytest.approx(0.06 * 250 / 300)
    # a team of two people, 30 and 70 of its 100 tasks
    team = drift.team_drift([30, 70], values)
    people = 0.06 * (0.3**2 * 250 / 280 + 0.7**2 * 250 / 320)
    assert team == pytest.approx(0.02 * 1000 / 1100 + people)
    # everyone: two teams of 200 and 300 tasks, four people
    everyone = drift.everyone_drift([100, 100, 150, 150], [200, 300], values)
    team_term = 0.02 * (0.4**2 * 1000 / 1200 + 0.6**2 * 1000 / 1300)
    people_term = 0.06 * sum((c / 500) ** 2 * 250 / (250 + c) for c in (100, 100, 150, 150))
    assert everyone == pytest.approx(team_term + people_term)
    # the shipped values are the rules'
    assert drift.SHIPPED.person_tau2 == rules.DRIFT_PERSON_TAU2
    assert drift.person_drift(np.array([10, 1000])).shape == (2,)


def test_the_curve_is_recovered_from_its_points():
    sizes = np.array(rules.DRIFT_PERSON_SIZES, dtype=float)
    fit = drift.fit_curve(sizes, 0.05 * 200 / (200 + sizes))
    assert fit["tau2"] == pytest.approx(0.05, rel=1e-4)
    assert fit["L"] == pytest.approx(200, rel=1e-3)
    assert fit["L_at_bound"] is None
    flat = drift.fit_curve(sizes, [0.03, 0.03, 0.03])  # no decay: L at the upper bound
    assert flat["L_at_bound"] == "L_MAX"


def test_windows_of_a_drifting_person_show_the_drift():
    """A person whose accuracy moves in slow steps: the excess variance of
    their windows is positive and falls with the window size; without drift
    (the same tasks shuffled) it is about zero."""
    rng = np.random.default_rng(7)
    level = np.repeat(rng.normal(0.8, 0.3, 40), 100)  # a new level every 100 tasks
    x = np.abs(level + rng.normal(0, 0.6, level.size))
    terms = drift.window_terms({"p": x})
    v = terms.groupby("n")["d"].mean()
    assert v[30] > v[300] > 0
    shuffled = drift.window_terms({"p": rng.permutation(x)})
    assert abs(shuffled.groupby("n")["d"].mean()[30]) < v[30] / 4
    assert set(terms["n"]) == set(rules.DRIFT_PERSON_SIZES)
    without = drift.fit_without(terms, ["p"])
    assert np.isnan(without["tau2"])  # nothing left to fit


@pytest.mark.realdata
@requires_shared_data("cesaw/CESAW_task_fact.csv.xz", "sip/Sip-task-info.csv")
def test_refitting_reproduces_the_shipped_drift():
    """``scripts/fit_drift.py --check`` on ../shared/data gives calibrate.rules' values."""
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "fit_drift.py"),
            "--data",
            str(SHARED_DATA),
            "--check",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert '"DRIFT_PERSON_TAU2": 0.06075' in result.stdout
