"""Security: hostile text stays text.

- Every text field of a task (title, person, team, project, tags, notes, and
  through an import the key and source) carries HTML and script payloads; the
  report shows them as typed and runs none of them: checked in the HTML source,
  and in headless Chromium (the driver in tests/support/browser.py) where no
  payload may set ``window.pwned``, add an element or an event handler, or
  make a request.
- Exported CSV (``export``, ``list --csv``, ``people --csv``) neutralises every
  cell a spreadsheet would run as a formula, and imports back unchanged.
- SQL metacharacters and LIKE wildcards fed through every filter option match
  only the literal names, and leave the database whole: no SQL is built from
  user input by string formatting.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from calibrate.store.tasks import clean_tags
from tests.reliability.faults import (
    assert_clean_failure,
    file_state,
    integrity,
    seeded_database,
    size,
    task_count,
)
from tests.support.browser import started

PAYLOADS = [
    "<script>window.pwned=1</script>",
    '<img src=x onerror="window.pwned=2">',
    '"><svg onload="window.pwned=3">',
    '\'><iframe srcdoc="<script>parent.pwned=4</script>"></iframe>',
    "</script><script>window.pwned=5</script>",
    '<a href="javascript:window.pwned=6">link</a>',
    '{{constructor.constructor("window.pwned=7")()}}',
    "${window.pwned=8}",
    "<style>body{display:none}</style>",
    '<base href="http://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    "<!-- ]]> \u2028\u2029 </title></textarea>",
]
HOSTILE = " ".join(PAYLOADS)
SHORT = "<b>Eve</b><img src=x onerror=\"window.pwned='short'\">"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> tuple[Path, str, str]:
    """A demo team plus a person and a team whose names and tasks are payloads,
    made both with ``add`` and with an import: (path, person, team)."""
    from click.testing import CliRunner

    from calibrate.cli import cli

    folder = tmp_path_factory.mktemp("security")
    db = seeded_database(folder / "team.db", people=3, weeks=10)
    person, team = SHORT, "<i>Red</i><svg onload=\"window.pwned='team'\">"
    runner = CliRunner()
    fields = ["--person", person, "--team", team, "--project", HOSTILE, "--notes", HOSTILE]
    for index, payload in enumerate(PAYLOADS * 3):
        estimate, actual = ("2h", "9h") if index % 2 else ("3h", "1h")  # worst and best
        args = [
            "add",
            f"{payload} #{index}",
            "-e",
            estimate,
            "--actual",
            actual,
            *fields,
            "-t",
            payload,
            "-t",
            "plain",
        ]
        result = runner.invoke(cli, ["--db", str(db), *args])
        assert result.exit_code == 0, result.output
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(
        ["key", "title", "estimate", "actual", "person", "team", "tags", "notes", "source", "done"]
    )
    for payload in PAYLOADS:
        writer.writerow(
            [
                payload,
                payload,
                "1h",
                "4h",
                person,
                team,
                payload,
                payload,
                payload,
                "2026-11-02T10:00:00Z",
            ]
        )
    (folder / "hostile.csv").write_text(rows.getvalue(), encoding="utf-8")
    result = runner.invoke(cli, ["--db", str(db), "import", str(folder / "hostile.csv")])
    assert result.exit_code == 0, result.output
    return db, person, team


def write_report(db: Path, out: Path, *scope: str) -> str:
    from click.testing import CliRunner

    from calibrate.cli import cli

    result = CliRunner().invoke(
        cli, ["--db", str(db), "report", *scope, "--since", "all", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("scope", ["person", "team"])
def test_payloads_are_escaped_in_the_report_source(hostile_db, tmp_path, scope):
    db, person, team = hostile_db
    html = write_report(
        db, tmp_path / "r.html", f"--{scope}", person if scope == "person" else team
    )
    for payload in (*PAYLOADS, SHORT):
        if any(char in payload for char in "<>&\"'"):  # the rest is harmless as text
            assert payload not in html, payload
    for marker in ("window.pwned=1</script>", 'onerror="window', "<iframe", "<base ", "<meta http"):
        assert marker not in html
    shown = "&lt;b&gt;Eve&lt;/b&gt;" if scope == "person" else "&lt;i&gt;Red&lt;/i&gt;"
    assert shown in html  # the name, as text


# --- in the browser --------------------------------------------------------------------

DOM_CHECK = """
(function () {
  var handlers = [];
  document.querySelectorAll('*').forEach(function (el) {
    Array.from(el.attributes).forEach(function (a) {
      if (a.name.indexOf('on') === 0) { handlers.push(el.tagName + ' ' + a.name); }
      if (/^\\s*javascript:/i.test(a.value)) { handlers.push(el.tagName + ' ' + a.name); }
    });
  });
  return {
    pwned: typeof window.pwned,
    handlers: handlers,
    bad: document.querySelectorAll(
      'img, iframe, base, meta[http-equiv], a[href^="javascript"]').length,
    visible: document.body.offsetHeight > 100,
    text: document.body.innerText
  };
})()
"""


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (tests/support/browser.py; skips without Chromium)."""
    with started() as chromium:
        yield chromium


