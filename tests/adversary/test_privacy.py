"""Class 2 of issue 15: the privacy of people who opted out.

Opt-out holds in every output that compares people: ``rank``, ``people``,
``score``'s team figures, the report (people table, scatter traces and hover
text, the promise table of open work, and ``report --person X`` typed by
someone else) and team summaries; exports of a person's own tasks stay exact.
Anyone can type ``--person``: this prevents accidental display, not
determined access (docs/GUARANTEES.md says so).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.adversary.support_b import fresh, run
from tests.reliability.faults import assert_clean_failure, seeded_database


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return seeded_database(tmp_path_factory.mktemp("privacy") / "team.db", people=6, weeks=40)


@pytest.fixture
def team(pristine, tmp_path, monkeypatch) -> tuple[Path, str, str]:
    """A copy of the team's database where its busiest person opted out; the
    person typing is someone else. (database, who opted out, their team)"""
    db = fresh(pristine, tmp_path)
    conn = sqlite3.connect(db)
    try:
        person, team_name = conn.execute(
            "SELECT person, team FROM tasks GROUP BY person ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    result = run(db, "people", "--opt-out", "--person", person)
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("CALIBRATE_PERSON", "Someone Else")
    return db, person, team_name


def test_rank_leaves_them_out_for_others_and_shows_them_to_themselves(team, monkeypatch):
    db, person, team_name = team
    for args in (["--team", team_name], ["--everyone"], ["--teams"]):
        shown = run(db, "rank", *args, "--since", "all", "--json")
        assert shown.exit_code == 0, shown.output
        assert person not in shown.stdout, args
    monkeypatch.setenv("CALIBRATE_PERSON", person)
    own = run(db, "rank", "--team", team_name, "--since", "all")
    assert person in run(db, "rank", "--team", team_name, "--since", "all", "--json").stdout
    assert "You opted out of ranks" in own.stdout, own.stdout


def test_people_shows_their_figures_to_themselves_alone(team, monkeypatch):
    db, person, _ = team
    rows = {row["person"]: row for row in json.loads(run(db, "people", "--json").stdout)}
    assert rows[person]["opt_out"] is True
    assert {rows[person][key] for key in ("tasks", "counted", "open", "last")} == {None}
    others = [row for name, row in rows.items() if name != person]
    assert all(row["tasks"] for row in others)
    table = run(db, "people").stdout
    assert any(line.startswith(person) and " - " in line for line in table.splitlines())
    monkeypatch.setenv("CALIBRATE_PERSON", person)
    mine = {row["person"]: row for row in json.loads(run(db, "people", "--json").stdout)}
    assert mine[person]["tasks"] > 0


def test_score_of_a_team_names_nobody(team):
    db, person, team_name = team
    shown = run(db, "score", "--team", team_name, "--since", "all", "--json")
    assert shown.exit_code == 0, shown.output
    assert person not in shown.stdout


@pytest.mark.parametrize("scope", ["team", "everyone", "anonymised"])
def test_the_report_of_a_team_or_everyone_leaves_them_out(team, tmp_path, scope):
    """The people table, the scatter's traces and hover text, the open
    promises: the name appears nowhere, and a note says how many are left out."""
    db, person, team_name = team
    out = tmp_path / "report.html"
    args = {
        "team": ["--team", team_name],
        "everyone": ["--everyone"],
        "anonymised": ["--everyone", "--anonymise"],
    }[scope]
    result = run(db, "report", *args, "--since", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert person not in html
    assert person.encode("unicode_escape").decode() not in html  # nor JSON-escaped in a trace
    assert "who opted out of ranks" in html


def test_the_report_counts_them_nowhere(team):
    """Left out means left out: the tasks a team's report reads are the
    others' alone."""
    from calibrate import store
    from calibrate.report.data import load
    from calibrate.selection import Selection

    db, person, team_name = team
    conn = store.connect(db)
    try:
        data = load(conn, Selection(team=team_name), viewer="Someone Else")
        assert person not in set(data.tasks["person"])
        assert len(data.tasks) > 0
        assert data.hidden == {person}
    finally:
        conn.close()


def test_someone_elses_report_of_them_is_refused(team, tmp_path, monkeypatch):
    db, person, _ = team
    out = tmp_path / "theirs.html"
    refused = run(db, "report", "--person", person, "-o", str(out))
    line = assert_clean_failure(refused, codes=(1,))
    assert "opted out" in line
    assert not out.exists()
    monkeypatch.setenv("CALIBRATE_PERSON", person)
    own = run(db, "report", "--person", person, "--since", "all", "-o", str(out))
    assert own.exit_code == 0, own.output
    assert person in out.read_text(encoding="utf-8")


def test_a_summary_leaves_them_out_and_says_how_many(team, tmp_path):
    db, person, _ = team
    out = tmp_path / "summary.json"
    result = run(db, "export", "--summary", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert person not in text
    assert json.loads(text)["left_out"] == 1


def test_their_own_export_stays_exact(team):
    db, person, _ = team
    exported = run(db, "export", "--person", person, "--format", "jsonl", "--since", "all")
    assert exported.exit_code == 0, exported.output
    tasks = [json.loads(line) for line in exported.stdout.splitlines()]
    tasks = [line for line in tasks if line.get("kind", "task") == "task"]
    conn = sqlite3.connect(db)
    try:
        titles = sorted(
            r[0] for r in conn.execute("SELECT title FROM tasks WHERE person = ?", (person,))
        )
    finally:
        conn.close()
    assert sorted(task["title"] for task in tasks) == titles
