"""Fit the drift terms of METRICS.md section 2: tau_p^2, L, tau_t^2, L_t.

A person's accuracy drifts between periods, so a window's MALR m scatters around
the person's long-run m by more than the sampling noise sd^2 / n: by tau_p^2 L /
(L + n) (a variance that averages out over a long history; L its correlation
length in tasks). A team's people drift partly together: tau_t^2 L_t / (L_t + n)
more. The score's interval adds them (:mod:`calibrate.stats.drift`); the values
it uses are :mod:`calibrate.rules`' ``DRIFT_*``, printed by this script:

    .venv/bin/python scripts/fit_drift.py            # the fit, as JSON
    .venv/bin/python scripts/fit_drift.py --loo      # with leave-one-out spreads
    .venv/bin/python scripts/fit_drift.py --check    # exit 1 if rules.py differs

The estimator (section 2; :func:`calibrate.stats.drift.window_terms` and
:func:`~calibrate.stats.drift.fit_curve`): each person's counted tasks with a
done date in done order (ties in file order; ``scripts/datasets.py``), x =
|clip(log2(A/E), -3, 3)|; for window sizes n = 30, 100, 300, the people with at
least n + 300 such tasks, cut into non-overlapping windows of n from their first
task (a last partial window unused); per window d = (m_w - m_rest)^2 - sd_w^2 / n
- sd_rest^2 / n_rest (rest: the person's other tasks, sd with ddof 1); v(n) the
mean of d over all windows (each weighs the same); v(n) = tau_p^2 L / (L + n) by
unweighted least squares. The shipped person fit pools CESAW's and SiP's windows.

The team term (CESAW teams; SiP has none): the same on each team's counted tasks
(the tasks carrying its team_key, from all its people) with the person term
tau_p^2 sum_i w_i^2 L / (L + n_i) of the pooled fit removed from each window.
Its window sizes are 100, 300 and 1,000, the sizes of the team row of the
coverage suite: fitted on 30, 100 and 300 (the people's sizes) it gives tau_t^2
0.040 and L_t 175, which decays too fast (v_t is still 0.015 at 1,000 tasks, the
fit says 0.006) and covers 0.70 of the 1,000-task team windows (docs/metrics.md).

CESAW's 1,610 rows that end before they start are kept (they count, and the done
date alone orders them); dropping them doubles L.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.stats import drift

PERSON_SIZES = rules.DRIFT_PERSON_SIZES
TEAM_SIZES = rules.DRIFT_TEAM_SIZES
#: Rounding of the printed (and shipped) values: tau^2 to 5 decimals, L to 1.
TAU2_DECIMALS, L_DECIMALS = 5, 1


def x_by(tasks: pd.DataFrame, column: str, prefix: str = "") -> dict[str, np.ndarray]:
    """{prefix + unit: |clip(r)| in done order} of tasks already in done order."""
    r = np.log2(tasks["actual_h"].to_numpy(dtype=float) / tasks["estimate_h"].to_numpy(dtype=float))
    x = np.abs(np.clip(r, -rules.CLIP_LOG2, rules.CLIP_LOG2))
    keys = tasks[column].to_numpy(dtype=object)
    out = {}
    for unit in sorted({k for k in keys if k is not None}):
        out[f"{prefix}{unit}"] = x[keys == unit]
    return out


def members_by(tasks: pd.DataFrame) -> dict[str, np.ndarray]:
    """{team: the person of each of its tasks, in done order}."""
    keys = tasks["team"].to_numpy(dtype=object)
    people = tasks["person"].to_numpy(dtype=object)
    return {team: people[keys == team] for team in sorted({k for k in keys if k is not None})}


def person_terms(ordered: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each dataset's person windows (units ``"CESAW:1084"``), and the pool."""
    terms = {
        name: drift.window_terms(x_by(tasks, "person", f"{name}:"), PERSON_SIZES)
        for name, tasks in ordered.items()
    }
    terms["pooled"] = pd.concat(list(terms.values()), ignore_index=True)
    return terms


