"""A real `hub serve` (gunicorn): what the server answers before the app sees a request (a
request line too long) and what it hands over in chunks (a body past the limit) are the
API's JSON errors, as the OpenAPI document says, not gunicorn's HTML page or a cut body."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(hub_config: dict[str, Any], app: Any) -> Iterator[str]:
    """`hub serve` on a free loopback port, on the test's migrated database."""
    port = _free_port()
    env = {**os.environ, **{k: str(v) for k, v in hub_config.items()}}
    command = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/api/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(15)


def _json_error(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:200]
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def test_a_request_line_too_long_is_a_json_414(served):
    response = requests.get(f"{served}/api/clients?cursor={'x' * 5000}", timeout=10)
    assert _json_error(response, 414)["code"] == "uri_too_long"


def test_a_chunked_body_past_the_limit_is_a_json_413_not_a_cut_body(served, org):
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(2 * 16):
            yield b"x" * (64 * 1024)
        yield b'"}'

    headers = {"Authorization": f"Bearer {org.admin_key}", "Content-Type": "application/json"}
    response = requests.post(f"{served}/api/clients", data=chunks(), headers=headers, timeout=30)
    assert "_schema" in _json_error(response, 413)["details"]
