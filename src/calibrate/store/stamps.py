"""Stamps: when each part of a record was written, and by which replica (law 1).

A stamp is ``(at, replica)``: ``at`` a UTC ISO text to the microsecond
(``2026-12-01T12:00:00.123456Z``, so that two edits in one second order, and
texts order as times), ``replica`` the writing database file's id (32 hex).
Stamps compare as tuples; a tie on both (one replica writing twice in one
microsecond, which :func:`next_at` prevents locally) is broken by the value's
canonical JSON (:func:`canonical`), so the winner is always unique.

A task's fields are grouped in registers (:data:`REGISTERS`): fields that
must stay consistent change together (a range's low, high and confidence; the
status with its actual and dates), and each register is one last-writer-wins
value. A task keeps its stamps in one JSON column, ``stamps``: ``{"*": [at,
replica], "title": [at, replica], ...}``, where ``"*"`` stamps every register
not listed (a new task has only ``"*"``). A row whose ``stamps`` is NULL was
written here without them (the demo generator, or SQL by hand): its every
register is stamped with its ``updated_at`` and this database's replica id;
a copy that takes a new identity writes such stamps out first
(:mod:`calibrate.store.replica`).

Standard library only: every local write stamps through here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from calibrate.durations import utc_now

Stamp = tuple[str, str]

#: register -> the ``tasks`` columns it holds, in table order.
REGISTERS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "person": ("person",),
    "team": ("team",),
    "project": ("project",),
    "estimate": ("estimate_h",),
    "range": ("low_h", "high_h", "confidence"),
    "promise": ("promise_h", "due"),
    "state": ("status", "actual_h", "started_at", "done_at"),
    "notes": ("notes",),
    "tags": ("tags",),
    "created": ("created_at",),
    "source": ("source",),
    #: what the source that last imported the task gave, per field (law 2)
    "imported": ("imported",),
}
#: column -> its register.
REGISTER_OF: dict[str, str] = {
    column: register for register, columns in REGISTERS.items() for column in columns
}
#: Every column a register holds, in table order (``uid`` and the bookkeeping aside).
REGISTER_COLUMNS: tuple[str, ...] = tuple(REGISTER_OF)
NO_STAMP: Stamp = ("", "")
_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# --- times ---------------------------------------------------------------------


def format_at(moment: datetime) -> str:
    """An aware moment as a stamp's ``at`` text (UTC, microseconds)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(_AT_FORMAT)


def now_at() -> str:
    """Now as an ``at`` (``CALIBRATE_NOW`` freezes it, as every clock here)."""
    return format_at(utc_now())


def after(at: str) -> str:
    """The ``at`` one microsecond later."""
    moment = datetime.strptime(at, _AT_FORMAT) + timedelta(microseconds=1)
    return moment.strftime(_AT_FORMAT)


def next_at(*previous: str) -> str:
    """The ``at`` of a local write: now, or one microsecond after the latest
    stamp already on what it changes, if that is later (a clock that went
    back never lets an edit lose to the one before it)."""
    now = now_at()
    latest = max(previous, default="")
    return now if now > latest else after(latest)


def normal_at(text: str | None) -> str:
    """Any stored UTC ISO time (``...Z`` to the second, ``+00:00``, with or
    without fractions) as an ``at``; ``""`` for none."""
    if not text:
        return ""
    if len(text) == 20 and text[-1] == "Z":  # how times are stored: to the second
        return f"{text[:19]}.000000Z"
    if len(text) == 27 and text[-1] == "Z":
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return format_at(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def second_of(at: str) -> str:
    """An ``at`` as the stored time of ``updated_at`` (to the second)."""
    return f"{at[:19]}Z" if at else at


# --- a task's stamps -------------------------------------------------------------


def decode(text: str | None, updated_at: str | None, replica: str) -> dict[str, Stamp]:
    """Every register's stamp, from the ``stamps`` column (NULL: the row's
    ``updated_at`` and this database's ``replica``, see the module doc)."""
    if not text:
        default: Stamp = (normal_at(updated_at), replica)
        return dict.fromkeys(REGISTERS, default)
    import json  # lazily: 'add' never decodes

    raw = json.loads(text)
    star = raw.get("*")
    default = (star[0], star[1]) if star else NO_STAMP
    return {
        register: (tuple(raw[register]) if register in raw else default) for register in REGISTERS
    }


def encode(stamps: Mapping[str, Stamp]) -> str:
    """The compact, canonical ``stamps`` text: ``"*"`` is the commonest stamp
    (the latest on a tie), and only the registers stamped otherwise follow,
    in :data:`REGISTERS` order. Equal stamps give equal texts."""
    counts: dict[Stamp, int] = {}
    for register in REGISTERS:
        stamp = stamps[register]
        counts[stamp] = counts.get(stamp, 0) + 1
    star = max(counts, key=lambda stamp: (counts[stamp], stamp))
    parts = [f'"*":{_pair(star)}']
    parts.extend(
        f'"{register}":{_pair(stamps[register])}'
        for register in REGISTERS
        if stamps[register] != star
    )
    return "{" + ",".join(parts) + "}"


def single(at: str, replica: str) -> str:
    """The ``stamps`` of a task written whole at once."""
    return '{"*":' + _pair((at, replica)) + "}"


def _pair(stamp: Stamp) -> str:
    return f'["{stamp[0]}","{stamp[1]}"]'


def newest(stamps: Mapping[str, Stamp]) -> Stamp:
    return max(stamps.values())


def canonical(value: object) -> str:
    """A value's canonical JSON: what breaks a tie between equal stamps."""
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def wins(theirs: Stamp, their_value: object, ours: Stamp, our_value: object) -> bool:
    """Whether their version of a register replaces ours (strictly later by
    (at, replica), or equal stamps and the larger canonical value)."""
    if theirs != ours:
        return theirs > ours
    return canonical(their_value) > canonical(our_value)


def stamp_pair(value: object) -> Stamp:
    """A stamp read from a file or a column: ``[at, replica]``; ``NO_STAMP``
    for anything else."""
    if isinstance(value, list | tuple) and len(value) == 2:
        at, replica = value
        if isinstance(at, str) and isinstance(replica, str):
            return (normal_at(at), replica)
    return NO_STAMP


# --- this database's replica ------------------------------------------------------------


def replica_id(conn: sqlite3.Connection) -> str:
    """This database file's replica id (law 4), as :func:`calibrate.store.connect`
    read it when it opened the file, else read now."""
    known = getattr(conn, "replica", None)
    if known:
        return known
    row = conn.execute("SELECT value FROM meta WHERE key = 'replica_id'").fetchone()
    return row[0] if row else ""


def stamp_task(
    conn: sqlite3.Connection, row: Any, registers: Iterable[str], replica: str | None = None
) -> tuple[str, str]:
    """(new ``stamps`` text, its ``at``) for a local write of ``registers`` of
    the stored task ``row`` (which has ``stamps`` and ``updated_at``)."""
    replica = replica or replica_id(conn)
    stamps = decode(row["stamps"], row["updated_at"], replica)
    names = list(registers)
    at = next_at(*(stamps[name][0] for name in names))
    for name in names:
        stamps[name] = (at, replica)
    return encode(stamps), at
