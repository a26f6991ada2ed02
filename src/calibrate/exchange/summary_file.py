"""Team summary files: ``export --summary`` writes one, ``import`` stores one.

A team that wants to compare with others without handing over its tasks
exports a *summary*: for each person, team and ISO week, the sufficient
statistics of METRICS.md section 5 — the count n, the sum and sum of squares
of |clip(r)| overall and per size bucket, the counts over / exact / under and
within 25%, a histogram of clip(r) in bins of 0.01 (for medians), the tasks
logged, range hits and misses by confidence level with a histogram of |y -
centre| / halfwidth in bins of 0.01 (for the widen factor), and promise
outcomes with the sums of promised and actual effort. No titles, no tasks. The
figures are :func:`calibrate.teams.week_rows`', the very numbers ``rank`` adds
up. People who opted out of ranks are left out entirely; the file says how
many (``left_out``), and whom it covers (``scope``) and when (``window``).

``calibrate import`` of such a file passes it through the one door
(:func:`calibrate.exchange.validate.summary`: a row that cannot be is refused
with one line), then stores it as one export of its replica
(:mod:`calibrate.store.summaries`), in one transaction:

- a later export of the same replica replaces the weeks it covers (for the
  people it covers); the weeks only an earlier one covered stay;
- summaries of different replicas add up; where two bring the same person,
  the later export is kept for that person (one line says so, and which);
- a file with the replica id of one imported before, whose people or weeks
  diverge from it (a copy of one database made on another machine), is a
  *fork*: counted as a replica of its own, with one line;
- a database's own summary is refused; a summary of METRICS.md version 1 is
  refused with one line asking for a new export.

Raw tasks always win: a person with tasks here is counted from them, never
from a summary (:mod:`calibrate.store.summaries`).

The file (JSON, one object)::

    {"format": "calibrate-summary", "format_version": 2, "score_version": 2,
     "database_id": "...", "exported_at": "...Z", "today": "2026-11-30",
     "window": {"since": "2026-05-25", "until": null},
     "scope": {"kind": "everyone", "name": null}, "left_out": 0,
     "histogram_bin": 0.01, "clip_log2": 3.0, "spread_bin": 0.01, "spread_cap": 50.0,
     "people": [{"person": "Ana", "team": "Core"}],
     "weeks": [{"person": "Ana", "team": "Core", "week": "2026-06-01",
                "n": 4, "sum_abs": 1.7, "sum_sq": 1.1, "over": 2, "exact": 1,
                "under": 1, "within_25": 2,
                "buckets": [[1, 0.2, 0.04], [3, 1.5, 1.06], [0, 0.0, 0.0], ...],
                "histogram": [[-42, 1], [0, 1], ...], "logged": 5,
                "ranges": [[90.0, 2, 1, 0, 1, [[40, 1], [180, 1]]]],
                "promises": {"due": 1, "kept": 1, "exceeded": 0, "effort_n": 1,
                             "promised_h": 3.0, "actual_h": 2.5}}]}

``database_id`` is the exporting file's replica id (law 4); ``week`` is the
Monday of the exporter's local ISO week (``null`` for tasks with no done
date); ``buckets`` holds [n, sum, sum of squares] of |clip(r)| per size
bucket (<=1h, 1-2h, 2-4h, 4-8h, 8-16h, >16h); ``histogram`` pairs are (bin,
count) with bin = round(clip(r) / 0.01), its end bins (-300, 300) the caps at
-3 and 3; ``ranges`` rows are (confidence %, n, hits, below, above, spread
pairs), the spread pairs (bin, count) with bin = ceil(|y - centre| /
halfwidth / 0.01), the last bin (5000) the cap holding everything from 50
up; ``effort_n``, ``promised_h`` and ``actual_h``: the effort promises on
finished tasks, their promised and actual effort (the promise cost).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from calibrate import files, rules, store, weeks
from calibrate.durations import local_today, now_iso, week_monday
from calibrate.errors import InputError, NotFound
from calibrate.exchange import validate
from calibrate.exchange.formats import safejson
from calibrate.exchange.validate import CheckedSummary, WeekRow
from calibrate.selection import Selection
from calibrate.store import load, people, summaries
from calibrate.store.load import COUNTED_STATS, PROMISE_STATS, STATS
from calibrate.store.stamps import now_at
from calibrate.text import count as plural
from calibrate.weeks import BUCKETS, NO_TEAM, UNDATED

FORMAT = validate.SUMMARY_FORMAT
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
    summary names the database it comes from. People who opted out are left
    out, and counted (``left_out``)."""
    if conn is None:
        raise NotFound("no database here yet: there is nothing to summarise")
    today = today or local_today()
    start, end = load.window_start(selection), load.window_end(selection)
    selection = load.resolve_person(conn, selection)
    scope: dict[str, str | None]
    if selection.person is not None:
        scope = {"kind": "person", "name": selection.person}
    elif selection.team is not None:
        scope = {"kind": "team", "name": selection.team}
    else:
        scope = {"kind": "everyone", "name": None}
    counted, promises = weeks.load_tasks(conn, selection, today=today, detail=True)
    logged = weeks.logged_frame(conn, selection)
    logged["person"] = load.canonical_people(conn, logged["person"].to_numpy(dtype=object))
    rows = weeks.week_rows(counted, promises, detail=True, logged=logged)
    opted = people.opted_out(conn)
    left_out = sorted(set(rows["person"]) & opted)
    rows = rows[~rows["person"].isin(opted)]
    out: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "score_version": rules.SCORE_VERSION,
        "database_id": store.database_id(conn),
        "exported_at": now_at(),  # to the microsecond: two exports never share one
        "today": today.isoformat(),
        "window": {
            "since": start.isoformat() if start else None,
            "until": end.isoformat() if end else None,
        },
        "scope": scope,
        "left_out": len(left_out),
        "histogram_bin": rules.HISTOGRAM_BIN,
        "clip_log2": rules.CLIP_LOG2,
        "spread_bin": rules.SPREAD_BIN,
        "spread_cap": rules.SPREAD_CAP,
        "people": [
            {"person": name, "team": people.current_team(conn, name)}
            for name in sorted(set(rows["person"]))
        ],
        "weeks": [_week_record(record) for record in rows.to_dict("records")],
    }
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


