"""End to end over real HTTP (`hub serve` on a loopback port): one organization's slow
template preview or hanging SMTP connection test does not make another organization's
reads or writes fail or wait (on SQLite a request used to hold the database's write lock
from its first statement to its answer)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.net import free_port

from hub.testing import OrgHandle, make_org

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
RENDER_SECONDS = 3
SMTP_TEST_SECONDS = 4
# Doubles its work per level: 2^22 macro calls, a minute of CPU on a fast machine, stopped at 3 s.
SLOW_TEMPLATE = (
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(22) }}"
)


class SilentServer:
    """Accepts TCP connections and never says a word: a mail server that stopped answering."""

    def __init__(self) -> None:
        self.sock = socket.create_server((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent_smtp() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def settings(hub_config: dict[str, Any]) -> dict[str, str]:
    extra = {
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
        "SMTP_VERIFY_ON_ENABLE": "false",
        "SMTP_TEST_TIMEOUT": str(SMTP_TEST_SECONDS),
        "SMTP_TEMPLATE_RENDER_SECONDS": str(RENDER_SECONDS),
        "HUB_LOG_LEVEL": "WARNING",
    }
    return {key: str(value) for key, value in {**hub_config, **extra}.items()}


@pytest.fixture
def hub_url(settings: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`hub serve` (gunicorn: 2 processes x 4 threads) on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "hub.cli", "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", "2", "--threads", "4"]
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            command, env={**os.environ, **settings}, stdout=log, stderr=log, start_new_session=True
        )
    url = f"http://{HOST}:{port}"
    try:
        _wait_ready(url, server)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"hub serve did not answer at {url}")


@pytest.fixture
def orgs(make_app: Any, redis_client: Any) -> tuple[OrgHandle, OrgHandle]:
    app = make_app()
    return make_org(app, "Slow Studio"), make_org(app, "Busy Agency")


class Timed:
    """A request in a thread of its own: its answer and when it came."""

    def __init__(self, method: str, url: str, key: str, body: Any = None) -> None:
        self.response: requests.Response | None = None
        self.done_at = 0.0
        headers = {"Authorization": f"Bearer {key}"}
        self.thread = threading.Thread(target=self._send, args=(method, url, headers, body))
        self.started_at = time.monotonic()
        self.thread.start()

    def _send(self, method: str, url: str, headers: dict[str, str], body: Any) -> None:
        self.response = requests.request(method, url, headers=headers, json=body, timeout=60)
        self.done_at = time.monotonic()

    def wait(self) -> requests.Response:
        self.thread.join(70)
        assert self.response is not None
        return self.response


def _other_org_meanwhile(url: str, other: OrgHandle) -> list[Timed]:
    """Org B writes a client and, with a key never used before, reads its clients."""
    write = Timed("POST", f"{url}/api/clients", other.admin_key, {"name": "Initech"})
    write.wait()
    read = Timed("GET", f"{url}/api/clients", other.member_key)
    read.wait()
    return [write, read]


def _unhindered(slow: Timed, meanwhile: list[Timed]) -> None:
    """Every request of the other org succeeded, and answered while the slow one still ran."""
    assert [t.wait().status_code for t in meanwhile] == [201, 200]
    assert meanwhile[1].wait().json()["items"][0]["name"] == "Initech"
    for timed in meanwhile:
        assert timed.done_at < slow.done_at, "org B waited for org A's request"


def test_a_slow_template_preview_holds_up_no_other_organization(hub_url, orgs):
    slow_org, other = orgs
    smtp = {"host": HOST, "port": 2525, "security": "none", "from_address": "a@slow.example"}
    requests_put = Timed("PUT", f"{hub_url}/api/integrations/smtp", slow_org.admin_key, smtp)
    assert requests_put.wait().status_code == 200, requests_put.wait().text
    preview = f"{hub_url}/api/integrations/smtp/templates/client_welcome/preview"
    heavy = Timed("POST", preview, slow_org.member_key, {"html": "{{ (9**(9**7)) > 0 }}"})
    assert heavy.wait().status_code == 400  # refused before it is computed
    slow = Timed("POST", preview, slow_org.member_key, {"html": SLOW_TEMPLATE})
    time.sleep(1)  # org A's member is rendering now
    meanwhile = _other_org_meanwhile(hub_url, other)
    answer = slow.wait()
    assert answer.status_code == 400, answer.text
    assert f"longer than {RENDER_SECONDS} s" in str(answer.json()["error"]["details"])
    _unhindered(slow, meanwhile)


def test_a_hanging_smtp_test_holds_up_no_other_organization(hub_url, orgs, silent_smtp):
    slow_org, other = orgs
    smtp = {"host": HOST, "port": silent_smtp.port, "security": "none", "from_address": "a@s.io"}
    put = Timed("PUT", f"{hub_url}/api/integrations/smtp", slow_org.admin_key, smtp)
    assert put.wait().status_code == 200, put.wait().text
    slow = Timed("POST", f"{hub_url}/api/integrations/smtp/test", slow_org.admin_key)
    time.sleep(1)  # org A's connection test is waiting for the mail server now
    meanwhile = _other_org_meanwhile(hub_url, other)
    answer = slow.wait()
    assert answer.status_code == 200 and answer.json()["health"]["ok"] is False, answer.text
    assert slow.done_at - slow.started_at >= SMTP_TEST_SECONDS
    _unhindered(slow, meanwhile)
