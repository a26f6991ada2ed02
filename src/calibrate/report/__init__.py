"""The weekly HTML report: data, then sections, then one self-contained HTML file.

``calibrate report`` is what a developer opens once a week and a team lead puts
on a screen in a retrospective, so every chart carries a title, axis labels with
units and one sentence saying how to read it, and every section without data
says so in one line instead of drawing an empty chart.

How it is built, one module a step:

1. :mod:`.data` reads the tasks ONCE and derives a :class:`ReportData`: the
   headline panel (equal to ``calibrate score --json``), the previous period,
   the counted tasks and promises every section reads.
2. Each section is a function ``(ReportData) -> Section`` in a module of its
   own under :mod:`.sections`, listed in order in :data:`SECTIONS`: a title, a
   sentence on how to read it, and a plotly figure, tables, or the empty-state
   sentence. A section imports only :mod:`.model` (``Section``, ``Table``,
   ``Cell``, the figure style and the shared words), :mod:`.data` and library
   modules; adding one is writing such a module and listing it here (or
   passing ``sections=`` to :func:`build_report`).
3. :mod:`.headline` puts the panel in words; :mod:`.render` fills the jinja2
   template (autoescaped), inlines plotly.js once and writes the file
   atomically. :mod:`.anonymise` swaps names for pseudonyms when asked.

The size stays bounded however many tasks a report covers: every chart gets
aggregates (weekly figures, histograms, buckets) or a sample.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from calibrate.report import anonymise as pseudonyms
from calibrate.report import render
from calibrate.report.data import ReportData, load
from calibrate.report.model import Section
from calibrate.report.render import check_plotlyjs, default_path, write_atomically
from calibrate.report.sections import (
    extremes,
    misjudge,
    open_work,
    people,
    promises,
    ranges,
    ranks,
    ratios,
    scatter,
    self_check,
    sizes,
    trend,
)
from calibrate.selection import Selection
from calibrate.text import count

__all__ = ["SECTIONS", "ReportData", "Section", "build_report", "default_path", "write_report"]


def people_section(data: ReportData) -> Section:
    """A person's worst and best estimates; for a team its people, for everyone
    its teams and people (one place in the report, whichever the scope)."""
    if data.scope == "person":
        return extremes.extremes_section(data)
    section = people.people_section(data)
    if data.hidden:
        section.notes.append(
            f"Left out of this report: {count(len(data.hidden), 'person', 'people')} who "
            "opted out of ranks (their tasks count nowhere in it)."
        )
    return section


#: The report's sections after the headline, in order. Each takes the
#: :class:`ReportData` and returns a :class:`Section`.
SECTIONS: list[Callable[[ReportData], Section]] = [
    trend.trend_section,
    scatter.scatter_section,
    ratios.ratio_section,
    sizes.size_section,
    misjudge.misjudge_section,
    ranges.range_section,
    promises.promise_section,
    open_work.open_work_section,
    self_check.self_check_section,
    people_section,
    ranks.ranks_section,
]


def build_report(
    conn: sqlite3.Connection | None,
    selection: Selection,
    *,
    today: date | None = None,
    plotlyjs: str = "inline",
    note: str | None = None,
    sections: Sequence[Callable[[ReportData], Section]] | None = None,
    progress: Callable[[str], None] | None = None,
    anonymise: bool = False,
    viewer: str | None = None,
) -> str:
    """Load, compute every section and render: the report's HTML text.
    ``progress`` (optional) is called with a label before each step;
    ``anonymise`` replaces every person's name with a stable pseudonym."""
    check_plotlyjs(plotlyjs)
    step = progress or (lambda label: None)
    step("loading")
    data = load(conn, selection, today=today, viewer=viewer)
    if anonymise:
        pseudonyms.anonymise(data)
    built = []
    for make in SECTIONS if sections is None else sections:
        step(make.__name__.removesuffix("_section"))
        built.append(make(data))
    if data.part is not None:
        _not_in_summaries(built, data.part.people)
    if anonymise:
        pseudonyms.scrub(built, data.pseudonyms or {})
    step("rendering")
    return render.render(data, built, plotlyjs=plotlyjs, note=note)


#: The sections that count imported team summaries as the headline does (law 6).
WITH_SUMMARIES = {"people", "ranks"}


def _not_in_summaries(built: list[Section], people: int) -> None:
    """A note on every section drawn from single tasks, where team summaries
    count in the headline: what they show is not in summaries."""
    who = f"{people} {'person' if people == 1 else 'people'}"
    note = (
        f"Not in summaries: {who} of this report counted from imported team summaries "
        "are in the headline and the people and ranks, not here (a summary carries "
        "no single tasks)."
    )
    for section in built:
        if section.key in WITH_SUMMARIES:
            continue
        if section.empty:  # said beside the empty state, which is all that shows
            section.empty += f" {note}"
        else:
            section.notes.append(note)


def write_report(
    conn: sqlite3.Connection | None,
    selection: Selection,
    path: Path,
    **options,
) -> Path:
    """Build the report (:func:`build_report` options) and write it atomically to
    ``path`` (never into ``database``, the file it is read from, or its files)."""
    database = options.pop("database", None)
    return write_atomically(build_report(conn, selection, **options), path, database=database)
