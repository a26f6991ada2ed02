"""Team summary files: ``export --summary`` writes one, ``import`` stores one.

A team that wants to compare with others without handing over its tasks
exports a *summary*: for each person, team and ISO week, the sufficient
statistics of METRICS.md section 5 — the count n, the sum and sum of squares
of |clip(r)| overall and per size bucket, the counts over / exact / under and
within 25%, a histogram of clip(r) in bins of 0.01 (for medians), the tasks
logged, range hits and misses by confidence level with a histogram of |y -
centre| / halfwidth in bins of 0.01 (for the widen factor), and promise
outcomes with the sums of promised and actual effort. No titles, no tasks. The
figures are :func:`calibrate.teams.week_rows`', the very numbers ``rank`` adds up.

``calibrate import`` of such a file checks it whole, then stores its weeks
(``summary_weeks``) in one transaction; ``rank`` adds them to the raw tasks
(:func:`calibrate.teams.rank_inputs`). A summary imported again from the
same database replaces the earlier one; summaries of different databases add
up; a database's own summary is refused; a summary of METRICS.md version 1 is
refused with one line asking for a new export.

The file (JSON, one object)::

    {"format": "calibrate-summary", "format_version": 2, "score_version": 2,
     "database_id": "...", "exported_at": "...Z", "today": "2026-11-30",
     "window": {"since": "2026-05-25", "until": null},
     "histogram_bin": 0.01, "clip_log2": 3.0, "spread_bin": 0.01, "spread_cap": 50.0,
     "people": [{"person": "Ana", "team": "Core", "opt_out": false}],
     "weeks": [{"person": "Ana", "team": "Core", "week": "2026-06-01",
                "n": 4, "sum_abs": 1.7, "sum_sq": 1.1, "over": 2, "exact": 1,
                "under": 1, "within_25": 2,
                "buckets": [[1, 0.2, 0.04], [3, 1.5, 1.06], [0, 0.0, 0.0], ...],
                "histogram": [[-42, 1], [0, 1], ...], "logged": 5,
                "ranges": [[90.0, 2, 1, 0, 1, [[40, 1], [180, 1]]]],
                "promises": {"due": 1, "kept": 1, "exceeded": 0, "effort_n": 1,
                             "promised_h": 3.0, "actual_h": 2.5}}]}

``week`` is the Monday of the exporter's local ISO week (``null`` for tasks
with no done date); ``buckets`` holds [n, sum, sum of squares] of |clip(r)|
per size bucket (<=1h, 1-2h, 2-4h, 4-8h, 8-16h, >16h); ``histogram`` pairs
are (bin, count) with bin = round(clip(r) / 0.01), its end bins (-300, 300)
the caps at -3 and 3; ``ranges`` rows are (confidence %, n, hits, below,
above, spread pairs), the spread pairs (bin, count) with bin = ceil(|y -
centre| / halfwidth / 0.01), the last bin (5000) the cap holding everything
from 50 up; ``effort_n``, ``promised_h`` and ``actual_h``: the effort
promises on finished tasks, their promised and actual effort (the promise cost).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from calibrate import files, rules, store, teams
from calibrate.durations import local_today, now_iso, week_monday
from calibrate.errors import InputError, NotFound
from calibrate.exchange import summary_checks as checks
from calibrate.exchange.formats import safejson
from calibrate.selection import Selection
from calibrate.store import load, people
from calibrate.store.load import COUNTED_STATS, PROMISE_STATS, STATS
from calibrate.teams import BUCKETS, HISTOGRAM_BIN, NO_TEAM, UNDATED
from calibrate.text import count as plural

FORMAT = "calibrate-summary"
FORMAT_VERSION = 2


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
        "spread_bin": rules.SPREAD_BIN,
        "spread_cap": rules.SPREAD_CAP,
        "people": [],
        "weeks": [],
    }
    selection = load.resolve_person(conn, selection)
    counted, promises = teams.load_tasks(conn, selection, today=today, detail=True)
    logged = teams.logged_frame(conn, selection)
    rows = teams.week_rows(counted, promises, detail=True, logged=logged)
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
        "buckets": [
            [int(record[f"n_b{b}"]), float(record[f"sum_b{b}"]), float(record[f"sq_b{b}"])]
            for b in range(BUCKETS)
        ],
        "histogram": record["histogram"],
        "logged": int(record["logged"]),
        "ranges": record["ranges"],
        "promises": {
            **{name: int(record[name]) for name in PROMISE_STATS},
            "effort_n": int(record["effort_n"]),
            "promised_h": float(record["promised_h"]),
            "actual_h": float(record["effort_h"]),
        },
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
    weeks: list[checks.WeekRow]


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
        if path.stat().st_size > safejson.MAX_DOCUMENT_CHARS:
            raise InputError(
                f"{name} is over {safejson.MAX_DOCUMENT_CHARS // 2**20} MB: not a summary "
                "calibrate wrote"
            )
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {name}: {error}") from None
    try:
        data = safejson.loads(text, name)
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
    if version < FORMAT_VERSION or score_version != rules.SCORE_VERSION:
        raise InputError(
            f"{name} is a version-{score_version} summary and this calibrate scores by "
            f"version {rules.SCORE_VERSION}: ask for it to be exported again "
            "('calibrate export --summary') with this calibrate"
        )
    expected = {
        "histogram_bin": HISTOGRAM_BIN,
        "clip_log2": rules.CLIP_LOG2,
        "spread_bin": rules.SPREAD_BIN,
        "spread_cap": rules.SPREAD_CAP,
    }
    for key, value in expected.items():
        if data.get(key) != value:
            raise InputError(f"{name}: {key} must be {value}, not {data.get(key)!r}")
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
            checks.iso_date(window[key], f"{name}: window {key}")
    listed = []
    for index, person in enumerate(data["people"], start=1):
        where = f"{name}: people entry {index}"
        if not isinstance(person, dict):
            raise InputError(f"{where} is not an object")
        listed.append(
            {
                "person": checks.name_of(person.get("person"), f"{where}: person"),
                "team": checks.team_of(person.get("team"), f"{where}: team"),
                "opt_out": bool(person.get("opt_out", False)),
            }
        )
    seen: set[tuple] = set()
    weeks = []
    for index, row in enumerate(data["weeks"], start=1):
        checked = checks.check_week(row, f"{name}: week row {index}")
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
            f"histogram, ranges, detail) VALUES ({', '.join('?' * (len(STATS) + 7))})",
            [
                (
                    summary_id,
                    row["person"],
                    row["team"],
                    row["week"],
                    *_values(row, STATS),
                    json.dumps(row["histogram"]),
                    json.dumps(row["ranges"]),
                    json.dumps(_detail(row)),
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


def _detail(row: checks.WeekRow) -> dict:
    """What ``summary_weeks`` keeps of a version-2 week beside its columns."""
    return {
        "buckets": row["buckets"],
        "logged": row["logged"],
        "effort": [row["effort_n"], row["promised_h"], row["effort_h"]],
    }


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
