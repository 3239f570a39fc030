"""The plugin author's kit in hub.testing: outbound network refused unless a test opts in."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

import hub
from hub.testing.plugins import NetworkRefused


@pytest.mark.parametrize("address", [("192.0.2.1", 443), ("10.0.0.1", 80), ("2001:db8::1", 443)])
def test_non_loopback_connections_are_refused(address: tuple[str, int]) -> None:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with (
        socket.socket(family, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkRefused) as refused,
    ):
        sock.connect(address)
    assert "allow_network" in str(refused.value)
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NetworkRefused):
        sock.connect_ex(address)


def test_requests_to_the_internet_fail_clearly() -> None:
    import requests

    with pytest.raises(requests.ConnectionError, match="allow_network"):
        requests.get("http://192.0.2.1/", timeout=1)


def test_loopback_and_unix_sockets_work() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "s.sock")
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(path)
            server.listen()
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(path)


@pytest.mark.allow_network
def test_a_marked_test_is_not_guarded() -> None:
    # nothing is contacted: the marker only leaves socket.connect as Python made it
    assert socket.socket.connect is socket._socket.socket.connect  # type: ignore[attr-defined]


def test_set_external_account_id_lets_find_integration_answer(
    app: Any, enable_plugin: Any, plugin_context: Any, register_plugin: Any
) -> None:
    class Plain:
        @hub.hookimpl
        def register_providers(self, register: Any) -> None:
            register(hub.Provider(name="plain", title="Plain"))

    register_plugin(Plain(), "plain")
    enable_plugin("plain", {})
    ctx = plugin_context("plain")
    hub.set_external_account_id(ctx, "W-42")
    assert ctx.integration.external_account_id == "W-42"
    ctx.db.commit()
    with app.test_request_context():
        found = hub.find_integration("plain", "W-42")
        assert found is not None and found.org.id == ctx.org.id
        assert hub.find_integration("plain", "W-43") is None
