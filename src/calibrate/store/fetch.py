"""The one way columns leave the database for numpy: :func:`fetch_columns`.

Every loader (:mod:`calibrate.store.load`, :mod:`calibrate.store.load`,
the report's single read, the forecast's history) runs its query through
here and gets one numpy array per selected column: numbers as floats (NULL
becomes NaN), text as Python objects, whatever else as asked. Rows come in
chunks of :data:`FETCH_ROWS` as plain tuples (no ``sqlite3.Row`` for a
million rows), so the Python objects alive at once stay bounded.

``at_once`` asks SQLite for each column as one string (``group_concat``)
that numpy parses in C: several times faster for a million rows, in any row
order (the columns stay aligned with each other), and falling back to the
chunks whenever the text cannot be trusted.

numpy only (no pandas): ``calibrate forecast`` reads through here and starts
faster without it.
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from calibrate.errors import DatabaseError
from calibrate.store.fields import NUMBERS

#: Rows fetched per round trip: bounds the Python objects alive at once.
FETCH_ROWS = 100_000
#: Separates text values in :func:`fetch_columns`' ``at_once`` strings (the
#: ASCII unit separator).
TEXT_SEPARATOR = "\x1f"


def column_dtypes(names: Sequence[str], dtypes: Mapping[str, Any] | None = None) -> list[np.dtype]:
    """The dtype of each column: ``dtypes[name]``, else float for a number
    field of the tasks table (:data:`fields.NUMBERS`), else object."""
    dtypes = dtypes or {}
    return [np.dtype(dtypes.get(name, float if name in NUMBERS else object)) for name in names]


def fetch_columns(
    conn: sqlite3.Connection,
    sql: str,
    params: Sequence = (),
    names: Sequence[str] = (),
    dtypes: Mapping[str, Any] | None = None,
    *,
    at_once: bool = False,
) -> dict[str, np.ndarray]:
    """The query's columns as numpy arrays, named ``names`` (one per selected
    column, in order), of the dtypes :func:`column_dtypes` gives; in the
    query's row order (``at_once``: in any order, see the module doc). A value
    that does not fit its dtype (text where a number belongs) is a
    :class:`DatabaseError` naming the field."""
    kinds = column_dtypes(names, dtypes)
    if at_once:
        found = _at_once(conn, sql, params, names, kinds)
        if found is not None:
            return found
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        cursor.execute(sql, list(params))
        parts: list[list[np.ndarray]] = [[] for _ in names]
        while rows := cursor.fetchmany(FETCH_ROWS):
            # One 2-D object array per chunk, sliced by column: several times
            # faster than transposing the tuples with zip().
            block = np.empty((len(rows), len(names)), dtype=object)
            block[:] = rows
            for index, (name, kind) in enumerate(zip(names, kinds, strict=True)):
                try:
                    parts[index].append(block[:, index].astype(kind))
                except (TypeError, ValueError):
                    raise _not_a_number(name) from None
    finally:
        cursor.close()
    return {
        name: np.concatenate(chunks) if chunks else np.array([], dtype=kind)
        for name, kind, chunks in zip(names, kinds, parts, strict=True)
    }


def _not_a_number(name: str) -> DatabaseError:
    return DatabaseError(
        f"a task's {name} is not a number in the database; fix it with "
        "'calibrate edit' or re-import the file"
    )


def _at_once(
    conn: sqlite3.Connection,
    sql: str,
    params: Sequence,
    names: Sequence[str],
    kinds: Sequence[np.dtype],
) -> dict[str, np.ndarray] | None:
    """:func:`fetch_columns` with one string per column; ``None`` (the caller
    then reads in chunks) when the strings cannot be trusted: a NULL (which
    ``group_concat`` leaves out), a text where a number belongs, a separator
    inside a text, a number numpy cannot read. Numbers are printed with 17
    significant digits, so they read back exactly; a number in a text column
    comes back as its text."""
    aliases = [f"c{index}" for index in range(len(names))]
    selected, odd = ["count(*)"], ["0"]
    for alias, kind in zip(aliases, kinds, strict=True):
        if kind.kind == "f":
            selected.append(f"group_concat(printf('%!.17g', {alias}))")
            # printf() reads NULL and text as 0.0: any of them sends the caller
            # to the chunks (text sorts after every number in SQLite)
            odd.append(f"{alias} IS NULL OR {alias} >= ''")
        elif kind.kind in "iu":
            selected.append(f"group_concat({alias})")
        else:
            selected.append(f"group_concat({alias}, char(31))")
    selected.append(f"total({' OR '.join(odd)})")
    query = f"WITH q({', '.join(aliases)}) AS ({sql}) SELECT {', '.join(selected)} FROM q"  # noqa: S608 (fixed names)
    row = conn.execute(query, list(params)).fetchone()
    n = row[0]
    if n == 0:
        return {name: np.array([], dtype=kind) for name, kind in zip(names, kinds, strict=True)}
    if row[-1]:
        return None
    out: dict[str, np.ndarray] = {}
    for index, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        text = row[1 + index]
        if text is None:
            return None
        if kind.kind in "fiu":
            with warnings.catch_warnings():  # numpy warns of text it cannot read
                warnings.simplefilter("ignore")
                try:
                    values = np.fromstring(text, dtype=kind, sep=",")
                except ValueError:
                    return None
        else:
            values = np.array(text.split(TEXT_SEPARATOR), dtype=object)
        if len(values) != n:
            return None
        out[name] = values
    return out
