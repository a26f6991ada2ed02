"""``calibrate import``: every format, the mapping rules, idempotence, and bad
input that must leave the database exactly as it was."""

from __future__ import annotations

import csv
import gzip
import json
import lzma
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calibrate import store
from calibrate.exchange.formats import guess_format
from calibrate.exchange.formats.dates import DateError, DateReader
from calibrate.exchange.formats.taskwarrior import iso_duration_hours
from calibrate.exchange.importer import ImportOptions, import_file
from tests.support.data import CESAW, SIP, requires_shared_data, sip_import_args

FIXTURES = Path(__file__).parent / "fixtures"


def tasks(db_path: Path, where: str = "1") -> dict[str, dict]:
    """The database's tasks by uid (nothing when the file does not exist)."""
    if not db_path.exists():
        return {}
    conn = store.connect(db_path)
    found = {r["uid"]: dict(r) for r in conn.execute(f"SELECT * FROM tasks WHERE {where}")}
    conn.close()
    return found


def snapshot(db_path: Path) -> list[tuple] | None:
    """Everything an import may write, to compare before and after."""
    if not db_path.exists():
        return None
    conn = sqlite3.connect(db_path)
    state = conn.execute("SELECT * FROM tasks ORDER BY id").fetchall()
    conn.close()
    return state


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def seeded(run, db_path):
    """A database with one task already in it, so that 'as it was' means something."""
    assert run("add", "Already here", "-e", "1h").exit_code == 0
    return snapshot(db_path)


# --- generic CSV -----------------------------------------------------------------


