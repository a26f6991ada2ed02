"""The lines of a calibrate export, checked before they are joined in.

A JSON Lines export (:mod:`calibrate.exchange.exporter`) holds records with
their stamps: tasks, timer intervals, re-estimates, the ledgers' advice and
chances (METRICS.md section 8), aliases, opt-outs and tombstones.
:func:`check_record` turns one line into the record
:mod:`calibrate.store.state` joins, or raises ``RowError`` naming what is
wrong: a file is input like any other, so every value is checked (types,
ranges, times, stamps) with the rules ``add`` applies, before anything is
written. The importer joins the records in batches, in the import's one
transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from calibrate.errors import CalibrateError
from calibrate.exchange.formats import RowError
from calibrate.store.ledgers import SOURCES
from calibrate.store.names import clean_name
from calibrate.store.stamps import REGISTERS, Stamp, normal_at
from calibrate.store.tasks import STATUSES, check_task_values, clean_tags

#: A record's kind -> the key naming it in messages.
KINDS = ("task", "interval", "reestimate", "advice", "chance", "alias", "person", "tombstone")
_AT_LENGTH = len("2026-12-01T12:00:00.000000Z")


def check_record(item: dict) -> tuple[str, dict]:
    """(kind, record) of an export's line; ``RowError`` when it is not sound."""
    kind = item.get("kind") or "task"
    if kind == "task":
        return kind, _task(item)
    if kind == "interval":
        started = _time(item, "started_at")
        stopped = _time(item, "stopped_at", optional=True)
        if stopped is not None and stopped < started:
            raise RowError(f"interval: stopped_at {stopped} is before started_at {started}")
        return kind, {
            "uid": _text(item, "uid"),
            "task": _text(item, "task"),
            "started_at": started,
            "stopped_at": stopped,
            "deleted": _flag(item, "deleted"),
            "stamp": _stamp(item.get("stamp"), "stamp"),
        }
    if kind == "reestimate":
        estimate = _number(item, "estimate_h")
        try:
            check_task_values(estimate_h=estimate)
        except CalibrateError as error:
            raise RowError(f"reestimate: {error}") from None
        return kind, {
            "uid": _text(item, "uid"),
            "task": _text(item, "task"),
            "estimate_h": estimate,
            "at": _time(item, "at"),
            "reason": _text(item, "reason", optional=True, strip=False),
            "deleted": _flag(item, "deleted"),
            "stamp": _stamp(item.get("stamp"), "stamp"),
        }
    if kind == "advice":
        hours = [_number(item, key) for key in ("p50_h", "p80_h", "p90_h")]
        if not 0 < hours[0] <= hours[1] <= hours[2]:
            raise RowError(f"advice: P50, P80, P90 {hours} must be positive and in order")
        source = item.get("source")
        if source not in SOURCES:
            raise RowError(f"advice: source {source!r}: use one of {', '.join(SOURCES)}")
        version = item.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RowError(f"advice: version {version!r} is not a rule version")
        return kind, {
            "uid": _text(item, "uid"),
            "task": _text(item, "task"),
            "p50_h": hours[0],
            "p80_h": hours[1],
            "p90_h": hours[2],
            "version": version,
            "source": source,
            "given_at": _time(item, "given_at"),
            "deleted": _flag(item, "deleted"),
            "stamp": _stamp(item.get("stamp"), "stamp"),
        }
    if kind == "chance":
        chance = _number(item, "chance")
        if not 0 <= chance <= 1:
            raise RowError(f"chance: {chance!r} is not a probability")
        promise = _number(item, "promise_h", optional=True)
        if promise is not None and not promise > 0:
            raise RowError(f"chance: promise_h {promise!r} must be more than zero")
        return kind, {
            "uid": _text(item, "uid"),
            "task": _text(item, "task"),
            "day": _day(item, "day"),
            "chance": chance,
            "promise_h": promise,
            "due": _day(item, "due", optional=True),
            "deleted": _flag(item, "deleted"),
            "stamp": _stamp(item.get("stamp"), "stamp"),
        }
    if kind == "alias":
        alias, person = _name(item, "alias"), _name(item, "person")
        if alias == person:
            raise RowError(f"alias: {alias!r} is an alias of itself")
        return kind, {
            "alias": alias,
            "person": person,
            "deleted": _flag(item, "deleted"),
            "stamp": _stamp(item.get("stamp"), "stamp"),
        }
    if kind == "person":
        return kind, {
            "name": _name(item, "name"),
            "opt_out": _flag(item, "opt_out"),
            "stamp": _stamp(item.get("stamp"), "stamp"),
        }
    if kind == "tombstone":
        restored = item.get("restored")
        return kind, {
            "uid": _text(item, "uid"),
            "deleted": _stamp(item.get("deleted"), "deleted"),
            "restored": None if restored is None else _stamp(restored, "restored"),
        }
    raise RowError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")


