"""Now, and the user's time zone: the one home of "local".

Times are stored in UTC; weeks, days and the clock times people type and read
are local. :func:`local_zone` reads the zone as the C library does (so that
calibrate agrees with ``date``, ``task`` and ``timew``): ``TZ`` as a zone name
(``Europe/Berlin``, ``:Europe/Berlin``), a path to a zone file, or a POSIX rule
string (``CET-1CEST,M3.5.0,M10.5.0/3``); without ``TZ``, ``/etc/localtime``.
It returns a :class:`zoneinfo.ZoneInfo` whichever it was, whose offset is the
one in force at each moment (summer time as it was then), and every conversion
between stored moments and local days or clock times goes through it:
:func:`local_today`, :func:`local_days` (the scores' weeks and days),
:func:`local_moment` (a wall time typed by a user: one that a change of the
clocks makes occur twice or not at all is refused, naming the candidates) and
:func:`local_text` (a moment as people read it).

Standard library only (``zoneinfo`` is imported on first use): this module is
on the start-up path of ``calibrate add``.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, date, datetime, time, tzinfo

from calibrate.errors import InputError

#: A moment without a time (missing, or unreadable) in :func:`local_days`'
#: seconds since 1970: it sorts before every real one.
NO_TIME = -(2**62)
#: The rules glibc gives a POSIX string that names summer time without saying
#: when it starts and ends (``EST5EDT``): the United States' since 2007.
_DEFAULT_RULES = ",M3.2.0,M11.1.0"


def utc_now() -> datetime:
    """Now, aware, in UTC. ``CALIBRATE_NOW`` (an ISO moment) freezes the clock:
    it exists for tests, which compare whole outputs against recorded ones."""
    frozen = os.environ.get("CALIBRATE_NOW")
    if frozen:
        moment = datetime.fromisoformat(frozen.replace("Z", "+00:00"))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


# --- the zone --------------------------------------------------------------------


def local_zone() -> tzinfo:
    """The user's time zone (see the module's docstring), read again when
    ``TZ`` changes."""
    return _zone(os.environ.get("TZ"))


@functools.lru_cache(maxsize=8)
def _zone(tz: str | None) -> tzinfo:
    from zoneinfo import ZoneInfo

    if tz is None:
        try:
            with open("/etc/localtime", "rb") as handle:
                return ZoneInfo.from_file(handle, key=_localtime_name())
        except (OSError, ValueError):
            return _fixed_now()
    spec = tz[1:] if tz.startswith(":") else tz
    if not spec:
        return UTC  # TZ set and empty: UTC, as the C library reads it
    if os.path.isabs(spec):
        try:
            with open(spec, "rb") as handle:
                return ZoneInfo.from_file(handle, key=spec)
        except (OSError, ValueError):
            return UTC
    try:
        return ZoneInfo(spec)
    except (ValueError, OSError, LookupError):  # not a name: a POSIX rule string?
        pass
    for rules in (spec, spec + _DEFAULT_RULES):
        try:
            return ZoneInfo.from_file(_posix_zone_file(rules), key=spec)
        except ValueError:
            continue
    return UTC  # a TZ nobody can read: the C library uses UTC too


def _localtime_name() -> str | None:
    """The zone's name when /etc/localtime links into a zone database."""
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return None
    return target.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in target else None


def _fixed_now() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() always sets one
    return zone


def _posix_zone_file(rules: str):
    """A zone file (TZif version 2) with no transitions and ``rules`` as its
    footer: zoneinfo applies the footer's POSIX rules to every moment, so a
    POSIX ``TZ`` becomes a ZoneInfo like any named zone. Raises ValueError for
    rules zoneinfo cannot read."""
    import io
    import struct

    if not rules.isascii() or "\n" in rules:
        raise ValueError("not a POSIX TZ string")
    counts = struct.pack(">6l", 0, 0, 0, 0, 1, 4)  # one local time type, "UTC\0"
    block = b"TZif2" + b"\0" * 15 + counts + struct.pack(">lbB", 0, 0, 0) + b"UTC\0"
    return io.BytesIO(block + block + b"\n" + rules.encode() + b"\n")


