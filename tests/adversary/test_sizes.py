"""Class 7, sizes: numbers and texts too large for what holds them.

- a task id (or a count) of 2^63 or more, to every command that takes one:
  one line, exit 2 (it crashed every such command);
- the report is bounded whatever the length of a title, a name, a tag or a
  note (12 tasks of long texts made a 45 MB report; here 250,000-character
  names, projects and tags from an import, and titles and notes of 2,000,000): about 5 MB with
  plotly.js inline, as the README says, and a few tens of KB without it; the
  exports keep every text whole;
- ``demo --tasks 100000000000`` (and a demo whose people and weeks imply as
  many) is refused in one line, nothing built (it died with a memory
  traceback); the cap, 10,000,000 tasks, is in ``demo --help``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate.cli import cli
from tests.reliability.faults import (
    FULL,
    assert_clean_failure,
    file_state,
    run_calibrate,
    size,
)

#: Commands that take a task id, with the id's place marked ``{id}``.
ID_COMMANDS = [
    ["done", "{id}", "--actual", "1h"],
    ["drop", "{id}"],
    ["reestimate", "{id}", "3h"],
    ["edit", "{id}", "--title", "x"],
    ["rm", "{id}", "--yes"],
    ["show", "{id}"],
    ["start", "{id}"],
    ["stop", "{id}"],
    ["reopen", "{id}"],
    ["list", "--limit", "{id}"],
]
BEYOND = [str(2**63), str(2**64), "1" + "0" * 40, "9" * 400]


@pytest.mark.parametrize("value", BEYOND)
@pytest.mark.parametrize("words", ID_COMMANDS, ids=[w[0] for w in ID_COMMANDS])
def test_ids_of_2_to_the_63_or_more_are_refused_in_one_line(invoke, seeded, words, value):
    before = file_state(seeded)
    result = invoke(seeded, *[w.replace("{id}", value) for w in words])
    line = assert_clean_failure(result, codes=(2,))
    assert "64 bits" in line, line
    assert file_state(seeded) == before


@settings(
    max_examples=size(40, 1000),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    value=st.one_of(st.integers(min_value=2**63, max_value=2**2000), st.integers(max_value=-1)),
    words=st.sampled_from(ID_COMMANDS),
)
def test_any_id_out_of_range_is_a_clean_failure(invoke, seeded, value, words):
    args = [w.replace("{id}", str(value)) for w in words]
    if value < 0:
        args.insert(1, "--")  # a negative number is otherwise read as an option
    result = invoke(seeded, *args)
    assert_clean_failure(result, codes=(2,))


# --- the report: bounded whatever the texts ------------------------------------------


def long_history(path: Path, length: int) -> Path:
    """12 finished tasks whose every text is ``length`` characters long,
    by three people with long names in a team with a long name."""
    lines = []
    for index in range(12):
        lines.append(
            json.dumps(
                {
                    "title": "T" * length + str(index),
                    "person": "P" * min(length, 5000) + str(index % 3),
                    "team": "Team" + "X" * length,
                    "project": "Q" * length,
                    "tags": ["g" * length + str(j) for j in range(10)],
                    "notes": "n" * length,
                    "status": "done" if index % 4 else "open",
                    "estimate_h": 2 + index,
                    "actual_h": 3 + index if index % 4 else None,
                    "low_h": 1,
                    "high_h": 40,
                    "confidence": 80,
                    "promise_h": 30,
                    "created_at": f"2026-11-{1 + index:02d}T09:00:00Z",
                    "done_at": f"2026-11-{2 + index:02d}T09:00:00Z" if index % 4 else None,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def long_db(tmp_path_factory) -> tuple[Path, int]:
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("long")
    length = size(100_000, 250_000)  # 14 texts a line: a JSON Lines line holds 4 MiB
    source = long_history(folder / "long.jsonl", length)
    db = folder / "long.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "import", str(source)])
    assert result.exit_code == 0, result.output
    # Longer still than a file can bring: titles and notes of 2,000,000 characters.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE tasks SET title = printf('%.*c', 2000000, 'T') || id, "
            "notes = printf('%.*c', 2000000, 'n')"
        )
    conn.close()
    return db, length


@pytest.mark.parametrize("scope", ["everyone", "team", "person"])
def test_the_report_is_bounded_whatever_the_length_of_its_texts(invoke, long_db, tmp_path, scope):
    """The issue's example: 12 tasks with long titles and tags made a 45 MB
    report; the README promises about 5 MB (plotly.js inline)."""
    db, length = long_db
    who = {
        "everyone": ["--everyone"],
        "team": ["--team", "Team" + "X" * length],
        "person": ["--person", "P" * min(length, 5000) + "1"],
    }[scope]
    for mode, limit in (("inline", 5_500_000), ("cdn", 400_000)):
        out = tmp_path / f"{scope}-{mode}.html"
        result = invoke(db, "report", *who, "--since", "all", "--plotlyjs", mode, "-o", str(out))
        assert result.exit_code == 0, result.output
        assert out.stat().st_size < limit, (scope, mode, out.stat().st_size)
        html = out.read_text(encoding="utf-8")
        assert "T" * 150 in html or scope != "person"  # titles shown, shortened
        assert "T" * 1000 not in html


def test_exports_keep_every_text_whole(invoke, long_db):
    db, length = long_db
    lines = invoke(db, "export", "--format", "jsonl").stdout.splitlines()
    tasks = [json.loads(line) for line in lines if '"title"' in line]
    assert len(tasks) == 12
    assert all(len(task["title"]) > 2_000_000 for task in tasks)
    assert all(len(task["tags"][0]) > length for task in tasks)


def test_the_report_sections_clip_every_text_they_show():
    """The report's one clipping pass (``render.bounded``) over cells, tags,
    headings, sentences and chart traces."""
    import plotly.graph_objects as go

    from calibrate.report.model import Cell, Heading, Section, Table
    from calibrate.report.render import CELL_CHARS, TAGS_SHOWN, bounded

    long = "x" * 10_000
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], text=[long, "ok"], name=long))
    section = Section(
        key="k",
        title=long,
        how_to_read="read",
        figure=fig,
        tables=[
            Table(
                columns=[("Task", "text")],
                rows=[[Cell(long, detail=long, tags=[long] * 50)], Heading(long)],
                note=long,
            )
        ],
        notes=[long],
    )
    out = bounded(section)
    cell = out.tables[0].rows[0][0]
    assert len(cell.text) == CELL_CHARS and len(cell.tags) == TAGS_SHOWN + 1
    assert len(out.tables[0].rows[1].text) == CELL_CHARS
    assert max(len(t) for t in out.figure.data[0].text) == CELL_CHARS
    assert len(out.figure.data[0].name) == CELL_CHARS
    assert len(out.title) < 2000 and len(out.notes[0]) < 2000
    assert list(out.figure.data[0].x) == [1, 2]


# --- the demo's size ------------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        ["--tasks", "100000000000"],
        ["--tasks", "10000001"],
        ["--people", "100000", "--weeks", "520"],
    ],
)
def test_a_demo_beyond_its_cap_is_refused_in_one_line(tmp_path, words):
    db = tmp_path / "demo.db"
    result = run_calibrate(db, "demo", *words, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "at most 10,000,000 tasks" in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_demo_cap_is_in_its_help(invoke, tmp_path):
    from calibrate.demo.writing import MAX_TASKS

    text = " ".join(invoke(tmp_path / "x.db", "demo", "--help").stdout.split())
    assert f"at most {MAX_TASKS:,}" in text