def test_csv_columns_are_guessed_and_rows_mapped(run, db_path):
    result = run("import", str(FIXTURES / "tasks.csv"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Imported tasks.csv (csv, source tasks): 6 added, 0 updated, 0 unchanged, 2 skipped"
    )
    assert "person <- assignee" in result.stdout
    assert "skipped 1: no estimate (missing or zero)" in result.stdout
    assert "skipped 1: done without time logged (no actual)" in result.stdout
    found = tasks(db_path)
    assert set(found) == {f"tasks:T-{n}" for n in (1, 2, 3, 4, 7, 8)}
    first = found["tasks:T-1"]
    assert first["title"] == "Fix login bug"
    assert first["person"] == "Jane Doe"
    assert first["team"] == "web" and first["project"] == "shop"
    assert (first["estimate_h"], first["actual_h"]) == (2.0, 3.0)
    assert (first["low_h"], first["high_h"], first["confidence"]) == (1.0, 4.0, 80.0)
    assert first["status"] == "done"
    assert first["created_at"] == "2026-01-05T09:00:00Z"
    assert first["done_at"] == "2026-01-06T17:00:00Z"
    assert first["due"] == "2026-01-07"
    assert json.loads(first["tags"]) == ["bug", "urgent"]
    assert first["source"] == "tasks"
    assert found["tasks:T-2"]["status"] == "open"
    assert found["tasks:T-2"]["estimate_h"] == 1.5
    assert found["tasks:T-2"]["actual_h"] is None
    assert found["tasks:T-3"]["status"] == "started"
    assert found["tasks:T-3"]["person"] == "alice"  # no assignee: the importer
    assert found["tasks:T-4"]["actual_h"] == 1.0
    assert found["tasks:T-7"]["status"] == "dropped"
    assert found["tasks:T-7"]["done_at"].startswith("2026-01-10")
    assert found["tasks:T-8"]["title"] == "=HYPERLINK(evil)"


def test_importing_the_same_file_twice_adds_nothing(run, db_path):
    assert run("import", str(FIXTURES / "tasks.csv")).exit_code == 0
    before = snapshot(db_path)
    result = run("import", str(FIXTURES / "tasks.csv"))
    assert result.exit_code == 0
    assert ": 0 added, 0 updated, 6 unchanged, 2 skipped" in result.stdout
    assert snapshot(db_path) == before  # not even updated_at moved


def test_an_updated_file_updates_only_what_changed(run, db_path, tmp_path):
    source = tmp_path / "tracker.csv"
    write(source, "key,title,estimate,actual\nA,One,2,3\nB,Two,1,\nC,Three,4,4\n")
    assert run("import", str(source)).exit_code == 0
    before = tasks(db_path)
    write(source, "key,title,estimate,actual\nA,One,2,3\nB,Two,1,1.5\nC,Three,4,4\nD,Four,1,\n")
    result = run("import", str(source))
    assert ": 1 added, 1 updated, 2 unchanged, 0 skipped" in result.stdout
    after = tasks(db_path)
    assert after["tracker:B"]["status"] == "done" and after["tracker:B"]["actual_h"] == 1.5
    assert after["tracker:A"] == before["tracker:A"]
    assert after["tracker:A"]["id"] == before["tracker:A"]["id"]


def test_fields_the_file_lacks_are_not_overwritten(run, db_path, tmp_path):
    source = write(tmp_path / "plain.csv", "key,title,estimate\nA,One,2\n")
    assert run("import", str(source)).exit_code == 0
    assert run("edit", "1", "-t", "mine", "--project", "kept", "--notes", "hello").exit_code == 0
    result = run("import", str(source))
    assert ": 0 added, 0 updated, 1 unchanged" in result.stdout
    task = tasks(db_path)["plain:A"]
    assert (json.loads(task["tags"]), task["project"], task["notes"]) == (["mine"], "kept", "hello")


def test_map_overrides_one_field_and_the_rest_are_guessed(run, db_path, tmp_path):
    source = write(
        tmp_path / "sip.csv",
        "TaskNumber,Summary,HoursEstimate,Estimate,HoursActual,DeveloperID\n7,Build it,3,99,4,58\n",
    )
    result = run(
        "import", str(source), "--map", "estimate=HoursEstimate", "--map", "person=DeveloperID"
    )
    assert result.exit_code == 0, result.output
    assert "estimate <- HoursEstimate" in result.stdout
    assert "key <- TaskNumber" in result.stdout and "title <- Summary" in result.stdout
    task = tasks(db_path)["sip:7"]
    assert (task["estimate_h"], task["actual_h"], task["person"]) == (3.0, 4.0, "58")


def test_map_errors_name_the_columns(run, db_path):
    result = run("import", str(FIXTURES / "tasks.csv"), "--map", "estimate=Nope")
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: --map estimate=Nope: tasks.csv has no column 'Nope' (its columns: id, title, "
        "assignee, team, project, estimate, actual, low, high, confidence, created, done, due, "
        "status, tags)"
    )
    result = run("import", str(FIXTURES / "tasks.csv"), "--map", "colour=title")
    assert result.exit_code == 2
    assert error_line(result) == (
        "Error: Invalid value for '--map': --map 'colour=title': unknown field 'colour'; use one "
        "of key, uid, title, estimate, actual, person, team, project, tags, created, started, "
        "done, due, low, high, confidence, promise, status, notes, source, updated "
        "(see 'calibrate import --help')"
    )
    assert not db_path.exists()


def test_a_file_without_an_estimate_column_is_refused(run, db_path, tmp_path, seeded):
    source = write(tmp_path / "x.csv", "title,actual\nA,2\n")
    result = run("import", str(source))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: x.csv has no estimate column (its columns: title, actual); name it with "
        "--map estimate=COLUMN"
    )
    assert snapshot(db_path) == seeded


def test_units_missing_markers_and_no_cap(run, db_path, tmp_path):
    source = write(
        tmp_path / "m.csv",
        "key,estimate,actual,notes\n"
        "a,90,120,NA\nb,1h30m,\\N,null\nc,1000000,NULL,x\nd,2d,,\ne,0,5,\n",
    )
    result = run("import", str(source), "--unit", "m")
    assert result.exit_code == 0, result.output
    found = tasks(db_path)
    assert (found["m:a"]["estimate_h"], found["m:a"]["actual_h"]) == (1.5, 2.0)
    assert found["m:a"]["notes"] is None
    assert found["m:b"]["estimate_h"] == 1.5 and found["m:b"]["status"] == "open"
    assert found["m:c"]["estimate_h"] == pytest.approx(1_000_000 / 60)
    assert found["m:d"]["estimate_h"] == 16.0
    assert "m:e" not in found
    assert "skipped 1: no estimate" in result.stdout


