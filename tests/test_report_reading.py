"""The report as a reader takes it in: axes that span the data, ranks grouped
by team (a lone person is the only one, never "1 of 1, top 50%"), promises
counted before they are estimated, and the marks beside a person's name that
``score --person`` would give (issue 14, "Report").

The browser's view of the same report is in ``test_browser.py``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from calibrate import demo, panel, report, rules, store
from calibrate.durations import parse_since
from calibrate.report import data as report_data
from calibrate.report.sections import people
from calibrate.selection import Selection
from tests.test_report import figures, section_html, shown_figures

TODAY = date(2026, 11, 30)


def window(**scope) -> Selection:
    return Selection(since=parse_since("26w", today=TODAY), **scope)


def build(path: Path, selection: Selection) -> str:
    conn = store.connect(path)
    try:
        return report.build_report(conn, selection, today=TODAY)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cast_db(tmp_path_factory) -> Path:
    """The default demo (12 people in 3 teams, its five roles), ending on TODAY."""
    path = tmp_path_factory.mktemp("cast") / "demo.db"
    conn = store.connect(path)
    demo.generate(conn, today=TODAY)
    conn.close()
    return path


def roles() -> dict[str, str]:
    return {p.role: p.name for p in demo.make_people(12, 3, 52, 0) if p.role}


# --- axes that span the data -------------------------------------------------------------


def test_a_newcomers_charts_span_their_weeks_not_the_window(cast_db):
    newcomer = roles()["newcomer"]
    html = build(cast_db, window(person=newcomer))
    charts = figures(html)
    trend_x = pd.to_datetime(charts["trend"]["data"][0]["x"])
    conn = store.connect(cast_db)
    first_done, first_logged = conn.execute(
        "SELECT min(done_at), min(created_at) FROM tasks WHERE person = ?", (newcomer,)
    ).fetchone()
    conn.close()
    assert len(trend_x) <= 7  # about five weeks of history, not the window's 27
    monday = pd.Timestamp(first_done[:10]).to_period("W-SUN").start_time
    assert trend_x[0] == monday  # from the week of the first finished task
    assert "the first week with finished tasks in this window" in section_html(html, "trend")
    promise_x = pd.to_datetime(charts["promises"]["data"][0]["x"])
    assert promise_x[0] == pd.Timestamp(first_logged[:10]).to_period("W-SUN").start_time
    assert len(promise_x) <= 8


# --- ranks --------------------------------------------------------------------------------


@pytest.fixture
def solo_db(tmp_path) -> Path:
    """Four people in two teams, one of whom then works alone in team Solo."""
    path = tmp_path / "solo.db"
    conn = store.connect(path)
    demo.generate(conn, people=4, teams=2, weeks=20, seed=5, today=TODAY)
    alone = conn.execute("SELECT min(person) FROM tasks").fetchone()[0]
    conn.execute("UPDATE tasks SET team = 'Solo' WHERE person = ?", (alone,))
    conn.commit()
    conn.close()
    return path


def rank_rows(html: str) -> list[list[str]]:
    """The rank table's rows as text, a heading as one cell."""
    body = section_html(html, "ranks").split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        rows.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells])
    return rows


def test_ranks_are_grouped_under_their_teams_and_a_lone_person_is_the_only_one(solo_db):
    rows = rank_rows(build(solo_db, window(everyone=True)))
    headings = [row[0] for row in rows if len(row) == 1]
    assert len(headings) == 3 and headings == sorted(headings)  # every team, by name
    assert "Team Solo 1 ranked" in headings
    solo = rows[rows.index(["Team Solo 1 ranked"]) + 1]
    rank, person, *_, in_team, _place = solo
    assert rank == "-"
    assert person.endswith("the only ranked person in team Solo")
    assert in_team == "-"
    everything = " ".join(" ".join(row) for row in rows)
    assert "1 of 1" not in everything
    for heading in headings:  # every team: "1 of N", or the only one in words
        members = rows[rows.index([heading]) + 1 :]
        members = members[: next((i for i, r in enumerate(members) if len(r) == 1), None)]
        team = heading.removeprefix("Team ").rsplit(" ", 2)[0]
        if heading.endswith(" 1 ranked"):
            assert members[0][0] == "-"
            assert members[0][1].endswith(f"the only ranked person in team {team}")
        else:
            ranked = [row for row in members if row[0] != "-"]
            assert ranked[0][0] == f"1 of {len(ranked)}"