def team_terms(cesaw: pd.DataFrame, sizes=TEAM_SIZES) -> pd.DataFrame:
    """CESAW's team windows, with the people behind each (``counts``)."""
    return drift.window_terms(x_by(cesaw, "team"), sizes, members=members_by(cesaw))


def _clean(fit: dict) -> dict:
    return {
        "tau2": round(fit["tau2"], TAU2_DECIMALS),
        "L": round(fit["L"], L_DECIMALS),
        "L_at_bound": fit["L_at_bound"],
        "v": {str(n): round(v, 5) for n, v in fit["v"].items()},
        "windows": {str(n): w for n, w in fit["windows"].items()},
    }


def _spread(fits: list[dict]) -> dict:
    tau2 = [fit["tau2"] for fit in fits]
    lengths = [fit["L"] for fit in fits]
    return {
        "units": len(fits),
        "tau2_min": round(min(tau2), TAU2_DECIMALS),
        "tau2_max": round(max(tau2), TAU2_DECIMALS),
        "L_min": round(min(lengths), L_DECIMALS),
        "L_max": round(max(lengths), L_DECIMALS),
        "L_at_bound": sum(fit["L_at_bound"] is not None for fit in fits),
    }


def fit(data: Path, loo: bool = False, team_sizes=TEAM_SIZES) -> dict:
    """The fit as a JSON-ready dict: per dataset and pooled, and the team term."""
    ordered = {name: datasets.in_done_order(t) for name, t in datasets.read_all(data).items()}
    terms = person_terms(ordered)
    out: dict = {"person_sizes": list(PERSON_SIZES), "rest_min": rules.DRIFT_REST_MIN}
    out["person"] = {}
    for name, windows in terms.items():
        entry = _clean(drift.curve_from_terms(windows, PERSON_SIZES))
        if loo:
            units = windows["unit"].unique()
            entry["leave_one_person_out"] = _spread(
                [drift.fit_without(windows, [u], PERSON_SIZES) for u in units]
            )
        out["person"][name] = entry
    tau2_p, length_p = out["person"]["pooled"]["tau2"], out["person"]["pooled"]["L"]
    windows = drift.minus_person_term(team_terms(ordered["CESAW"], team_sizes), tau2_p, length_p)
    team = _clean(drift.curve_from_terms(windows, team_sizes, "d_t"))
    team["sizes"] = list(team_sizes)
    team["person_term_from"] = "the pooled person fit"
    if loo:
        units = windows["unit"].unique()
        team["leave_one_team_out"] = _spread(
            [drift.fit_without(windows, [u], team_sizes, "d_t") for u in units]
        )
    out["team_CESAW"] = team
    out["shipped"] = shipped_values(out)
    return out


def shipped_values(fitted: dict) -> dict:
    """What :mod:`calibrate.rules` ships: the pooled person fit and the team fit."""
    return {
        "DRIFT_PERSON_TAU2": fitted["person"]["pooled"]["tau2"],
        "DRIFT_PERSON_L": fitted["person"]["pooled"]["L"],
        "DRIFT_TEAM_TAU2": fitted["team_CESAW"]["tau2"],
        "DRIFT_TEAM_L": fitted["team_CESAW"]["L"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=datasets.DATA, help="the shared data folder")
    parser.add_argument("--loo", action="store_true", help="add leave-one-out spreads")
    parser.add_argument(
        "--team-sizes",
        default=",".join(str(n) for n in TEAM_SIZES),
        help="window sizes of the team fit",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if calibrate.rules ships other values"
    )
    args = parser.parse_args(argv)
    if not datasets.present(args.data):
        print(f"the public datasets are needed: {args.data}", file=sys.stderr)
        return 2
    team_sizes = tuple(int(n) for n in args.team_sizes.split(","))
    fitted = fit(args.data, args.loo, team_sizes)
    print(json.dumps(fitted, indent=2))
    if args.check:
        differs = {k: v for k, v in fitted["shipped"].items() if getattr(rules, k) != v}
        if differs:
            print(f"calibrate.rules differs from the fit: {differs}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
