"""Dates as other tools write them, read into calibrate's UTC ISO text.

Trackers write dates in their instance's format: ISO (``2017-01-27 14:11``),
Jira's ``27/Jan/17 2:11 PM``, ``27/01/2017 14:11``, the US ``1/27/2017 14:11``,
SiP's ``16-Jan-04``. All are read here. Whether ``03/04/2017`` is the 3rd of
April or the 4th of March is decided from the data: one date with a first
number above 12 makes the file day-first, one with a second number above 12
makes it month-first; a file mixing both is an error. ``--date-format`` forces
it (``dmy``, ``mdy``, ``ymd`` or a ``strptime`` pattern).

Times without a zone are local time, as everywhere in calibrate; a date with
no time is read as noon local time, so that it stays on its day in any zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from calibrate.clock import local_zone

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
ORDERS = ("dmy", "mdy", "ymd")
FIRST_YEAR, LAST_YEAR = 1900, 2199
CACHE_SIZE = 4096  # dates repeat in real files; a small memo saves most parsing
_CANONICAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

_GENERAL = re.compile(
    r"""^\s*
    (?P<a>\d{1,4})(?P<sep>[/.\-\s])(?P<b>\d{1,2}|[A-Za-z]{3,9})(?P=sep)(?P<c>\d{1,4})
    (?:[\sT,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?
       \s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?
    \s*$""",
    re.VERBOSE,
)


class DateError(ValueError):
    """A date that cannot be read; the message says why."""


class DateReader:
    """Reads one file's dates, deciding day-first or month-first once.

    ``evidence`` is called (once, lazily) when the first ambiguous numeric
    date is met before the order is known: it yields the file's other date
    cells, which are scanned for a deciding one.
    """

    def __init__(
        self,
        date_format: str | None = None,
        evidence: Callable[[], Iterable[str]] | None = None,
    ):
        self.pattern: str | None = None
        self.order: str | None = None
        self.decided_by = ""
        if date_format:
            fmt = date_format.strip()
            if fmt.lower() in ORDERS:
                self.order = fmt.lower()
                self.decided_by = "--date-format"
            elif "%" in fmt:
                self.pattern = fmt
                self.decided_by = "--date-format"
            else:
                raise DateError(
                    f"--date-format {date_format!r}: use dmy, mdy, ymd or a strptime "
                    "pattern such as %d/%m/%Y %H:%M"
                )
        self._evidence = evidence
        self._scanned = False
        self._moments: dict[str, str] = {}

    def describe(self) -> str:
        """How numeric dates were read, for the summary ('' when none were)."""
        if self.pattern:
            return f"dates read as {self.pattern} (--date-format)"
        if self.order is None:
            return ""
        words = {"dmy": "day-first", "mdy": "month-first", "ymd": "year-first"}[self.order]
        return f"numeric dates read {words} ({self.decided_by})"

    # -- reading --------------------------------------------------------------

    def moment(self, text: str) -> str:
        """A date or date-time -> UTC ISO text (``2017-01-27T14:11:00Z``)."""
        found = self._moments.get(text)
        if found is not None:
            return found
        if self.pattern is None and _CANONICAL.match(text):
            _checked(datetime.fromisoformat(text), text)  # already as stored: check it only
            found = text
        else:
            moment, has_time = self._parse(text)
            if not has_time:
                moment = moment.replace(hour=12, minute=0, second=0, microsecond=0)
            found = iso_utc(moment)
        if len(self._moments) >= CACHE_SIZE:
            self._moments.clear()
        self._moments[text] = found
        return found

    def day(self, text: str) -> str:
        """A date (any time of day is dropped) -> ISO date text."""
        moment, _ = self._parse(text)
        return moment.date().isoformat()

    def _parse(self, text: str) -> tuple[datetime, bool]:
        raw = text.strip()
        if self.pattern:
            try:
                moment = datetime.strptime(raw, self.pattern)
            except ValueError:
                raise DateError(
                    f"date {raw!r} does not match --date-format {self.pattern}"
                ) from None
            has_time = any(code in self.pattern for code in ("%H", "%I", "%M", "%X", "%c"))
            return _checked(moment, raw), has_time
        if len(raw) >= 8 and raw[:4].isdigit() and (raw[4] == "-" or len(raw) in (8, 15, 16)):
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                pass
            else:
                has_time = len(raw) > 10 and raw[8:].strip() != ""
                return _checked(moment, raw), has_time
        match = _GENERAL.match(raw)
        if not match:
            raise DateError(f"unknown date {raw!r}")
        return self._from_parts(match, raw)

    def _from_parts(self, match: re.Match, raw: str) -> tuple[datetime, bool]:
        a, b, c = match.group("a"), match.group("b"), match.group("c")
        if len(a) == 4:  # 2017/01/27
            year, month_text, day_text = a, b, c
        elif not b.isdigit():  # 27-Jan-17, 27/Jan/2017
            day_text, month_text, year = a, b, c
        else:
            first, second = int(a), int(b)
            order = self._order_for(first, second, raw)
            if order == "ymd":
                raise DateError(f"date {raw!r} is not year-first (--date-format ymd)")
            day_text, month_text = (a, b) if order == "dmy" else (b, a)
            year = c
        if len(year) not in (2, 4):
            raise DateError(f"unknown date {raw!r}")
        year_number = int(year)
        if len(year) == 2:  # as strptime's %y: 69-99 are 1900s, 00-68 2000s
            year_number += 1900 if year_number >= 69 else 2000
        if month_text.isdigit():
            month = int(month_text)
        else:
            month = MONTHS.get(month_text.lower(), 0)
            if not month:
                raise DateError(f"unknown month in date {raw!r}")
        hour = int(match.group("hour") or 0)
        ampm = (match.group("ampm") or "").lower()[:1]
        if ampm:
            if not 1 <= hour <= 12:
                raise DateError(f"unknown time in date {raw!r}")
            hour = hour % 12 + (12 if ampm == "p" else 0)
        try:
            moment = datetime(
                year_number,
                month,
                int(day_text),
                hour,
                int(match.group("minute") or 0),
                int(match.group("second") or 0),
            )
        except ValueError:
            raise DateError(f"no such date: {raw!r}") from None
        return _checked(moment, raw), match.group("hour") is not None

    def _order_for(self, first: int, second: int, raw: str) -> str:
        """Day-first or month-first for ``first/second/year``, deciding the
        file's order from this date or, when it is ambiguous, from the rest."""
        says = "dmy" if first > 12 >= second else "mdy" if second > 12 >= first else None
        if first > 12 and second > 12:
            raise DateError(f"no such date: {raw!r}")
        if self.order is None:
            if says is None:
                self._scan()
            if self.order is None:
                if says is None:
                    self.order = "mdy"
                    self.decided_by = "no day above 12 in the file; --date-format dmy if not"
                else:
                    self.order, self.decided_by = says, "detected from the data"
        if says is not None and says != self.order:
            words = {"dmy": "day-first", "mdy": "month-first", "ymd": "year-first"}
            raise DateError(
                f"date {raw!r} is {words[says]}, but the file's dates are "
                f"{words[self.order]} ({self.decided_by}); give --date-format"
            )
        return self.order

    def _scan(self) -> None:
        if self._scanned or self._evidence is None:
            return
        self._scanned = True
        for text in self._evidence():
            match = _GENERAL.match(text)
            if not match or not match.group("b").isdigit() or len(match.group("a")) == 4:
                continue
            first, second = int(match.group("a")), int(match.group("b"))
            if first > 12 >= second:
                self.order, self.decided_by = "dmy", "detected from the data"
                return
            if second > 12 >= first:
                self.order, self.decided_by = "mdy", "detected from the data"
                return


def _checked(moment: datetime, raw: str) -> datetime:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise DateError(f"date {raw!r} is out of range (years {FIRST_YEAR}-{LAST_YEAR})")
    return moment


def iso_utc(moment: datetime) -> str:
    """UTC ISO text; a naive moment is local time (:func:`calibrate.clock.local_zone`)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_zone())
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )
