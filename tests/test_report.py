"""The HTML report without a browser: content, escaping, size, files, the command.

The browser's view (console, drawn charts, headline against ``score --json``,
scripts that must not run) is tested in ``test_browser.py``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from calibrate import demo, panel, report, store
from calibrate.cli import cli
from calibrate.durations import parse_since
from calibrate.errors import InputError, NotFound
from calibrate.report import data as report_data
from calibrate.report import model, render
from calibrate.report.sections import extremes
from calibrate.report.sections import scatter as scatter_module
from calibrate.selection import Selection
from calibrate.store import load as history
from tests.support.data import SHARED_DATA, requires_shared_data

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
TODAY = date(2026, 11, 30)
#: This module's chart sections, in order. Other modules add sections of their
#: own (open work, ranks), tested in their own files: :func:`mine` keeps ours.
ALL_SECTIONS = ["trend", "scatter", "ratios", "sizes", "ranges", "promises"]
OWN_KEYS = {*ALL_SECTIONS, "people", "extremes"}


def mine(keys) -> list[str]:
    return [key for key in keys if key in OWN_KEYS]


def empty_sections(html: str) -> list[str]:
    return re.findall(r'data-empty="(\w+)"', html)


def section_html(html: str, key: str) -> str:
    start = html.index(f'id="{key}"')
    end = html.find("<section", start)
    return html[start : end if end > 0 else len(html)]


@pytest.fixture(scope="module")
def team_db(tmp_path_factory) -> Path:
    """A demo history: 6 people in 2 teams over 20 weeks ending on TODAY."""
    path = tmp_path_factory.mktemp("report") / "team.db"
    conn = store.connect(path)
    demo.generate(conn, people=6, teams=2, weeks=20, seed=5, today=TODAY)
    conn.close()
    return path


def everyone(since: str = "26w") -> Selection:
    return Selection(everyone=True, since=parse_since(since, today=TODAY))


def a_person(path: Path) -> tuple[str, str]:
    conn = sqlite3.connect(path)
    person, team = conn.execute("SELECT person, team FROM tasks ORDER BY id LIMIT 1").fetchone()
    conn.close()
    return person, team


def build(path: Path, selection: Selection, **options) -> str:
    conn = store.connect(path)
    try:
        return report.build_report(conn, selection, today=TODAY, **options)
    finally:
        conn.close()


def figures(html: str) -> dict[str, dict]:
    """The figures' JSON by section key, as the page reads them."""
    found = re.findall(
        r'<script type="application/json" id="figure-(\w+)" data-figure-for="\w+">(.*?)</script>',
        html,
        re.S,
    )
    return {key: json.loads(text) for key, text in found}


def shown_figures(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="(\w+)" data-value="([^"]*)"', html))


def without_plotly(html: str) -> str:
    return re.sub(r"<script>/\*\*\s*\* plotly\.js.*?</script>", "", html, count=1, flags=re.S)


# --- content ------------------------------------------------------------------


def test_an_everyone_report_has_every_section_and_the_panels_numbers(team_db):
    html = build(team_db, everyone())
    charts = figures(html)
    assert mine(charts) == ALL_SECTIONS
    for figure in charts.values():
        assert figure["data"], "every chart has data"
        layout = figure["layout"]
        for axis in ("xaxis", "yaxis"):  # labelled axes on every chart
            assert any(
                v.get("title", {}).get("text") for k, v in layout.items() if k.startswith(axis)
            )
    conn = store.connect(team_db)
    built = panel.build_panel(conn, everyone(), today=TODAY)
    conn.close()
    shown = shown_figures(html)
    for key in ("score", "score_low", "score_high", "bias_factor", "typical_miss", "within_25"):
        assert float(shown[key]) == built[key], key
    assert int(shown["n"]) == built["n"]
    assert int(shown["people"]) == 6
    assert float(shown["keep_rate"]) == built["promises"]["keep_rate"]
    assert "Teams and people" in html and "<caption>Teams</caption>" in html
    assert "the previous 27 weeks (2025-11-24 to 2026-05-31)" in html
    assert mine(empty_sections(html)) == []


