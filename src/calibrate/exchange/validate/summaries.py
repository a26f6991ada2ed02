"""The door's checks of a team summary (:mod:`calibrate.exchange.validate`).

:func:`summary` checks a parsed summary file: its header whole (a problem
there refuses the file: :class:`InputError`), then each week row and people
entry (:func:`week_row`, one function per field group), a row that cannot be
refused with one line and the others kept: every field has the bounds of
METRICS.md section 5 and PRODUCT.md law 5 (counts whole and in step with each
other, sums possible for their count to a relative 1e-9, histograms holding
their n and in step with the sums, at most 10^7 tasks a person a week), a
week after tomorrow (the one check against the clock) or outside the window
the file says it covers is refused, and a people entry must bring rows (a
summary cannot opt out anyone else).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypedDict

from calibrate import rules
from calibrate.durations import MAX_EFFORT_H
from calibrate.errors import InputError
from calibrate.exchange.validate.records import HEX, Refused, is_date, utc_time
from calibrate.store.names import clean_name

#: What a team summary file says it is (its ``format``).
SUMMARY_FORMAT = "calibrate-summary"
#: The most finished tasks a summary may give one person in one week.
MAX_WEEK_N = 10**7
#: Relative slack of sums checked against bounds (PRODUCT.md law 5).
RELATIVE = 1e-9
HISTOGRAM_MAX = round(rules.CLIP_LOG2 / rules.HISTOGRAM_BIN)
SPREAD_MAX = round(rules.SPREAD_CAP / rules.SPREAD_BIN)
BUCKETS = len(rules.SIZE_LABELS)

# --- team summaries -------------------------------------------------------------------------


class WeekRow(TypedDict):
    """A person's week as a summary file holds it, checked (:func:`week_row`)."""

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


@dataclass
class CheckedSummary:
    """A summary through the door: its header (``database_id``,
    ``exported_at``, ``window``, ``scope``, ``left_out``, ...), the people
    entries and week rows kept, and a line per one refused. ``left_out``:
    the people the file says opted out (their rows are not kept)."""

    name: str
    header: dict
    people: list[dict]
    weeks: list[WeekRow]
    refused: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def summary(data: Any, name: str, *, today: date, format_version: int, score_version: int):
    """A parsed summary file through the door (see :mod:`.summary_file` for
    the format): a problem in its header raises :class:`InputError` (nothing
    of it is kept); a people entry or week row that cannot be is refused with
    one line. ``today``: the lead's local date (weeks after tomorrow are refused)."""
    header = _summary_header(data, name, format_version, score_version)
    window = header["window"]
    first = _monday(window["since"]) if window["since"] else None
    end = _monday_after(window["until"]) if window["until"] else None
    tomorrow = today + timedelta(days=1)
    out = CheckedSummary(name=name, header=header, people=[], weeks=[])
    seen: set[tuple] = set()
    attempted: set[str] = set()  # people with rows, refused ones too
    for index, row in enumerate(data["weeks"], start=1):
        where = f"{name}: week row {index}"
        if isinstance(row, dict) and isinstance(row.get("person"), str):
            attempted.add(clean_name(row["person"]))
        try:
            checked = week_row(row, where)
            week = checked["week"]
            if week is None and first is not None:
                raise Refused(f"{where}: a week with no date, in a summary from {first}")
            if week is not None:
                monday = date.fromisoformat(week)
                if monday > tomorrow:
                    raise Refused(f"{where}: the week of {week} is after tomorrow")
                if (first is not None and monday < first) or (end is not None and monday >= end):
                    raise Refused(f"{where}: the week of {week} is outside the summary's window")
            key = (checked["person"], checked["team"], week)
            if key in seen:
                raise Refused(f"{where} repeats {_describe(key)}")
        except Refused as why:
            out.refused.append(str(why))
            continue
        seen.add(key)
        out.weeks.append(checked)
    brought = {row["person"] for row in out.weeks}
    listed: set[str] = set()
    for index, entry in enumerate(data["people"], start=1):
        where = f"{name}: people entry {index}"
        try:
            person = _people_entry(entry, where)
            if person["person"] in listed:
                raise Refused(f"{where} repeats {person['person']}")
            if person["person"] not in attempted:
                raise Refused(f"{where} ({person['person']}) brings no week rows")
        except Refused as why:
            out.refused.append(str(why))
            continue
        if person["person"] not in brought:
            continue  # every row of theirs was refused: said once, there
        listed.add(person["person"])
        if person["opt_out"]:
            out.left_out.append(person["person"])
        else:
            out.people.append(person)
    if out.left_out:  # opted out there: left out here, weeks and all
        gone = set(out.left_out)
        out.weeks = [row for row in out.weeks if row["person"] not in gone]
    return out


