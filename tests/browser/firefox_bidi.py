"""Debian's Firefox ESR driven over WebDriver BiDi, the protocol Firefox itself serves.

Playwright drives only its own patched Firefox build (which cannot be downloaded here) and
Selenium needs geckodriver (no package ships a Linux build); Firefox ESR 128 and later speak
WebDriver BiDi on `--remote-debugging-port`, so this module is a small client of it over a
websocket: start the browser on a fresh profile, open a session, navigate, evaluate script
(as the driver, so the page's CSP does not apply to it), set the viewport, take screenshots,
and collect the page's script errors and CSP refusals.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import websocket

# Seen by the page before its own scripts: every CSP refusal is kept for the test to read.
WATCH_CSP = """() => {
  const seen = [];
  Object.defineProperty(window, "__cspRefusals", { value: seen });
  document.addEventListener("securitypolicyviolation",
    (e) => seen.push(`${e.violatedDirective} refused ${e.blockedURI || "inline"}`));
}"""


BROWSER_ARGS = ("--headless", "--no-remote", "--remote-debugging-port=0")


def firefox_executable() -> str | None:
    """Debian's Firefox ESR (`firefox-esr`), or None when it is not installed."""
    return shutil.which("firefox-esr")


class BiDiError(AssertionError):
    """The browser answered a command with an error."""


class Firefox:
    """One headless Firefox with one WebDriver BiDi session and its first tab."""

    def __init__(self, executable: str, timeout: float = 60) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="hub-firefox-"))
        self.timeout = timeout
        self.ids = itertools.count(1)
        self.errors: list[str] = []
        self.drain: threading.Thread | None = None
        self.process = subprocess.Popen(
            [executable, *BROWSER_ARGS, "--profile", str(self.profile), "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
        )
        try:
            self.ws = websocket.create_connection(
                self._listening() + "/session", timeout=timeout, suppress_origin=True
            )
            self.command("session.new", capabilities={"alwaysMatch": {"acceptInsecureCerts": True}})
            self.command("session.subscribe", events=["log.entryAdded"])
            self.command("script.addPreloadScript", functionDeclaration=WATCH_CSP)
            tree = self.command("browsingContext.getTree", maxDepth=0)
            self.context = tree["contexts"][0]["context"]
        except BaseException:
            self.close()
            raise

    def _listening(self) -> str:
        """The websocket address Firefox prints once its BiDi server listens."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + self.timeout
        for line in self.process.stderr:
            found = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
            if found:
                # read the rest as it comes, so a chatty browser never blocks on a full pipe
                self.drain = threading.Thread(target=self.process.stderr.read, daemon=True)
                self.drain.start()
                return found.group(1)
            assert time.monotonic() < deadline, "Firefox did not start its BiDi server"
        raise AssertionError(f"Firefox exited with {self.process.wait()} before listening")

    def command(self, method: str, **params: Any) -> Any:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        sent = next(self.ids)
        self.ws.send(json.dumps({"id": sent, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == sent:
                if message.get("type") == "error":
                    raise BiDiError(f"{method}: {message['error']}: {message.get('message')}")
                return message["result"]
            if message.get("method") == "log.entryAdded":
                entry = message["params"]
                if entry.get("level") == "error":
                    self.errors.append(f"{entry.get('type')}: {entry.get('text')}")

    def goto(self, url: str) -> None:
        self.command("browsingContext.navigate", context=self.context, url=url, wait="complete")

    def evaluate(self, function: str, *args: Any) -> Any:
        """Call `function` (JavaScript source) in the page with JSON arguments; its result
        (awaited) comes back through JSON too."""
        expression = f"(async () => JSON.stringify(await ({function})(...{json.dumps(args)})))()"
        result = self.command(
            "script.evaluate",
            expression=expression,
            target={"context": self.context},
            awaitPromise=True,
        )
        if result["type"] == "exception":
            raise BiDiError(f"script: {result['exceptionDetails'].get('text')}")
        value = result["result"].get("value")
        return None if value is None else json.loads(value)

    def wait_for(self, function: str, what: str, *args: Any, timeout: float = 45) -> Any:
        """Evaluate `function` until it answers something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.evaluate(function, *args)
            except BiDiError:
                found = None  # the page was between two documents
            if found:
                return found
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.2)

    def url(self) -> str:
        tree = self.command("browsingContext.getTree", root=self.context, maxDepth=0)
        return str(tree["contexts"][0]["url"])

    def viewport(self, width: int, height: int) -> None:
        viewport = {"width": width, "height": height}
        self.command("browsingContext.setViewport", context=self.context, viewport=viewport)

    def screenshot(self, path: Path) -> None:
        shot = self.command(
            "browsingContext.captureScreenshot", context=self.context, origin="document"
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def csp_refusals(self) -> list[str]:
        return list(self.evaluate("() => window.__cspRefusals || []"))

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                with contextlib.suppress(BiDiError, OSError, websocket.WebSocketException):
                    self.command("session.end")
                self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
            if self.drain is not None:
                self.drain.join(15)  # the browser is gone: its stderr ends
            if self.process.stderr is not None:
                self.process.stderr.close()
            shutil.rmtree(self.profile, ignore_errors=True)
