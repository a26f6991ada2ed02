"""``calibrate export``: formats, filters, the spreadsheet-formula rule, atomic
files, and the round trip through ``import``."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate.exchange import exporter
from calibrate.exchange.formats import ReadOptions
from calibrate.exchange.formats.csvfile import CsvStream, write_tasks
from calibrate.exchange.rows import RowConverter
from calibrate.selection import Selection
from calibrate.store.fields import EXPORTED as EXPORT_FIELDS


def tasks(db_path: Path) -> list[dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    found = [dict(r) for r in conn.execute("SELECT * FROM tasks ORDER BY id")]
    conn.close()
    return found


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


TRICKY_TITLES = [
    "=1+2",
    "+SUM(A1)",
    "-5 minutes",
    "@import",
    "'=already quoted",
    "NA",
    "null",
    'Quote "and" comma, here',
    "Ünïcödé – ok",
]


@pytest.fixture
def varied(run, db_path):
    """A database with every kind of task and every optional field."""
    commands = [
        ("add", "Plain open task", "-e", "2h"),
        (
            *["add", "Ranged", "-e", "3h", "--range", "2h..6h", "--confidence", "80"],
            *["--promise", "5h", "--due", "2026-12-04", "-t", "a", "-t", "b", "--project", "web"],
            *["--team", "red", "--notes", '  two\nlines, with "quotes"\r\nand CRLF  '],
        ),
        ("add", "Finished", "-e", "1h", "--actual", "1.25h", "--person", "bob"),
        ("add", "Running", "-e", "4h", "--start"),
        ("add", "To drop", "-e", "1h"),
        ("drop", "5"),
        *[("add", "-e", "30m", "--person", "=carol", "--", title) for title in TRICKY_TITLES],
    ]
    for command in commands:
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)
    return tasks(db_path)


def test_export_csv_everything_by_default(run, varied):
    result = run("export")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == list(EXPORT_FIELDS)
    assert len(rows) == len(varied)  # all people, all statuses, all time
    assert {r["status"] for r in rows} == {"open", "started", "done", "dropped"}
    by_title = {r["title"]: r for r in rows}
    assert "'=1+2" in by_title and "'+SUM(A1)" in by_title and "'-5 minutes" in by_title
    assert "'@import" in by_title and "''=already quoted" in by_title
    assert "'NA" in by_title and "'null" in by_title
    assert by_title["Finished"]["person"] == "bob"
    assert by_title["Plain open task"]["person"] == "alice"
    assert by_title["'=1+2"]["person"] == "'=carol"
    assert by_title["Ranged"]["tags"] == "a,b"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_export_then_import_round_trips_every_field(run, varied, tmp_path, fmt):
    out = tmp_path / f"tasks.{fmt}"
    result = run("export", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Exported {len(varied)} tasks to {out}\n"
    other = tmp_path / "other.db"
    result = run("--db", str(other), "import", str(out))
    assert result.exit_code == 0, result.output
    assert f": {len(varied)} added, 0 updated, 0 unchanged, 0 skipped" in result.stdout
    copied = {t["uid"]: t for t in tasks(other)}
    for task in varied:
        twin = copied[task["uid"]]
        for field in EXPORT_FIELDS:
            assert twin[field] == task[field], (fmt, field, task[field], twin[field])
    again = run("--db", str(other), "import", str(out))
    assert f": 0 added, 0 updated, {len(varied)} unchanged" in again.stdout
    back_home = run("import", str(out))  # into the database it came from
    assert f": 0 added, 0 updated, {len(varied)} unchanged" in back_home.stdout


def test_export_filters_like_list(run, varied):
    def exported(*args):
        result = run("export", "--format", "jsonl", *args)
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        return [line for line in lines if line["kind"] == "task"]

    assert [t["title"] for t in exported("--person", "bob")] == ["Finished"]
    assert [t["title"] for t in exported("--status", "done")] == ["Finished"]
    assert [t["title"] for t in exported("--status", "dropped")] == ["To drop"]
    assert [t["title"] for t in exported("--tag", "a")] == ["Ranged"]
    assert [t["title"] for t in exported("--project", "web")] == ["Ranged"]
    # alice's later tasks, added without --team, join her team (red)
    assert [t["title"] for t in exported("--team", "red")] == ["Ranged", "Running", "To drop"]
    assert len(exported("--since", "all")) == len(varied)
    assert exported("--since", "2099-01-01") == []
    result = run("export", "--person", "bob", "--everyone")
    assert result.exit_code == 2


def test_json_array_export(run, varied):
    result = run("export", "--format", "json")
    tasks_out = json.loads(result.stdout)
    assert len(tasks_out) == len(varied)
    assert tasks_out[1]["tags"] == ["a", "b"]
    assert tasks_out[1]["low_h"] == 2.0 and tasks_out[1]["confidence"] == 80.0


def test_export_of_a_missing_database_is_empty_and_creates_nothing(run, db_path):
    result = run("export")
    assert result.exit_code == 0
    assert result.stdout_bytes == (",".join(EXPORT_FIELDS) + "\r\n").encode()
    assert not db_path.exists()


def test_output_file_format_from_its_suffix(run, varied, tmp_path):
    out = tmp_path / "tasks.jsonl"
    assert run("export", "-o", str(out)).exit_code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    tasks_out = [line for line in lines if line["kind"] == "task"]
    assert len(tasks_out) == len(varied) and tasks_out[0]["title"] == "Plain open task"


def test_a_failed_export_leaves_the_old_file_and_no_temporary(run, varied, tmp_path, monkeypatch):
    out = tmp_path / "tasks.csv"
    out.write_text("precious\n")

    def broken_rows(conn, selection):
        yield {"uid": "x", "title": "first"}
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporter, "task_rows", broken_rows)
    result = run("export", "-o", str(out))
    assert result.exit_code == 1
    assert error_line(result) == f"Error: cannot write {out}: No space left on device"
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibrate.db", "tasks.csv"]


def test_export_to_a_missing_folder(run, varied, tmp_path):
    result = run("export", "-o", str(tmp_path / "nowhere" / "x.csv"))
    assert result.exit_code == 1
    assert (
        error_line(result)
        == f"Error: cannot write {tmp_path / 'nowhere' / 'x.csv'}: no folder {tmp_path / 'nowhere'}"
    )


def test_the_atomic_writers_replace_whole_or_not_at_all(tmp_path):
    from calibrate import files

    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), files.atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    with files.atomic_write(target) as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n"
    with pytest.raises(RuntimeError), files.atomic_path(target, tag="building") as temporary:
        Path(temporary).write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "new\n"
    with files.atomic_path(target, tag="building") as temporary:
        assert Path(temporary).name.startswith(".out.txt.building-")
        Path(temporary).write_text("made by another writer\n")
    assert target.read_text() == "made by another writer\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    nested = tmp_path / "a" / "b" / "report.html"
    with files.atomic_write(nested, make_folder=True) as handle:
        handle.write("<p>")
    assert nested.read_text() == "<p>"


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=texts.filter(lambda t: t.strip()),
    notes=texts | st.sampled_from([" NA ", "null", "'=x", "=1", "\r", "a\rb", "-", "'NA"]),
    tag=texts,
)
def test_any_text_survives_a_csv_round_trip(tmp_path, title, notes, tag):
    title = title.strip()  # calibrate stores titles stripped
    tags = [t for t in [tag.replace(",", " ").replace(";", " ").strip()] if t]
    path = tmp_path / "round.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        task = {"uid": "u", "title": title, "notes": notes, "tags": tags, "estimate_h": 1.0}
        write_tasks(handle, [task], list(task))
    stream = CsvStream(ReadOptions(path=path, format_name="csv"))
    try:
        (row,) = list(stream)
    finally:
        stream.close()
    assert row.values["title"].strip() == title
    stored_notes = RowConverter.free_text(row.values["notes"])
    assert stored_notes == (notes if notes.strip() else None)  # notes: exactly
    assert [t.strip() for t in row.values["tags"]] == tags


def test_export_is_the_library_too(conn, varied):
    buffer = io.StringIO()
    count = exporter.export_tasks(conn, Selection(everyone=True), "jsonl", buffer)
    assert count == len(varied)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [line["uid"] for line in lines if line["kind"] == "task"] == [t["uid"] for t in varied]
