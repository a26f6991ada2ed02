"""The drift of accuracy between periods (METRICS.md section 2): its variance
in a score's interval, and the estimator that fits it.

A person's accuracy drifts (projects, learning, fatigue), so the MALR of a
window of n tasks scatters around the person's long-run MALR by more than the
sampling noise sd^2 / n: by tau_p^2 * L / (L + n) more, a variance that
averages out over a long history (L is its correlation length in tasks). A
team's people drift partly together, tau_t^2 * L_t / (L_t + n) beyond their
own drifts. The score's interval adds the drift of its scope:

- a person: tau_p^2 L / (L + n) (:func:`person_drift`);
- a team: tau_t^2 L_t / (L_t + n) + tau_p^2 sum_i w_i^2 L / (L + n_i), w_i and
  n_i person i's share and count of the team's counted tasks (:func:`team_drift`);
- everyone: the team term summed over teams with their squared shares, and the
  person term over everyone (:func:`everyone_drift`).

The values (:class:`Drift`, defaults from :mod:`calibrate.rules`) are fitted by
``scripts/fit_drift.py`` with :func:`window_terms` and :func:`fit_curve`: for
each window size n, over the non-overlapping windows of the people (teams) with
at least n + 300 counted tasks, every window weighted equally, the excess
variance v(n) = mean((m_window - m_rest)^2 - sd_window^2 / n - sd_rest^2 / n_rest);
then v(n) = tau^2 L / (L + n) by least squares over the sizes. The coverage
suite (``tests/validation``) refits them leaving the tested person or team out
(:func:`fit_without`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibrate import rules


@dataclass(frozen=True)
class Drift:
    """The drift values a score's interval uses (the shipped fit by default)."""

    person_tau2: float = rules.DRIFT_PERSON_TAU2
    person_l: float = rules.DRIFT_PERSON_L
    team_tau2: float = rules.DRIFT_TEAM_TAU2
    team_l: float = rules.DRIFT_TEAM_L


SHIPPED = Drift()


def _curve(tau2: float, length: float, n) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    return tau2 * length / (length + n)


def person_drift(n, drift: Drift = SHIPPED):
    """tau_p^2 L / (L + n) for a person with n counted tasks (scalar or array)."""
    value = _curve(drift.person_tau2, drift.person_l, n)
    return float(value) if np.ndim(value) == 0 else value


def _people_term(counts, total: float, drift: Drift) -> float:
    counts = np.asarray(counts, dtype=float).reshape(-1)
    counts = counts[counts > 0]
    if total <= 0 or counts.size == 0:
        return 0.0
    shares = counts / total
    return float(np.sum(shares * shares * _curve(drift.person_tau2, drift.person_l, counts)))


def team_drift(person_counts, drift: Drift = SHIPPED) -> float:
    """A team's drift variance from its people's counts of its counted tasks."""
    counts = np.asarray(person_counts, dtype=float).reshape(-1)
    total = float(counts.sum())
    if total <= 0:
        return 0.0
    return float(_curve(drift.team_tau2, drift.team_l, total)) + _people_term(counts, total, drift)


def everyone_drift(person_counts, team_counts, drift: Drift = SHIPPED) -> float:
    """Everyone's drift variance: the team term summed over teams with their
    squared shares (``team_counts``: each team's counted tasks; tasks without a
    team count as one team), and the person term over every person."""
    people = np.asarray(person_counts, dtype=float).reshape(-1)
    total = float(people.sum())
    if total <= 0:
        return 0.0
    groups = np.asarray(team_counts, dtype=float).reshape(-1)
    groups = groups[groups > 0]
    shares = groups / total
    team_term = float(np.sum(shares * shares * _curve(drift.team_tau2, drift.team_l, groups)))
    return team_term + _people_term(people, total, drift)


# --- the estimator ---------------------------------------------------------------------


def _window_stats(x: np.ndarray, n: int):
    """Per consecutive non-overlapping window of n in x: its mean and sample
    variance, and those of the rest of x (ddof 1), and the rest's size."""
    total = x.size
    k = total // n
    windows = x[: k * n].reshape(k, n)
    s1, s2 = windows.sum(axis=1), (windows * windows).sum(axis=1)
    t1, t2 = float(x.sum()), float((x * x).sum())
    n_rest = total - n
    m_w = s1 / n
    var_w = np.maximum((s2 - n * m_w**2) / (n - 1), 0.0)
    m_r = (t1 - s1) / n_rest
    var_r = np.maximum(((t2 - s2) - n_rest * m_r**2) / (n_rest - 1), 0.0)
    return m_w, var_w, m_r, var_r, n_rest