def _task(item: dict) -> dict:
    record: dict = {"uid": _text(item, "uid")}
    record["title"] = _text(item, "title")
    record["person"] = _name(item, "person")
    for name in ("team", "project"):
        record[name] = _text(item, name, optional=True)
    record["notes"] = _text(item, "notes", optional=True, strip=False)
    record["estimate_h"] = _number(item, "estimate_h")
    for name in ("low_h", "high_h", "confidence", "promise_h", "actual_h"):
        record[name] = _number(item, name, optional=True)
    try:
        check_task_values(
            estimate_h=record["estimate_h"],
            low_h=record["low_h"],
            high_h=record["high_h"],
            confidence=record["confidence"],
            promise_h=record["promise_h"],
            actual_h=record["actual_h"],
        )
    except CalibrateError as error:
        raise RowError(f"task: {error}") from None
    status = item.get("status")
    if status not in STATUSES:
        raise RowError(f"task: status {status!r}: use one of {', '.join(STATUSES)}")
    record["status"] = status
    record["created_at"] = _time(item, "created_at")
    record["started_at"] = _time(item, "started_at", optional=True)
    record["done_at"] = _time(item, "done_at", optional=True)
    due = _text(item, "due", optional=True)
    if due is not None:
        try:
            datetime.strptime(due, "%Y-%m-%d")
        except ValueError:
            raise RowError(f"task: due {due!r} is not a date (YYYY-MM-DD)") from None
    record["due"] = due
    record["source"] = _text(item, "source")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RowError(f"task: tags must be a list of texts, not {tags!r}")
    record["tags"] = json.dumps(clean_tags(tags), ensure_ascii=False)
    imported = item.get("imported")
    if imported is not None and not isinstance(imported, dict):
        raise RowError("task: imported must be an object or null")
    record["imported"] = (
        None
        if imported is None
        else json.dumps(imported, ensure_ascii=False, separators=(",", ":"))
    )
    stamps = item.get("stamps")
    if not isinstance(stamps, dict) or "*" not in stamps:
        raise RowError('task: stamps must be an object with "*"')
    unknown = set(stamps) - {"*", *REGISTERS}
    if unknown:
        raise RowError(f"task: unknown register {sorted(unknown)[0]!r} in stamps")
    star = _stamp(stamps["*"], "stamps")
    record["stamps"] = {
        register: _stamp(stamps[register], "stamps") if register in stamps else star
        for register in REGISTERS
    }
    return record


def _text(item: dict, key: str, *, optional: bool = False, strip: bool = True) -> str | None:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise RowError(f"{item.get('kind') or 'task'}: {key} is missing")
    if not isinstance(value, str):
        raise RowError(f"{item.get('kind') or 'task'}: {key} must be text, not {value!r}")
    return value.strip() if strip else value


def _name(item: dict, key: str) -> str:
    name = clean_name(_text(item, key) or "")
    if not name:
        raise RowError(f"{item.get('kind') or 'task'}: {key} is missing")
    return name


def _number(item: dict, key: str, *, optional: bool = False) -> Any:
    """A number as a float; ``None`` for an optional one missing."""
    value = item.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"{item.get('kind') or 'task'}: {key} must be a number, not {value!r}")
    return float(value)


def _flag(item: dict, key: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise RowError(f"{item.get('kind') or 'task'}: {key} must be true or false")
    return value


def _time(item: dict, key: str, *, optional: bool = False) -> Any:
    """A stored UTC time (``...Z``) as text; ``None`` for an optional one missing."""
    value = _text(item, key, optional=optional)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RowError(f"{item.get('kind') or 'task'}: {key} {value!r} is not a time") from None
    if moment.tzinfo is None or moment.utcoffset() or not value.endswith("Z"):
        raise RowError(f"{item.get('kind') or 'task'}: {key} {value!r} is not a UTC time (...Z)")
    if not 1900 <= moment.year <= 2199:
        raise RowError(f"{item.get('kind') or 'task'}: {key} {value!r} is out of range")
    return value


def _day(item: dict, key: str, *, optional: bool = False) -> str | None:
    """A calendar date, ``YYYY-MM-DD``."""
    value = item.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise RowError(f"{key}: {value!r} is not a date (YYYY-MM-DD)")
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise RowError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from None
    return value


def _stamp(value: object, what: str) -> Stamp:
    """A stamp ``[at, replica]``: a UTC time to the microsecond and a replica
    id (32 hex, or empty for records written before replicas existed)."""
    if not isinstance(value, list) or len(value) != 2:
        raise RowError(f"{what}: a stamp is [time, replica], not {value!r}")
    at, replica = value
    if not isinstance(at, str) or not isinstance(replica, str):
        raise RowError(f"{what}: a stamp is [time, replica], not {value!r}")
    if len(at) != _AT_LENGTH or normal_at(at) != at:
        raise RowError(f"{what}: {at!r} is not a stamp's time (2026-12-01T12:00:00.000000Z)")
    try:
        datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise RowError(f"{what}: {at!r} is not a stamp's time") from None
    if replica and (len(replica) != 32 or any(c not in "0123456789abcdef" for c in replica)):
        raise RowError(f"{what}: replica {replica!r} is not 32 hex digits")
    return (at, replica)