# --- promises: counted, then estimated ------------------------------------------------------


def test_the_headline_counts_the_promises_kept_and_labels_the_estimate(cast_db):
    slipper = roles()["slipper"]
    html = build(cast_db, window(person=slipper))
    conn = store.connect(cast_db)
    promises = panel.build_panel(conn, window(person=slipper), today=TODAY)["promises"]
    conn.close()
    kept, due = promises["kept"], promises["due"]
    assert kept < due
    shown = shown_figures(html)
    assert int(shown["kept"]) == kept
    assert float(shown["keep_rate"]) == promises["keep_rate"]
    card = html[html.index("<h3>Promises kept</h3>") : html.index('<div class="facts">')]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", card))
    assert f"{kept} of {due}" in text
    assert f"{due} promises due, {kept} kept ({kept / due:.0%})." in text
    assert f"Estimated long-run keep rate: {promises['keep_rate']:.0%}" in text
    assert "leaning on the rest of team" in text
    summary = section_html(html, "promises")
    assert f"{kept} of {due} promises due were kept; the estimated long-run keep rate is" in summary


def test_the_people_table_counts_the_promises_kept(cast_db):
    table = section_html(build(cast_db, window(everyone=True)), "people")
    assert re.search(
        r'<span class="cell-text">\d+ of \d+</span>\s*<span class="cell-detail">'
        r"\d+% est\. long-run</span>",
        table,
    )
    assert "due</span>" not in table.split("<caption>People</caption>")[1]


# --- the people table marks what score flags ---------------------------------------------------


def test_the_marks_beside_a_name_are_what_score_says_of_that_person(cast_db):
    conn = store.connect(cast_db)
    try:
        data = report_data.load(conn, window(everyone=True), today=TODAY)
        names = sorted(data.tasks["person"].unique())
        _, flagged = people.group_keep_rates(data, "person", names)
        marks = people.person_marks(data, names, flagged)
        for name in names:
            figures_of = panel.build_panel(conn, window(person=name), today=TODAY)
            expected = []
            if figures_of["trend"]["verdict"] in ("improving", "worsening"):
                expected.append(figures_of["trend"]["verdict"])
            if figures_of["flags"]["early"]["flag"]:
                expected.append("padding flag")
            if figures_of["flags"]["exact_hits"]["flag"]:
                expected.append("exact-hit flag")
            if figures_of["promises"]["gauges"]["keep_rate"]["status"] == "flag":
                expected.append("keep-rate flag")
            assert marks[name] == expected, name
    finally:
        conn.close()
    cast = roles()
    assert "padding flag" in marks[cast["padder"]]
    assert "keep-rate flag" in marks[cast["slipper"]]
    assert "improving" in marks[cast["improver"]]
    table = section_html(build(cast_db, window(everyone=True)), "people")
    assert re.search(
        rf'{cast["padder"]}</span>\s*<span class="tag alert">padding flag</span>', table
    )


def test_the_footer_says_the_prior_the_scores_use(cast_db):
    html = build(cast_db, window(everyone=True))
    assert f"with a prior worth {rules.SCORE_N0:g} tasks" in html
    assert "prior worth 20" not in html


def test_a_persons_headline_says_their_flags_as_score_does(cast_db):
    from calibrate.panel_words import flag_sentences

    cast = roles()
    padder = build(cast_db, window(person=cast["padder"]))
    conn = store.connect(cast_db)
    figures_of = panel.build_panel(conn, window(person=cast["padder"]), today=TODAY)
    conn.close()
    (sentence,) = flag_sentences(figures_of)
    assert "padding scores as badly as optimism" in sentence
    assert f'<p class="flag"><b>Flag:</b> {sentence}</p>' in padder.replace("&#39;", "'")
    slipper = build(cast_db, window(person=cast["slipper"]))
    card = slipper[slipper.index("<h3>Promises kept</h3>") : slipper.index('<div class="facts">')]
    assert "Flagged: under 80%." in card
    assert '<p class="flag">' not in slipper  # no padding or exact-hit flag there
