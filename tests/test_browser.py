"""The HTML report as a user sees it: opened in headless Chromium, offline.

Chromium is driven over the Chrome DevTools Protocol through a pipe
(``--remote-debugging-pipe``: JSON messages separated by NUL bytes on file
descriptors 3 and 4), so no driver and no websocket package is needed, only
Debian's ``chromium`` (``.ci/run`` installs it). The tests skip cleanly
without it. The network is blocked three ways: a proxy that goes nowhere, a
host resolver that resolves nothing, and CDP's offline emulation; every
request the page makes is recorded and must be a ``file:`` or ``data:`` URL.

Each test opens a report and checks: no console message at all (errors,
warnings, logs, exceptions), every chart drawn (plotly's SVG present with
data), the headline numbers equal ``calibrate score --json`` for the same
scope, and a task titled with a script leaves ``window.pwned`` undefined.
Screenshots (1366x768, the laptop view and the full page) and a printed PDF
go to ``$CALIBRATE_SCREENSHOTS`` when set (else the test's tmp folder), to look
at: ``CALIBRATE_SCREENSHOTS=reports pytest tests/test_browser.py``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from calibrate import demo, report, store
from calibrate.cli import cli
from calibrate.durations import parse_since
from calibrate.selection import Selection

CHROMIUM = Path(os.environ.get("CALIBRATE_CHROMIUM", "/usr/bin/chromium"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]

XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
XSS_NAME = '<b>Eve</b><img src=x onerror="window.pwned=3">'
LAPTOP = (1366, 768)


# --- a small Chrome DevTools Protocol client over a pipe --------------------------------


class BrowserError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium with the network blocked, driven over CDP on a pipe."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--remote-debugging-pipe",
    )

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="calibrate-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes() -> None:  # in the child: CDP reads fd 3 and writes fd 4
            read_end, write_end = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [str(CHROMIUM), *self.FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            close_fds=False,
            preexec_fn=wire_pipes,  # the test process is single-threaded
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its answer (events meanwhile are kept)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str | None = None) -> dict:
        """Wait until an event ``method`` arrives (or has arrived)."""
        for index, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(index)
        while True:
            event = self._receive()
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    def _receive(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"Chromium said nothing for {self.timeout:.0f} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                self.stderr.seek(0)
                raise BrowserError("Chromium exited:\n" + self.stderr.read().decode()[-2000:])
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- pages ---

    def open(self, path: Path, size: tuple[int, int] = LAPTOP) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, target, session)
        for domain in ("Runtime", "Log", "Page", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
        )
        page.send("Page.bringToFront")  # timers and media events run at full speed
        page.send("Page.navigate", {"url": path.resolve().as_uri()})
        self.wait_for("Page.loadEventFired", session)
        return page


class Page:
    def __init__(self, browser: Chromium, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def console_messages(self) -> list[str]:
        """Every console call, log entry and uncaught exception of this page."""
        kinds = {"Runtime.consoleAPICalled", "Log.entryAdded", "Runtime.exceptionThrown"}
        found = []
        for event in self.browser.events:
            if event.get("sessionId") == self.session and event.get("method") in kinds:
                found.append(json.dumps(event["params"])[:500])
        return found

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.browser.events
            if event.get("sessionId") == self.session
            and event.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict = {"format": "png"}
        if full_page:
            metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": metrics["width"],
                         "height": metrics["height"], "scale": 1},
            }  # fmt: skip
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    def pdf(self, path: Path) -> Path:
        data = self.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


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
    chromium = Chromium()
    try:
        chromium.send("Browser.getVersion")
        yield chromium
    finally:
        chromium.close()


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
    monkeypatch.setattr(report, "DENSITY_OVER", 100)
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