def test_plotly_is_inlined_once_or_taken_from_the_cdn(team_db):
    inline = build(team_db, everyone())
    assert inline.count("plotly.js v") == 1 or inline.count("* plotly.js") == 1
    assert (
        "src="
        not in re.sub(r"<script>/\*\*.*?</script>", "", inline, flags=re.S).split("<body>")[0]
    )
    assert len(inline) < 6_000_000
    cdn = build(team_db, everyone(), plotlyjs="cdn")
    cdn_tag = (
        r'<script src="https://cdn\.plot\.ly/plotly-[\d.]+\.min\.js" '
        r'integrity="sha256-[A-Za-z0-9+/=]+" crossorigin="anonymous">'
    )
    assert re.search(cdn_tag, cdn)
    assert len(cdn) < 300_000
    with pytest.raises(InputError, match=r"unknown plotly\.js mode 'web'"):
        build(team_db, everyone(), plotlyjs="web")


def test_a_person_gets_worst_and_best_estimates_with_escaped_titles(tmp_path):
    path = tmp_path / "me.db"
    run = CliRunner().invoke
    tasks = [("Quick fix", "1h", "1h"), ("Big surprise", "1h", "16h"), ("Tiny", "4h", "30m")]
    tasks += [(f"Task {i}", "2h", f"{2 + i % 3}h") for i in range(12)]
    tasks.append((XSS, "2h", "20h"))
    for title, estimate, actual in tasks:
        result = run(
            cli,
            [
                "--db",
                str(path),
                "add",
                title,
                "-e",
                estimate,
                "--actual",
                actual,
                "-t",
                XSS,
                "--notes",
                f"note {XSS}",
            ],
        )
        assert result.exit_code == 0, result.output
    html = build(path, Selection(person="alice", since=parse_since("26w", today=TODAY)))
    assert XSS not in html
    escaped = (
        "&lt;script&gt;window.pwned=1&lt;/script&gt;"
        "&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;"
    )
    assert html.count(escaped) >= 3  # title, tag and note of the worst estimate
    worst = html.index("Furthest from the estimate")
    best = html.index("Closest to the estimate")
    assert worst < html.index("16.0x over") < html.index("10.0x over") < best
    assert worst < html.index("8.0x under") < best
    assert best < html.index("Quick fix")
    assert 'id="people"' not in html and 'id="extremes"' in html


def test_team_table_lists_people_best_first(team_db):
    person, team = a_person(team_db)
    html = build(team_db, Selection(team=team, since=parse_since("26w", today=TODAY)))
    table = section_html(html, "people")
    names = re.findall(r'<td class="text">\s*<span class="cell-text">([^<]+)</span>', table)
    assert person in names
    scores = [float(s) for s in re.findall(r'<span class="cell-text">(\d+) \(\d+-\d+\)', table)]
    assert scores == sorted(scores, reverse=True) and len(scores) == len(names)
    assert "<h2>People</h2>" in html


def test_sections_without_data_say_so_in_one_line(tmp_path):
    path = tmp_path / "few.db"
    for index in range(3):
        result = CliRunner().invoke(
            cli, ["--db", str(path), "add", f"Task {index}", "-e", "2h", "--actual", "3h"]
        )
        assert result.exit_code == 0
    html = build(path, Selection(person="alice", since=parse_since("26w")))
    assert mine(empty_sections(html)) == ["ranges"]
    assert "No finished task in this window had a range" in html
    assert "not enough data: 3 finished tasks, a score needs 10" in html
    assert "Too few weeks with finished tasks for a trend" in html
    assert "ranges" not in figures(html)


def test_a_window_without_tasks_draws_no_chart(team_db):
    html = build(team_db, Selection(everyone=True, since=parse_since("2030-01-05", today=TODAY)))
    assert mine(figures(html)) == []
    assert mine(empty_sections(html)) == [*ALL_SECTIONS, "people"]