def write_summary_file(path: Path, summary: dict, *, database: str | None = None) -> int:
    """:func:`write_summary` into ``path``, atomically (:func:`files.output_file`),
    never into ``database`` or its files."""
    with files.output_file(path, database=database) as handle:
        return write_summary(handle, summary)


# --- reading a summary file: through the door ---------------------------------------------


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


def read_summary(path: Path, name: str | None = None, *, today: date | None = None):
    """Read a summary file and pass it through the door
    (:func:`validate.summary`); :class:`InputError` names a problem of the
    whole file (nothing is written by reading)."""
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
    return check_summary(data, name, today=today)


def check_summary(data: Any, name: str = "the summary", *, today: date | None = None):
    """A parsed summary through the door (see :func:`validate.summary`)."""
    return validate.summary(
        data,
        name,
        today=today or local_today(),
        format_version=FORMAT_VERSION,
        score_version=rules.SCORE_VERSION,
    )


# --- storing an imported summary ------------------------------------------------------------


@dataclass
class SummaryImport:
    """What importing a summary did: ``replica`` the key it is counted under,
    ``replaced`` the week rows of earlier exports of that replica it
    superseded, ``notes`` one line each (a fork, people also brought by
    another replica, people with tasks here), ``refused`` a line per row the
    door refused, ``left_out`` the people who opted out there."""

    file: str
    people: int
    weeks: int
    tasks: int
    replaced: int
    since: str | None
    until: str | None
    replica: str = ""
    left_out: int = 0
    notes: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "format": "summary",
            "replica": self.replica,
            "people": self.people,
            "weeks": self.weeks,
            "tasks": self.tasks,
            "replaced": self.replaced,
            "left_out": self.left_out,
            "since": self.since,
            "until": self.until,
            "notes": self.notes,
            "refused": self.refused,
        }

    def lines(self) -> list[str]:
        window = f"from {self.since}" if self.since else "all history"
        if self.until:
            window += f" to {self.until}"
        verb = (
            f"replacing {plural(self.replaced, 'person-week')} of an earlier export of the "
            "same replica"
            if self.replaced
            else f"replica {self.replica[:8]}"
        )
        out = [
            f"Imported summary {self.file} ({window}): {plural(self.people, 'person', 'people')}, "
            f"{plural(self.weeks, 'person-week')}, {plural(self.tasks, 'finished task')} ({verb})"
        ]
        if self.left_out:
            out.append(
                f"  left out: {plural(self.left_out, 'person', 'people')} who opted out of ranks "
                "there (its team figures are without them)"
            )
        out.extend(f"  {line}" for line in self.notes)
        shown = self.refused[: validate.SHOWN_REFUSALS]
        out.extend(f"  refused: {line}" for line in shown)
        if len(self.refused) > len(shown):
            out.append(f"  and {len(self.refused) - len(shown):,} more refused")
        return out


