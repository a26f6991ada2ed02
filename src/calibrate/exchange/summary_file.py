"""Team summary files: ``export --summary`` writes one, ``import`` stores one.

A team that wants to compare with others without handing over its tasks
exports a *summary*: for each person, team and ISO week, the sufficient
statistics of METRICS.md section 5 — the count n, the sum and sum of squares
of |clip(r)|, the counts over / exact / under and within 25%, a histogram of
clip(r) in bins of 0.01 (for medians), range hits and misses by confidence
level, and promise outcomes. No titles, no tasks. The figures are
:func:`calibrate.teams.week_rows`', the very numbers ``rank`` adds up.

``calibrate import`` of such a file checks it whole, then stores its weeks
(``summary_weeks``) in one transaction; ``rank`` adds them to the raw tasks
(:func:`calibrate.teams.rank_inputs`). A summary imported again from the
same database replaces the earlier one; summaries of different databases add
up; a database's own summary is refused.

The file (JSON, one object)::

    {"format": "calibrate-summary", "format_version": 1, "score_version": 1,
     "database_id": "...", "exported_at": "...Z", "today": "2026-11-30",
     "window": {"since": "2026-05-25", "until": null},
     "histogram_bin": 0.01, "clip_log2": 3.0,
     "people": [{"person": "Ana", "team": "Core", "opt_out": false}],
     "weeks": [{"person": "Ana", "team": "Core", "week": "2026-06-01",
                "n": 4, "sum_abs": 1.7, "sum_sq": 1.1, "over": 2, "exact": 1,
                "under": 1, "within_25": 2, "histogram": [[-42, 1], [0, 1], ...],
                "ranges": [[90.0, 2, 1, 0, 1]],
                "promises": {"due": 1, "kept": 1, "exceeded": 0}}]}

``week`` is the Monday of the exporter's local ISO week (``null`` for tasks
with no done date); ``histogram`` pairs are (bin, count) with bin =
round(clip(r) / 0.01); ``ranges`` rows are (confidence %, n, hits, below,
above).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypedDict

from calibrate import files, rules, store, teams
from calibrate.durations import local_today, now_iso, week_monday
from calibrate.errors import InputError, NotFound
from calibrate.selection import Selection
from calibrate.store import load, people
from calibrate.store.load import COUNTED_STATS, PROMISE_STATS, STATS
from calibrate.teams import HISTOGRAM_BIN, HISTOGRAM_MAX, NO_TEAM, UNDATED
from calibrate.text import count as plural

FORMAT = "calibrate-summary"
FORMAT_VERSION = 1
#: Slack for sums of floats checked against integer bounds.
SLACK = 1e-6


# --- writing a summary file ---------------------------------------------------------------


def build_summary(
    conn: sqlite3.Connection | None,
    selection: Selection,
    *,
    today: date | None = None,
) -> dict:
    """The summary of the selection's scope and window, as a JSON-ready dict
    (see the module doc). ``conn`` ``None`` (no database yet) is refused: a
    summary names the database it comes from."""
    if conn is None:
        raise NotFound("no database here yet: there is nothing to summarise")
    today = today or local_today()
    start, end = load.window_start(selection), load.window_end(selection)
    out: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "score_version": rules.SCORE_VERSION,
        "database_id": store.database_id(conn),
        "exported_at": now_iso(),
        "today": today.isoformat(),
        "window": {
            "since": start.isoformat() if start else None,
            "until": end.isoformat() if end else None,
        },
        "histogram_bin": HISTOGRAM_BIN,
        "clip_log2": rules.CLIP_LOG2,
        "people": [],
        "weeks": [],
    }
    selection = load.resolve_person(conn, selection)
    counted, promises = teams.load_tasks(conn, selection, today=today, detail=True)
    rows = teams.week_rows(counted, promises, detail=True)
    opted = people.opted_out(conn)
    names = sorted(set(rows["person"]))
    out["people"] = [
        {"person": name, "team": people.current_team(conn, name), "opt_out": name in opted}
        for name in names
    ]
    out["weeks"] = [_week_record(record) for record in rows.to_dict("records")]
    return out


def _week_record(record: Mapping) -> dict:
    week = int(record["week"])
    return {
        "person": record["person"],
        "team": record["team"] if record["team"] != NO_TEAM else None,
        "week": None if week == UNDATED else week_monday(week).isoformat(),
        **{name: int(record[name]) for name in COUNTED_STATS if name not in ("sum_abs", "sum_sq")},
        "sum_abs": float(record["sum_abs"]),
        "sum_sq": float(record["sum_sq"]),
        "histogram": record["histogram"],
        "ranges": record["ranges"],
        "promises": {name: int(record[name]) for name in PROMISE_STATS},
    }


def write_summary(handle, summary: dict) -> int:
    """Write a summary as JSON (one week row a line, for diffs); returns the
    number of week rows."""
    head = {key: value for key, value in summary.items() if key not in ("people", "weeks")}
    text = json.dumps(head, ensure_ascii=False, allow_nan=False)[:-1]
    handle.write(text + ',\n "people": [')
    handle.write(",".join("\n  " + json.dumps(p, ensure_ascii=False) for p in summary["people"]))
    handle.write('\n ],\n "weeks": [')
    handle.write(
        ",".join(
            "\n  " + json.dumps(w, ensure_ascii=False, allow_nan=False) for w in summary["weeks"]
        )
    )
    handle.write("\n ]\n}\n")
    return len(summary["weeks"])


def write_summary_file(path: Path, summary: dict) -> int:
    """:func:`write_summary` into ``path``, atomically (:func:`files.output_file`)."""
    with files.output_file(path) as handle:
        return write_summary(handle, summary)


# --- reading and checking a summary file --------------------------------------------------


@dataclass
class SummaryFile:
    """A checked summary: its header, people and week rows."""

    name: str
    header: dict
    people: list[dict]
    weeks: list[WeekRow]


def looks_like_summary(path: Path) -> bool:
    """Whether the file starts like a summary: a JSON object naming the format
    (the same test as the formats registry's guess)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    return text.startswith("{") and f'"{FORMAT}"' in text


def read_summary(path: Path, name: str | None = None) -> SummaryFile:
    """Read and check a summary file; :class:`InputError` names the first
    problem (nothing is written by reading)."""
    name = name or path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {name}: {error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InputError(f"{name} is not valid JSON ({error})") from None
    return check_summary(data, name)


def check_summary(data: Any, name: str = "the summary") -> SummaryFile:
    """Validate a parsed summary (see the module doc for the format)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f'{name} is not a calibrate summary (no "format": "{FORMAT}")')
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f"{name}: format_version must be a whole number from 1")
    if version > FORMAT_VERSION:
        raise InputError(
            f"{name} was written by a newer calibrate (summary format {version}; this one "
            f"reads up to {FORMAT_VERSION}): upgrade calibrate to import it"
        )
    score_version = data.get("score_version")
    if score_version != rules.SCORE_VERSION:
        raise InputError(
            f"{name} holds scores of definition version {score_version}, this calibrate uses "
            f"version {rules.SCORE_VERSION}: export the summary again with the same calibrate "
            "version"
        )
    if data.get("histogram_bin") != HISTOGRAM_BIN or data.get("clip_log2") != rules.CLIP_LOG2:
        raise InputError(
            f"{name}: histogram_bin must be {HISTOGRAM_BIN} and clip_log2 {rules.CLIP_LOG2}"
        )
    if not isinstance(data.get("database_id"), str) or not data["database_id"]:
        raise InputError(f"{name}: database_id is missing")
    for key in ("people", "weeks"):
        if not isinstance(data.get(key), list):
            raise InputError(f"{name}: {key} must be a list")
    window = data.get("window") or {}
    if not isinstance(window, dict):
        raise InputError(f"{name}: window must be an object with since and until")
    for key in ("since", "until"):
        if window.get(key) is not None:
            _iso_date(window[key], f"{name}: window {key}")
    listed = []
    for index, person in enumerate(data["people"], start=1):
        where = f"{name}: people entry {index}"
        if not isinstance(person, dict):
            raise InputError(f"{where} is not an object")
        listed.append(
            {
                "person": _name(person.get("person"), f"{where}: person"),
                "team": _team(person.get("team"), f"{where}: team"),
                "opt_out": bool(person.get("opt_out", False)),
            }
        )
    seen: set[tuple] = set()
    weeks = []
    for index, row in enumerate(data["weeks"], start=1):
        checked = _check_week(row, f"{name}: week row {index}")
        week_key = (checked["person"], checked["team"], checked["week"])
        if week_key in seen:
            raise InputError(f"{name}: week row {index} repeats {_describe(week_key)}")
        seen.add(week_key)
        weeks.append(checked)
    header = {k: v for k, v in data.items() if k not in ("people", "weeks")}
    return SummaryFile(name=name, header=header, people=listed, weeks=weeks)


def _describe(key: tuple) -> str:
    person, team, week = key
    return f"{person} ({team or 'no team'}) in the week of {week or 'no date'}"


def _iso_date(value, where: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an ISO date") from None


def _name(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} must be a non-empty name")
    return value.strip()


def _team(value, where: str) -> str | None:
    if value is None:
        return None
    return _name(value, where)


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
    histogram: list[list[int]]
    ranges: list[list[float]]
    due: int
    kept: int
    exceeded: int


def _check_week(row: Any, where: str) -> WeekRow:
    if not isinstance(row, dict):
        raise InputError(f"{where} is not an object")
    person = _name(row.get("person"), f"{where}: person")
    where = f"{where} ({person})"
    week = row.get("week")
    if week is not None:
        week = _iso_date(week, f"{where}: week")
        if date.fromisoformat(week).weekday() != 0:
            raise InputError(f"{where}: week {week} is not a Monday")
    team = _team(row.get("team"), f"{where}: team")
    n = _count(row, "n", where)
    shares = {}
    for key in ("over", "exact", "under", "within_25"):
        shares[key] = _count(row, key, where)
        if shares[key] > n:
            raise InputError(f"{where}: {key} ({shares[key]}) is more than its tasks ({n})")
    if shares["over"] + shares["exact"] + shares["under"] != n:
        raise InputError(f"{where}: over + exact + under must equal its {n} tasks")
    sums = {}
    for key, bound in (("sum_abs", rules.CLIP_LOG2), ("sum_sq", rules.CLIP_LOG2**2)):
        value = row.get(key)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise InputError(f"{where}: {key} must be a number, not {value!r}")
        if value < 0:
            raise InputError(f"{where}: {key} is negative ({value})")
        if value > bound * n + SLACK:
            raise InputError(f"{where}: {key} ({value}) is impossible for {n} tasks")
        sums[key] = float(value)
    if n and sums["sum_sq"] * n < sums["sum_abs"] ** 2 * (1 - 1e-9) - SLACK:
        raise InputError(f"{where}: sum_sq is too small for its sum_abs (impossible figures)")
    histogram = row.get("histogram", [])
    if not isinstance(histogram, list):
        raise InputError(f"{where}: histogram must be a list of [bin, count] pairs")
    total = 0
    pairs = []
    for pair in histogram:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InputError(f"{where}: histogram must be a list of [bin, count] pairs")
        bin_, count = pair
        if not isinstance(bin_, int) or isinstance(bin_, bool) or abs(bin_) > HISTOGRAM_MAX:
            raise InputError(f"{where}: histogram bin {bin_!r} is outside -300..300")
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise InputError(f"{where}: histogram count {count!r} must be a positive number")
        total += count
        pairs.append([bin_, count])
    if total != n:
        raise InputError(f"{where}: the histogram holds {total} tasks, not its {n}")
    ranges = row.get("ranges", [])
    if not isinstance(ranges, list):
        raise InputError(f"{where}: ranges must be a list")
    checked_ranges: list[list[float]] = []
    ranged = 0
    for entry in ranges:
        if not (isinstance(entry, list) and len(entry) == 5):
            raise InputError(f"{where}: each range entry is [confidence, n, hits, below, above]")
        confidence = entry[0]
        if not isinstance(confidence, int | float) or not 0 < confidence < 100:
            raise InputError(f"{where}: range confidence {confidence!r} must be in (0, 100)")
        level = dict(zip(("n", "hits", "below", "above"), entry[1:], strict=True))
        counts = [_count(level, key, f"{where}: range") for key in ("n", "hits", "below", "above")]
        level_n, hits, below, above = counts
        if hits > level_n:
            raise InputError(f"{where}: {hits} range hits are more than its {level_n} ranges")
        if hits + below + above != level_n:
            raise InputError(f"{where}: range hits + below + above must equal its {level_n} ranges")
        ranged += level_n
        checked_ranges.append([float(confidence), *counts])
    if ranged > n:
        raise InputError(f"{where}: {ranged} ranges are more than its {n} tasks")
    promises = row.get("promises", {})
    if not isinstance(promises, dict):
        raise InputError(f"{where}: promises must be an object")
    due = _count(promises, "due", f"{where}: promises") if "due" in promises else 0
    kept = _count(promises, "kept", f"{where}: promises") if "kept" in promises else 0
    exceeded = _count(promises, "exceeded", f"{where}: promises") if "exceeded" in promises else 0
    if kept > due:
        raise InputError(f"{where}: {kept} promises kept of {due} due is impossible")
    if exceeded > kept:
        raise InputError(f"{where}: {exceeded} promises exceeded of {kept} kept is impossible")
    return {
        "person": person,
        "team": team,
        "week": week,
        "over": shares["over"],
        "exact": shares["exact"],
        "under": shares["under"],
        "within_25": shares["within_25"],
        "n": n,
        "sum_abs": sums["sum_abs"],
        "sum_sq": sums["sum_sq"],
        "histogram": pairs,
        "ranges": checked_ranges,
        "due": due,
        "kept": kept,
        "exceeded": exceeded,
    }


# --- storing an imported summary ------------------------------------------------------------


@dataclass
class SummaryImport:
    """What importing a summary did."""

    file: str
    people: int
    weeks: int
    tasks: int
    replaced: bool
    since: str | None
    until: str | None

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "format": "summary",
            "people": self.people,
            "weeks": self.weeks,
            "tasks": self.tasks,
            "replaced": self.replaced,
            "since": self.since,
            "until": self.until,
        }

    def lines(self) -> list[str]:
        window = f"from {self.since}" if self.since else "all history"
        if self.until:
            window += f" to {self.until}"
        verb = "replacing the earlier one from the same database" if self.replaced else "new"
        return [
            f"Imported summary {self.file} ({window}): {plural(self.people, 'person', 'people')}, "
            f"{plural(self.weeks, 'person-week')}, {plural(self.tasks, 'finished task')} ({verb})"
        ]


def store_summary(conn: sqlite3.Connection, summary: SummaryFile) -> SummaryImport:
    """Store a checked summary in one transaction, replacing one imported
    before from the same database."""
    header = summary.header
    if header["database_id"] == store.database_id(conn):
        raise InputError(
            f"{summary.name} was exported from this database: its tasks are already here"
        )
    listed = {p["person"]: p for p in summary.people}
    for row in summary.weeks:
        listed.setdefault(
            row["person"], {"person": row["person"], "team": row["team"], "opt_out": False}
        )
    window = header.get("window") or {}
    with store.transaction(conn):
        replaced = conn.execute(
            "DELETE FROM summaries WHERE database_id = ?", (header["database_id"],)
        ).rowcount
        inserted = conn.execute(
            "INSERT INTO summaries (database_id, file, exported_at, imported_at, since, until, "
            "format_version, score_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                header["database_id"],
                summary.name,
                str(header.get("exported_at") or ""),
                now_iso(),
                window.get("since"),
                window.get("until"),
                header["format_version"],
                header["score_version"],
            ),
        )
        summary_id = store.inserted_id(inserted)
        conn.executemany(
            "INSERT INTO summary_people (summary_id, person, team, opt_out) VALUES (?, ?, ?, ?)",
            [(summary_id, p["person"], p["team"], int(p["opt_out"])) for p in listed.values()],
        )
        conn.executemany(
            f"INSERT INTO summary_weeks (summary_id, person, team, week, {', '.join(STATS)}, "  # noqa: S608
            f"histogram, ranges) VALUES ({', '.join('?' * (len(STATS) + 6))})",
            [
                (
                    summary_id,
                    row["person"],
                    row["team"],
                    row["week"],
                    *_values(row, STATS),
                    json.dumps(row["histogram"]),
                    json.dumps(row["ranges"]),
                )
                for row in summary.weeks
            ],
        )
    return SummaryImport(
        file=summary.name,
        people=len({row["person"] for row in summary.weeks}),
        weeks=len(summary.weeks),
        tasks=sum(row["n"] for row in summary.weeks),
        replaced=bool(replaced),
        since=window.get("since"),
        until=window.get("until"),
    )


def _values(row: Mapping[str, object], names: Sequence[str]) -> list[object]:
    return [row[name] for name in names]


def import_summary(conn: sqlite3.Connection, path: Path, name: str | None = None) -> SummaryImport:
    """Read, check and store a summary file: all of it, or (on any problem) nothing."""
    return store_summary(conn, read_summary(path, name))


def open_reader(options) -> None:
    """The formats registry's reader: a summary holds no tasks to read."""
    raise InputError(
        f"{options.name or options.path.name} is a team summary, not a file of tasks: "
        "'calibrate import' stores it for 'calibrate rank'"
    )