def test_all_history_has_no_previous_period(team_db):
    html = build(team_db, everyone("all"))
    assert "No earlier period to compare: the window is all history." in html
    assert "all history: " in html


def test_the_previous_window_has_the_same_length_just_before():
    selection = everyone("26w")
    previous = report_data.previous_window(selection, TODAY)
    assert previous.until == selection.since
    assert history.window_start(previous).isoformat() == "2025-11-24"
    assert history.window_start(selection).isoformat() == "2026-06-01"
    assert report_data.previous_window(everyone("all"), TODAY) is None


# --- bounded size ---------------------------------------------------------------


def test_many_tasks_become_a_density_view(team_db, monkeypatch):
    monkeypatch.setattr(scatter_module, "DENSITY_OVER", 200)
    html = build(team_db, everyone())
    scatter = figures(html)["scatter"]
    kinds = [trace["type"] for trace in scatter["data"]]
    assert kinds.count("heatmap") == 1 and "scattergl" not in kinds
    assert all(
        trace.get("mode") == "lines" for trace in scatter["data"] if trace["type"] == "scatter"
    )
    assert "so this is a density view" in html


def test_the_scatter_is_sampled_evenly_across_people(team_db, monkeypatch):
    monkeypatch.setattr(scatter_module, "SCATTER_POINTS_MAX", 120)
    monkeypatch.setattr(scatter_module, "SCATTER_PEOPLE_MAX", 3)
    html = build(team_db, everyone())
    traces = [t for t in figures(html)["scatter"]["data"] if t.get("mode") == "markers"]
    assert len(traces) == 4 and traces[-1]["name"] == "others (3 people)"
    points = sum(_length(t["x"]) for t in traces)
    assert 110 <= points <= 125
    assert re.search(r"Showing 1\d\d of [\d,]+ tasks, sampled evenly across people", html)


def _length(values) -> int:
    """Length of a plotly array, plain or typed (base64 ``bdata``)."""
    if isinstance(values, dict):
        import base64

        sizes = {"f8": 8, "f4": 4, "i4": 4, "i8": 8}
        return len(base64.b64decode(values["bdata"])) // sizes[values["dtype"]]
    return len(values)


def test_the_charts_do_not_grow_with_the_number_of_tasks(tmp_path, monkeypatch):
    """Above the density threshold every chart holds aggregates: ten times the
    tasks gives (nearly) the same bytes."""
    monkeypatch.setattr(scatter_module, "DENSITY_OVER", 100)
    sizes = []
    for people in (2, 20):
        path = tmp_path / f"p{people}.db"
        conn = store.connect(path)
        demo.generate(conn, people=people, teams=1, weeks=20, seed=1, today=TODAY)
        conn.close()
        html = build(path, Selection(team=a_person(path)[1], since=parse_since("26w", today=TODAY)))
        sizes.append(sum(len(json.dumps(f)) for f in figures(html).values()))
    assert sizes[1] < sizes[0] * 1.5
    assert sizes[1] < 120_000


# --- escaping --------------------------------------------------------------------


def test_figure_json_cannot_close_its_script():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1], y=[1], name="</script><script>alert(1)</script>&"))
    text = str(render.figure_json(fig))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["data"][0]["name"] == "</script><script>alert(1)</script>&"


def test_chart_labels_show_user_text_as_typed():
    assert model.plot_text("<b>Eve</b>") == "&lt;b&gt;Eve&lt;/b&gt;"
    assert model.plot_text("x" * 50, 10) == "x" * 9 + "…"


def test_names_are_escaped_everywhere_in_a_team_report(tmp_path):
    path = tmp_path / "x.db"
    for index in range(12):
        result = CliRunner().invoke(
            cli,
            [
                "--db",
                str(path),
                "add",
                f"T{index}",
                "-e",
                "2h",
                "--actual",
                f"{1 + index % 4}h",
                "--person",
                XSS,
                "--team",
                XSS,
            ],
        )
        assert result.exit_code == 0, result.output
    html = build(path, Selection(team=XSS, since=parse_since("26w")))
    assert XSS not in html
    assert "<img" not in html
    assert 'onerror="' not in html