@pytest.mark.browser
@pytest.mark.parametrize("scope", ["person", "team"])
def test_payloads_render_inert_in_chromium(hostile_db, browser, tmp_path, scope):
    db, person, team = hostile_db
    out = tmp_path / f"{scope}.html"
    write_report(db, out, f"--{scope}", person if scope == "person" else team)
    page = browser.open(out)
    try:
        seen = page.evaluate(DOM_CHECK)
        assert seen["pwned"] == "undefined"
        assert seen["handlers"] == []
        assert seen["bad"] == 0
        assert seen["visible"]
        assert "<i>Red</i>" in seen["text"] or SHORT in seen["text"]  # names shown as typed
        if scope == "person":
            assert PAYLOADS[0] in seen["text"]  # a title among the worst estimates
        assert page.console_messages() == []
        outside = [u for u in page.requested_urls() if not u.startswith(("file:", "data:"))]
        assert outside == []
    finally:
        page.close()


# --- CSV formulas --------------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "'=1",
    "=cmd|' /C calc'!A0",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_csv_output_neutralises_formulas_and_imports_back(tmp_path, invoke):
    db = tmp_path / "formulas.db"
    for formula in FORMULAS:
        result = invoke(
            db,
            *["add", "-e", "1h", "--actual", "2h"],
            f"--person={formula}",
            f"--team={formula}",
            f"--project={formula}",
            f"--notes={formula}",
            f"--tag={formula.replace(',', ';')}",
            "--",
            formula,
        )
        assert result.exit_code == 0, result.output
    outputs = {
        "export": invoke(db, "export"),
        "list": invoke(db, "list", "--everyone", "--status", "any", "--csv"),
        "people": invoke(db, "people", "--csv"),
    }
    for name, result in outputs.items():
        if result.exit_code == 2 and "No such command" in result.stderr:
            continue
        assert result.exit_code == 0, (name, result.output)
        dangerous = [c for c in csv_cells(result.stdout) if c.startswith(TRIGGERS)]
        assert dangerous == [], name
    exported = tmp_path / "tasks.csv"
    exported.write_text(outputs["export"].stdout, encoding="utf-8")
    copy = tmp_path / "copy.db"
    assert invoke(copy, "import", str(exported)).exit_code == 0
    fields = "SELECT title, person, team, project, notes, tags FROM tasks ORDER BY uid"
    assert sqlite3.connect(copy).execute(fields).fetchall() == (
        sqlite3.connect(db).execute(fields).fetchall()
    )


# --- SQL metacharacters through every filter ------------------------------------------------

SQL = [
    "x' OR '1'='1",
    't"; DROP TABLE tasks; --',
    "%",
    "_",
    "a%'--",
    "') OR 1=1 --",
    "\\",
    "*",
    "tasks",
    "1; DELETE FROM tasks",
]
#: The names every command is run with (all of them in ``make reliability``).
SQL_THROUGH_COMMANDS = SQL[: size(3, len(SQL))]


@pytest.fixture(scope="module")
def sql_db(tmp_path_factory) -> Path:
    """Two ordinary people, and one person, team, project and tag per payload."""
    from click.testing import CliRunner

    from calibrate.cli import cli

    db = seeded_database(tmp_path_factory.mktemp("sql") / "sql.db", people=2, weeks=6)
    runner = CliRunner()
    for name in SQL:
        for n in range(2):
            args = [
                "add",
                f"task of {name} {n}",
                *["-e", "2h", "--actual", "3h", "--person"],
                name,
                "--team",
                name,
                "--project",
                name,
                "-t",
                name,
            ]
            result = runner.invoke(cli, ["--db", str(db), *args])
            assert result.exit_code == 0, result.output
    return db


def schema(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("option", ["--person", "--team", "--project", "--tag"])
def test_filters_match_only_the_literal_name(sql_db, invoke, option):
    before = file_state(sql_db)
    for name in SQL:
        if option == "--tag" and clean_tags([name]) != [name]:
            continue  # commas and semicolons separate tags: no tag holds one
        args = ["list", option, name, "--status", "any", "--json"]
        if option in ("--project", "--tag"):
            args.insert(1, "--everyone")
        result = invoke(sql_db, *args)
        assert result.exit_code == 0, (name, result.output)
        rows = json.loads(result.stdout) if result.stdout.strip() else []
        field = {"--person": "person", "--team": "team", "--project": "project"}.get(option)
        assert len(rows) == 2, (option, name, len(rows))
        for row in rows:
            assert (name in row["tags"]) if field is None else row[field] == name
    assert file_state(sql_db) == before


COMMANDS = [
    ["export", "{option}", "{name}"],
    ["score", "{option}", "{name}", "--since", "all", "--json"],
    ["report", "{option}", "{name}", "--since", "all", "-o", "{out}"],
    ["rank", "--team", "{name}", "--since", "all"],
    ["forecast", "{option}", "{name}", "--runs", "100"],
    ["suggest", "2h", "--person", "{name}"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_sql_metacharacters_through_every_command_leave_the_database_whole(
    sql_db, invoke, tmp_path, command
):
    count, tables = task_count(sql_db), schema(sql_db)
    if invoke(sql_db, command[0], "--help").exit_code != 0:
        pytest.skip(f"no {command[0]} command yet")
    for name in SQL_THROUGH_COMMANDS:
        for option in ("--person", "--team"):
            args = [
                part.format(option=option, name=name, out=tmp_path / "r.html") for part in command
            ]
            result = invoke(sql_db, *args)
            if result.exit_code != 0:
                assert_clean_failure(result)
    assert task_count(sql_db) == count
    assert schema(sql_db) == tables
    assert integrity(sql_db) == "ok"
