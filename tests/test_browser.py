"""The HTML report as a user sees it: opened in headless Chromium, offline.

Chromium is driven over the Chrome DevTools Protocol through a pipe by
``tests/support/browser.py`` (no driver and no websocket package, only
Debian's ``chromium``, which ``.ci/run`` installs); the tests skip cleanly
without it. The network is blocked, and every request the page makes is
recorded and must be a ``file:`` or ``data:`` URL.

Each test opens a report and checks: no console message at all (errors,
warnings, logs, exceptions), every chart drawn (plotly's SVG present with
data), the headline numbers equal ``calibrate score --json`` for the same
scope, and a task titled with a script leaves ``window.pwned`` undefined.
Screenshots (1366x768, the laptop view and the full page) and a printed PDF
go to ``$CALIBRATE_SCREENSHOTS`` when set (else the test's tmp folder), to look
at: ``CALIBRATE_SCREENSHOTS=reports pytest tests/test_browser.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate import demo, report, store
from calibrate.cli import cli
from calibrate.durations import parse_since
from calibrate.report.sections import scatter
from calibrate.selection import Selection
from tests.support.browser import Page, needs_chromium, started

pytestmark = [pytest.mark.browser, needs_chromium]

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
XSS_NAME = '<b>Eve</b><img src=x onerror="window.pwned=3">'


# --- what every report must pass ---------------------------------------------------------

CHART_CHECK = """
Array.from(document.querySelectorAll('[data-chart]')).map(function (div) {
  return {
    key: div.getAttribute('data-chart'),
    svg: div.querySelectorAll('svg.main-svg').length,
    traces: (div.data || []).length,
    drawn: div.querySelectorAll('g.trace, g.hm, .heatmaplayer image').length,
    points: div.querySelectorAll('path.point, .bars path, g.hm image, path.js-line').length,
    width: div.getBoundingClientRect().width
  };
})
"""

HEADLINE_CHECK = """
(function () {
  var out = {};
  document.querySelectorAll('[data-figure]').forEach(function (node) {
    out[node.getAttribute('data-figure')] = {
      value: node.hasAttribute('data-value') ? node.getAttribute('data-value') : null,
      text: node.textContent.trim()
    };
  });
  return out;
})()
"""


PRINT_WIDTHS = """
new Promise(function (resolve) {
  var tries = 0;
  (function look() {
    var widths = Array.from(document.querySelectorAll('[data-chart]')).map(function (d) {
      return d.querySelector('svg.main-svg').getAttribute('width');
    });
    if (widths.every(function (w) { return w === '680'; }) || ++tries > 100) {
      resolve(widths);
    } else {
      setTimeout(look, 20);
    }
  })();
})
"""


#: The chart sections of calibrate.report itself; other modules add more
#: (open work, ranks), and every chart on the page is checked all the same.
OWN_CHARTS = ["trend", "scatter", "ratios", "sizes", "ranges", "promises"]


def assert_clean_page(page: Page, *, charts: list[str] = OWN_CHARTS) -> list[dict]:
    """No script ran, nothing was logged, nothing left the machine, and every
    chart on the page is drawn with data; ``charts`` (ours) are among them."""
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.console_messages() == []
    outside = [u for u in page.requested_urls() if not u.startswith(("file:", "data:"))]
    assert outside == []
    drawn = page.evaluate(CHART_CHECK)
    assert page.evaluate("document.documentElement.getAttribute('data-charts-drawn')") == str(
        len(drawn)
    )
    keys = [chart["key"] for chart in drawn]
    assert [key for key in keys if key in OWN_CHARTS] == charts
    for chart in drawn:
        assert chart["svg"] >= 1, chart
        assert chart["traces"] >= 1, chart
        assert chart["drawn"] >= 1, chart
        assert chart["points"] >= 1, chart
        assert chart["width"] > 600, chart
    return drawn


def assert_headline_matches(page: Page, panel: dict) -> None:
    """Every headline figure shows the panel's number (rounded as shown) and
    carries it exactly in ``data-value``."""
    shown = page.evaluate(HEADLINE_CHECK)
    for key in ("score", "score_low", "score_high", "bias_factor", "typical_miss", "within_25"):
        assert float(shown[key]["value"]) == panel[key], key
    assert int(shown["n"]["value"]) == panel["n"]
    assert shown["score"]["text"] == f"{panel['score']:.0f}"
    assert f"{panel['score_low']:.0f}-{panel['score_high']:.0f}" in shown["score_interval"]["text"]
    assert shown["bias_factor"]["text"] == f"{panel['bias_factor']:.2f}x"
    assert shown["typical_miss"]["text"] == f"{panel['typical_miss']:.2f}x"
    assert shown["n"]["text"] == f"{panel['n']:,}"
    keep = panel["promises"]["keep_rate"]
    assert float(shown["keep_rate"]["value"]) == keep
    assert shown["keep_rate"]["text"] == f"{keep * 100:.0f}%"


def keep_pictures(page: Page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(folder / f"{name}-laptop.png")
    page.screenshot(folder / f"{name}-full.png", full_page=True)
    page.pdf(folder / f"{name}.pdf")


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with started() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def team_db(tmp_path_factory) -> tuple[Path, str, str]:
    """A demo history of two teams, plus tasks whose title, tags, notes, person
    and team try to run a script: (path, a person, their team)."""
    path = tmp_path_factory.mktemp("browser") / "team.db"
    conn = store.connect(path)
    demo.generate(conn, people=8, teams=2, weeks=30, seed=11)
    person, team = conn.execute(
        "SELECT person, team FROM tasks ORDER BY person, id LIMIT 1"
    ).fetchone()
    conn.close()
    runner = CliRunner()
    db = ["--db", str(path)]
    hostile = ["-t", XSS, "--notes", XSS, "--team", team]
    for args in (
        [XSS, "-e", "1h", "--actual", "30h", "--person", person, *hostile],
        [XSS, "-e", "2h", "--actual", "2h", "--person", XSS_NAME, *hostile],
        ["Plain task", "-e", "3h", "--actual", "5h", "--person", XSS_NAME, *hostile],
    ):
        result = runner.invoke(cli, [*db, "add", *args])
        assert result.exit_code == 0, result.output
    return path, person, team


def score_json(path: Path, *scope: str) -> dict:
    result = CliRunner().invoke(cli, ["--db", str(path), "score", *scope, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def report_file(path: Path, out: Path, *scope: str) -> Path:
    result = CliRunner().invoke(cli, ["--db", str(path), "report", *scope, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(out)
    return out


def pictures_folder(tmp_path: Path) -> Path:
    return Path(os.environ.get("CALIBRATE_SCREENSHOTS") or tmp_path)


# --- the tests ------------------------------------------------------------------------


def test_a_persons_report_in_the_browser(browser, team_db, tmp_path):
    path, person, _ = team_db
    out = report_file(path, tmp_path / "person.html", "--person", person)
    page = browser.open(out)
    assert_clean_page(page)
    assert_headline_matches(page, score_json(path, "--person", person))
    text = page.evaluate("document.body.innerText")
    assert XSS in text  # shown as typed, in the worst estimates (title, tag and note)
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    keep_pictures(page, pictures_folder(tmp_path), "report-person")
    page.close()


def test_a_teams_report_in_the_browser(browser, team_db, tmp_path):
    path, _, team = team_db
    out = report_file(path, tmp_path / "team.html", "--team", team)
    page = browser.open(out)
    assert_clean_page(page)
    assert_headline_matches(page, score_json(path, "--team", team))
    text = page.evaluate("document.body.innerText")
    assert XSS_NAME in text  # the person table
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    bold_eve = "Array.from(document.querySelectorAll('b')).some(function (n) {"
    assert not page.evaluate(bold_eve + " return n.textContent === 'Eve'; })")
    legend = page.evaluate(
        "Array.from(document.querySelectorAll('#chart-scatter .legendtext'))"
        ".map(function (n) { return n.textContent; })"
    )
    assert XSS_NAME[:29] + "…" in legend  # the scatter's legend: as typed (cut)
    keep_pictures(page, pictures_folder(tmp_path), "report-team")
    page.close()


def test_the_density_view_and_print_width(browser, team_db, tmp_path, monkeypatch):
    """Above the density threshold the scatter is a 2-D histogram; printing
    redraws the charts to fit the page."""
    path, _, _ = team_db
    monkeypatch.setattr(scatter, "DENSITY_OVER", 100)
    conn = store.connect(path)
    selection = Selection(everyone=True, since=parse_since("26w"))
    out = report.write_report(conn, selection, tmp_path / "everyone.html", note="Synthetic.")
    conn.close()
    page = browser.open(out)
    assert_clean_page(page)
    assert page.evaluate("document.querySelectorAll('#chart-scatter g.hm').length") == 1
    assert_headline_matches(page, score_json(path, "--everyone"))
    page.send("Emulation.setEmulatedMedia", {"media": "print"})
    # Media changes reach the page with the next frame, which a screenshot makes.
    page.screenshot(tmp_path / "print-media.png")
    widths = page.evaluate(PRINT_WIDTHS)
    assert set(widths) == {"680"}
    page.send("Emulation.setEmulatedMedia", {"media": ""})
    keep_pictures(page, pictures_folder(tmp_path), "report-everyone")
    assert page.console_messages() == []
    page.close()


def test_empty_sections_say_so_in_the_browser(browser, tmp_path):
    path = tmp_path / "few.db"
    runner = CliRunner()
    for index in range(3):
        result = runner.invoke(
            cli, ["--db", str(path), "add", f"Task {index}", "-e", "2h", "--actual", "3h"]
        )
        assert result.exit_code == 0, result.output
    out = report_file(path, tmp_path / "few.html")
    page = browser.open(out)
    empties = page.evaluate(
        "Array.from(document.querySelectorAll('[data-empty]'))"
        ".map(function (n) { return n.getAttribute('data-empty'); })"
    )
    assert "ranges" in empties and not set(empties) & {*OWN_CHARTS, "extremes"} - {"ranges"}
    assert_clean_page(page, charts=[key for key in OWN_CHARTS if key != "ranges"])
    page.close()