# --- words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "words"),
    [
        (1.0, "exact"),
        (1.005, "exact"),
        (3.0, "3.0x over"),
        (1 / 32, "32.0x under"),
        (0.8, "1.2x under"),
        (1.04, "1.04x over"),
    ],
)
def test_ratio_words(ratio, words):
    assert extremes.ratio_words(ratio) == words


def test_default_path_names_scope_and_iso_week():
    week = date(2026, 11, 30)
    assert report.default_path(Selection(person="Jane Doe"), week) == Path(
        "reports/calibrate-jane-doe-2026-W49.html"
    )
    assert report.default_path(Selection(team="Core API"), week) == Path(
        "reports/calibrate-team-core-api-2026-W49.html"
    )
    assert report.default_path(Selection(everyone=True), date(2027, 1, 1)) == Path(
        "reports/calibrate-everyone-2026-W53.html"
    )
    assert render.slug("../../etc/passwd") == "etc-passwd"
    assert render.slug("<>") == "unnamed"


# --- files ------------------------------------------------------------------------------


def test_the_report_is_written_atomically(tmp_path, team_db, monkeypatch):
    target = tmp_path / "out" / "r.html"
    conn = store.connect(team_db)
    report.write_report(conn, everyone(), target, today=TODAY)
    assert target.read_text().startswith("<!DOCTYPE html>")
    target.write_text("the old report")

    def broken(data):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        report.write_report(conn, everyone(), target, today=TODAY, sections=[broken])
    assert target.read_text() == "the old report"
    monkeypatch.setattr(  # os.replace itself: whichever module writes the file
        "os.replace",
        lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")),
    )
    with pytest.raises(InputError, match=r"cannot write the report to .*: No space left on device"):
        report.write_report(conn, everyone(), target, today=TODAY)
    conn.close()
    assert target.read_text() == "the old report"
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.html"]


def test_a_scope_without_tasks_is_an_error(team_db):
    conn = store.connect(team_db)
    with pytest.raises(
        NotFound, match=r"no tasks for 'nobody' in this database \(see 'calibrate people'"
    ):
        report.build_report(conn, Selection(person="nobody"))
    conn.close()
    with pytest.raises(NotFound, match="no tasks for anyone in this database"):
        report.build_report(None, Selection(everyone=True))


# --- structure ---------------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    """The calibrate modules a source file imports (``from a import b`` as
    ``a.b`` when ``a`` is a package), read with ast."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("calibrate.")}


def test_sections_import_only_the_model_the_data_and_the_library():
    """One module per section, behind the small model: no section reaches
    another section, the package's own API or its rendering."""
    folder = Path(report.__file__).parent / "sections"
    allowed = {"calibrate.report.model", "calibrate.report.data"}
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        inside = {m for m in imported_modules(path) if m.startswith("calibrate.report")}
        strays = {m for m in inside if not any(m == a or m.startswith(a + ".") for a in allowed)}
        assert strays == set(), path.name


# --- the command ------------------------------------------------------------------------


