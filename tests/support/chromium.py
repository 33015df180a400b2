"""A real headless Chromium driven over the DevTools protocol: load a page, collect its
console and network errors, measure elements, take screenshots.

Debian's `chromium` package; `.ci/run` installs it where it is missing.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
START_S = 60.0


def executable() -> str:
    """The chromium binary; the tests need it, so its absence is an error, not a skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium is not installed: `apt-get install -y chromium`")
    return found


@dataclass
class Page:
    """One browser tab: commands go out, events are collected while waiting for answers."""

    socket: websocket.WebSocket
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive first are kept)."""
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until `event` arrives (or was already collected)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.events:
                if message.get("method") == event:
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {event} within {timeout} s")
            self.socket.settimeout(left)
            self.events.append(json.loads(self.socket.recv()))

    def load(self, url: str, width: int = 1100, height: int = 900) -> None:
        """Open `url` and wait for its load event, collecting errors on the way."""
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads seen so far."""
        found = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(json.dumps(params.get("args")))
            elif method == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails")))
        return found

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def boxes(self, selector: str) -> list[dict[str, Any]]:
        """Page coordinates and attributes of every element matching `selector`."""
        found = f"document.querySelectorAll({json.dumps(selector)})"
        script = f"""JSON.stringify([...{found}].map(e => {{
            const r = e.getBoundingClientRect();
            return {{x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width,
                     height: r.height, kind: e.getAttribute('data-chart'),
                     attr_width: Number(e.getAttribute('width')),
                     attr_height: Number(e.getAttribute('height'))}};
        }}))"""
        return list(json.loads(self.evaluate(script)))

    def screenshot(self, path: Path, clip: dict[str, Any] | None = None) -> Path:
        """A PNG of `clip` (page coordinates) or of the whole page."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if clip is None:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
        params["clip"] = {**clip, "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextmanager
def browser() -> Iterator[Page]:
    """A fresh headless Chromium (own profile folder) and one tab in it."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        process = subprocess.Popen(
            [executable(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            port = _port(Path(profile) / "DevToolsActivePort", process)
            page = _first_page(port)
            socket = websocket.create_connection(page, timeout=30, suppress_origin=True)
            try:
                yield Page(socket)
            finally:
                socket.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _port(marker: Path, process: subprocess.Popen[bytes]) -> int:
    """Chromium writes the port it chose into its profile once DevTools listens."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} before starting")
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        time.sleep(0.05)
    raise TimeoutError(f"chromium did not start DevTools within {START_S} s")


def _first_page(port: int) -> str:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            pages = [t for t in json.load(answer) if t.get("type") == "page"]
        if pages:
            return str(pages[0]["webSocketDebuggerUrl"])
        time.sleep(0.05)
    raise TimeoutError("chromium opened no page")