def test_rows_without_a_key_are_keyed_by_content_and_occurrence(run, db_path):
    result = run("import", str(FIXTURES / "nokey.csv"))
    assert ": 3 added" in result.stdout
    uids = sorted(tasks(db_path))
    assert len(uids) == 3
    assert sum(uid.endswith("#2") for uid in uids) == 1
    again = run("import", str(FIXTURES / "nokey.csv"))
    assert ": 0 added, 0 updated, 3 unchanged" in again.stdout


def test_a_repeated_key_is_counted_and_the_later_row_wins(run, db_path, tmp_path):
    source = write(tmp_path / "r.csv", "key,estimate,actual\nA,1,1\nA,1,2\n")
    result = run("import", str(source))
    assert "note 1: repeated key in the file (the later row wins)" in result.stdout
    assert tasks(db_path)["r:A"]["actual_h"] == 2.0


def test_join_and_prefer_fold_task_developer_rows(run, db_path, tmp_path):
    main = write(
        tmp_path / "info.csv",
        "TaskNumber,Summary,HoursEstimate,HoursActual,DeveloperID,DeveloperHoursActual\n"
        "1,Shared task,4,6,11,2\n1,Shared task,4,6,12,4\n2,Solo,1,1,11,1\n3,Tie,2,2,13,1\n"
        "3,Tie,2,2,14,1\n",
    )
    dates = write(
        tmp_path / "dates.csv",
        "TaskNumber,EstimateOn,StartedOn,CompletedOn\n1,02-Nov-04,03-Nov-04,16-Nov-04\n"
        "1,02-Nov-04,03-Nov-04,16-Nov-04\n2,05-Nov-04,,\n",
    )
    result = run(
        "import",
        str(main),
        "--join",
        str(dates),
        *["--prefer", "DeveloperHoursActual", "--map", "person=DeveloperID"],
        *["--map", "created=EstimateOn"],
    )
    assert result.exit_code == 0, result.output
    assert ": 3 added, 0 updated, 0 unchanged, 2 skipped" in result.stdout
    assert "not the preferred row of a repeated key" in result.stdout
    assert "note 1: no match in dates.csv (--join)" in result.stdout
    found = tasks(db_path)
    assert found["info:1"]["person"] == "12"
    assert found["info:3"]["person"] == "13"  # a tie keeps the first row
    assert found["info:1"]["created_at"].startswith("2004-11-02")
    assert found["info:1"]["started_at"].startswith("2004-11-03")
    assert found["info:1"]["done_at"].startswith("2004-11-16")
    assert found["info:2"]["done_at"].startswith("2004-11-05")  # no dates: created stands in


def test_aliases_apply_to_imported_people_when_read(run, db_path, conn, tmp_path):
    with store.transaction(conn):
        conn.execute("INSERT INTO aliases (alias, person) VALUES ('jdoe', 'Jane Doe')")
    source = write(tmp_path / "a.csv", "key,estimate,person\nA,1,jdoe\n")
    assert run("import", str(source)).exit_code == 0
    assert tasks(db_path)["a:A"]["person"] == "jdoe"  # stored as the file gives it (law 7)
    listed = json.loads(run("list", "--person", "Jane Doe", "--json").output)
    assert [row["uid"] for row in listed] == ["a:A"]


def test_person_source_and_team_options(run, db_path, tmp_path):
    source = write(tmp_path / "a.csv", "key,estimate\nA,1\n")
    result = run("import", str(source), "--person", "bob", "--team", "red", "--source", "trk")
    assert result.exit_code == 0
    task = tasks(db_path)["trk:A"]
    assert (task["person"], task["team"], task["source"]) == ("bob", "red", "trk")


def test_tsv_and_compressed_files(run, db_path, tmp_path):
    assert run("import", str(FIXTURES / "tasks.tsv")).exit_code == 0
    assert tasks(db_path)["tasks:A1"]["actual_h"] == 2.5
    text = (FIXTURES / "tasks.csv").read_bytes()
    (tmp_path / "packed.csv.gz").write_bytes(gzip.compress(text))
    (tmp_path / "packed.csv.xz").write_bytes(lzma.compress(text))
    for name in ("packed.csv.gz", "packed.csv.xz"):
        result = run("import", str(tmp_path / name), "--source", "packed")
        assert result.exit_code == 0, result.output
    assert len(tasks(db_path, "source = 'packed'")) == 6