def test_report_command_writes_the_default_path_and_prints_it(team_db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    person, _ = a_person(team_db)
    result = CliRunner().invoke(cli, ["--db", str(team_db), "report", "--person", person])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path.parent == Path("reports") and path.name.startswith("calibrate-")
    assert path.name.endswith(".html") and (tmp_path / path).exists()
    assert result.stderr == ""  # no progress bar in a pipe


def test_report_command_opens_the_browser(team_db, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        cli, ["--db", str(team_db), "report", "--everyone", "-o", str(out), "--open"]
    )
    assert result.exit_code == 0, result.output
    assert opened == [out.resolve().as_uri()]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--person", "nobody"],
            1,
            "no tasks for 'nobody' in this database (see "
            "'calibrate people'; --everyone covers all)",
        ),
        (
            ["--since", "soon"],
            2,
            "Invalid value for '--since': not a window start: 'soon' (use "
            "26w, 14d, a date such as 2026-01-01, or all) (see 'calibrate report --help')",
        ),
        (
            ["--plotlyjs", "web"],
            2,
            "Invalid value for '--plotlyjs': 'web' is not one of "
            "'inline', 'cdn'. (see 'calibrate report --help')",
        ),
        (
            ["--team", "A", "--everyone"],
            2,
            "give one scope: --person, --team or --everyone (see 'calibrate report --help')",
        ),
    ],
)
def test_report_command_errors(team_db, tmp_path, args, code, message):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        cli, ["--db", str(team_db), "report", *args, "-o", str(out)], prog_name="calibrate"
    )
    assert (result.exit_code, result.stderr) == (code, f"Error: {message}\n")
    assert not out.exists()


def test_report_into_a_folder_is_an_error(team_db, tmp_path):
    result = CliRunner().invoke(
        cli, ["--db", str(team_db), "report", "--everyone", "-o", str(tmp_path)]
    )
    assert result.exit_code == 1  # a file problem, not a usage one
    assert result.stderr == f"Error: {tmp_path} is a folder: give a file name for the report\n"


def test_report_has_help():
    result = CliRunner().invoke(cli, ["report", "--help"])
    assert result.exit_code == 0
    assert "--open" in result.output and "--plotlyjs" in result.output


def test_demo_ends_with_its_report(tmp_path):
    target = tmp_path / "d" / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(target), "--people", "3", "--weeks", "6"])
    assert result.exit_code == 0, result.output
    *_, report_line, next_line = result.output.strip().splitlines()
    assert report_line == f"Report:   {target.with_suffix('.html')} (open it in a web browser)"
    assert next_line.startswith("Next:     ")  # a command to try (tests/test_demo.py)
    html = target.with_suffix(".html").read_text()
    assert "every task in this report is synthetic" in html
    assert html.count("every task in this report is synthetic") == 2  # banner and footer


# --- real data ------------------------------------------------------------------------

SIP = SHARED_DATA / "sip"


