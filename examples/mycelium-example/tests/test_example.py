"""The example plugin, tested the way a third party tests theirs: with hub.testing."""

from __future__ import annotations

import hashlib
import hmac
from importlib import metadata
from typing import Any

import mycelium_example
import pytest
from sqlalchemy import text

import hub

CONFIG = {"api_url": "https://notes.example.com", "signing_secret": "s3cret-CLEARTEXT"}


def test_the_entry_point_is_installed() -> None:
    found = {ep.name: ep for ep in metadata.entry_points(group="mycelium")}
    assert found["example"].load() is mycelium_example


def test_it_is_listed(api: Any) -> None:
    described = {p["name"]: p for p in api.get("/api/plugins").json["items"]}["example"]
    assert described["distribution"] == "mycelium-example"
    assert {"name": "signing_secret", "secret": True}.items() <= described["config"][1].items()


def test_enable_with_config_keeps_the_secret_encrypted(app: Any, api: Any) -> None:
    response = api.put("/api/integrations/example", json=CONFIG)
    assert response.status_code == 200, response.json
    assert response.json["config"]["signing_secret"] == {"set": True}
    with app.app_context():
        raw = hub.db_session().execute(text("SELECT config, secrets FROM integrations")).one()
    assert "CLEARTEXT" not in str(raw)


def test_bad_config_names_the_field(api: Any) -> None:
    response = api.put("/api/integrations/example", json={**CONFIG, "api_url": "http://x.example"})
    assert response.status_code == 400
    assert list(response.json["error"]["details"]) == ["api_url"]


def test_notes_routes(api: Any, member_api: Any, enable_plugin: Any) -> None:
    assert api.get("/api/integrations/example/notes").status_code == 404  # not enabled yet
    enable_plugin("example", CONFIG)
    assert member_api.post("/api/integrations/example/notes", json={"body": "x"}).status_code == 403
    assert (
        api.post("/api/integrations/example/notes", json={"body": "Call Globex"}).status_code == 201
    )
    assert [n["body"] for n in member_api.get("/api/integrations/example/notes").json["items"]] == [
        "Call Globex"
    ]


def _sign(body: bytes) -> str:
    return hmac.new(b"s3cret-CLEARTEXT", body, hashlib.sha256).hexdigest()


def test_public_inbound_route_verifies_its_signature(
    client: Any, api: Any, enable_plugin: Any, plugin_context: Any
) -> None:
    enable_plugin("example", CONFIG)
    ctx = plugin_context("example")
    hub.set_external_account_id(ctx, "acct-1")  # what the provider calls this org
    ctx.db.commit()
    body = b"from outside"
    path = "/api/integrations/example/inbound/acct-1"
    assert (
        client.post(path, data=body, headers={"X-Example-Signature": "0" * 64}).status_code == 401
    )
    assert (
        client.post(path, data=body, headers={"X-Example-Signature": _sign(body)}).status_code
        == 201
    )
    notes = api.get("/api/integrations/example/notes").json["items"]
    assert [n["body"] for n in notes] == ["from outside"]


def test_hook_health_check(enable_plugin: Any, plugin_context: Any) -> None:
    enable_plugin("example", CONFIG)
    result = mycelium_example.health_check(plugin_context("example"))
    assert result == hub.HealthResult(ok=True, message="Notes go to https://notes.example.com.")


def test_hook_on_client_created_is_idempotent(enable_plugin: Any, plugin_context: Any, api: Any):
    enable_plugin("example", CONFIG)
    ctx = plugin_context("example")
    event = hub.EventInfo("evt_1", "client.created", ctx.org.id, hub.now(), {})
    for _ in range(2):  # a run may execute twice
        mycelium_example.on_client_created(ctx, event, {"name": "Globex"})
    ctx.db.commit()
    notes = api.get("/api/integrations/example/notes").json["items"]
    assert [n["body"] for n in notes] == ["Hello, Globex!"]


def test_hook_send_test_message(api: Any, enable_plugin: Any, org: Any) -> None:
    enable_plugin("example", CONFIG)
    report = api.post("/api/integrations/example/test").json
    assert report["health"]["ok"] is True
    assert report["test_message"] == {"ok": True, "message": f"a test note for {org.admin.email}"}


def test_outbound_network_is_refused_by_default() -> None:
    import socket

    with pytest.raises(ConnectionRefusedError, match="allow_network"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)


def test_its_sandbox_serves_a_page_on_loopback_only() -> None:
    import requests
    from mycelium_example.sandbox import NotesSandbox

    with pytest.raises(ValueError, match="loopback"):
        NotesSandbox("0.0.0.0", "http://127.0.0.1:8000")
    server = NotesSandbox("127.0.0.1", "http://127.0.0.1:8000")
    try:
        page = requests.get(f"{server.url}/sandbox", timeout=5).text
        assert "Sandbox" in page and "Hello from the sandbox" in page
    finally:
        server.stop()
