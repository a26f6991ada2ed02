"""Time zones: --at on the day the clocks change, POSIX TZ strings, local times shown.

The local zone has one home (:mod:`calibrate.clock`): every local day, week and
clock time goes through it, so a POSIX ``TZ`` string gives what its named zone
gives, and a wall time uses the offset in force at that moment.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from calibrate import clock
from calibrate.durations import local_midnight_utc, parse_since, parse_when
from calibrate.errors import InputError

BERLIN = "Europe/Berlin"
BERLIN_POSIX = "CET-1CEST,M3.5.0,M10.5.0/3"


def stored(db_path, column: str, task_id: int = 1):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(f"SELECT {column} FROM tasks WHERE id = ?", (task_id,)).fetchone()[0]
    finally:
        conn.close()


def started_at(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return [row[0] for row in conn.execute("SELECT started_at FROM intervals ORDER BY id")]
    finally:
        conn.close()


# --- the day the clocks change ---------------------------------------------------------


def test_at_uses_the_offset_in_force_then_on_the_spring_change(run, db_path, monkeypatch):
    """2026-03-29 in Berlin: 01:30 is CET (+01:00); now (12:00) is CEST (+02:00)."""
    monkeypatch.setenv("TZ", BERLIN)
    monkeypatch.setenv("CALIBRATE_NOW", "2026-03-29T10:00:00Z")
    run("add", "night shift", "-e", "2h")
    assert run("start", "1", "--at", "01:30").exit_code == 0
    assert started_at(db_path) == ["2026-03-29T00:30:00Z"]  # not 23:30Z the day before
    result = run("stop", "--at", "02:30")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for '--at': '02:30' does not exist on 2026-03-29 in "
        "Europe/Berlin (the clocks were put forward): give 2026-03-29T01:30+01:00 (CET) or "
        "2026-03-29T03:30+02:00 (CEST) (see 'calibrate stop --help')\n",
    )
    result = run("stop", "--at", "03:30", "--keep")  # a sitting through the night: kept
    assert (result.exit_code, result.stdout) == (0, "Stopped #1 after 1h (1h in all)\n")


def test_a_time_that_happens_twice_is_refused_naming_both(run, db_path, monkeypatch):
    """2026-10-25 in Berlin: 02:00-03:00 happens twice, first CEST then CET."""
    monkeypatch.setenv("TZ", BERLIN)
    monkeypatch.setenv("CALIBRATE_NOW", "2026-10-25T10:00:00Z")
    run("add", "night shift", "-e", "2h")
    result = run("start", "1", "--at", "02:30")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for '--at': '02:30' happens twice on 2026-10-25 in "
        "Europe/Berlin (the clocks were put back): give 2026-10-25T02:30+02:00 (CEST) or "
        "2026-10-25T02:30+01:00 (CET) (see 'calibrate start --help')\n",
    )
    assert started_at(db_path) == []
    # Either candidate, as printed, reads back as the moment it names.
    assert run("start", "1", "--at", "2026-10-25T02:30+01:00").exit_code == 0
    assert started_at(db_path) == ["2026-10-25T01:30:00Z"]
    assert run("done", "1", "--at", "04:00", "--keep").exit_code == 0
    assert stored(db_path, "actual_h") == pytest.approx(1.5)  # 02:30 CET to 04:00 CET


def test_a_naive_iso_time_on_a_change_day_is_read_strictly_too():
    now = datetime(2026, 3, 29, 12, tzinfo=UTC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", BERLIN)
        with pytest.raises(InputError, match="does not exist on 2026-03-29"):
            parse_when("2026-03-29T02:15", now=now)
        assert parse_when("2026-03-29T01:59", now=now) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
        # A date alone is noon, and a day's start is its first moment: never refused.
        assert parse_when("2026-03-29", now=now) == datetime(2026, 3, 29, 10, tzinfo=UTC)
        assert local_midnight_utc(datetime(2026, 3, 29).date()) == "2026-03-28T23:00:00Z"


# --- POSIX TZ strings ---------------------------------------------------------------------


def test_a_posix_tz_string_gives_the_days_of_its_named_zone(monkeypatch):
    """A year of hours, every one of them on the same local day either way."""
    start = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    hours = np.arange(start, start + 366 * 86_400, 3600, dtype=np.int64)
    monkeypatch.setenv("TZ", BERLIN)
    named = clock.local_days(hours)
    monkeypatch.setenv("TZ", BERLIN_POSIX)
    posix = clock.local_days(hours)
    assert (named == posix).all()
    monkeypatch.setenv("TZ", "UTC")
    assert (clock.local_days(hours) != named).any()  # the test can tell zones apart


@pytest.mark.parametrize("zone", [BERLIN, BERLIN_POSIX, f":{BERLIN}"])
def test_posix_and_named_zones_agree_on_windows_and_wall_times(monkeypatch, zone):
    monkeypatch.setenv("TZ", zone)
    monday = datetime(2026, 7, 13).date()
    assert parse_since("2w", today=monday) == "2026-06-28T22:00:00Z"
    assert parse_when("09:00", now=datetime(2026, 7, 13, 12, tzinfo=UTC)) == datetime(
        2026, 7, 13, 7, tzinfo=UTC
    )
    assert clock.local_text("2026-12-01T07:30:00Z") == "2026-12-01 08:30"


def test_promises_kept_with_berlin_stay_kept_with_its_posix_string(run, monkeypatch):
    """Ten promises due 2026-07-10, each finished at 00:30 on 07-11 Berlin time
    (22:30 UTC on the 10th): broken in Berlin, whichever way TZ names it."""
    monkeypatch.setenv("CALIBRATE_NOW", "2026-07-20T12:00:00Z")
    monkeypatch.setenv("TZ", BERLIN_POSIX)
    for number in range(10):
        run("add", f"promise {number}", "-e", "2h", "--promise", "3h", "--due", "2026-07-10")
        assert (
            run("done", str(number + 1), "--actual", "2h", "--at", "2026-07-11 00:30").exit_code
            == 0
        )
    kept = {}
    for zone in (BERLIN, BERLIN_POSIX, "UTC"):
        monkeypatch.setenv("TZ", zone)
        promises = json.loads(run("score", "--json").stdout)["promises"]
        kept[zone] = (promises["kept"], promises["due"])
    assert kept[BERLIN] == kept[BERLIN_POSIX] == (0, 10)
    assert kept["UTC"] == (10, 10)  # done on the 10th in UTC: the zone decides


def test_tz_strings_the_c_library_reads(monkeypatch):
    cases = {
        "EST5EDT": -4,  # summer time, by the default rules
        "<+0530>-5:30": 5.5,
        "": 0,  # set and empty: UTC
        "Nowhere/Atlantis": 0,  # unreadable: UTC, as the C library does
    }
    july = datetime(2026, 7, 1, 12, tzinfo=UTC)
    for tz, hours in cases.items():
        monkeypatch.setenv("TZ", tz)
        assert july.astimezone(clock.local_zone()).utcoffset() == timedelta(hours=hours), tz


# --- times shown to people are local ------------------------------------------------------


def test_show_prints_local_times_and_json_stays_utc(run, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    monkeypatch.setenv("CALIBRATE_NOW", "2026-12-01T15:00:00Z")
    run("add", "report", "-e", "1h")
    assert run("done", "1", "--actual", "1h", "--at", "08:30").exit_code == 0
    shown = run("show", "1").stdout
    assert "  created     2026-12-01 10:00\n" in shown
    assert "  done        2026-12-01 08:30\n" in shown
    details = json.loads(run("show", "1", "--json").stdout)
    assert details["done_at"] == "2026-12-01T13:30:00Z"