def test_stdin(run, db_path):
    result = run("import", "-", input=(FIXTURES / "tasks.tsv").read_text())
    assert result.exit_code == 0, result.output
    assert "Imported stdin (tsv" in result.stdout
    assert len(tasks(db_path)) == 2


def test_explicit_status_open_wins_over_a_start_date(run, db_path, tmp_path):
    source = write(tmp_path / "s.csv", "key,estimate,started,status\nA,1,2026-01-01,Reopened\n")
    assert run("import", str(source)).exit_code == 0
    assert tasks(db_path)["s:A"]["status"] == "open"


def test_a_start_after_the_done_date_is_left_out(run, db_path, tmp_path):
    source = write(
        tmp_path / "s.csv", "key,estimate,actual,started,done\nA,1,1,2026-01-05,2026-01-02\n"
    )
    result = run("import", str(source))
    assert "note 1: started after it was done: start date left out" in result.stdout
    task = tasks(db_path)["s:A"]
    assert task["started_at"] is None and task["done_at"].startswith("2026-01-02")


# --- encodings ---------------------------------------------------------------------


def test_cp1252_needs_its_encoding_named(run, db_path, seeded):
    result = run("import", str(FIXTURES / "cp1252.csv"))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: line 2: byte 0xe9 is not UTF-8: cp1252.csv is in another encoding; "
        "name it, e.g. --encoding cp1252"
    )
    assert snapshot(db_path) == seeded
    result = run("import", str(FIXTURES / "cp1252.csv"), "--encoding", "cp1252")
    assert result.exit_code == 0, result.output
    assert tasks(db_path)["cp1252:C1"]["title"] == "Café – menu"


def test_an_unknown_encoding_is_refused(run, db_path):
    result = run("import", str(FIXTURES / "tasks.csv"), "--encoding", "klingon")
    assert result.exit_code == 2
    assert error_line(result) == (
        "Error: Invalid value for '--encoding': unknown encoding 'klingon' "
        "(see 'calibrate import --help')"
    )


# --- Jira ------------------------------------------------------------------------------


def test_jira_day_first_export(run, db_path):
    result = run("import", str(FIXTURES / "jira_dayfirst.csv"))
    assert result.exit_code == 0, result.output
    assert "(jira, source jira): 3 added, 0 updated, 0 unchanged, 1 skipped" in result.stdout
    assert "numeric dates read day-first (detected from the data)" in result.stdout
    assert "Σ" not in result.stdout
    found = tasks(db_path)
    bug = found["jira:WEB-101"]
    assert (bug["estimate_h"], bug["actual_h"]) == (2.0, 3.0)  # seconds; not the Σ columns
    assert bug["title"] == "Login page times out" and bug["person"] == "Jane Doe"
    assert bug["project"] == "Web shop"
    assert json.loads(bug["tags"]) == ["backend", "urgent"]
    assert bug["due"] == "2017-01-06"
    assert found["jira:WEB-102"]["status"] == "started"
    assert found["jira:WEB-103"]["status"] == "dropped"  # Won't Do
    assert "jira:WEB-104" not in found  # resolved with no time logged