def zone_name() -> str:
    """The local zone as people call it: ``Europe/Berlin``, or ``local time``."""
    zone = local_zone()
    return getattr(zone, "key", None) or str(zone) or "local time"


# --- local days ------------------------------------------------------------------


def local_today() -> date:
    return utc_now().astimezone(local_zone()).date()


def local_days(epoch):
    """The local calendar day (``datetime64[D]``) of each UTC moment, given
    in seconds since 1970 (NaT for :data:`NO_TIME`), in :func:`local_zone`
    with its summer time as it was at each moment: one offset lookup per
    distinct hour. The one conversion from stored UTC times to the user's
    days. (numpy is imported here, off the start-up path.)"""
    import numpy as np

    seconds = np.asarray(epoch, dtype=np.int64)
    out = np.full(seconds.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    ok = seconds != NO_TIME
    timed = seconds[ok]
    hours, inverse = np.unique(timed // 3600, return_inverse=True)
    zone = local_zone()
    offsets = np.array([_utc_offset(int(hour) * 3600, zone) for hour in hours], dtype=np.int64)
    out[ok] = ((timed + offsets[inverse.reshape(-1)]) // 86_400).astype("datetime64[D]")
    return out


def _utc_offset(moment: int, zone: tzinfo) -> int:
    try:
        offset = datetime.fromtimestamp(moment, zone).utcoffset()
    except (OverflowError, OSError, ValueError):
        return 0  # beyond what the platform's clock reads: UTC
    return int(offset.total_seconds()) if offset is not None else 0


def local_date(moment: datetime) -> date:
    """The local calendar day of an aware moment."""
    return moment.astimezone(local_zone()).date()


# --- wall times ------------------------------------------------------------------


def local_moment(wall: datetime, *, strict: bool = True, typed: str | None = None) -> datetime:
    """The aware UTC moment of a local wall time (a naive datetime), with the
    offset in force at that moment (not now's).

    A wall time that a change of the clocks skips (spring) or repeats
    (autumn) is refused when ``strict``, naming both readings as ISO times
    with their offsets, which read back unambiguously; otherwise the earlier
    reading is taken (a day's first moment, for midnight). ``typed`` is the
    text the user gave, for the message.
    """
    zone = local_zone()
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    readings = sorted({first.astimezone(UTC), second.astimezone(UTC)})
    exists = [
        moment
        for moment in readings
        if moment.astimezone(zone).replace(tzinfo=None, fold=0) == wall.replace(fold=0)
    ]
    if not strict:
        return readings[0]
    shown = typed if typed is not None else f"{wall:%H:%M}"
    where = f"on {wall.date().isoformat()} in {zone_name()}"
    candidates = " or ".join(_with_offset(moment, zone) for moment in readings)
    if exists:
        raise InputError(
            f"{shown!r} happens twice {where} (the clocks were put back): give {candidates}"
        )
    raise InputError(
        f"{shown!r} does not exist {where} (the clocks were put forward): give {candidates}"
    )


def _with_offset(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    name = local.tzname()
    text = local.isoformat(timespec="minutes")
    return f"{text} ({name})" if name and name[0] not in "+-" else text


def local_midnight(day: date) -> datetime:
    """The aware UTC moment that starts ``day`` locally."""
    return local_moment(datetime.combine(day, time(0, 0)), strict=False)


def local_text(moment: datetime | str | None) -> str:
    """A moment as people read it, in local time: ``2026-12-01 08:30``.
    Stored UTC ISO text is read first; ``None`` and unreadable text come back
    as they are (empty for ``None``)."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
        moment = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    try:
        local = moment.astimezone(local_zone())
    except (OverflowError, ValueError):
        return moment.isoformat()
    return f"{local.year:04d}-{local:%m-%d %H:%M}"