def window_terms(
    x_by_unit: Mapping[object, np.ndarray],
    sizes: Iterable[int] = rules.DRIFT_PERSON_SIZES,
    rest_min: int = rules.DRIFT_REST_MIN,
    members: Mapping[object, np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row per window: ``unit`` (person or team), ``n``, ``index`` and
    ``d`` = (m_w - m_rest)^2 - sd_w^2 / n - sd_rest^2 / n_rest, for the units
    whose x (|clip(r)| in done order) holds at least n + ``rest_min`` tasks.
    With ``members`` (per unit, who did each task), each row also carries
    ``counts``: the tasks of each person in the window (a team's person term)."""
    records: list[dict] = []
    for unit, values in x_by_unit.items():
        x = np.asarray(values, dtype=float)
        for n in sizes:
            if x.size < n + rest_min:
                continue
            m_w, var_w, m_r, var_r, n_rest = _window_stats(x, n)
            d = (m_w - m_r) ** 2 - var_w / n - var_r / n_rest
            for index, value in enumerate(d.tolist()):
                record = {"unit": unit, "n": n, "index": index, "d": value}
                if members is not None:
                    who = np.asarray(members[unit])[index * n : (index + 1) * n]
                    record["counts"] = np.unique(who, return_counts=True)[1]
                records.append(record)
    columns = ["unit", "n", "index", "d", *(["counts"] if members is not None else [])]
    return pd.DataFrame(records, columns=columns)


#: L is searched on a log grid over these bounds, then refined by golden section.
L_BOUNDS = (1.0, 1e5)
GRID_POINTS = 2001
GOLDEN_STEPS = 80


def fit_curve(sizes, excess) -> dict:
    """Least squares of v(n) = tau2 L / (L + n) over the sizes: ``tau2`` (for a
    fixed L the best tau2 is linear, clipped at 0), ``L``, ``L_at_bound``
    (``"L_MIN"``/``"L_MAX"`` when the fit ends at a bound of the search) and ``sse``."""
    ns = np.asarray(sizes, dtype=float)
    vs = np.asarray(excess, dtype=float)

    def best(length: float) -> tuple[float, float]:
        g = length / (length + ns)
        tau2 = max(0.0, float(g @ vs) / float(g @ g))
        return tau2, float(np.sum((vs - tau2 * g) ** 2))

    low_bound, high_bound = L_BOUNDS
    grid = np.exp(np.linspace(np.log(low_bound), np.log(high_bound), GRID_POINTS))
    errors = np.array([best(length)[1] for length in grid])
    i = int(np.argmin(errors))
    a, b = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, grid.size - 1)])
    phi = (np.sqrt(5) - 1) / 2
    for _ in range(GOLDEN_STEPS):
        c, d = b - phi * (b - a), a + phi * (b - a)
        if best(float(np.exp(c)))[1] <= best(float(np.exp(d)))[1]:
            b = d
        else:
            a = c
    length = float(np.exp((a + b) / 2))
    if best(float(grid[i]))[1] < best(length)[1]:
        length = float(grid[i])
    tau2, sse = best(length)
    at_bound = None
    if length <= low_bound * 1.01:
        at_bound = "L_MIN"
    elif length >= high_bound / 1.01:
        at_bound = "L_MAX"
    return {"tau2": tau2, "L": length, "L_at_bound": at_bound, "sse": sse}


def curve_from_terms(
    terms: pd.DataFrame, sizes: Iterable[int] = rules.DRIFT_PERSON_SIZES, column: str = "d"
) -> dict:
    """v(n) per size (the mean of ``column`` over its windows, each window
    weighing the same), the windows behind each, and :func:`fit_curve` of them."""
    sizes = list(sizes)
    excess, windows = {}, {}
    for n in sizes:
        chosen = terms.loc[terms["n"] == n, column]
        windows[n] = int(chosen.size)
        excess[n] = float(chosen.mean()) if chosen.size else float("nan")
    usable = [n for n in sizes if windows[n] > 0]
    if len(usable) >= 2:
        fit = fit_curve(usable, [excess[n] for n in usable])
    else:
        fit = {"tau2": float("nan"), "L": float("nan"), "L_at_bound": None, "sse": float("nan")}
    return {"v": excess, "windows": windows, **fit}


def minus_person_term(terms: pd.DataFrame, tau2: float, length: float) -> pd.DataFrame:
    """A team fit's windows with the person term removed: ``d_t`` = d - tau_p^2
    sum_i w_i^2 L / (L + n_i), from each window's ``counts``."""
    out = terms.copy()
    drift = Drift(person_tau2=tau2, person_l=length)
    out["d_t"] = [
        d - _people_term(counts, float(n), drift)
        for d, counts, n in zip(out["d"], out["counts"], out["n"], strict=True)
    ]
    return out


def fit_without(
    terms: pd.DataFrame,
    units: Iterable[object],
    sizes: Iterable[int] = rules.DRIFT_PERSON_SIZES,
    column: str = "d",
) -> dict:
    """:func:`curve_from_terms` without the windows of ``units`` (leave one out)."""
    dropped = set(units)
    return curve_from_terms(terms[~terms["unit"].isin(dropped)], sizes, column)
