"""Section: a person's worst and best estimates of the period."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping

import numpy as np

from calibrate import rules
from calibrate.durations import format_duration
from calibrate.report.data import ReportData
from calibrate.report.model import Cell, Section, Table
from calibrate.store import load as history
from calibrate.text import factor

#: Worst and best estimates shown.
EXTREMES_N = 5
#: Notes in the worst/best table are cut to this many characters.
NOTE_CHARS = 160


def extremes_section(data: ReportData) -> Section:
    """Worst and best estimates by unclipped |log ratio|, with their titles
    (like FogBugz's estimation history)."""
    section = Section(
        key="extremes",
        title="Worst and best estimates",
        how_to_read=(
            "Your finished tasks of the period that missed their estimate by the largest "
            "factor, either way, and those that came closest: worth a look back at what "
            "made them hard or easy to judge."
        ),
    )
    n = len(data.tasks)
    if n == 0 or data.conn is None:
        section.empty = "No finished tasks in this window."
        return section
    worst_n = min(EXTREMES_N, math.ceil(n / 2))
    best_n = min(EXTREMES_N, n - worst_n)
    section.tables.append(
        Table(
            TASK_COLUMNS,
            [task_row(row) for row in extreme_tasks(data, worst_n, worst=True)],
            caption="Furthest from the estimate",
        )
    )
    if best_n:
        section.tables.append(
            Table(
                TASK_COLUMNS,
                [task_row(row) for row in extreme_tasks(data, best_n, worst=False)],
                caption="Closest to the estimate",
            )
        )
    return section


TASK_COLUMNS = [
    ("Task", "text"),
    ("Done", "date"),
    ("Estimate", "num"),
    ("Actual", "num"),
    ("Off by", "num"),
]


def extreme_tasks(data: ReportData, limit: int, *, worst: bool) -> list[sqlite3.Row]:
    """The scope's counted tasks of the window furthest from (``worst``) or
    closest to their estimate, by the unclipped factor max(A/E, E/A)."""
    where, params = data.selection.where()
    order = "DESC" if worst else "ASC"
    sql = (
        "SELECT id, title, estimate_h, actual_h, done_at, tags, notes FROM tasks "  # noqa: S608
        f"WHERE {rules.counted_sql()} AND {where} "
        f"ORDER BY max(actual_h / estimate_h, estimate_h / actual_h) {order}, done_at DESC, "
        "id DESC LIMIT ?"
    )
    cursor = data.conn.execute(sql, [*params, limit])
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def task_row(row: sqlite3.Row | Mapping) -> list:
    try:
        tags = [str(tag) for tag in json.loads(row["tags"] or "[]")]
    except (TypeError, ValueError):
        tags = []
    notes = row["notes"]
    if notes and len(notes) > NOTE_CHARS:
        notes = notes[: NOTE_CHARS - 1] + "…"
    done_day = history.local_dates([row["done_at"]])[0]
    ratio = row["actual_h"] / row["estimate_h"]
    return [
        Cell(f"#{row['id']} {row['title']}", detail=notes, tags=tags),
        "-" if np.isnat(done_day) else str(done_day),
        format_duration(row["estimate_h"]),
        format_duration(row["actual_h"]),
        ratio_words(ratio),
    ]


def ratio_words(ratio: float) -> str:
    """How far off, the same way both sides: "3.0x over", "3.0x under" (took a
    third of the estimate), "exact"."""
    if rules.exact_mask(math.log2(ratio)):
        return "exact"
    if ratio > 1:
        return f"{factor(ratio)} over"
    return f"{factor(1 / ratio)} under"
