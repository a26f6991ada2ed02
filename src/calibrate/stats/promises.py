"""Section 4 of METRICS.md: promises, few, kept, some exceeded; pure functions.

:func:`promise_outcomes` judges each task's promise (kept, broken, exceeded);
:func:`promise_summary` turns the outcomes of a window into the promise rate,
the keep rate (the mean of a Beta posterior with a prior worth 4 promises at
the rest of the team's rate, its 5% and 95% quantiles the 90% interval:
:func:`keep_posterior`), the exceed rate, the promise cost (promised / actual
over all effort promises on finished tasks), the three gauges against their
target bands and the one-line advice (:func:`promise_advice`). The bands' defaults are
:data:`calibrate.rules.DEFAULT_BANDS`; the settings may override them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.stats.arrays import dates, floats, optional
from calibrate.stats.binomial import wilson
from calibrate.stats.distributions import beta_ppf
from calibrate.text import percent


def promise_outcomes(
    *,
    status,
    promise_h,
    due,
    done_date,
    actual_h,
    today: date,
    weekmask: str = "1111100",
    holidays: Sequence[str] = (),
) -> pd.DataFrame:
    """Per task: has it a promise, is that promise due, kept, exceeded (section 4).

    Arrays, one entry per task: ``status`` (open | started | done | dropped),
    ``promise_h`` (promised effort, NaN for none), ``due`` (promised date,
    NaT for none), ``done_date`` (the *local* date it was finished, NaT if
    not), ``actual_h`` (NaN if none). ``today`` is the local date;
    ``weekmask`` and ``holidays`` give the working days (numpy busday rules).

    A task is finished when done, or not dropped with an actual and a done
    date (imported finished work). A promise is *due* (resolved) when its task
    is finished (and its outcome is known), dropped (broken), or open past its
    due date (broken from the day after). Kept: finished on or before the due
    date and, for an effort promise, A <= promised. Exceeded: kept with A <=
    0.8 x promised, or finished at least one working day before the due date
    (a working day in (done date, due]). ``slack`` is promised / A for every
    effort promise on a finished task (kept or not: the promise cost),
    ``promised_h`` and ``effort_h`` its promised and actual effort (NaN for
    the others).
    """
    status = np.asarray(status, dtype=object).reshape(-1)
    promise = floats(promise_h)
    due_d = dates(due)
    done_d = dates(done_date)
    actual = floats(actual_h)
    today_d = np.datetime64(today, "D")
    has_effort = np.isfinite(promise)
    has_due = ~np.isnat(due_d)
    has_promise = has_effort | has_due
    has_actual = np.isfinite(actual) & (actual > 0)
    dropped = status == "dropped"
    finished = (status == "done") | (~dropped & has_actual & ~np.isnat(done_d))
    open_ = ~finished & ~dropped
    overdue = open_ & has_due & (due_d < today_d)
    known = finished & (~has_effort | has_actual) & (~has_due | ~np.isnat(done_d))
    resolved = has_promise & (known | dropped | overdue)
    with np.errstate(invalid="ignore"):
        on_time = ~has_due | (done_d <= due_d)
        within_effort = ~has_effort | (actual <= promise * (1 + rules.BOUND_SLACK))
        early_effort = has_effort & (
            actual <= rules.EXCEED_EFFORT_SHARE * promise * (1 + rules.BOUND_SLACK)
        )
    kept = resolved & known & on_time & within_effort
    early_date = np.zeros(kept.shape, dtype=bool)
    dated = kept & has_due
    if dated.any():
        days_off = np.array(holidays, dtype="datetime64[D]")
        calendar = np.busdaycalendar(weekmask=weekmask, holidays=days_off)
        early_date[dated] = (
            np.busday_count(done_d[dated] + 1, due_d[dated] + 1, busdaycal=calendar) >= 1
        )
    exceeded = kept & (early_effort | early_date)
    slack = np.full(kept.shape, np.nan)
    costed = finished & has_effort & has_actual
    slack[costed] = promise[costed] / actual[costed]
    return pd.DataFrame(
        {
            "has_promise": has_promise,
            "resolved": resolved,
            "kept": kept,
            "broken": resolved & ~kept,
            "exceeded": exceeded,
            "slack": slack,
            "promised_h": np.where(costed, promise, np.nan),
            "effort_h": np.where(costed, actual, np.nan),
        }
    )


#: Where a rate stands against its target band (``flag``: a keep rate under keep-rate-flag).
BandStatus = Literal["below", "above", "in band", "flag"]


class RateGauge(TypedDict):
    """A rate against its target band (the settings), and where it stands."""

    value: float | None
    min: float
    status: BandStatus | None


class PromiseRateGauge(RateGauge):
    max: float


class KeepRateGauge(RateGauge):
    flag: float


class PromiseGauges(TypedDict):
    promise_rate: PromiseRateGauge
    keep_rate: KeepRateGauge
    exceed_rate: RateGauge


class PromiseSummary(TypedDict):
    """Section 4 for one scope (:func:`promise_summary`)."""

    logged: int
    promised: int
    promise_rate: float | None
    due: int
    kept: int
    broken: int
    exceeded: int
    keep_rate: float | None
    keep_low: float | None
    keep_high: float | None
    keep_rate_raw: float | None
    keep_raw_low: float | None
    keep_raw_high: float | None
    team_keep_rate: float | None
    team_due: int
    keep_prior: Literal["team", "jeffreys"] | None
    exceed_rate: float | None
    slack: float | None
    slack_total: float | None
    slack_n: int
    gauges: PromiseGauges
    advice: list[str]


def _band_status(value: float | None, low: float | None, high: float | None) -> BandStatus | None:
    if value is None:
        return None
    if low is not None and value < low - rules.BOUND_SLACK:
        return "below"
    if high is not None and value > high + rules.BOUND_SLACK:
        return "above"
    return "in band"


def keep_posterior(kept, due, rest_kept=None, rest_due=None, *, interval: bool = True):
    """Section 4's keep rate: the posterior Beta(k + 4p, n - k + 4(1 - p)), p
    the rest of the team's keep rate (``rest_kept`` / ``rest_due``) clamped to
    [0.02, 0.98]; Jeffreys, Beta(k + 1/2, n - k + 1/2), where the rest has
    fewer than 20 promises due (or is not given). Returns ``(mean, low,
    high)``: the mean (k + 4p) / (n + 4) and the 5% and 95% quantiles (NaN
    without ``interval``: the ranks show the mean alone); NaN (scalars:
    ``None``) where nothing is due. Scalars or arrays."""
    scalar = all(np.ndim(v) == 0 for v in (kept, due, rest_kept, rest_due))
    k = np.asarray(kept, dtype=float).reshape(-1)
    n = np.broadcast_to(np.asarray(due, dtype=float).reshape(-1), k.shape)
    if rest_kept is None or rest_due is None:
        rest_k, rest_n = np.zeros(k.shape), np.zeros(k.shape)
    else:
        rest_k = np.broadcast_to(np.asarray(rest_kept, dtype=float).reshape(-1), k.shape)
        rest_n = np.broadcast_to(np.asarray(rest_due, dtype=float).reshape(-1), k.shape)
    team = rest_n >= rules.KEEP_PRIOR_MIN
    low_clamp, high_clamp = rules.KEEP_PRIOR_CLAMP
    p = np.clip(rest_k / np.where(team, rest_n, 1.0), low_clamp, high_clamp)
    weight = rules.KEEP_PRIOR_WEIGHT
    a = np.where(team, k + weight * p, k + rules.JEFFREYS)
    b = np.where(team, n - k + weight * (1 - p), n - k + rules.JEFFREYS)
    some = n > 0
    mean = np.where(some, a / (a + b), np.nan)
    tail = (1 - rules.INTERVAL_LEVEL) / 2
    low, high = np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    if interval and some.any():
        low[some] = beta_ppf(tail, a[some], b[some])
        high[some] = beta_ppf(1 - tail, a[some], b[some])
    if scalar:
        return optional(mean[0]), optional(low[0]), optional(high[0])
    return mean, low, high


def promise_summary(
    outcomes: pd.DataFrame | None,
    *,
    logged: int,
    promised: int,
    rest_kept: int | None = None,
    rest_due: int | None = None,
    bands: Mapping[str, float] | None = None,
) -> PromiseSummary:
    """Section 4 for one scope: rates, gauges and advice.

    ``outcomes`` is :func:`promise_outcomes`'s frame for the promises whose
    outcome fell in the window; ``logged`` and ``promised`` count the tasks
    logged in the window and those of them with a promise (the promise rate).
    ``rest_kept`` and ``rest_due`` are the kept and due promises of the group
    the keep rate leans on: the team without the person (everyone without the
    team); ``None`` for none. ``bands`` holds the settings
    promise-rate-min/max, keep-rate-min, keep-rate-flag and exceed-rate-min.

    Keys: ``logged``, ``promised``, ``promise_rate``; ``due``, ``kept``,
    ``broken``, ``exceeded``; ``keep_rate``, ``keep_low``, ``keep_high``
    (:func:`keep_posterior`) with ``keep_prior`` (``"team"`` or
    ``"jeffreys"``), ``team_keep_rate`` and ``team_due`` (the rest's rate and
    count); ``keep_rate_raw`` (k/n) with its Wilson interval
    ``keep_raw_low``/``keep_raw_high``; ``exceed_rate``; ``slack`` (median
    promised / A over all effort promises on finished tasks) with ``slack_n``
    and ``slack_total`` (total promised / total actual over them); ``gauges``
    (promise_rate, keep_rate, exceed_rate: value, target band, status);
    ``advice`` (lines of text). Rates are ``None`` when their denominator is 0.
    """
    if outcomes is None or not len(outcomes):
        due = kept = exceeded = 0
        slack_values = np.array([])
        promised_h = effort_h = 0.0
    else:
        resolved = outcomes[outcomes["resolved"]]
        due = len(resolved)
        kept = int(resolved["kept"].sum())
        exceeded = int(resolved["exceeded"].sum())
        costed = outcomes[outcomes["slack"].notna()]
        slack_values = costed["slack"].to_numpy(dtype=float)
        promised_h = float(costed["promised_h"].sum())
        effort_h = float(costed["effort_h"].sum())
    return summary_of_counts(
        due=due,
        kept=kept,
        exceeded=exceeded,
        slack_values=slack_values,
        promised_h=promised_h,
        effort_h=effort_h,
        logged=logged,
        promised=promised,
        rest_kept=rest_kept,
        rest_due=rest_due,
        bands=bands,
    )


def summary_of_counts(
    *,
    due: int,
    kept: int,
    exceeded: int,
    slack_values: np.ndarray,
    promised_h: float,
    effort_h: float,
    logged: int,
    promised: int | None,
    rest_kept: int | None = None,
    rest_due: int | None = None,
    bands: Mapping[str, float] | None = None,
    slack_n: int | None = None,
) -> PromiseSummary:
    """:func:`promise_summary` from counts: the promises due, kept and
    exceeded, the promise cost's ratios (``slack_values``) and sums, and the
    tasks logged and promised (``promised`` ``None``: not known, so no
    promise rate; ``slack_n``: the effort promises, where their ratios are
    not all in ``slack_values``)."""
    band = {**rules.DEFAULT_BANDS, **(bands or {})}
    promise_rate = promised / logged if logged and promised is not None else None
    keep_raw = kept / due if due else None
    keep_raw_low, keep_raw_high = wilson(kept, due)
    keep_rate, keep_low, keep_high = keep_posterior(kept, due, rest_kept, rest_due)
    rest_n = int(rest_due or 0)
    keep_prior: Literal["team", "jeffreys"] | None = None
    if due:
        keep_prior = "team" if rest_n >= rules.KEEP_PRIOR_MIN else "jeffreys"
    exceed_rate = exceeded / due if due else None
    keep_status = _band_status(keep_rate, band["keep-rate-min"], None)
    if keep_rate is not None and keep_rate < band["keep-rate-flag"] - rules.BOUND_SLACK:
        keep_status = "flag"
    out: PromiseSummary = {
        "logged": int(logged),
        "promised": int(promised or 0),
        "promise_rate": promise_rate,
        "due": due,
        "kept": kept,
        "broken": due - kept,
        "exceeded": exceeded,
        "keep_rate": keep_rate,
        "keep_low": keep_low,
        "keep_high": keep_high,
        "keep_rate_raw": keep_raw,
        "keep_raw_low": keep_raw_low,
        "keep_raw_high": keep_raw_high,
        "team_keep_rate": (rest_kept or 0) / rest_n if rest_n else None,
        "team_due": rest_n,
        "keep_prior": keep_prior,
        "exceed_rate": exceed_rate,
        "slack": float(np.median(slack_values)) if slack_values.size else None,
        "slack_total": promised_h / effort_h if effort_h > 0 else None,
        "slack_n": int(slack_values.size if slack_n is None else slack_n),
        "gauges": {
            "promise_rate": {
                "value": promise_rate,
                "min": band["promise-rate-min"],
                "max": band["promise-rate-max"],
                "status": _band_status(
                    promise_rate, band["promise-rate-min"], band["promise-rate-max"]
                ),
            },
            "keep_rate": {
                "value": keep_rate,
                "min": band["keep-rate-min"],
                "flag": band["keep-rate-flag"],
                "status": keep_status,
            },
            "exceed_rate": {
                "value": exceed_rate,
                "min": band["exceed-rate-min"],
                "status": _band_status(exceed_rate, band["exceed-rate-min"], None),
            },
        },
        "advice": [],
    }
    out["advice"] = promise_advice(out, band)
    return out


def promise_advice(summary: PromiseSummary, band: Mapping[str, float]) -> list[str]:
    """Section 4's one-line advice: too many promises, too few kept, none made."""
    advice = []
    rate = summary["promise_rate"]
    if summary["logged"] and summary["promised"] == 0 and summary["promise_rate"] is not None:
        advice.append("You made no promises: make some, on the tasks others wait for.")
    elif rate is not None and rate > band["promise-rate-max"] + rules.BOUND_SLACK:
        advice.append(
            f"You promise on {percent(rate)} of your tasks: promise less, and keep the ones you "
            "make."
        )
    elif rate is not None and rate < band["promise-rate-min"] - rules.BOUND_SLACK:
        advice.append(
            f"You promise on only {percent(rate)} of your tasks: make a few more, on the tasks "
            "others wait for."
        )
    keep = summary["keep_rate"]
    if keep is not None and keep < band["keep-rate-flag"] - rules.BOUND_SLACK:
        # the rate shown, not the share kept: 1 of 1 kept reads 75% (section 4's prior)
        advice.append(
            f"Your keep rate reads under {percent(band['keep-rate-flag'])}: promise at "
            "your P90 (see 'calibrate suggest')."
        )
    slack, total = summary["slack"], summary["slack_total"]
    if slack is not None and slack > 1.0 + rules.BOUND_SLACK:
        overall = f"; {total:.1f}x in total" if total is not None else ""
        advice.append(
            f"Your promises are {slack:.1f}x the work they take (median{overall}): "
            "narrower estimates make safe promises cheaper."
        )
    return advice
