"""Class 3, terminal control sequences: text meant for people never carries a
raw control character from stored data.

Titles, notes, people, teams, projects and tags that arrive by an import (or
are typed) are printed by ``list``, ``show``, ``people``, ``start``, ``add``,
``status``, ``rank``, ``score``, ``suggest``, ``forecast``, ``alias``,
``--dry-run`` previews and the error lines: C0 controls (an escape sequence,
an OSC 52 clipboard write, erase-line), DEL, C1 controls (a lone CSI) and the
bidi overrides and isolates are shown escaped (``\\x1b``), through one helper,
``calibrate.text.printable``. JSON, CSV and JSON Lines keep the data exact.

Hypothesis writes the hostile text; every human command runs over it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate.text import CONTROLS, printable, render_table
from tests.reliability.faults import FULL, size

#: The issue's examples: an OSC 52 clipboard write, erase-line and a cursor
#: move, a C1 CSI, a bidi override, DEL, a bell and a carriage return.
PAYLOADS = [
    "\x1b]52;c;cm0gLXJmIH4=\x07",
    "\x1b[2K\x1b[1G",
    "\x1b[31mred\x1b[0m",
    "\x9b2J",
    "\u202eevil\u202c",
    "\u2066iso\u2069",
    "a\x7fb",
    "ring\x07",
    "over\rwrite",
    "line\u2028break",
]
#: Control characters any human output may carry only as itself: a newline.
RAW = re.compile(CONTROLS.replace("\\n", ""))


def raw_controls(text: str) -> list[str]:
    return sorted({repr(c) for c in text if c != "\n" and re.fullmatch(CONTROLS, c)})


def hostile_jsonl(path: Path, texts: list[str], person: str = "Ann") -> Path:
    """A JSON Lines file of finished and open tasks whose every text field
    carries the ``texts``."""
    lines = []
    for index, text in enumerate(texts):
        lines.append(
            json.dumps(
                {
                    "title": f"T{index} {text}",
                    "person": f"{person} {text}" if index % 2 else person,
                    "team": f"Team {text}",
                    "project": f"P {text}",
                    "tags": [f"tag{text}", "plain"],
                    "notes": f"notes {text}\nsecond line {text}",
                    "status": "done" if index % 3 else "open",
                    "estimate_h": 2,
                    "actual_h": 3 if index % 3 else None,
                    "created_at": f"2026-11-{2 + index % 20:02d}T09:00:00Z",
                    "done_at": f"2026-11-{3 + index % 20:02d}T09:00:00Z" if index % 3 else None,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def human_commands(db: Path, texts: list[str]) -> list[list[str]]:
    conn = sqlite3.connect(db)
    try:
        people = [r[0] for r in conn.execute("SELECT DISTINCT person FROM tasks")]
        teams = [r[0] for r in conn.execute("SELECT DISTINCT team FROM tasks WHERE team != ''")]
        ids = [str(r[0]) for r in conn.execute("SELECT id FROM tasks ORDER BY id")]
        open_ids = [str(r[0]) for r in conn.execute("SELECT id FROM tasks WHERE status = 'open'")]
    finally:
        conn.close()
    person, other = people[0], people[-1]
    commands = [
        ["list", "--everyone", "--status", "any"],
        ["list", "--everyone", "--status", "any", "--verbose"],
        ["people"],
        ["rank", "--everyone", "--since", "all"],
        ["rank", "--team", teams[0], "--since", "all"],
        ["score", "--everyone", "--since", "all"],
        ["score", "--person", other, "--since", "all"],
        ["score", "--team", teams[-1], "--since", "all"],
        ["status", "--person", other],
        ["suggest", "3h", "--person", other],
        ["suggest", "3h", "--person", person, "--title", f"T1 {texts[0]} plain"],
        *(["suggest", "--task", i] for i in ids[:3]),
        ["score", "--everyone", "--since", "all", "--by", "tag"],
        ["score", "--everyone", "--since", "all", "--by", "project"],
        ["forecast", "--everyone", "--runs", "200"],
        ["forecast", "--person", other, "--runs", "200"],
        *(["show", i] for i in ids[:6]),
        ["start", open_ids[0]],
        ["status", "--person", person],
        ["stop"],
        ["add", f"typed {texts[0]}", "-e", "1h", "--person", f"Zed {texts[-1]}", "-t", texts[0]],
        ["edit", ids[0], "--title", f"edited {texts[-1]}"],
        ["done", open_ids[-1], "--actual", "2h"],
        ["reopen", open_ids[-1]],
        ["undo"],
        ["reestimate", open_ids[0], "3h", "--reason", f"because {texts[0]}"],
        ["show", open_ids[0]],
        ["drop", open_ids[0]],
        ["config"],
        ["list", "--person", f"nobody {texts[0]}"],
        ["show", "999999"],
        ["alias", f"Al {texts[0]}", other],
        ["people"],
    ]
    return commands


def run_all(invoke, db: Path, texts: list[str], tmp_path: Path) -> dict[str, str]:
    source = hostile_jsonl(tmp_path / "hostile.jsonl", texts)
    preview = invoke(db, "import", str(source), "--dry-run")
    assert preview.exit_code == 0, preview.output
    outputs = {"import --dry-run": preview.stdout + preview.stderr}
    imported = invoke(db, "import", str(source))
    assert imported.exit_code == 0, imported.output
    outputs["import"] = imported.stdout + imported.stderr
    for words in human_commands(db, texts):
        result = invoke(db, *words)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            words,
            result.exception,
        )
        outputs[" ".join(words)] = result.stdout + result.stderr
    return outputs


def test_the_issues_payloads_reach_no_terminal(invoke, tmp_path):
    """The issue's examples: an OSC 52 clipboard write and erase-line from an
    import were printed raw by list, show, people, start, add and --dry-run."""
    db = tmp_path / "t.db"
    outputs = run_all(invoke, db, PAYLOADS, tmp_path)
    leaks = {command: raw_controls(text) for command, text in outputs.items()}
    assert not {c: found for c, found in leaks.items() if found}
    shown = "\n".join(outputs.values())
    assert "\\x1b]52;c;" in shown and "\\u202e" in shown  # shown escaped, not dropped


@settings(
    max_examples=size(6, 200),
    deadline=None,
    derandomize=not FULL,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    texts=st.lists(
        st.text(
            alphabet=st.one_of(
                st.characters(codec="utf-8", exclude_categories=("Cs",)),
                st.sampled_from([chr(c) for c in [*range(32), *range(127, 160)]]),
                st.sampled_from(["\u202e", "\u2066", "\u2069", "\u200f", "\u2028", "\x9b"]),
            ),
            min_size=1,
            max_size=12,
        ).filter(lambda t: t.strip() and "\x00" not in t),
        min_size=2,
        max_size=4,
    )
)
def test_no_human_output_carries_a_raw_control_character(invoke, tmp_path_factory, texts):
    folder = tmp_path_factory.mktemp("terminal")
    outputs = run_all(invoke, folder / "t.db", texts, folder)
    leaks = {command: raw_controls(text) for command, text in outputs.items()}
    assert not {c: found for c, found in leaks.items() if found}


def test_json_csv_and_jsonl_keep_the_data_exact(invoke, tmp_path):
    db = tmp_path / "t.db"
    source = hostile_jsonl(tmp_path / "hostile.jsonl", PAYLOADS)
    assert invoke(db, "import", str(source)).exit_code == 0
    titles = {f"T{i} {text}" for i, text in enumerate(PAYLOADS)}
    listed = json.loads(invoke(db, "list", "--everyone", "--status", "any", "--json").stdout)
    assert {row["title"] for row in listed} == titles
    lines = invoke(db, "export", "--format", "jsonl").stdout.strip().split("\n")
    exported = {json.loads(line).get("title") for line in lines} - {None}
    assert exported == titles
    csv_text = invoke(db, "export", "--format", "csv").stdout
    assert all(title in csv_text for title in titles if "\r" not in title)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("\x1b[2K", "\\x1b[2K"),
        ("\x9b", "\\x9b"),
        ("a\x7f", "a\\x7f"),
        ("\u202eabc", "\\u202eabc"),
        ("\u2067x\u2069", "\\u2067x\\u2069"),
        ("tab\tnew\nline", "tab\\tnew\\nline"),
        ("emoji 👩\u200d💻 and nbsp\u00a0ok", "emoji 👩\u200d💻 and nbsp\u00a0ok"),
        ("中文", "中文"),
    ],
)
def test_printable_escapes_controls_and_keeps_every_other_character(text, shown):
    assert printable(text) == shown
    assert printable(text, newlines=True) == shown.replace("\\n", "\n")


def test_every_table_cell_is_escaped():
    from calibrate.text import Column

    table = render_table([{"t": "\x1b]52;c;x\x07 go"}], [Column("t", "T")])
    assert "\x1b" not in table and "\x07" not in table and "\\x1b]52" in table
