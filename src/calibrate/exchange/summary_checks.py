"""The checks of a team summary's week rows (:mod:`.summary_file`), one
function per field group, each naming the first problem in one line.

Every field has its bounds (METRICS.md section 5, PRODUCT.md law 5): counts are
whole and non-negative, over + exact + under is n, the size buckets' counts add
up to n and their sums to the week's, each histogram holds as many as its n and
has no bin beyond its cap bin, sums are non-negative and possible for their
count, promises kept are at most those due. :func:`check_week` runs them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any, TypedDict

from calibrate import rules
from calibrate.errors import InputError
from calibrate.teams import BUCKETS, HISTOGRAM_MAX, SPREAD_MAX

#: Slack for sums of floats checked against integer bounds.
SLACK = 1e-6


def iso_date(value, where: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an ISO date") from None


def name_of(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} must be a non-empty name")
    return value.strip()


def team_of(value, where: str) -> str | None:
    if value is None:
        return None
    return name_of(value, where)


def _count(row: Mapping, key: str, where: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{where}: {key} must be a whole number, not {value!r}")
    if value < 0:
        raise InputError(f"{where}: {key} is negative ({value})")
    return value


class WeekRow(TypedDict):
    """A person's week as a summary file holds it, checked (:func:`_check_week`)."""

    person: str
    team: str | None
    week: str | None
    over: int
    exact: int
    under: int
    within_25: int
    n: int
    sum_abs: float
    sum_sq: float
    buckets: list[list[float]]
    histogram: list[list[int]]
    logged: int
    ranges: list[list]
    due: int
    kept: int
    exceeded: int
    effort_n: int
    promised_h: float
    effort_h: float


def _number(row: Mapping, key: str, where: str) -> float:
    value = row.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InputError(f"{where}: {key} must be a number, not {value!r}")
    if value < 0:
        raise InputError(f"{where}: {key} is negative ({value})")
    return float(value)


def _pairs(value, where: str, what: str, low: int, high: int) -> tuple[list[list[int]], int]:
    """(bin, count) pairs with bins in ``low``..``high`` (the last bins the
    caps: nothing lies beyond them) and positive counts, and their total."""
    if not isinstance(value, list):
        raise InputError(f"{where}: {what} must be a list of [bin, count] pairs")
    total, pairs = 0, []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InputError(f"{where}: {what} must be a list of [bin, count] pairs")
        bin_, count = pair
        if not isinstance(bin_, int) or isinstance(bin_, bool) or not low <= bin_ <= high:
            raise InputError(
                f"{where}: {what} bin {bin_!r} is outside {low}..{high} (its cap bins)"
            )
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise InputError(f"{where}: {what} count {count!r} must be a positive number")
        total += count
        pairs.append([bin_, count])
    return pairs, total


def _check_counts(row: Mapping, where: str) -> dict[str, int]:
    """n and the counts over / exact / under (which add up to it) and within 25%."""
    n = _count(row, "n", where)
    shares = {"n": n}
    for key in ("over", "exact", "under", "within_25"):
        shares[key] = _count(row, key, where)
        if shares[key] > n:
            raise InputError(f"{where}: {key} ({shares[key]}) is more than its tasks ({n})")
    if shares["over"] + shares["exact"] + shares["under"] != n:
        raise InputError(f"{where}: over + exact + under must equal its {n} tasks")
    return shares


def _check_sums(row: Mapping, n: int, where: str) -> tuple[float, float]:
    """The sum and sum of squares of |clip(r)|: non-negative, possible for n tasks."""
    total, squares = _number(row, "sum_abs", where), _number(row, "sum_sq", where)
    _possible(total, squares, n, where)
    return total, squares


def _possible(total: float, squares: float, n: int, where: str, what: str = "") -> None:
    for key, value, bound in (
        ("sum_abs", total, rules.CLIP_LOG2),
        ("sum_sq", squares, rules.CLIP_LOG2**2),
    ):
        if value > bound * n + SLACK:
            raise InputError(f"{where}: {what}{key} ({value}) is impossible for {n} tasks")
    if n and squares * n < total**2 * (1 - 1e-9) - SLACK:
        raise InputError(f"{where}: {what}sum_sq is too small for its sum_abs (impossible figures)")


def _check_buckets(row: Mapping, n: int, sums: tuple[float, float], where: str) -> list:
    """Per size bucket [n, sum, sum of squares]: six of them, counts adding up to
    n and sums to the week's (to rounding)."""
    buckets = row.get("buckets")
    if not isinstance(buckets, list) or len(buckets) != BUCKETS:
        raise InputError(f"{where}: buckets must be {BUCKETS} [n, sum_abs, sum_sq] lists")
    checked = []
    for index, bucket in enumerate(buckets):
        label = f"bucket {rules.SIZE_LABELS[index]} "
        if not (isinstance(bucket, list) and len(bucket) == 3):
            raise InputError(f"{where}: {label}must be [n, sum_abs, sum_sq]")
        cells = dict(zip(("n", "sum_abs", "sum_sq"), bucket, strict=True))
        count = _count(cells, "n", f"{where}: {label.strip()}")
        total = _number(cells, "sum_abs", f"{where}: {label.strip()}")
        squares = _number(cells, "sum_sq", f"{where}: {label.strip()}")
        _possible(total, squares, count, where, label)
        checked.append([count, total, squares])
    if sum(b[0] for b in checked) != n:
        raise InputError(
            f"{where}: the bucket counts add up to {sum(b[0] for b in checked)}, not n ({n})"
        )
    for position, key in ((1, "sum_abs"), (2, "sum_sq")):
        added = sum(b[position] for b in checked)
        if abs(added - sums[position - 1]) > SLACK * max(1.0, sums[position - 1]):
            raise InputError(
                f"{where}: the buckets' {key} add up to {added}, not {sums[position - 1]}"
            )
    return checked


