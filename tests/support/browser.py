"""Headless Chromium driven over the Chrome DevTools Protocol, through a pipe.

``--remote-debugging-pipe``: JSON messages separated by NUL bytes on file
descriptors 3 and 4, so no driver and no websocket package is needed, only
Debian's ``chromium`` (``.ci/run`` installs it; ``$CALIBRATE_CHROMIUM`` points
elsewhere). The network is blocked three ways: a proxy that goes nowhere, a
host resolver that resolves nothing, and CDP's offline emulation (set on every
page :meth:`Chromium.open` opens); every request a page makes is recorded
(:meth:`Page.requested_urls`), as is every console message
(:meth:`Page.console_messages`).

Used by ``tests/test_browser.py`` and ``tests/reliability/test_security.py``
through :func:`started`, which skips a test cleanly when Chromium is missing::

    @pytest.fixture(scope="module")
    def browser():
        with started() as chromium:
            yield chromium
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
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CALIBRATE_CHROMIUM", "/usr/bin/chromium"))
#: The laptop view: the size every page opens at unless told otherwise.
LAPTOP = (1366, 768)


def available() -> bool:
    """Whether Chromium is installed where :data:`CHROMIUM` says."""
    return CHROMIUM.exists()


#: For a test module that needs Chromium: ``pytestmark = [..., needs_chromium]``.
needs_chromium = pytest.mark.skipif(not available(), reason=f"no Chromium at {CHROMIUM}")


@contextlib.contextmanager
def started(timeout: float = 30.0) -> Iterator[Chromium]:
    """A running :class:`Chromium` (closed afterwards); skips without one."""
    if not available():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    chromium = Chromium(timeout)
    try:
        chromium.send("Browser.getVersion")
        yield chromium
    finally:
        chromium.close()


class BrowserError(RuntimeError):
    pass


class Chromium:
    """Headless Chromium with the network blocked, driven over CDP on a pipe."""

    FLAGS = (
        *["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
        *["--no-default-browser-check", "--disable-background-networking"],
        *["--disable-component-update", "--disable-sync", "--disable-extensions"],
        *["--disable-default-apps", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars"],
        *["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"],
        *["--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-pipe"],
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
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": metrics["width"],
                    "height": metrics["height"],
                    "scale": 1,
                },
            }
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    def pdf(self, path: Path) -> Path:
        data = self.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
