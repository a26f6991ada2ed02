"""An anonymised report: every person's name replaced with a stable pseudonym.

For sharing a report outside the team: :func:`anonymise` swaps the names in a
report's data before the sections are built (each section then shows
``data.pseudonyms`` names), and :func:`scrub` goes over the built sections as
a safety net. The pseudonyms are the database's own (:func:`ranks.pseudonyms`
with its salt), so the same person has the same pseudonym in every report.
"""

from __future__ import annotations

from calibrate.report.data import ReportData
from calibrate.report.model import Cell, Heading, Section
from calibrate.stats import ranks
from calibrate.store import people


def anonymise(data: ReportData) -> dict[str, str]:
    """Replace every person's name in ``data`` with its pseudonym (in place),
    and return the mapping (real name -> pseudonym)."""
    names = set(data.tasks["person"].dropna()) if "person" in data.tasks else set()
    names |= set(data.promises["person"].dropna()) if "person" in data.promises else set()
    name = data.panel["name"]
    if data.panel["scope"] == "person" and name:
        names.add(name)
    names |= {row["person"] for row in people.list_people(data.conn)}
    mapping = ranks.pseudonyms(sorted(names), people.pseudonym_salt(data.conn))
    if "person" in data.tasks:
        data.tasks["person"] = data.tasks["person"].map(lambda name: mapping.get(name, name))
    if "person" in data.promises:
        data.promises["person"] = data.promises["person"].map(lambda n: mapping.get(n, n))
    if data.part is not None and len(data.part.rows):  # people from team summaries
        data.part.rows["person"] = data.part.rows["person"].map(lambda n: mapping.get(n, n))
    if data.panel["scope"] == "person" and name:
        data.panel["name"] = mapping[name]
    data.pseudonyms = mapping
    return mapping


def scrub(sections: list[Section], mapping: dict[str, str]) -> None:
    """A safety net for an anonymised report: any table cell, trace name or
    hover text that is exactly a real name becomes its pseudonym, whichever
    section drew it (sections should show ``data.pseudonyms`` names already)."""

    def swap(value):
        if isinstance(value, str):
            return mapping.get(value, value)
        if isinstance(value, Cell):
            value.text = mapping.get(value.text, value.text)
            if value.detail is not None:
                value.detail = mapping.get(value.detail, value.detail)
        return value

    for section in sections:
        for table in section.tables:
            table.rows = [
                row if isinstance(row, Heading) else [swap(cell) for cell in row]
                for row in table.rows
            ]
        if section.figure is None:
            continue
        for trace in section.figure.data:
            for attribute in ("name", "legendgroup"):
                value = getattr(trace, attribute, None)
                if isinstance(value, str) and value in mapping:
                    setattr(trace, attribute, mapping[value])
            for attribute in ("text", "hovertext"):
                values = getattr(trace, attribute, None)
                if isinstance(values, list | tuple):
                    setattr(trace, attribute, [swap(v) for v in values])
