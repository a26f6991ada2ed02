"""Jira's "Export to CSV".

A CSV file with columns such as ``Issue key``, ``Summary``, ``Assignee``,
``Status``, ``Resolution``, ``Created``, ``Resolved``, ``Due date``,
``Original Estimate`` and ``Time Spent`` (both in seconds), ``Labels``
(repeated, one column per label) and ``Project name``. The summed ``Σ``
columns (a parent with its sub-tasks) are never read: each sub-task is its own
row. Summary and Assignee may be absent (the key and the importer's person
stand in).

Dates are in the instance's format: ``27/Jan/17 2:11 PM``, ``27/01/2017
14:11``, ``01/27/2017 14:11`` or ISO; day-first or month-first is detected
from the data (see :mod:`calibrate.formats.dates`). An issue resolved as
"Won't Do", "Duplicate" and the like, with no time logged, is imported as
dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

from calibrate.exchange.formats import RawRow, ReadOptions, status_category
from calibrate.exchange.formats.csvfile import SYNONYMS, CsvStream

JIRA_SYNONYMS: dict[str, tuple[str, ...]] = {
    **SYNONYMS,
    "key": ("issuekey", "key", "issueid"),
    "title": ("summary", "title"),
    "estimate": ("originalestimate", "estimate"),
    "actual": ("timespent", "actual"),
    "person": ("assignee", "person"),
    "team": ("team", "customfieldteam", "customfieldteamname"),
    "project": ("projectname", "projectkey", "project"),
    "tags": ("labels", "label", "tags"),
    "created": ("created",),
    "started": ("started", "customfieldstartdate", "startdate"),
    "done": ("resolved", "resolutiondate", "done"),
    "due": ("duedate", "due"),
    "status": ("status",),
    "resolution": ("resolution",),
    "updated": ("updated",),  # when the issue last changed: an import's stamp (law 2)
}


class JiraStream(CsvStream):
    format_name = "jira"
    synonyms = JIRA_SYNONYMS
    default_unit = "s"

    def __init__(self, options: ReadOptions):
        super().__init__(options)
        self.source = "jira"
        self.columns.pop("resolution", None)
        self.present.discard("resolution")

    def __iter__(self) -> Iterator[RawRow]:
        for row in super().__iter__():
            resolution = row.values.pop("resolution", None)
            if status_category(resolution) == "dropped":
                row.values["status"] = resolution
            yield row


def open_reader(options: ReadOptions) -> JiraStream:
    return JiraStream(options)
