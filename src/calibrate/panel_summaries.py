"""The score panel of a scope that imported team summaries reach (law 6).

Where summaries speak for some of a scope's people (:class:`teams.Part`), the
panel counts them as ``rank`` does: the same n, sums, score and raw score,
counts over / exact / under and within 25%, the median (from the histograms,
to their bin width), promises due, kept and exceeded, and the comparison
group with them. A figure a summary cannot give is left empty and named in
``not_in_summaries`` (the words say "not in summaries"), never shown as a
second number from the raw tasks alone: the quantiles of A/E, the by-size
medians and shares, range calibration, the promise rate and median promise
cost, the trend.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from calibrate import rules
from calibrate.stats import metrics, promises
from calibrate.stats.metrics import Point, SizeRow
from calibrate.teams import Part
from calibrate.weeks import histogram_median

#: What the panel names when summaries reach its scope, in order.
NOT_IN_SUMMARIES = (
    "ratio_p10",
    "ratio_p90",
    "population",
    "by_size",
    "ranges",
    "promises.promise_rate",
    "promises.slack",
    "trend",
)


def counts_of(r: np.ndarray) -> dict[str, int]:
    """The counts of section 1 of log ratios (finite ones)."""
    return {
        "within_25": int(rules.within_mask(r).sum()),
        "over": int(rules.over_mask(r).sum()),
        "exact": int(rules.exact_mask(r).sum()),
        "under": int(rules.under_mask(r).sum()),
    }


def fold_group(
    stats: Mapping, keep: tuple[int, int] | None, group: Part | None
) -> tuple[dict, tuple[int, int] | None]:
    """A comparison group's sums (:func:`load.counted_stats`) and (kept, due)
    promises, with what summaries add to the group."""
    out = dict(stats)
    if group is None:
        return out, keep
    sums = group.sums()
    n_raw, n = int(stats["n"]), int(stats["n"]) + int(sums["n"])
    out["n"] = n
    out["sum_abs"] = float(stats["sum_abs"]) + sums["sum_abs"]
    out["sum_sq"] = float(stats["sum_sq"]) + sums["sum_sq"]
    out["malr"] = out["sum_abs"] / n if n else None
    for key in ("exact", "under"):
        count = round((stats[key] or 0.0) * n_raw) + int(sums[key])
        out[key] = count / n if n else None
    if keep is not None:
        keep = (keep[0] + int(sums["kept"]), keep[1] + int(sums["due"]))
    return out, keep


def less(rest: dict, part: Part, in_team: str | None) -> dict:
    """The comparison group less the scope's own summary rows in it (the
    person's rows of the group's team; a team's rows, from everyone)."""
    sums = part.sums(in_team)
    n_before = rest["n"]
    n = max(n_before - int(sums["n"]), 0)
    out = {**rest, "n": n, "sum_abs": max(rest["sum_abs"] - sums["sum_abs"], 0.0)}
    for key in ("exact", "under"):
        count = round((rest[key] or 0.0) * n_before) - int(sums[key])
        out[key] = count / n if n > 0 else None
    return out


def point(raw: Point, r: np.ndarray, part: Part) -> Point:
    """Section 1 of the raw tasks' log ratios ``r`` and the summary rows
    together: sums and counts added, the median from the histograms (the raw
    ratios binned the same way); the quantiles of A/E not in summaries."""
    r = r[np.isfinite(r)]
    sums = part.sums()
    n = int(r.size) + int(sums["n"])
    counts = counts_of(r)
    total = raw["sum_abs"] + sums["sum_abs"]
    squares = raw["sum_sq"] + sums["sum_sq"]
    out: Point = {**raw, "n": n, "sum_abs": total, "sum_sq": squares}
    out["ratio_p10"] = out["ratio_p90"] = None
    if n == 0:
        return out
    bins = np.rint(np.clip(r, -rules.CLIP_LOG2, rules.CLIP_LOG2) / rules.HISTOGRAM_BIN)
    values, sizes = np.unique(bins.astype(np.int64), return_counts=True)
    pairs = part.histogram() + [[int(v), int(c)] for v, c in zip(values, sizes, strict=True)]
    bias = histogram_median(pairs)
    malr = total / n
    out["bias"] = bias
    out["bias_factor"] = None if bias is None else 2.0**bias
    out["malr"] = malr
    out["typical_miss"] = 2.0**malr
    out["score_raw"] = 100.0 * 2.0**-malr if n >= rules.MIN_SCORE_N else None
    out["within_25"] = (counts["within_25"] + int(sums["within_25"])) / n
    out["over"] = (counts["over"] + int(sums["over"])) / n
    out["exact"] = (counts["exact"] + int(sums["exact"])) / n
    out["under"] = (counts["under"] + int(sums["under"])) / n
    return out


