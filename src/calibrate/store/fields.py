"""The fields of a task, written once: the columns of the ``tasks`` table.

Every list of a task's fields derives from :data:`FIELDS`: what ``list`` and
``export`` show (:data:`SHOWN`, :data:`EXPORTED`), what an import or the
demo writes (:data:`STORED`), what ``edit`` may change (:data:`EDITABLE`) and
which fields a loader reads as numbers (:data:`NUMBERS`). The table itself is
made by the migrations (``schema.m001_initial``), which stay as they were
written; a test checks that the two agree.

Standard library only: ``list`` and ``add`` import it.
"""

from __future__ import annotations

#: Every column of ``tasks``, in table order, with the kind of its values:
#: ``integer``, ``real`` (hours and percentages; NULL when not known),
#: ``text`` (times in UTC ISO text, dates in ISO text) or ``json`` (tags).
FIELDS = (
    ("id", "integer"),
    ("uid", "text"),
    ("title", "text"),
    ("person", "text"),
    ("team", "text"),
    ("project", "text"),
    ("estimate_h", "real"),
    ("low_h", "real"),
    ("high_h", "real"),
    ("confidence", "real"),
    ("promise_h", "real"),
    ("due", "text"),
    ("status", "text"),
    ("actual_h", "real"),
    ("created_at", "text"),
    ("started_at", "text"),
    ("done_at", "text"),
    ("updated_at", "text"),
    ("source", "text"),
    ("notes", "text"),
    ("tags", "json"),
    ("stamps", "json"),
    ("imported", "json"),
)
NAMES = tuple(name for name, _ in FIELDS)
#: The fields read as floating-point numbers (NULL becomes NaN).
NUMBERS = frozenset(name for name, kind in FIELDS if kind == "real")
#: The database's own bookkeeping: the local id (which means nothing in
#: another database), the time of the last change, and the replicated
#: history's: when each register was written (``stamps``) and what the source
#: that imported the task gave last (``imported``), both JSON
#: (:mod:`calibrate.store.stamps`).
BOOKKEEPING = ("id", "updated_at", "stamps", "imported")
#: What a task carries from one database to another (an import writes these,
#: a merge compares them), in table order.
STORED = tuple(name for name in NAMES if name not in BOOKKEEPING)
#: What ``edit`` may change: not the identity, the status or its times.
EDITABLE = tuple(
    name
    for name in STORED
    if name not in ("uid", "status", "created_at", "started_at", "done_at", "source")
)


def _shown() -> tuple[str, ...]:
    """The order ``list`` shows fields in: the table's, with the status
    before the figures, the free-text notes last and no bookkeeping but the id."""
    hidden = ("status", "notes", *BOOKKEEPING[1:])
    names = [name for name in NAMES if name not in hidden]
    names.insert(names.index("estimate_h"), "status")
    return (*names, "notes")


#: ``list``'s fields, in its column order.
SHOWN = _shown()
#: ``export``'s fields: those of ``list`` but the local id.
EXPORTED = tuple(name for name in SHOWN if name != "id")