def test_jira_month_first_without_summary_or_assignee(run, db_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        result = run("import", str(FIXTURES / "jira_monthfirst.csv"))
        assert result.exit_code == 0, result.output
        assert "month-first (detected from the data)" in result.stdout
        found = tasks(db_path)
        ops = found["jira:OPS-2"]
        assert ops["title"] == "OPS-2" and ops["person"] == "alice"
        assert ops["created_at"] == "2017-01-04T10:00:00Z"
        assert ops["done_at"] == "2017-01-13T11:00:00Z"
        assert found["jira:OPS-3"]["status"] == "open"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_date_format_forces_the_order(run, db_path, tmp_path):
    source = write(
        tmp_path / "j.csv",
        "Issue key,Created,Resolved,Original Estimate,Time Spent\nX-1,02/03/2017,04/03/2017,"
        "3600,3600\n",
    )
    assert run("import", str(source), "--format", "jira").exit_code == 0
    assert tasks(db_path)["jira:X-1"]["done_at"].startswith("2017-04-03")  # month-first
    result = run("import", str(source), "--format", "jira", "--date-format", "dmy")
    assert ": 0 added, 1 updated" in result.stdout
    assert tasks(db_path)["jira:X-1"]["done_at"].startswith("2017-03-04")
    bad = run("import", str(source), "--date-format", "someday")
    assert bad.exit_code == 2
    assert error_line(bad) == (
        "Error: Invalid value for '--date-format': --date-format 'someday': use dmy, mdy, ymd "
        "or a strptime pattern such as %d/%m/%Y %H:%M (see 'calibrate import --help')"
    )


def test_dates_that_contradict_the_files_order_are_bad(run, db_path, tmp_path):
    source = write(
        tmp_path / "d.csv", "key,estimate,done,actual\nA,1,25/12/2017,1\nB,1,12/25/2017,1\n"
    )
    result = run("import", str(source))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: line 3: date '12/25/2017' is month-first, but the file's dates are day-first "
        "(detected from the data); give --date-format (done column 'done') (nothing was "
        "imported; --skip-bad imports the other rows)"
    )


def test_date_reader_formats():
    reader = DateReader()
    assert reader.day("27/Jan/17 2:11 PM") == "2017-01-27"
    assert reader.day("16-Jan-04") == "2004-01-16"
    assert reader.moment("20170127T141100Z") == "2017-01-27T14:11:00Z"
    assert reader.moment("2017-01-27T14:11:00+02:00") == "2017-01-27T12:11:00Z"
    assert reader.day("2017/01/27") == "2017-01-27"
    for bad in ("someday", "31/02/2017", "0016-01-11 16:22:26", "13/13/2017"):
        with pytest.raises(DateError):
            DateReader().moment(bad)


# --- Taskwarrior and JSON Lines -----------------------------------------------------


def test_taskwarrior_export(run, db_path):
    result = run("import", str(FIXTURES / "taskwarrior.json"))
    assert result.exit_code == 0, result.output
    assert "(taskwarrior, source taskwarrior): 4 added" in result.stdout
    assert "skipped 1: recurring template" in result.stdout
    found = {t["title"]: t for t in tasks(db_path).values()}
    parser = found["Write the parser"]
    assert parser["uid"] == "taskwarrior:5c8b2a6e-93b7-4a3d-9d43-3b7f5f0f1a01"
    assert (parser["estimate_h"], parser["actual_h"], parser["status"]) == (3.0, 4.5, "done")
    assert parser["created_at"] == "2017-01-27T14:11:00Z"
    assert parser["started_at"] == "2017-01-28T09:00:00Z"
    assert parser["done_at"] == "2017-01-30T17:00:00Z"
    assert json.loads(parser["tags"]) == ["code", "parser"]
    assert found["Review the parser"]["actual_h"] == 0.75  # from the annotation
    assert found["Release it"]["estimate_h"] == 8.0  # P1D: one working day
    assert found["Release it"]["status"] == "open"
    assert found["Release it"]["due"] == "2017-02-10"
    assert found["Abandoned plan"]["status"] == "dropped"


def test_iso_durations():
    assert iso_duration_hours("PT1H30M") == 1.5
    assert iso_duration_hours("P1DT2H", day_hours=7.5) == 9.5
    assert iso_duration_hours("PT90S") == pytest.approx(0.025)
    assert iso_duration_hours("3h") is None


def test_json_lines(run, db_path):
    result = run("import", str(FIXTURES / "tasks.jsonl"))
    assert result.exit_code == 0, result.output
    found = tasks(db_path)
    task = found["alpha-1"]  # a uid is kept as it is
    assert task["source"] == "laptop"
    assert task["notes"] == "line one\nline two"
    assert (task["promise_h"], task["due"], task["started_at"]) == (
        3.0,
        "2026-03-04",
        "2026-03-02T09:00:00Z",
    )
    assert found["alpha-2"]["status"] == "open"


