"""Durations and dates, in and out.

Durations are read as ``90m``, ``1.5h``, ``1h30m``, ``2d``, ``1w`` or a bare
number (hours unless another unit is named) and always returned as hours.
A day is the team's working day (8 hours unless the ``day-hours`` setting
says otherwise) and a week is five such days.

Dates are read as ISO dates, ``today``, ``tomorrow``, ``yesterday``, weekday
names and offsets such as ``+3d`` or ``-2w``. Times are stored in UTC as ISO
8601 text (``2026-11-30T14:05:00Z``); weeks and days are the user's local ones.

Standard library only: this module is on the start-up path of ``calibrate add``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from calibrate.clock import NO_TIME as NO_TIME
from calibrate.clock import local_days as local_days
from calibrate.clock import local_midnight, local_moment
from calibrate.clock import local_today as local_today
from calibrate.clock import local_zone as local_zone
from calibrate.clock import utc_now as utc_now
from calibrate.errors import InputError

DEFAULT_DAY_HOURS = 8.0
#: The largest effort one task may have: 100,000 hours is about fifty years of
#: work. Anything larger is a typo (or a unit mix-up), and would overflow the
#: calendar arithmetic of forecasts.
MAX_EFFORT_H = 100_000.0
#: The smallest: one second (less is a unit mix-up, and would make ratios and
#: logarithms of ratios meaningless). A timer's total under it counts as it.
MIN_EFFORT_H = 1 / 3600


def effort_problem(hours: object) -> str | None:
    """Why ``hours`` cannot be the effort of one task (not finite, under a
    second, over :data:`MAX_EFFORT_H`), in words that follow a name; ``None``
    when it can. The one home of the bounds: typed durations, the store's
    task checks (``add``, ``edit``, ``done``), imported rows and merged
    records all ask it."""
    if not isinstance(hours, int | float) or isinstance(hours, bool):
        return f"is not a number of hours: {hours!r}"
    if hours != hours or hours in (float("inf"), float("-inf")):
        return "is not a finite number of hours"
    if hours <= 0:
        return "must be more than zero"
    if hours < MIN_EFFORT_H:
        return "is less than 1 second: not the effort of a task"
    if hours > MAX_EFFORT_H:
        return f"is more than {MAX_EFFORT_H:,.0f}h: not the effort of one task"
    return None


DAYS_PER_WEEK = 5
UNIT_HOURS = {"s": 1 / 3600, "m": 1 / 60, "h": 1.0}
UNIT_WORDS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "wk": "w",
    "wks": "w",
    "week": "w",
    "weeks": "w",
}
_NUMBER = r"(?:\d+(?:[.,]\d*)?|[.,]\d+)"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]+)?", re.IGNORECASE)
# These three are compiled on first use (``re`` caches them), not at start-up:
#: A comma followed by three digits could be a thousands separator: "1,500".
_THOUSANDS = r"\d,\d{3}(?!\d)"
_CLOCK_DURATION = r"^(\d+):([0-5]\d)(?::([0-5]\d))?$"
_ISO_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO_DURATION = (
    rf"^P(?:(?P<y>{_ISO_NUMBER})Y)?(?:(?P<mo>{_ISO_NUMBER})M)?(?:(?P<w>{_ISO_NUMBER})W)?"
    rf"(?:(?P<d>{_ISO_NUMBER})D)?(?:T(?:(?P<h>{_ISO_NUMBER})H)?(?:(?P<mi>{_ISO_NUMBER})M)?"
    rf"(?:(?P<s>{_ISO_NUMBER})S)?)?$"
)
_DURATION_HINT = "use e.g. 90m, 1.5h, 1h30m, 1:30, PT2H, 2d or 1w"


def unit_hours(unit: str, day_hours: float = DEFAULT_DAY_HOURS) -> float:
    """Hours in one ``unit`` (s, m, h, d or w, or a spelled-out form of them)."""
    key = UNIT_WORDS.get(unit.lower())
    if key is None:
        raise InputError(f"unknown duration unit {unit!r}: use s, m, h, d or w")
    if key == "d":
        return day_hours
    if key == "w":
        return day_hours * DAYS_PER_WEEK
    return UNIT_HOURS[key]


def parse_duration(
    text: str,
    *,
    day_hours: float = DEFAULT_DAY_HOURS,
    unit: str = "h",
    allow_zero: bool = False,
) -> float:
    """Read a duration and return it in hours: ``90m``, ``1.5h`` (or ``1,5h``),
    ``1h30m``, ``1:30`` (hours and minutes, ``1:30:15`` with seconds), an ISO
    8601 duration (``PT2H``, ``P1DT2H``: a day is the working day), ``2d``,
    ``1w``.

    ``unit`` is the unit of a bare number. Zero and negative durations are
    errors unless ``allow_zero`` (negative ones always are).
    """
    raw = str(text).strip()
    if not raw:
        raise InputError(f"empty duration: {_DURATION_HINT}")
    if raw.startswith("-"):
        raise InputError(f"negative duration {raw!r}: effort must be more than zero")
    body = raw[1:] if raw.startswith("+") else raw
    if body[:1] in "Pp":
        iso = iso_duration_hours(body, day_hours)
        if iso is None:
            raise InputError(f"not a duration: {raw!r} ({_DURATION_HINT})")
        return _checked_hours(iso, raw, allow_zero)
    clock = re.match(_CLOCK_DURATION, body) if ":" in body else None
    if clock:
        h, m, sec = clock.groups()
        return _checked_hours(int(h) + int(m) / 60 + int(sec or 0) / 3600, raw, allow_zero)
    if "," in body and re.search(_THOUSANDS, body):
        raise InputError(
            f"not a duration: {raw!r} (a comma is a decimal point here: write "
            f"{body.replace(',', '.')} or {body.replace(',', '')})"
        )
    hours = 0.0
    pos = 0
    parts = 0
    bare = False
    while pos < len(body):
        match = _PART.match(body, pos)
        if not match or match.end() == pos:
            raise InputError(f"not a duration: {raw!r} ({_DURATION_HINT})")
        number, word = match.groups()
        if word is None:
            bare = True
        try:
            hours += float(number.replace(",", ".")) * unit_hours(word or unit, day_hours)
        except InputError:
            raise InputError(f"not a duration: {raw!r} ({_DURATION_HINT})") from None
        parts += 1
        pos = match.end()
        while pos < len(body) and body[pos] in " \t":
            pos += 1
    if parts == 0 or (bare and parts > 1):
        raise InputError(f"not a duration: {raw!r} ({_DURATION_HINT})")
    return _checked_hours(hours, raw, allow_zero)


def _checked_hours(hours: float, raw: str, allow_zero: bool) -> float:
    if hours != hours or hours == float("inf"):  # NaN or overflow
        raise InputError(f"not a duration: {raw!r} ({_DURATION_HINT})")
    if hours <= 0 and not allow_zero:
        raise InputError(f"zero duration {raw!r}: effort must be more than zero")
    problem = effort_problem(hours) if hours > 0 else None
    if problem:
        raise InputError(f"duration {raw!r} {problem}")
    return hours


def iso_duration_hours(text: str, day_hours: float = DEFAULT_DAY_HOURS) -> float | None:
    """An ISO 8601 duration in hours: ``PT1H30M`` -> 1.5; a day is a working
    day, a week five. ``None`` when ``text`` is not one. Months and years are
    refused: they are not efforts."""
    body = text.strip()
    match = re.match(_ISO_DURATION, body, re.IGNORECASE)
    if not match or body.upper() in ("P", "PT") or body.upper().endswith("T"):
        return None
    parts = match.groupdict()
    if parts["y"] or parts["mo"]:
        raise InputError(f"duration {text!r} is in months or years, not an effort")
    hours = 0.0
    for name, size in (
        ("w", DAYS_PER_WEEK * day_hours),
        ("d", day_hours),
        ("h", 1.0),
        ("mi", 1 / 60),
        ("s", 1 / 3600),
    ):
        if parts[name]:
            hours += float(parts[name].replace(",", ".")) * size
    return hours


def format_duration(hours: float | None) -> str:
    """Hours as people read them, in the notation :func:`parse_duration`
    reads: ``1h30m``, to the minute (``3h1s`` is ``3h``; exact values stay in
    the JSON outputs); under a minute, in seconds (``45s``). Days are never
    used on output because their length is a team setting.
    """
    if hours is None:
        return ""
    if hours < 0:
        return "-" + format_duration(-hours)
    seconds = round(hours * 3600)
    if seconds == 0:
        return "0m" if hours == 0 else f"{hours * 3600:.3g}s"
    if seconds < 60:
        return f"{seconds}s"
    h, m = divmod(round(hours * 60), 60)  # from the hours: rounding twice drifts (569.5s is 9m)
    out = ""
    if h:
        out += f"{h}h"
    if m or not h:
        out += f"{m}m"
    return out


def parse_range(text: str, *, day_hours: float = DEFAULT_DAY_HOURS) -> tuple[float, float]:
    """Read ``2h..6h`` (or ``2h-6h``) into (low, high) hours, low below high."""
    raw = str(text).strip()
    if ".." in raw:
        low_text, _, high_text = raw.partition("..")
    else:
        low_text, sep, high_text = raw.partition("-")
        if not sep:
            raise InputError(f"not a range: {raw!r} (use LOW..HIGH, e.g. 2h..6h)")
    low = parse_duration(low_text, day_hours=day_hours)
    high = parse_duration(high_text, day_hours=day_hours)
    if low >= high:
        raise InputError(f"range {raw!r}: its low must be below its high")
    return low, high


def parse_confidence(value: float | str) -> float:
    """A confidence in percent, strictly between 0 and 100 (``90`` or ``90%``)."""
    text = str(value).strip().rstrip("%")
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"confidence {value!r} is not a number between 0 and 100") from None
    if not 0 < number < 100:
        raise InputError(f"confidence {value!r} must be between 0 and 100, exclusive")
    return number


# --- dates -----------------------------------------------------------------

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
#: Dates outside these years are refused (as imports refuse them): far
#: enough for any real task, and far from where date arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2199
# Date and window patterns, compiled on first use (``add`` without --due needs none):
_OFFSET = r"(?i)^([+-])\s*(\d+)\s*([dw])$"
_DATE_HINT = "use an ISO date (2026-12-04), today, tomorrow, a weekday name or +3d"


def weekday_index(word: str) -> int | None:
    word = word.lower()
    if len(word) < 3:
        return None
    for index, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return index
    return None


def parse_date(text: str, *, today: date | None = None, future: bool = True) -> date:
    """Read a calendar date.

    Weekday names point forward when ``future`` (``--due friday`` is the
    coming Friday, never today) and backward otherwise (``--at friday`` is the
    last Friday, today included).
    """
    raw = str(text).strip()
    try:
        day = _parse_date(raw, today or local_today(), future)
    except (OverflowError, ValueError):  # beyond what datetime holds
        raise InputError(f"date {raw!r} is out of range") from None
    return _in_range(day, raw)


def _in_range(day: date, raw: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InputError(f"date {raw!r} is out of range (years {FIRST_YEAR}-{LAST_YEAR})")
    return day


def _parse_date(raw: str, today: date, future: bool) -> date:
    word = raw.lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)
    offset = re.match(_OFFSET, raw)
    if offset:
        sign, count, unit = offset.groups()
        days = int(count) * (7 if unit.lower() == "w" else 1)
        return today + timedelta(days=days if sign == "+" else -days)
    index = weekday_index(word) if word.isalpha() else None
    if index is not None:
        if future:
            ahead = (index - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
        return today - timedelta(days=(today.weekday() - index) % 7)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"not a date: {raw!r} ({_DATE_HINT})") from None


_CLOCK = r"^(\d{1,2}):(\d{2})$"
_AGO = r"(?i)^(?:-\s*(.+)|(.+?)\s+ago)$"
#: Days and weeks before now are the calendar's ("2 days ago", "-1w"), not
#: an effort's working days.
_CALENDAR_SPAN = r"(?i)^(\d+(?:[.,]\d+)?)\s*(d|days?|w|wks?|weeks?)$"


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """Read a moment for ``--at``: ``14:30`` (today), ``-20m`` or ``20m ago``,
    an ISO date-time, a date and a time of day (``yesterday 10:00``, ``monday
    9:30``), or a date alone (read as noon local time). Returns aware UTC."""
    raw = str(text).strip()
    try:
        moment = _parse_when(raw, now)
    except (OverflowError, ValueError):  # beyond what datetime holds
        raise InputError(f"moment {raw!r} is out of range") from None
    _in_range(moment.date(), raw)
    return moment


def _parse_when(raw: str, now: datetime | None) -> datetime:
    now = (now or utc_now()).astimezone(local_zone())
    if raw.lower() == "now":
        return now.astimezone(UTC)
    clock = re.match(_CLOCK, raw)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise InputError(f"not a time of day: {raw!r}")
        wall = datetime.combine(now.date(), time(hour, minute))
        return local_moment(wall, typed=raw)  # the offset of that moment, not now's
    ago = re.match(_AGO, raw)
    if ago and not re.match(_OFFSET, raw):
        span_text = (ago.group(1) or ago.group(2)).strip()
        calendar = re.match(_CALENDAR_SPAN, span_text)
        if calendar:  # "2 days ago" is two days of the calendar, not two working days
            days = float(calendar.group(1).replace(",", ".")) * (
                7 if calendar.group(2).lower().startswith("w") else 1
            )
            return (now - timedelta(days=days)).astimezone(UTC)
        span = parse_duration(span_text)
        return (now - timedelta(hours=span)).astimezone(UTC)
    head, _, tail = raw.rpartition(" ")
    clock = re.match(_CLOCK, tail) if head.strip() else None
    if clock:  # a day and a time of day: "yesterday 10:00", "monday 9:30", "2026-11-23 9:00"
        day = parse_date(head.strip(), today=now.date(), future=False)
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise InputError(f"not a time of day: {raw!r}")
        return local_moment(datetime.combine(day, time(hour, minute)), typed=raw)
    if "T" in raw or " " in raw.strip():
        try:
            moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
        except ValueError:
            raise InputError(f"not a date or time: {raw!r}") from None
        if moment.tzinfo is None:  # a naive time is local
            return local_moment(moment, typed=raw)
        return moment.astimezone(UTC)
    day = parse_date(raw, today=now.date(), future=False)
    return local_moment(datetime.combine(day, time(12, 0)), strict=False)


def to_iso(moment: datetime) -> str:
    """UTC ISO 8601 text with a Z, to the second: how every time is stored."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%SZ")  # %Y is not padded


