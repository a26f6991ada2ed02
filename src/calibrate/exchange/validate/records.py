"""The door's checks of the records of a history (:mod:`calibrate.exchange.validate`).

A record has the shape :mod:`calibrate.store.state` reads and joins: a task
(uid and every register, with each register's stamp), a timer interval, a
re-estimate, the ledgers' advice and chances, an alias, an opt-out, a
tombstone. :func:`record` checks one, as
read from another database or (through :func:`export_line`) from a line of a
calibrate export: a task gets the checks ``add`` applies through their one
home (:func:`calibrate.store.tasks.check_task_values`), with the types a file
or a database may get wrong; times and stamps are checked for their form,
never against the clock. A record is let through unchanged, or refused
(:class:`Refused`, one line), never altered.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from calibrate.errors import CalibrateError
from calibrate.exchange.formats import RowError
from calibrate.store.ledgers import SOURCES
from calibrate.store.names import clean_name
from calibrate.store.stamps import REGISTER_COLUMNS, REGISTERS, Stamp
from calibrate.store.tasks import STATUSES, check_task_values, clean_tags

#: The kinds of record a history holds, as an export names them.
KINDS = ("task", "interval", "reestimate", "advice", "chance", "alias", "person", "tombstone")
_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
HEX = re.compile(r"[0-9a-f]{32}\Z")


class Refused(RowError):
    """One thing that cannot be stored, and why (one line)."""


# --- records of a history ---------------------------------------------------------------


def record(kind: str, item: Any) -> dict:
    """Check one record of ``kind`` (the shape the store reads and joins);
    returns it unchanged, or raises :class:`Refused`."""
    check = _CHECKS.get(kind)
    if check is None:
        raise Refused(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    if not isinstance(item, Mapping):
        raise Refused(f"{kind}: not a record")
    check(item)
    return item if isinstance(item, dict) else dict(item)


def _task(item: Mapping) -> None:
    _text(item, "uid", "task")
    title = _text(item, "title", "task")
    if title is None or not title.strip():
        raise Refused("task: a task needs a title")
    _person(item, "person", "task")
    for name in ("team", "project", "notes"):
        _text(item, name, "task", optional=True)
    numbers = {
        name: _number(item, name, "task", optional=name != "estimate_h")
        for name in ("estimate_h", "low_h", "high_h", "confidence", "promise_h", "actual_h")
    }
    try:
        check_task_values(**numbers)
    except CalibrateError as error:
        raise Refused(f"task: {error}") from None
    if item.get("status") not in STATUSES:
        raise Refused(f"task: status {item.get('status')!r}: use one of {', '.join(STATUSES)}")
    utc_time(item, "created_at", "task")
    for name in ("started_at", "done_at"):
        utc_time(item, name, "task", optional=True)
    due = _text(item, "due", "task", optional=True)
    if due is not None and not is_date(due):
        raise Refused(f"task: due {due!r} is not a date (YYYY-MM-DD)")
    _text(item, "source", "task")
    tags = _json(item, "tags", "task", list)
    if tags is None or not all(isinstance(tag, str) for tag in tags):
        raise Refused(f"task: tags must be a list of texts, not {item.get('tags')!r}")
    _json(item, "imported", "task", dict, optional=True)
    stamps = item.get("stamps")
    if not isinstance(stamps, Mapping) or set(stamps) != set(REGISTERS):
        raise Refused("task: stamps must give every register its stamp")
    for value in set(map(_hashable, stamps.values())):
        stamp(value, "stamps")


def _interval(item: Mapping) -> None:
    _text(item, "uid", "interval")
    _text(item, "task", "interval")
    started = utc_time(item, "started_at", "interval")
    stopped = utc_time(item, "stopped_at", "interval", optional=True)
    if stopped is not None and started is not None and stopped < started:
        raise Refused(f"interval: stopped_at {stopped} is before started_at {started}")
    _flag(item, "deleted", "interval")
    stamp(item.get("stamp"), "stamp")


def _reestimate(item: Mapping) -> None:
    _text(item, "uid", "reestimate")
    _text(item, "task", "reestimate")
    estimate = _number(item, "estimate_h", "reestimate")
    try:
        check_task_values(estimate_h=estimate)
    except CalibrateError as error:
        raise Refused(f"reestimate: {error}") from None
    utc_time(item, "at", "reestimate")
    _text(item, "reason", "reestimate", optional=True)
    _flag(item, "deleted", "reestimate")
    stamp(item.get("stamp"), "stamp")


def _advice(item: Mapping) -> None:
    """The advice given for a task before it was done (METRICS.md section 8)."""
    _text(item, "uid", "advice")
    _text(item, "task", "advice")
    hours = [_number(item, key, "advice") for key in ("p50_h", "p80_h", "p90_h")]
    if not 0 < hours[0] <= hours[1] <= hours[2]:
        raise Refused(f"advice: P50, P80, P90 {hours} must be positive and in order")
    if item.get("source") not in SOURCES:
        source = item.get("source")
        raise Refused(f"advice: source {source!r}: use one of {', '.join(SOURCES)}")
    version = item.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise Refused(f"advice: version {version!r} is not a rule version")
    utc_time(item, "given_at", "advice")
    _flag(item, "deleted", "advice")
    stamp(item.get("stamp"), "stamp")


def _chance(item: Mapping) -> None:
    """The chance a forecast gave an open promise on a day (METRICS.md section 8)."""
    _text(item, "uid", "chance")
    _text(item, "task", "chance")
    chance = _number(item, "chance", "chance")
    if not 0 <= chance <= 1:
        raise Refused(f"chance: {chance!r} is not a probability")
    promise = _number(item, "promise_h", "chance", optional=True)
    if promise is not None and not promise > 0:
        raise Refused(f"chance: promise_h {promise!r} must be more than zero")
    for key, optional in (("day", False), ("due", True)):
        day = _text(item, key, "chance", optional=optional)
        if day is not None and not is_date(day):
            raise Refused(f"chance: {key} {day!r} is not a date (YYYY-MM-DD)")
    _flag(item, "deleted", "chance")
    stamp(item.get("stamp"), "stamp")


def _alias(item: Mapping) -> None:
    alias, person = _person(item, "alias", "alias"), _person(item, "person", "alias")
    if alias == person:
        raise Refused(f"alias: {alias!r} is an alias of itself")
    _flag(item, "deleted", "alias")
    stamp(item.get("stamp"), "stamp")


def _opt_out(item: Mapping) -> None:
    _person(item, "name", "person")
    _flag(item, "opt_out", "person")
    stamp(item.get("stamp"), "stamp")


def _tombstone(item: Mapping) -> None:
    _text(item, "uid", "tombstone")
    stamp(item.get("deleted"), "deleted")
    if item.get("restored") is not None:
        stamp(item.get("restored"), "restored")


_CHECKS = {
    "task": _task,
    "interval": _interval,
    "reestimate": _reestimate,
    "advice": _advice,
    "chance": _chance,
    "alias": _alias,
    "person": _opt_out,
    "tombstone": _tombstone,
}


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _text(item: Mapping, key: str, kind: str, *, optional: bool = False) -> str | None:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise Refused(f"{kind}: {key} is missing")
    if not isinstance(value, str):
        raise Refused(f"{kind}: {key} must be text, not {value!r}")
    return value


def _person(item: Mapping, key: str, kind: str) -> str:
    name = _text(item, key, kind) or ""
    if clean_name(name) != name:
        raise Refused(f"{kind}: {key} {name!r} is not in its one spelling (NFC, trimmed)")
    return name


def _number(item: Mapping, key: str, kind: str, *, optional: bool = False) -> Any:
    value = item.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(f"{kind}: {key} must be a number, not {value!r}")
    return value


def _flag(item: Mapping, key: str, kind: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise Refused(f"{kind}: {key} must be true or false")
    return bool(value)


def _json(item: Mapping, key: str, kind: str, shape: type, *, optional: bool = False) -> Any:
    value = item.get(key)
    if value is None and optional:
        return None
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, shape):
        raise Refused(f"{kind}: {key} must be a JSON {shape.__name__}, not {value!r}")
    return parsed


def utc_time(item: Mapping, key: str, kind: str, *, optional: bool = False) -> str | None:
    """A stored UTC time (``...Z``); its form only, never against the clock."""
    value = _text(item, key, kind, optional=optional)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"{kind}: {key} {value!r} is not a time") from None
    if moment.tzinfo is None or moment.utcoffset() or not value.endswith("Z"):
        raise Refused(f"{kind}: {key} {value!r} is not a UTC time (...Z)")
    if not 1900 <= moment.year <= 2199:
        raise Refused(f"{kind}: {key} {value!r} is out of range")
    return value


def is_date(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def stamp(value: object, what: str) -> Stamp:
    """A stamp ``[at, replica]``: a UTC time to the microsecond and a replica
    id (32 hex, or empty for records written before replicas existed)."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise Refused(f"{what}: a stamp is [time, replica], not {value!r}")
    at, replica = value
    if not isinstance(at, str) or not isinstance(replica, str):
        raise Refused(f"{what}: a stamp is [time, replica], not {value!r}")
    try:
        valid = bool(_AT.match(at)) and datetime.fromisoformat(at[:-1]).year >= 1900
    except ValueError:
        valid = False
    if not valid:
        raise Refused(f"{what}: {at!r} is not a stamp's time (2026-12-01T12:00:00.000000Z)")
    if replica and not HEX.match(replica):
        raise Refused(f"{what}: replica {replica!r} is not 32 hex digits")
    return (at, replica)