def test_format_guessing(tmp_path):
    assert guess_format(FIXTURES / "tasks.csv") == "csv"
    assert guess_format(FIXTURES / "tasks.tsv") == "tsv"
    assert guess_format(FIXTURES / "jira_dayfirst.csv") == "jira"
    assert guess_format(FIXTURES / "taskwarrior.json") == "taskwarrior"
    assert guess_format(FIXTURES / "tasks.jsonl") == "jsonl"
    odd = tmp_path / "export.txt"
    odd.write_text('{"uid": "x", "estimate_h": 1}\n')
    assert guess_format(odd) == "jsonl"


def test_an_unknown_format_is_refused(run):
    result = run("import", str(FIXTURES / "tasks.csv"), "--format", "excel")
    assert result.exit_code == 2
    assert error_line(result) == (
        "Error: Invalid value for '--format': cannot import format 'excel': use csv, tsv, jira, "
        "taskwarrior, timewarrior, jsonl, json, summary (see 'calibrate import --help')"
    )


# --- bad rows -------------------------------------------------------------------------

BAD_ROWS = [
    ("abc", "1", "", "", "", "line 3: estimate column 'estimate': not a duration: 'abc'"),
    ("-2", "1", "", "", "", "line 3: negative estimate '-2'"),
    ("2", "-1", "", "", "", "line 3: negative actual '-1'"),
    ("2", "1", "someday", "", "", "line 3: unknown date 'someday'"),
    ("2", "1", "", "0", "3", "line 3: range 0m..3h: its low must be above zero"),
    ("2", "1", "", "4", "3", "line 3: range 4h..3h: its low must be above zero and below"),
    ("2", "1", "", "1", "", "line 3: a range needs both a low and a high"),
]


@pytest.mark.parametrize(("estimate", "actual", "done", "low", "high", "message"), BAD_ROWS)
def test_a_bad_row_aborts_the_import(
    run, db_path, tmp_path, seeded, estimate, actual, done, low, high, message
):
    source = write(
        tmp_path / "bad.csv",
        f"key,estimate,actual,done,low,high\nok,1,1,,,\nbad,{estimate},{actual},{done},{low},"
        f"{high}\nok2,1,1,,,\n",
    )
    result = run("import", str(source))
    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith(f"Error: {message}"), line
    assert line.endswith("(nothing was imported; --skip-bad imports the other rows)")
    assert snapshot(db_path) == seeded


def test_a_confidence_outside_0_100_is_bad(run, db_path, tmp_path, seeded):
    source = write(tmp_path / "c.csv", "key,estimate,low,high,confidence\nA,2,1,3,100\n")
    result = run("import", str(source))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: line 2: confidence '100' must be between 0 and 100, exclusive "
        "(nothing was imported; --skip-bad imports the other rows)"
    )
    assert snapshot(db_path) == seeded


def test_skip_bad_counts_and_lists_bad_rows(run, db_path, tmp_path):
    lines = ["key,estimate,actual"] + [f"b{n},-{n + 1},1" for n in range(25)] + ["good,2,3"]
    source = write(tmp_path / "many.csv", "\n".join(lines) + "\n")
    result = run("import", str(source), "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "1 added, 0 updated, 0 unchanged, 0 skipped, 25 bad" in result.stdout
    assert "line 2: negative estimate '-1'" in result.stdout
    assert "line 21: negative estimate '-20'" in result.stdout
    assert "line 22:" not in result.stdout
    assert "... and 5 more" in result.stdout
    assert list(tasks(db_path)) == ["many:good"]


# --- bad files: a clear message, exit 1, nothing written ----------------------------


def test_an_empty_file(run, db_path, tmp_path, seeded):
    result = run("import", str(write(tmp_path / "empty.csv", "")))
    assert result.exit_code == 1
    assert error_line(result) == "Error: empty.csv is empty: no header row and no tasks"
    assert snapshot(db_path) == seeded


def test_a_header_only_file(run, db_path, tmp_path, seeded):
    result = run("import", str(write(tmp_path / "head.csv", "key,estimate,actual\n")))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: head.csv has no rows to import (a header and nothing else)"
    )
    assert snapshot(db_path) == seeded