def store_summary(conn: sqlite3.Connection, summary: CheckedSummary) -> SummaryImport:
    """Store a summary that passed the door, in one transaction, as one
    export of its replica (see the module doc); nothing is stored when the
    door refused every row."""
    header = summary.header
    if header["database_id"] == store.database_id(conn):
        raise InputError(
            f"{summary.name} was exported from this database: its tasks are already here"
        )
    if not summary.weeks and summary.refused:
        more = len(summary.refused) - 1
        raise InputError(
            summary.refused[0]
            + (f" (and {plural(more, 'row')} more: nothing imported)" if more else "")
        )
    window = header["window"]
    listed = {p["person"]: p for p in summary.people}
    for row in summary.weeks:
        listed.setdefault(row["person"], {"person": row["person"], "team": row["team"]})
    with store.transaction(conn):
        key, notes = _replica_key(conn, summary)
        same = (key, header["exported_at"])
        again = conn.execute(
            "SELECT count(*) FROM summary_weeks WHERE summary_id IN "
            "(SELECT id FROM summaries WHERE replica = ? AND exported_at = ?)",
            same,
        ).fetchone()[0]
        conn.execute("DELETE FROM summaries WHERE replica = ? AND exported_at = ?", same)
        inserted = conn.execute(
            "INSERT INTO summaries (replica, database_id, file, exported_at, imported_at, "
            "today, since, until, scope_kind, scope_name, left_out, format_version, "
            "score_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                header["database_id"],
                summary.name,
                header["exported_at"],
                now_iso(),
                header.get("today"),
                window["since"],
                window["until"],
                header["scope"]["kind"],
                header["scope"]["name"],
                (header["left_out"] or 0) + len(summary.left_out),
                header["format_version"],
                header["score_version"],
            ),
        )
        summary_id = store.inserted_id(inserted)
        conn.executemany(
            "INSERT INTO summary_people (summary_id, person, team) VALUES (?, ?, ?)",
            [(summary_id, p["person"], p["team"]) for p in listed.values()],
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
        replaced = again + summaries.supersede(conn, key)
        notes.extend(_whose(conn, set(listed), key))
    return SummaryImport(
        file=summary.name,
        people=len({row["person"] for row in summary.weeks}),
        weeks=len(summary.weeks),
        tasks=sum(row["n"] for row in summary.weeks),
        replaced=replaced,
        since=window["since"],
        until=window["until"],
        replica=key,
        left_out=(header["left_out"] or 0) + len(summary.left_out),
        notes=notes,
        refused=list(summary.refused),
    )


def _detail(row: WeekRow) -> dict:
    """What ``summary_weeks`` keeps of a version-2 week beside its columns."""
    return {
        "buckets": row["buckets"],
        "logged": row["logged"],
        "effort": [row["effort_n"], row["promised_h"], row["effort_h"]],
    }


def _values(row: Mapping[str, object], names: Sequence[str]) -> list[object]:
    return [row[name] for name in names]


def _whose(conn: sqlite3.Connection, brought: set[str], key: str) -> list[str]:
    """A line per person of this summary whom another replica brings too (the
    later export is kept for them), and one for those with tasks here (their
    own tasks count, not a summary)."""
    canonical = summaries.canonical_names(conn)
    people_here = sorted({canonical(name) for name in brought})
    speaking = summaries.speakers(conn, with_local=True)
    local = [name for name in people_here if summaries.has_tasks(conn, name)]
    lines = []
    for name in people_here:
        found = speaking.get(name)
        if name in local or found is None or not found.others:
            continue
        lost = [file for file in found.others if file != found.file]
        if found.replica == key:
            lines.append(
                f"{name} is in {', '.join(lost)} too: this later export is kept for {name}"
            )
        else:
            lines.append(
                f"{name} is in {found.file} too, exported later ({found.exported_at}): "
                f"that export is kept for {name}"
            )
    if local:
        shown = ", ".join(local[:5]) + (", ..." if len(local) > 5 else "")
        lines.append(
            f"{plural(len(local), 'person', 'people')} of it {'has' if len(local) == 1 else 'have'}"
            f" tasks here ({shown}): their own tasks count, not the summary's figures"
        )
    return lines


# --- one replica, or a fork ------------------------------------------------------------------


def _replica_key(conn: sqlite3.Connection, summary: CheckedSummary) -> tuple[str, list[str]]:
    """The key the summary is counted under (:func:`summaries.replica_key`),
    and the line that says so when it is a fork."""
    header = summary.header
    window, scope = header["window"], header["scope"]
    ours = summaries.Export(
        header["exported_at"],
        *summaries.covered_weeks(window["since"], window["until"], header.get("today")),
        scope["kind"],
        scope["name"],
        header.get("today"),
        {r["person"] for r in summary.weeks} | {p["person"] for p in summary.people},
        {(r["person"], r["team"], r["week"]): r["n"] for r in summary.weeks},
        (header["left_out"] or 0) + len(summary.left_out),
    )
    key, first = summaries.replica_key(conn, header["database_id"], ours)
    if first is None:
        return key, []
    return key, [
        f"{summary.name} has the replica id of {first}, but their people or weeks diverge: "
        "two copies of one database (made on another machine), counted as two replicas"
    ]


def import_summary(conn: sqlite3.Connection, path: Path, name: str | None = None) -> SummaryImport:
    """Read a summary file, pass it through the door and store it: all that
    passes, or (on a problem of the whole file) nothing."""
    return store_summary(conn, read_summary(path, name))


def open_reader(options) -> None:
    """The formats registry's reader: a summary holds no tasks to read."""
    raise InputError(
        f"{options.name or options.path.name} is a team summary, not a file of tasks: "
        "'calibrate import' stores it for 'calibrate rank'"
    )
