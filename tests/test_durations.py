from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calibrate.durations import (
    format_duration,
    parse_confidence,
    parse_date,
    parse_duration,
    parse_range,
    parse_since,
    parse_when,
)
from calibrate.errors import InputError


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("90m", 1.5),
        ("1.5h", 1.5),
        ("1h30m", 1.5),
        ("1h 30m", 1.5),
        ("2d", 16.0),
        ("1w", 40.0),
        ("3", 3.0),
        ("0.25", 0.25),
        (".5h", 0.5),
        ("45s", 45 / 3600),
        ("2 hours", 2.0),
        ("1d4h", 12.0),
        ("+2h", 2.0),
        ("1:30", 1.5),
        ("0:45", 0.75),
        ("10:05:30", 10 + 5 / 60 + 30 / 3600),
        ("PT2H", 2.0),
        ("pt1h30m", 1.5),
        ("PT90M", 1.5),
        ("P1DT2H", 10.0),
        ("P1W", 40.0),
        ("PT0,5H", 0.5),
        ("1,5", 1.5),
        ("1,5h", 1.5),
        ("0,75h", 0.75),
    ],
)
def test_parse_duration(text, hours):
    assert parse_duration(text) == pytest.approx(hours)


def test_day_length_is_a_setting():
    assert parse_duration("2d", day_hours=7.5) == 15.0
    assert parse_duration("1w", day_hours=6) == 30.0


def test_bare_number_unit():
    assert parse_duration("90", unit="m") == 1.5
    assert parse_duration("3600", unit="s") == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("abc", "not a duration"),
        ("3x", "not a duration"),
        ("1h30", "not a duration"),
        ("h", "not a duration"),
        ("0", "zero duration"),
        ("0h0m", "zero duration"),
        ("-2h", "negative duration"),
        ("1e400", "not a duration"),
        ("1:75", "not a duration"),
        ("P", "not a duration"),
        ("PT", "not a duration"),
        ("P1M", "in months or years"),
        ("P1Y", "in months or years"),
        ("PT0S", "zero duration"),
        ("1,500h", "a comma is a decimal point here: write 1.500h or 1500h"),
    ],
)
def test_bad_durations(text, message):
    with pytest.raises(InputError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (1.5, "1h30m"),
        (2, "2h"),
        (0.75, "45m"),
        (100, "100h"),
        (1 / 3600, "1s"),
        (45 / 3600, "45s"),
        (0, "0m"),
        (3 + 1 / 3600, "3h"),  # no seconds leak into durations people read
        (271.5 + 29 / 3600, "271h30m"),
        (1 + 59.6 / 60, "2h"),
        (59.7 / 3600, "1m"),
    ],
)
def test_format_duration(hours, text):
    assert format_duration(hours) == text


@given(st.integers(min_value=1, max_value=10_000 * 3600))
def test_durations_round_trip_to_the_minute(seconds):
    hours = seconds / 3600
    again = parse_duration(format_duration(hours))
    if seconds < 60:
        assert again == pytest.approx(hours, rel=1e-12)
    else:
        assert abs(again - hours) <= 1 / 120 + 1e-12


@given(st.integers(min_value=1, max_value=10_000 * 3600))
def test_format_is_stable(seconds):
    text = format_duration(seconds / 3600)
    assert format_duration(parse_duration(text)) == text


def test_ranges():
    assert parse_range("2h..6h") == (2.0, 6.0)
    assert parse_range("30m-2h") == (0.5, 2.0)
    with pytest.raises(InputError, match="low must be below its high"):
        parse_range("6h..2h")
    with pytest.raises(InputError, match="low must be below its high"):
        parse_range("2h..2h")
    with pytest.raises(InputError, match="not a range"):
        parse_range("2h")


@pytest.mark.parametrize("value", ["0", "100", "-5", "150", "abc"])
def test_confidence_out_of_bounds(value):
    with pytest.raises(InputError):
        parse_confidence(value)


def test_confidence():
    assert parse_confidence("80") == 80
    assert parse_confidence("99.5%") == 99.5


MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("text", "future", "expected"),
    [
        ("today", True, MONDAY),
        ("tomorrow", True, date(2026, 12, 1)),
        ("yesterday", True, date(2026, 11, 29)),
        ("+3d", True, date(2026, 12, 3)),
        ("-1w", True, date(2026, 11, 23)),
        ("friday", True, date(2026, 12, 4)),
        ("fri", False, date(2026, 11, 27)),
        ("monday", True, date(2026, 12, 7)),
        ("monday", False, MONDAY),
        ("2026-12-24", True, date(2026, 12, 24)),
    ],
)
def test_parse_date(text, future, expected):
    assert parse_date(text, today=MONDAY, future=future) == expected


@pytest.mark.parametrize("text", ["soon", "2026-13-01", "31/12/2026", "+3x", "mo"])
def test_bad_dates(text):
    with pytest.raises(InputError, match="not a date"):
        parse_date(text, today=MONDAY)


def test_parse_when():
    now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert parse_when("20m ago", now=now) == datetime(2026, 11, 30, 14, 40, tzinfo=UTC)
    assert parse_when("-1h", now=now) == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert parse_when("2026-11-30T09:00:00+00:00", now=now) == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert parse_when("now", now=now) == now
    with pytest.raises(InputError):
        parse_when("25:00", now=now)


def test_days_and_weeks_ago_are_the_calendars():
    """'2 days ago' is 48 hours back, not two working days of 8 hours (review)."""
    now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert parse_when("2 days ago", now=now) == datetime(2026, 11, 28, 15, tzinfo=UTC)
    assert parse_when("2d ago", now=now) == datetime(2026, 11, 28, 15, tzinfo=UTC)
    assert parse_when("1 week ago", now=now) == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert parse_when("1.5 days ago", now=now) == datetime(2026, 11, 29, 3, tzinfo=UTC)
    assert parse_when("3h ago", now=now) == datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_parse_when_a_day_and_a_time_of_day():
    now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # a Monday
    assert parse_when("yesterday 10:00", now=now) == datetime(2026, 11, 29, 10, tzinfo=UTC)
    assert parse_when("friday 9:30", now=now) == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert parse_when("2026-11-23 9:00", now=now) == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert parse_when("2026-11-23 09:00", now=now) == datetime(2026, 11, 23, 9, tzinfo=UTC)
    with pytest.raises(InputError, match="not a time of day"):
        parse_when("yesterday 24:00", now=now)
    with pytest.raises(InputError, match="not a date"):
        parse_when("someday 10:00", now=now)
    with pytest.raises(InputError):
        parse_when("whenever", now=now)


def test_since_windows():
    assert parse_since("all") is None
    assert parse_since(None) is None
    # 26w: this week and the 26 before it, from the Monday of the first one
    start = parse_since("26w", today=date(2026, 11, 30))
    assert start is not None and start[:10] in {"2026-06-01", "2026-05-31"}
    assert parse_since("2026-01-07", today=MONDAY)[:10] in {"2026-01-05", "2026-01-04"}
    with pytest.raises(InputError, match="not a window start"):
        parse_since("lately")


def test_format_duration_rounds_once_to_the_minute():
    """569.5 seconds is 9m (rounded once), not 10m (seconds, then minutes): the
    full reliability run's case, where a shown duration read back was off by
    more than half a minute."""
    assert format_duration(569.5 / 3600) == "9m"
    assert format_duration(3 + 1 / 3600) == "3h"
    assert format_duration(89.9 / 3600) == "1m"