def _describe(key: tuple) -> str:
    person, team, week = key
    return f"{person} ({team or 'no team'}) in the week of {week or 'no date'}"


def _monday(day: str) -> date:
    moment = date.fromisoformat(day)
    return moment - timedelta(days=moment.weekday())


def _monday_after(day: str) -> date:
    monday = _monday(day)
    return monday if monday == date.fromisoformat(day) else monday + timedelta(weeks=1)


def _summary_header(data: Any, name: str, format_version: int, score_version: int) -> dict:
    """The header of a summary, checked whole (:class:`InputError` on the first problem)."""
    if not isinstance(data, dict) or data.get("format") != SUMMARY_FORMAT:
        raise InputError(f'{name} is not a calibrate summary (no "format": "{SUMMARY_FORMAT}")')
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{name}: format_version must be a whole number from 1")
    if version > format_version:
        raise InputError(
            f"{name} was written by a newer calibrate (summary format {version}; this one "
            f"reads up to {format_version}): upgrade calibrate to import it"
        )
    scored = data.get("score_version")
    if version < format_version or scored != score_version:
        raise InputError(
            f"{name} is a version-{scored} summary and this calibrate scores by "
            f"version {score_version}: ask for it to be exported again "
            "('calibrate export --summary') with this calibrate"
        )
    expected = {
        "histogram_bin": rules.HISTOGRAM_BIN,
        "clip_log2": rules.CLIP_LOG2,
        "spread_bin": rules.SPREAD_BIN,
        "spread_cap": rules.SPREAD_CAP,
    }
    for key, value in expected.items():
        if data.get(key) != value:
            raise InputError(f"{name}: {key} must be {value}, not {data.get(key)!r}")
    replica = data.get("database_id")
    if not isinstance(replica, str) or not HEX.match(replica):
        raise InputError(f"{name}: database_id (its replica id) must be 32 hex digits")
    exported = data.get("exported_at")
    try:
        utc_time({"exported_at": exported}, "exported_at", "summary")
    except Refused as why:
        raise InputError(f"{name}: {str(why).removeprefix('summary: ')}") from None
    for key in ("people", "weeks"):
        if not isinstance(data.get(key), list):
            raise InputError(f"{name}: {key} must be a list")
    window = data.get("window") or {}
    if not isinstance(window, dict):
        raise InputError(f"{name}: window must be an object with since and until")
    for key in ("since", "until"):
        if window.get(key) is not None and not is_date(str(window[key])):
            raise InputError(f"{name}: window {key}: {window[key]!r} is not an ISO date")
    today = data.get("today")
    if today is not None and not (isinstance(today, str) and is_date(today)):
        raise InputError(f"{name}: today: {today!r} is not an ISO date")
    left_out = data.get("left_out")
    if left_out is not None and (
        not isinstance(left_out, int) or isinstance(left_out, bool) or left_out < 0
    ):
        raise InputError(f"{name}: left_out must be a count of people")
    return {
        "database_id": replica,
        "exported_at": exported,
        "today": today,
        "window": {"since": window.get("since"), "until": window.get("until")},
        "scope": _scope(data.get("scope"), name),
        "left_out": left_out,
        "format_version": version,
        "score_version": scored,
    }


def _scope(value: Any, name: str) -> dict:
    """Whom a summary covers: ``{"kind": "everyone"}`` (also for files that
    do not say), ``{"kind": "team", "name": ...}`` or ``{"kind": "person", ...}``."""
    if value is None:
        return {"kind": "everyone", "name": None}
    kind = value.get("kind") if isinstance(value, dict) else None
    who = value.get("name") if isinstance(value, dict) else None
    if kind == "everyone" and who is None:
        return {"kind": kind, "name": None}
    if kind in ("team", "person") and isinstance(who, str) and clean_name(who):
        return {"kind": kind, "name": clean_name(who)}
    raise InputError(f"{name}: scope must say everyone, a team or a person, not {value!r}")


def _people_entry(entry: Any, where: str) -> dict:
    if not isinstance(entry, dict):
        raise Refused(f"{where} is not an object")
    opt_out = entry.get("opt_out", False)
    if not isinstance(opt_out, bool):
        raise Refused(f"{where}: opt_out must be true or false")
    return {
        "person": _name(entry.get("person"), f"{where}: person"),
        "team": _team(entry.get("team"), f"{where}: team"),
        "opt_out": opt_out,
    }


def _name(value: Any, where: str) -> str:
    name = clean_name(value) if isinstance(value, str) else ""
    if not name:
        raise Refused(f"{where} must be a non-empty name")
    return name


def _team(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Refused(f"{where} must be a non-empty name")
    return value.strip()


def _count(row: Mapping, key: str, where: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(f"{where}: {key} must be a whole number, not {value!r}")
    if value < 0:
        raise Refused(f"{where}: {key} is negative ({value})")
    return value


def _amount(row: Mapping, key: str, where: str) -> float:
    value = row.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise Refused(f"{where}: {key} must be a number, not {value!r}")
    if value < 0:
        raise Refused(f"{where}: {key} is negative ({value})")
    return float(value)


def _at_most(value: float, bound: float) -> bool:
    return value <= bound * (1 + RELATIVE)


def _pairs(value: Any, where: str, what: str, low: int, high: int) -> tuple[list[list[int]], int]:
    """(bin, count) pairs with bins in ``low``..``high`` (the end bins the
    caps: nothing lies beyond them) and positive counts, and their total."""
    if not isinstance(value, list):
        raise Refused(f"{where}: {what} must be a list of [bin, count] pairs")
    total, pairs = 0, []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise Refused(f"{where}: {what} must be a list of [bin, count] pairs")
        bin_, count = pair
        if not isinstance(bin_, int) or isinstance(bin_, bool) or not low <= bin_ <= high:
            raise Refused(f"{where}: {what} bin {bin_!r} is outside {low}..{high} (its cap bins)")
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise Refused(f"{where}: {what} count {count!r} must be a positive number")
        total += count
        pairs.append([bin_, count])
    return pairs, total


def _check_counts(row: Mapping, where: str) -> dict[str, int]:
    """n (at most 10^7 a week) and over / exact / under (adding up to it),
    within 25% (at most n, at least the exact hits: they are within 25%)."""
    n = _count(row, "n", where)
    if n > MAX_WEEK_N:
        raise Refused(f"{where}: n ({n:,}) is more than {MAX_WEEK_N:,} tasks in a week")
    counts = {"n": n}
    for key in ("over", "exact", "under", "within_25"):
        counts[key] = _count(row, key, where)
        if counts[key] > n:
            raise Refused(f"{where}: {key} ({counts[key]}) is more than its tasks ({n})")
    if counts["over"] + counts["exact"] + counts["under"] != n:
        raise Refused(f"{where}: over + exact + under must equal its {n} tasks")
    if counts["exact"] > counts["within_25"]:
        raise Refused(f"{where}: more exact hits than tasks within 25% (impossible)")
    return counts


def possible(total: float, squares: float, n: int, where: str, what: str = "") -> None:
    """Sums of |clip(r)| (each in 0..3) possible for n tasks, to a relative
    1e-9: 0 <= sum_abs <= 3n, sum_abs^2 <= n * sum_sq <= 9n^2, sum_sq <= 3 sum_abs."""
    if not _at_most(total, rules.CLIP_LOG2 * n):
        raise Refused(f"{where}: {what}sum_abs ({total}) is impossible for {n} tasks")
    if not _at_most(squares, rules.CLIP_LOG2**2 * n):
        raise Refused(f"{where}: {what}sum_sq ({squares}) is impossible for {n} tasks")
    if not _at_most(total * total, n * squares):
        raise Refused(f"{where}: {what}sum_sq is too small for its sum_abs (impossible figures)")
    if not _at_most(squares, rules.CLIP_LOG2 * total):
        raise Refused(f"{where}: {what}sum_sq is too large for its sum_abs (impossible figures)")


def _check_buckets(row: Mapping, n: int, sums: tuple[float, float], where: str) -> list:
    """Per size bucket [n, sum, sum of squares]: six, counts adding up to n,
    sums to the week's (to rounding)."""
    buckets = row.get("buckets")
    if not isinstance(buckets, list) or len(buckets) != BUCKETS:
        raise Refused(f"{where}: buckets must be {BUCKETS} [n, sum_abs, sum_sq] lists")
    checked = []
    for index, bucket in enumerate(buckets):
        label = f"bucket {rules.SIZE_LABELS[index]}"
        if not (isinstance(bucket, list) and len(bucket) == 3):
            raise Refused(f"{where}: {label} must be [n, sum_abs, sum_sq]")
        cells = dict(zip(("n", "sum_abs", "sum_sq"), bucket, strict=True))
        count = _count(cells, "n", f"{where}: {label}")
        total = _amount(cells, "sum_abs", f"{where}: {label}")
        squares = _amount(cells, "sum_sq", f"{where}: {label}")
        possible(total, squares, count, where, f"{label} ")
        checked.append([count, total, squares])
    if sum(b[0] for b in checked) != n:
        raise Refused(
            f"{where}: the bucket counts add up to {sum(b[0] for b in checked)}, not n ({n})"
        )
    for position, key in ((1, "sum_abs"), (2, "sum_sq")):
        added = sum(b[position] for b in checked)
        if abs(added - sums[position - 1]) > 1e-6 * max(1.0, sums[position - 1]):
            raise Refused(
                f"{where}: the buckets' {key} add up to {added}, not {sums[position - 1]}"
            )
    return checked


def _check_histogram(row: Mapping, counts: Mapping[str, int], sums, where: str) -> list:
    """clip(r) in bins of 0.01 (-300..300, the caps at -3 and 3), holding n
    tasks, in step with the counts over and under and with the sums (each
    bin's centre within half a bin of its tasks' clip(r))."""
    n = counts["n"]
    pairs, total = _pairs(row.get("histogram"), where, "histogram", -HISTOGRAM_MAX, HISTOGRAM_MAX)
    if total != n:
        raise Refused(f"{where}: the histogram holds {total} tasks, not its {n}")
    for key, sign in (("over", 1), ("under", -1)):
        surely = sum(c for b, c in pairs if sign * b >= 2)
        perhaps = sum(c for b, c in pairs if sign * b >= 1)
        if not surely <= counts[key] <= perhaps:
            raise Refused(f"{where}: {key} ({counts[key]}) does not match its histogram")
    half = rules.HISTOGRAM_BIN / 2
    centre = sum(abs(b) * rules.HISTOGRAM_BIN * c for b, c in pairs)
    squares = sum((b * rules.HISTOGRAM_BIN) ** 2 * c for b, c in pairs)
    if abs(sums[0] - centre) > half * n * (1 + 1e-6) + 1e-9:
        raise Refused(f"{where}: sum_abs does not match its histogram")
    if abs(sums[1] - squares) > half * (2 * rules.CLIP_LOG2 + half) * n * (1 + 1e-6) + 1e-9:
        raise Refused(f"{where}: sum_sq does not match its histogram")
    return pairs


def _check_ranges(row: Mapping, n: int, where: str) -> list[list]:
    """Per confidence level [confidence %, n, hits, below, above, spread
    pairs]: hits and misses adding up to the level's ranges, the spread
    histogram (0..5000, the last bin the cap) holding as many, no more ranges than tasks."""
    ranges = row.get("ranges")
    if not isinstance(ranges, list):
        raise Refused(f"{where}: ranges must be a list")
    checked: list[list] = []
    ranged = 0
    levels: set[float] = set()
    for entry in ranges:
        if not (isinstance(entry, list) and len(entry) == 6):
            raise Refused(
                f"{where}: each range entry is [confidence, n, hits, below, above, spreads]"
            )
        confidence = entry[0]
        if (
            not isinstance(confidence, int | float)
            or isinstance(confidence, bool)
            or not 0 < confidence < 100
        ):
            raise Refused(f"{where}: range confidence {confidence!r} must be in (0, 100)")
        if float(confidence) in levels:
            raise Refused(f"{where}: range confidence {confidence} is given twice")
        levels.add(float(confidence))
        level = dict(zip(("n", "hits", "below", "above"), entry[1:5], strict=True))
        counts = [_count(level, key, f"{where}: range") for key in ("n", "hits", "below", "above")]
        level_n, hits, below, above = counts
        if hits > level_n:
            raise Refused(f"{where}: {hits} range hits are more than its {level_n} ranges")
        if hits + below + above != level_n:
            raise Refused(f"{where}: range hits + below + above must equal its {level_n} ranges")
        spreads, total = _pairs(entry[5], where, "range spread histogram", 0, SPREAD_MAX)
        if total != level_n:
            raise Refused(
                f"{where}: the {confidence}% spread histogram holds {total} ranges, not {level_n}"
            )
        ranged += level_n
        checked.append([float(confidence), *counts, spreads])
    if ranged > n:
        raise Refused(f"{where}: {ranged} ranges are more than its {n} tasks")
    return checked


def _check_promises(row: Mapping, where: str) -> dict[str, float]:
    """Due, kept (at most due), exceeded (at most kept); the effort promises
    on finished tasks (at most those due) with their promised and actual
    effort, each at most the effort of one task per promise."""
    promises = row.get("promises")
    if not isinstance(promises, dict):
        raise Refused(f"{where}: promises must be an object")
    where = f"{where}: promises"
    due, kept = _count(promises, "due", where), _count(promises, "kept", where)
    exceeded = _count(promises, "exceeded", where)
    if due > MAX_WEEK_N:
        raise Refused(f"{where}: due ({due:,}) is more than {MAX_WEEK_N:,} in a week")
    if kept > due:
        raise Refused(f"{where}: {kept} kept of {due} due is impossible")
    if exceeded > kept:
        raise Refused(f"{where}: {exceeded} exceeded of {kept} kept is impossible")
    effort_n = _count(promises, "effort_n", where)
    promised_h = _amount(promises, "promised_h", where)
    actual_h = _amount(promises, "actual_h", where)
    if effort_n > due:
        raise Refused(f"{where}: {effort_n} effort promises of {due} due is impossible")
    if effort_n == 0 and (promised_h or actual_h):
        raise Refused(f"{where}: effort sums without an effort promise")
    for key, hours in (("promised_h", promised_h), ("actual_h", actual_h)):
        if effort_n and not _at_most(hours, MAX_EFFORT_H * effort_n):
            raise Refused(f"{where}: {key} ({hours}) is impossible for {effort_n} promises")
        if effort_n and not hours > 0:
            raise Refused(f"{where}: {key} must be more than zero for {effort_n} promises")
    return {
        "due": due,
        "kept": kept,
        "exceeded": exceeded,
        "effort_n": effort_n,
        "promised_h": promised_h,
        "effort_h": actual_h,
    }


def week_row(row: Any, where: str) -> WeekRow:
    """One week row of a summary, field group by field group (each its own
    function); :class:`Refused` names the first problem."""
    if not isinstance(row, dict):
        raise Refused(f"{where} is not an object")
    person = _name(row.get("person"), f"{where}: person")
    where = f"{where} ({person})"
    week = row.get("week")
    if week is not None:
        if not isinstance(week, str) or not is_date(week):
            raise Refused(f"{where}: week {week!r} is not an ISO date")
        if date.fromisoformat(week).weekday() != 0:
            raise Refused(f"{where}: week {week} is not a Monday")
    team = _team(row.get("team"), f"{where}: team")
    counts = _check_counts(row, where)
    n = counts["n"]
    sums = (_amount(row, "sum_abs", where), _amount(row, "sum_sq", where))
    possible(*sums, n, where)
    buckets = _check_buckets(row, n, sums, where)
    histogram = _check_histogram(row, counts, sums, where)
    logged = _count(row, "logged", where)
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