def now_iso() -> str:
    return to_iso(utc_now())


def from_iso(text: str) -> datetime:
    """Parse stored ISO text back into an aware datetime (UTC if no zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def hours_between(start: str, stop: str) -> float:
    return (from_iso(stop) - from_iso(start)).total_seconds() / 3600


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


#: Monday of week 0 of :func:`week_index` (1970-01-01 was a Thursday).
WEEK_ZERO = date(1969, 12, 29)


def week_index(days):
    """ISO week number since 1969-12-29 (a Monday) of each local date
    (``datetime64[D]``-like), as a numpy array; -1 for NaT. Consecutive weeks
    differ by 1. (numpy is imported here, off the start-up path.)"""
    import numpy as np

    d = np.asarray(days, dtype="datetime64[D]").reshape(-1)
    out = np.full(d.shape, -1, dtype=np.int64)
    ok = ~np.isnat(d)
    out[ok] = week_of_day(d[ok].astype(np.int64))
    return out


def week_of_day(day_numbers):
    """:func:`week_index` of day numbers (days since 1970-01-01, a Thursday)."""
    return (day_numbers + 3) // 7


def week_monday(week: int) -> date:
    """The Monday that starts week number ``week`` of :func:`week_index`."""
    return WEEK_ZERO + timedelta(weeks=int(week))


def local_midnight_utc(day: date) -> str:
    """The UTC ISO text of the local moment that starts ``day``."""
    return to_iso(local_midnight(day))


_WEEKS = r"(?i)^(\d+)\s*w$"
_DAYS = r"(?i)^(\d+)\s*d$"


def parse_since(text: str | None, *, today: date | None = None) -> str | None:
    """Read a window start (``26w``, ``14d``, a date, or ``all``) into the UTC
    ISO text of the local midnight that starts its first ISO week; ``None``
    for all.

    Windows are whole ISO weeks, Monday to Sunday: ``26w`` is the current
    week and the 26 before it (``1w``: this week and last week); ``14d`` and
    a date start on the Monday of the week they fall in (:func:`window_note`
    says so in words).
    """
    first = window_start_day(text, today=today)
    return None if first is None else local_midnight_utc(first)


def window_start_day(text: str | None, *, today: date | None = None) -> date | None:
    """The local Monday a window of :func:`parse_since` starts on (``None``: all)."""
    if text is None:
        return None
    raw = str(text).strip()
    if raw.lower() == "all":
        return None
    today = today or local_today()
    weeks = re.match(_WEEKS, raw)
    days = re.match(_DAYS, raw)
    try:
        if weeks:
            start = week_start(today) - timedelta(weeks=int(weeks.group(1)))
        elif days:
            start = week_start(today - timedelta(days=int(days.group(1))))
        else:
            start = None
        if start is not None:
            return _in_range(start, raw)
    except (OverflowError, InputError):
        raise InputError(
            f"window {raw!r} starts before {FIRST_YEAR}: use fewer weeks, or all"
        ) from None
    try:
        return week_start(parse_date(raw, today=today, future=False))
    except InputError:
        raise InputError(
            f"not a window start: {raw!r} (use 26w, 14d, a date such as 2026-01-01, or all)"
        ) from None


def window_note(text: str | None, *, today: date | None = None) -> str | None:
    """What a window given in days covers, since windows are whole weeks:
    ``--since 14d covers whole weeks: from Monday 2026-11-16 (this week and
    the 2 before)``. ``None`` for windows in weeks, dates and ``all``."""
    if text is None or not re.match(_DAYS, str(text).strip()):
        return None
    today = today or local_today()
    first = window_start_day(text, today=today)
    assert first is not None
    before = (week_start(today) - first).days // 7
    weeks = "this week" if before == 0 else f"this week and the {before} before"
    if before == 1:
        weeks = "this week and last week"
    return f"--since {str(text).strip()} covers whole weeks: from Monday {first} ({weeks})"