def _check_histogram(row: Mapping, n: int, where: str) -> list[list[int]]:
    """clip(r) in bins of 0.01, -300..300 (the caps at -3 and 3), counts adding up to n."""
    pairs, total = _pairs(row.get("histogram"), where, "histogram", -HISTOGRAM_MAX, HISTOGRAM_MAX)
    if total != n:
        raise InputError(f"{where}: the histogram holds {total} tasks, not its {n}")
    return pairs


def _check_logged(row: Mapping, where: str) -> int:
    """Tasks logged in the week (any status): a count."""
    return _count(row, "logged", where)


def _check_ranges(row: Mapping, n: int, where: str) -> list[list]:
    """Per confidence level [confidence %, n, hits, below, above, spread pairs]:
    hits and misses adding up to the level's ranges, the spread histogram
    (0..5000, the last bin the cap) holding as many, and no more ranges than tasks."""
    ranges = row.get("ranges")
    if not isinstance(ranges, list):
        raise InputError(f"{where}: ranges must be a list")
    checked: list[list] = []
    ranged = 0
    for entry in ranges:
        if not (isinstance(entry, list) and len(entry) == 6):
            raise InputError(
                f"{where}: each range entry is [confidence, n, hits, below, above, spreads]"
            )
        confidence = entry[0]
        if (
            not isinstance(confidence, int | float)
            or isinstance(confidence, bool)
            or not 0 < confidence < 100
        ):
            raise InputError(f"{where}: range confidence {confidence!r} must be in (0, 100)")
        level = dict(zip(("n", "hits", "below", "above"), entry[1:5], strict=True))
        counts = [_count(level, key, f"{where}: range") for key in ("n", "hits", "below", "above")]
        level_n, hits, below, above = counts
        if hits > level_n:
            raise InputError(f"{where}: {hits} range hits are more than its {level_n} ranges")
        if hits + below + above != level_n:
            raise InputError(f"{where}: range hits + below + above must equal its {level_n} ranges")
        spreads, total = _pairs(entry[5], where, "range spread histogram", 0, SPREAD_MAX)
        if total != level_n:
            raise InputError(
                f"{where}: the {confidence}% spread histogram holds {total} ranges, not {level_n}"
            )
        ranged += level_n
        checked.append([float(confidence), *counts, spreads])
    if ranged > n:
        raise InputError(f"{where}: {ranged} ranges are more than its {n} tasks")
    return checked


def _check_promises(row: Mapping, where: str) -> dict[str, float]:
    """Due, kept (at most due), exceeded (at most kept); effort promises on
    finished tasks with their promised and actual effort, non-negative."""
    promises = row.get("promises")
    if not isinstance(promises, dict):
        raise InputError(f"{where}: promises must be an object")
    where = f"{where}: promises"
    due, kept = _count(promises, "due", where), _count(promises, "kept", where)
    exceeded = _count(promises, "exceeded", where)
    if kept > due:
        raise InputError(f"{where}: {kept} kept of {due} due is impossible")
    if exceeded > kept:
        raise InputError(f"{where}: {exceeded} exceeded of {kept} kept is impossible")
    effort_n = _count(promises, "effort_n", where)
    promised_h = _number(promises, "promised_h", where)
    actual_h = _number(promises, "actual_h", where)
    if effort_n == 0 and (promised_h or actual_h):
        raise InputError(f"{where}: effort sums without an effort promise")
    return {
        "due": due,
        "kept": kept,
        "exceeded": exceeded,
        "effort_n": effort_n,
        "promised_h": promised_h,
        "effort_h": actual_h,
    }


def check_week(row: Any, where: str) -> WeekRow:
    """One week row, field group by field group (each check its own function)."""
    if not isinstance(row, dict):
        raise InputError(f"{where} is not an object")
    person = name_of(row.get("person"), f"{where}: person")
    where = f"{where} ({person})"
    week = row.get("week")
    if week is not None:
        week = iso_date(week, f"{where}: week")
        if date.fromisoformat(week).weekday() != 0:
            raise InputError(f"{where}: week {week} is not a Monday")
    team = team_of(row.get("team"), f"{where}: team")
    counts = _check_counts(row, where)
    n = counts["n"]
    sums = _check_sums(row, n, where)
    buckets = _check_buckets(row, n, sums, where)
    histogram = _check_histogram(row, n, where)
    logged = _check_logged(row, where)
    ranges = _check_ranges(row, n, where)
    promises = _check_promises(row, where)
    return {
        "person": person,
        "team": team,
        "week": week,
        "over": counts["over"],
        "exact": counts["exact"],
        "under": counts["under"],
        "within_25": counts["within_25"],
        "n": n,
        "sum_abs": sums[0],
        "sum_sq": sums[1],
        "buckets": buckets,
        "histogram": histogram,
        "logged": logged,
        "ranges": ranges,
        "due": int(promises["due"]),
        "kept": int(promises["kept"]),
        "exceeded": int(promises["exceeded"]),
        "effort_n": int(promises["effort_n"]),
        "promised_h": promises["promised_h"],
        "effort_h": promises["effort_h"],
    }