# --- the lines of a calibrate export ----------------------------------------------------------


def export_line(item: dict) -> tuple[str, dict]:
    """(kind, record) of a JSON line of ``export --format jsonl`` (a line
    without ``kind`` is a task): JSON's types turned into the store's (tags
    and the import ledger as JSON texts, stamps as pairs, every register's
    stamp, names in their one spelling, keys and texts trimmed as ``add``
    trims them, optional values defaulted), then checked by :func:`record`."""
    kind = item.get("kind") or "task"
    if kind not in _CHECKS:
        raise Refused(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    out = {key: value for key, value in item.items() if key != "kind"}
    for key in ("uid", "task"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip()
    for key in _NAMES[kind]:
        if isinstance(out.get(key), str):
            out[key] = clean_name(out[key])
    for key in ("stamp", "restored", *(("deleted",) if kind == "tombstone" else ())):
        if isinstance(out.get(key), list):
            out[key] = tuple(out[key])
    for key, default in _DEFAULTS[kind].items():
        out.setdefault(key, default)
    if kind == "task":
        _task_line(item, out)
    return kind, record(kind, out)


_NAMES = {
    "task": ("person",),
    "alias": ("alias", "person"),
    "person": ("name",),
    "interval": (),
    "reestimate": (),
    "advice": (),
    "chance": (),
    "tombstone": (),
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "task": {},
    "interval": {"stopped_at": None, "deleted": False},
    "reestimate": {"reason": None, "deleted": False},
    "advice": {"deleted": False},
    "chance": {"promise_h": None, "due": None, "deleted": False},
    "alias": {"deleted": False},
    "person": {"opt_out": False},
    "tombstone": {"restored": None},
}


def _task_line(item: dict, out: dict) -> None:
    for key in ("title", "team", "project", "source"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip() or None
    for key in REGISTER_COLUMNS:
        out.setdefault(key, None)
    for key in ("estimate_h", "low_h", "high_h", "confidence", "promise_h", "actual_h"):
        value = out.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = float(value)
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Refused(f"task: tags must be a list of texts, not {tags!r}")
    out["tags"] = json.dumps(clean_tags(tags), ensure_ascii=False)
    imported = item.get("imported")
    if imported is not None and not isinstance(imported, dict):
        raise Refused("task: imported must be an object or null")
    out["imported"] = (
        None
        if imported is None
        else json.dumps(imported, ensure_ascii=False, separators=(",", ":"))
    )
    stamps = item.get("stamps")
    if not isinstance(stamps, dict) or "*" not in stamps:
        raise Refused('task: stamps must be an object with "*"')
    unknown = set(stamps) - {"*", *REGISTERS}
    if unknown:
        raise Refused(f"task: unknown register {sorted(unknown)[0]!r} in stamps")
    star = stamp(stamps["*"], "stamps")
    out["stamps"] = {
        register: stamp(stamps[register], "stamps") if register in stamps else star
        for register in REGISTERS
    }
    out.pop("updated_at", None)