def scope_counts(counts: pd.DataFrame | None, tasks: pd.DataFrame, part: Part) -> pd.DataFrame:
    """Counted tasks per person and team of the raw tasks (``counts``, else
    from ``tasks``) and of the summary rows: who did the scope's work (its drift)."""
    if counts is None:
        counts = pd.DataFrame({"person": tasks["person"], "team": tasks["team"], "n": 1})
    return pd.concat([counts, part.counts()], ignore_index=True)


def mix(raw: np.ndarray, part: Part) -> np.ndarray | None:
    """Counted tasks per size bucket with the summaries' (``None``: a week of an
    older summary carries no buckets)."""
    buckets = part.buckets()
    return None if buckets is None else raw + buckets[:, 0]


def by_size(raw: list[SizeRow], part: Part) -> list[SizeRow]:
    """Section 1 per size bucket: n, sums, MALR and the raw score with the
    summaries' buckets; the median and shares of a bucket not in summaries."""
    buckets = part.buckets()
    out: list[SizeRow] = []
    for index, row in enumerate(raw):
        extra = buckets[index] if buckets is not None else np.zeros(3)
        n = int(row["n"] + extra[0])
        total, squares = row["sum_abs"] + float(extra[1]), row["sum_sq"] + float(extra[2])
        malr = total / n if n else None
        out.append(
            {
                **metrics.log_ratio_summary(()),  # what a summary cannot give: None
                "bucket": row["bucket"],
                "n": n,
                "malr": malr,
                "typical_miss": None if malr is None else 2.0**malr,
                "score_raw": None if malr is None or n < rules.MIN_SCORE_N else 100 * 2**-malr,
                "sum_abs": total,
                "sum_sq": squares,
            }
        )
    return out


def promise_figures(
    outcomes: pd.DataFrame | None,
    part: Part,
    *,
    logged: int,
    promised: int,
    rest_kept: int | None,
    rest_due: int | None,
    bands: Mapping[str, float] | None,
) -> promises.PromiseSummary:
    """Section 4 of the raw promises and the summary rows together; the
    promise rate and the median cost not in summaries where they carry any."""
    sums = part.sums()
    due = kept = exceeded = 0
    slack, promised_h, effort_h = np.array([]), 0.0, 0.0
    if outcomes is not None and len(outcomes):
        resolved = outcomes[outcomes["resolved"]]
        due, kept = len(resolved), int(resolved["kept"].sum())
        exceeded = int(resolved["exceeded"].sum())
        costed = outcomes[outcomes["slack"].notna()]
        slack = costed["slack"].to_numpy(dtype=float)
        promised_h, effort_h = float(costed["promised_h"].sum()), float(costed["effort_h"].sum())
    effort_n = int(part.total("effort_n"))
    return promises.summary_of_counts(
        due=due + int(sums["due"]),
        kept=kept + int(sums["kept"]),
        exceeded=exceeded + int(sums["exceeded"]),
        slack_values=slack if effort_n == 0 else np.array([]),
        slack_n=int(slack.size) + effort_n,
        promised_h=promised_h + part.total("promised_h"),
        effort_h=effort_h + part.total("effort_h"),
        logged=logged + part.logged,
        promised=promised if part.logged == 0 else None,
        rest_kept=rest_kept,
        rest_due=rest_due,
        bands=bands,
    )


def missing(part: Part, *, population: bool) -> list[str]:
    """What the panel cannot give for a scope the summaries reach (see
    :data:`NOT_IN_SUMMARIES`): only what the summaries' people bring."""
    out = ["ratio_p10", "ratio_p90"]
    if population and part.buckets() is None:
        out.append("population")
    out.append("by_size")
    if part.ranged:
        out.append("ranges")
    if part.logged:
        out.append("promises.promise_rate")
    if part.total("effort_n"):
        out.append("promises.slack")
    if part.total("n"):
        out.append("trend")
    return out
