"""Team-wide settings, kept in the ``settings`` table and read by ``config``.

Each setting has a default, a parser that validates what a user types, and a
printer. Values are stored as JSON text. The promise bands' defaults are
METRICS.md's (:data:`calibrate.rules.DEFAULT_BANDS`); this module only reads,
checks and stores them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypedDict

from calibrate.durations import WEEKDAYS, weekday_index
from calibrate.errors import UsageError
from calibrate.rules import DEFAULT_BANDS
from calibrate.text import percent


def _number(low: float, high: float, *, low_open: bool = True) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{text!r} is not a number") from None
        too_low = value <= low if low_open else value < low
        if too_low or value > high or value != value:
            bracket = "(" if low_open else "["
            raise UsageError(f"{text!r} must be in {bracket}{low:g}, {high:g}]")
        return value

    return parse


def _share(text: str) -> float:
    """A share typed as 85%, 85 or 0.85 (as settings print: "85%"); a bare
    number above 1 is a percentage."""
    raw = text.strip()
    try:
        number = float(raw.rstrip("%"))
    except ValueError:
        raise UsageError(f"{text!r} is not a share (use 85%, 85 or 0.85)") from None
    value = number / 100 if raw.endswith("%") or number > 1 else number
    if not 0 <= value <= 1:
        raise UsageError(f"{text!r} must be between 0% and 100%")
    return value


def _weekdays(text: str) -> list[str]:
    days: list[int] = []
    for part in text.replace(" ", "").lower().split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        start = weekday_index(first)
        end = weekday_index(last) if sep else start
        if start is None or end is None:
            raise UsageError(f"{text!r}: use weekday names such as mon-fri or mon,tue,thu")
        index = start
        while True:
            if index not in days:
                days.append(index)
            if index == end:
                break
            index = (index + 1) % 7
    if not days:
        raise UsageError("at least one working day is needed")
    return [WEEKDAYS[i][:3] for i in sorted(days)]


def _dates(text: str) -> list[str]:
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            out.append(date.fromisoformat(part).isoformat())
        except ValueError:
            raise UsageError(f"{part!r} is not an ISO date (2026-12-25)") from None
    return sorted(set(out))


def _show_list(value: list[str]) -> str:
    return ",".join(value) if value else "(none)"


class Setting:
    """One setting: its default, how to read what a user types, how to show
    it, and the values it takes in words (``config --help`` lists them)."""

    __slots__ = ("default", "help", "key", "parse", "show", "values")

    def __init__(
        self,
        key: str,
        default: Any,
        parse: Callable[[str], Any],
        show: Callable[[Any], str],
        help: str,
        values: str,
    ):
        self.key, self.default, self.parse, self.show, self.help, self.values = (
            key,
            default,
            parse,
            show,
            help,
            values,
        )


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in [
        Setting(
            "day-hours",
            8.0,
            _number(1, 24, low_open=False),
            "{:g}".format,
            "hours in a working day, for reading 1d (and 1w = 5 days)",
            "1 to 24 hours",
        ),
        Setting(
            "focus-hours",
            6.0,
            _number(0.5, 24, low_open=False),
            "{:g}".format,
            "focused hours of work a day, for forecast calendars",
            "0.5 to 24 hours",
        ),
        Setting(
            "work-days",
            ["mon", "tue", "wed", "thu", "fri"],
            _weekdays,
            _show_list,
            "working days, for forecast calendars",
            "weekday names: mon-fri, mon,tue,thu",
        ),
        Setting(
            "holidays",
            [],
            _dates,
            _show_list,
            "days off (comma-separated ISO dates), for forecast calendars",
            "ISO dates, comma-separated",
        ),
    ]
    + [
        Setting(key, DEFAULT_BANDS[key], _share, percent, help, "0% to 100%")
        for key, help in (
            ("promise-rate-min", "fewest promises per task logged before advising to make some"),
            ("promise-rate-max", "most promises per task logged before advising to make fewer"),
            ("keep-rate-min", "target share of promises kept"),
            ("keep-rate-flag", "keep rate under which the panel flags it"),
            ("exceed-rate-min", "target share of promises kept with margin"),
        )
    ]
}


def setting(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(SETTINGS)
        raise UsageError(f"unknown setting {key!r}; known settings: {known}") from None


def read_all(conn: sqlite3.Connection | None) -> dict[str, Any]:
    """Every setting, stored values over defaults. ``None`` gives the defaults
    (a database that does not exist yet)."""
    values = {key: s.default for key, s in SETTINGS.items()}
    if conn is not None:
        for row in conn.execute("SELECT key, value FROM settings"):
            if row[0] in values:
                values[row[0]] = json.loads(row[1])
    return values


def read(conn: sqlite3.Connection | None, key: str) -> Any:
    default = setting(key).default
    if conn is None:
        return default
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def validate(key: str, text: str) -> Any:
    """Parse what a user typed for ``key``; cross-checks the promise band."""
    return setting(key).parse(text)


def write(conn: sqlite3.Connection, key: str, value: Any) -> None:
    """Store an already validated value (call inside a transaction)."""
    current = read_all(conn)
    current[key] = value
    if current["promise-rate-min"] > current["promise-rate-max"]:
        raise UsageError("promise-rate-min must not be above promise-rate-max")
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )


class WorkCalendar(TypedDict):
    """The working days in numpy's busday terms."""

    weekmask: str
    holidays: list[str]


def calendar(values: Mapping[str, Any]) -> WorkCalendar:
    """The working calendar of the settings ``values`` (:func:`read_all`) in
    numpy's terms: ``weekmask`` ("Mon Tue ...") and ``holidays`` (ISO dates),
    the keyword arguments of :func:`calibrate.stats.metrics.promise_outcomes`."""
    days = [day[:3].capitalize() for day in (values.get("work-days") or WEEKDAYS[:5])]
    return {
        "weekmask": " ".join(days) or "Mon Tue Wed Thu Fri",
        "holidays": list(values.get("holidays") or ()),
    }


def reset(conn: sqlite3.Connection, key: str) -> None:
    setting(key)
    conn.execute("DELETE FROM settings WHERE key = ?", (key,))
