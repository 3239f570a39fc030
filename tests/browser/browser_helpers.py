"""Helpers of the console's browser tests: a served hub, loopback receivers, screenshots,
the accessibility check and signing in."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = HERE / "vendor" / "axe.min.js"


class Receiver:
    """A loopback webhook receiver: answers 200 and keeps every request."""

    def __init__(self) -> None:
        from werkzeug.serving import make_server

        self.requests: list[dict[str, Any]] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _wsgi(self, environ: Any, start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        self.requests.append({"headers": dict(request.headers), "body": request.get_data()})
        return Response("thanks\nsecond line\n", 200)(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what arrives."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 accepted"


class Served:
    """`hub serve` and `hub worker` on the test's database and Redis."""

    def __init__(self, settings: dict[str, Any], port: int, logs: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **{k: str(v) for k, v in settings.items()}}
        self.env["PYTHONPATH"] = os.pathsep.join([str(HERE), self.env.get("PYTHONPATH", "")])
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        serve = ["serve", "--port", str(port), "--workers", "1", "--threads", "8"]
        self._start("web", serve)
        self._start("worker", ["worker"])
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, args: list[str]) -> None:
        with open(self.logs / f"{name}.log", "wb") as log:
            command = [sys.executable, "-m", "hub.cli", *args]
            self.procs.append(subprocess.Popen(command, env=self.env, stdout=log, stderr=log))

    def _wait(self) -> None:
        deadline = time.monotonic() + 120  # a loaded machine imports slowly
        while time.monotonic() < deadline:
            if self.procs[0].poll() is not None:  # the web process exited: fail at once
                break
            try:
                if requests.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or too busy to answer
                time.sleep(0.2)
        raise AssertionError(f"hub serve did not answer: {(self.logs / 'web.log').read_text()}")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def shot(page: Any, name: str) -> None:
    """Save what the browser shows (desktop width, then a phone's)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious or critical accessibility violations axe-core finds on the page."""
    # evaluated by the driver, not as a page script: the console's CSP allows no inline script
    page.evaluate(AXE.read_text() + "\n;0")
    results = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def admin_link(hub_config: dict[str, Any], slug: str, email: str | None = None) -> str:
    """`hub admin-link`, run as an operator would."""
    env = {**os.environ, **{k: str(v) for k, v in hub_config.items()}}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "hub.cli", "admin-link", "--org", slug]
    if email:
        command += ["--user", email]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def sign_in_by_link(page: Any, hub_config: dict[str, Any], org: Any, email: str | None) -> None:
    page.goto(admin_link(hub_config, org.org.slug, email))
    expect(page).to_have_url(f"{hub_config['HUB_APP_URL']}/admin/integrations")
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()


def wait_for(condition: Any, what: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