def test_binary_garbage(run, db_path, tmp_path, seeded):
    garbage = tmp_path / "garbage.csv"
    rng = random.Random(1)
    garbage.write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    result = run("import", str(garbage))
    assert result.exit_code == 1
    assert error_line(result) == "Error: garbage.csv is binary data, not a text file of tasks"
    assert snapshot(db_path) == seeded


def test_a_100_mb_field_is_refused_quickly(run, db_path, tmp_path, seeded):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:
        handle.write(b"key,title,estimate\nA,")
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b",2\n")
    result = run("import", str(huge))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: line 2: longer than 4,194,304 characters; huge.csv does not look like a file "
        "of tasks"
    )
    assert snapshot(db_path) == seeded


def test_a_missing_file(run):
    result = run("import", "nowhere.csv")
    assert result.exit_code == 1
    assert error_line(result) == "Error: no such file: nowhere.csv"


def test_cells_beyond_the_header_are_bad(run, db_path, tmp_path, seeded):
    result = run("import", str(write(tmp_path / "w.csv", "key,estimate\nA,1,extra\n")))
    assert error_line(result) == "Error: line 2: 3 cells but the header has 2 columns"
    assert snapshot(db_path) == seeded


# --- dry run and progress ---------------------------------------------------------------


def test_dry_run_writes_nothing(run, db_path, seeded):
    result = run("import", str(FIXTURES / "tasks.csv"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Would import tasks.csv (csv, source tasks): 6 added")
    assert "tasks:T-1" in result.stdout and "Fix login bug" in result.stdout
    assert "Dry run: nothing was written." in result.stderr
    assert snapshot(db_path) == seeded


def test_dry_run_creates_no_database(run, db_path):
    result = run("import", str(FIXTURES / "tasks.csv"), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["skipped"], summary["dry_run"]) == (6, 2, True)
    assert summary["preview"][0]["uid"] == "tasks:T-1"
    assert not db_path.exists()


def test_no_progress_bar_in_a_pipe(run, tmp_path):
    lines = ["key,estimate,actual"] + [f"k{n},1,2" for n in range(20000)]
    source = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    result = run("import", str(source))
    assert result.exit_code == 0
    assert "Importing" not in result.stderr and "Importing" not in result.stdout


def test_progress_is_reported_by_the_library(conn, tmp_path):
    lines = ["key,estimate,actual"] + [f"k{n},1,2" for n in range(5000)]
    source = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    seen: list[tuple[int, int]] = []
    summary = import_file(
        conn,
        ImportOptions(path=source, person="me"),
        lambda done, total: seen.append((done, total)),
    )
    assert summary.added == 5000
    assert len(seen) >= 2
    assert seen[-1] == (source.stat().st_size, source.stat().st_size)


# --- killed half-way ------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "w") as handle:
        handle.write("key,title,estimate,actual,person,done\n")
        for n in range(50_000):
            handle.write(
                f"K{n},Task {n},{1 + n % 7},{1 + n % 5},p{n % 9},2026-01-{1 + n % 28:02d}\n"
            )
    return path


def test_an_import_killed_half_way_leaves_the_database_as_it_was(tmp_path, big_csv):
    rng = random.Random(7)
    env = {**os.environ, "CALIBRATE_PERSON": "alice"}
    for trial in range(3):
        db = tmp_path / f"killed-{trial}.db"
        subprocess.run(
            [sys.executable, "-m", "calibrate", "--db", str(db), "add", "Before", "-e", "1h"],
            check=True,
            env=env,
            capture_output=True,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "calibrate", "--db", str(db), "import", str(big_csv)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process.wait(timeout=rng.uniform(0.3, 1.5))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
        conn.close()
        assert count in (1, 50_001)


# --- the real datasets (skipped where ../shared/data is absent) ----------------------


@pytest.mark.realdata
@requires_shared_data("sip/Sip-task-info.csv", "sip/est-act-dates.csv")
def test_sip_imports_with_the_documented_command(run, db_path):
    result = run(*sip_import_args())
    assert result.exit_code == 0, result.output
    assert ": 10,266 added, 0 updated, 0 unchanged, 2,033 skipped" in result.stdout
    conn = sqlite3.connect(db_path)
    pairs = conn.execute(
        "SELECT estimate_h, actual_h FROM tasks WHERE status = 'done' AND actual_h > 0"
    ).fetchall()
    ratios = sorted(actual / estimate for estimate, actual in pairs)
    assert len(ratios) == 10_266  # METRICS.md: each task once
    assert ratios[len(ratios) // 2] == pytest.approx(1.0)  # median A/E 1.00
    within = sum(0.8 - 1e-9 <= r <= 1.25 + 1e-9 for r in ratios) / len(ratios)
    assert round(100 * within, 1) == 47.6
    malr = sum(min(abs(math.log2(r)), 3) for r in ratios) / len(ratios)
    assert round(malr, 3) == 0.692
    people = dict(conn.execute("SELECT uid, person FROM tasks").fetchall())
    conn.close()
    best: dict[str, tuple[float, str]] = {}  # the developer who logged most hours
    with open(SIP / "Sip-task-info.csv", encoding="cp1252", newline="") as handle:
        for row in csv.DictReader(handle):
            hours = float(row["DeveloperHoursActual"])
            key = row["TaskNumber"]
            if key not in best or hours > best[key][0]:
                best[key] = (hours, row["DeveloperID"])
    assert people == {f"sip:{key}": developer for key, (_, developer) in best.items()}
    again = run(*sip_import_args())
    assert ": 0 added, 0 updated, 10,266 unchanged" in again.stdout


@pytest.mark.realdata
@requires_shared_data("cesaw/CESAW_task_fact.csv.xz")
def test_cesaw_imports_with_the_documented_command(run, db_path):
    command = [
        "import",
        str(CESAW),
        *["--source", "cesaw", "--unit", "m", "--map", "estimate=task_plan_time_minutes"],
        *["--map", "actual=task_actual_time_minutes", "--map", "person=person_key"],
        *["--map", "team=team_key", "--map", "project=project_key"],
        *["--map", "started=task_actual_start_date", "--map", "done=task_actual_complete_date"],
        *["--map", "title=phase_short_name"],
    ]
    strict = run(*command)
    assert strict.exit_code == 1
    assert error_line(strict) == (
        "Error: line 31430: date '0016-01-11 16:22:26' is out of range (years 1900-2199) "
        "(started column 'task_actual_start_date') (nothing was imported; --skip-bad imports "
        "the other rows)"
    )
    assert not db_path.exists()
    result = run(*command, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert ": 61,124 added, 0 updated, 0 unchanged, 692 skipped, 1 bad" in result.stdout
    assert "skipped 692: no estimate (missing or zero)" in result.stdout
    assert "note 1,610: started after it was done: start date left out" in result.stdout
    assert "numeric dates read month-first" in result.stdout
    conn = sqlite3.connect(db_path)
    people, teams, projects = conn.execute(
        "SELECT count(DISTINCT person), count(DISTINCT team), count(DISTINCT project) FROM tasks"
    ).fetchone()
    minutes = conn.execute("SELECT estimate_h * 60, actual_h * 60 FROM tasks LIMIT 1").fetchone()
    conn.close()
    assert (people, teams, projects) == (247, 10, 45)
    assert minutes == pytest.approx((90, 7))  # the first row: plan 90, actual 7 minutes


def test_a_row_with_an_empty_key_is_keyed_by_its_content(run, db_path, tmp_path):
    source = write(tmp_path / "k.csv", "key,title,estimate\nA,One,1\n,Two,2\n")
    assert run("import", str(source)).exit_code == 0
    uids = sorted(tasks(db_path))
    assert len(uids) == 2 and "k:A" in uids and all(uid.startswith("k:") for uid in uids)
    assert ": 0 added, 0 updated, 2 unchanged" in run("import", str(source)).stdout


def test_a_text_duration_over_the_limit_says_so(run, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("title,estimate,actual\nhuge,200000h,1h\n")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert error_line(result) == (
        "Error: line 2: estimate column 'estimate': duration '200000h' is more than 100,000h: "
        "not the effort of one task (nothing was imported; --skip-bad imports the other rows)"
    )