@pytest.mark.realdata
@requires_shared_data("sip/Sip-task-info.csv", "sip/est-act-dates.csv")
def test_the_sip_report(tmp_path):
    """SiP through the documented import: ten years of one company's tasks."""
    path = tmp_path / "sip.db"
    run = CliRunner().invoke
    result = run(
        cli,
        [
            "--db",
            str(path),
            "import",
            str(SIP / "Sip-task-info.csv"),
            *["--encoding", "cp1252", "--source", "sip", "--join"],
            str(SIP / "est-act-dates.csv"),
            *["--prefer", "DeveloperHoursActual", "--map", "key=TaskNumber"],
            *["--map", "estimate=HoursEstimate", "--map", "actual=HoursActual"],
            *["--map", "person=DeveloperID", "--map", "project=ProjectCode"],
            *["--map", "created=EstimateOn"],
        ],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "sip.html"
    result = run(cli, ["--db", str(path), "report", "--everyone", "--since", "all", "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    score = json.loads(
        run(cli, ["--db", str(path), "score", "--everyone", "--since", "all", "--json"]).output
    )
    shown = shown_figures(html)
    assert int(shown["n"]) == score["n"] == 10_266
    assert float(shown["score"]) == score["score"]
    assert round(score["score"]) == 62  # METRICS.md: pooled S 61.9
    assert mine(figures(html)) == ["trend", "scatter", "ratios", "sizes", "promises"]
    assert len(without_plotly(html)) < 1_500_000


def test_promises_with_people_are_the_rows_history_loads(team_db):
    """report.data.promise_frame repeats history.promise_tasks' window rule (adding
    person and team): the outcomes must be the same, scope by scope."""
    conn = store.connect(team_db)
    person, team = a_person(team_db)
    values = {"work-days": None, "holidays": ()}
    for selection in (
        everyone(),
        everyone("all"),
        Selection(team=team, since=parse_since("8w", today=TODAY)),
        Selection(person=person, since=parse_since("26w", today=TODAY)),
    ):
        reference, _ = history.reference_for(conn, selection)
        rows = report_data.load_tasks(conn, selection, None, reference)
        ours = report_data.promise_frame(rows, TODAY, values)
        ours = ours[ours["in_scope"]]
        theirs = panel.promise_outcomes(conn, selection, TODAY, values)
        if reference is not None:  # the reference's too, for its keep rate
            assert panel.keep_rate(ours.iloc[:0]) is None
            assert panel.keep_rate(
                report_data.promise_frame(rows, TODAY, values).query("in_reference")
            ) == panel.keep_rate(panel.promise_outcomes(conn, reference, TODAY, values))
        columns = ["has_promise", "resolved", "kept", "broken", "exceeded"]
        assert len(ours) == len(theirs) > 0
        assert sorted(map(tuple, ours[columns].to_numpy().tolist())) == sorted(
            map(tuple, theirs[columns].to_numpy().tolist())
        )
    conn.close()


def test_the_previous_periods_figures_are_the_score_panels(team_db):
    """The "change" line's figures equal ``calibrate score`` for that window."""
    conn = store.connect(team_db)
    person, team = a_person(team_db)
    for scope in (
        everyone("4w"),
        Selection(team=team, since=parse_since("8w", today=TODAY)),
        Selection(person=person, since=parse_since("6w", today=TODAY)),
    ):
        previous = report_data.previous_window(scope, TODAY)
        ours = report_data.previous_panel(conn, previous, TODAY)
        theirs = panel.build_panel(conn, previous, today=TODAY)
        assert ours["n"] == theirs["n"] > 0
        for key in ("score", "score_low", "score_high", "bias_factor", "typical_miss"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-12), key
        assert ours["window"] == theirs["window"]
    conn.close()


def test_the_one_load_gives_what_each_loader_gives(team_db):
    """Every section derives its data from one read (report.data.load_tasks); what
    it derives must equal what the single-purpose loaders read, row for row
    and in the same order (sums in another order could change a last digit)."""
    from calibrate import advice, teams

    conn = store.connect(team_db)
    person, team = a_person(team_db)
    for selection in (
        everyone(),
        everyone("all"),
        Selection(team=team, since=parse_since("8w", today=TODAY)),
        Selection(person=person, since=parse_since("26w", today=TODAY)),
    ):
        data = report_data.load(conn, selection, today=TODAY)
        assert data.panel == panel.build_panel(conn, selection, today=TODAY)
        theirs = history.counted_tasks(conn, selection, with_people=True)
        assert data.tasks["estimate_h"].tolist() == theirs["estimate_h"].tolist()
        assert data.tasks["person"].tolist() == theirs["person"].tolist()
        ranked = selection.replace(person=None, team=None, everyone=True)
        for ours, loaded in zip(
            data.rank_frames(), teams.load_tasks(conn, ranked, today=TODAY), strict=True
        ):
            pd.testing.assert_frame_equal(
                ours.reset_index(drop=True), loaded.reset_index(drop=True), check_categorical=False
            )
        history_here = data.forecast_history()
        if selection.since is None:
            loaded = advice.load_past(conn)
            for name in ("log_ratio", "estimate_h", "person", "team", "week"):
                assert getattr(history_here, name).tolist() == getattr(loaded, name).tolist()
            assert (history_here.people, history_here.teams) == (loaded.people, loaded.teams)
        else:
            assert history_here is None  # the forecast reads its own (all history)
        if data.previous_selection is not None:
            previous = panel.build_panel(conn, data.previous_selection, today=TODAY)
            assert data.previous["n"] == previous["n"]
            for key in ("score", "bias_factor", "typical_miss"):
                expected = previous[key]
                assert data.previous[key] == (
                    expected if expected is None else pytest.approx(expected, rel=1e-12)
                ), key
    conn.close()
