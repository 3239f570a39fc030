"""Helpers for the Dropbox plugin's tests: connecting, clients, uploads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from flask.testing import FlaskClient
from mycelium_dropbox.emulator import DropboxEmulator

if TYPE_CHECKING:
    from hub.testing import ApiClient

CLIENT_URL = "https://app.mycelium.test"  # HUB_CLIENT_URL in these tests
ROOT = "/MyceliumOS-AcmeStudio"  # the test organization is "Acme Studio" (hub.testing)


def connect(client: FlaskClient, api: ApiClient, dropbox: DropboxEmulator) -> None:
    """An admin connects Dropbox: connect, consent at Dropbox, follow the callback."""
    from hub.testing import open_auth_url  # after pytest_plugins registered it (conftest)

    started = api.get("/api/integrations/dropbox/connect")
    assert started.status_code == 200, started.get_json()
    provider_url = open_auth_url(client, started.get_json()["auth_url"])
    consent = requests.get(provider_url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    callback = urlsplit(consent.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302 and "success=dropbox" in done.headers["Location"], done.headers


def make_client(api: ApiClient, name: str = "Globex", **fields: Any) -> dict[str, Any]:
    response = api.post("/api/clients", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_service_type(api: ApiClient, name: str) -> dict[str, Any]:
    response = api.post("/api/service-types", json={"name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events_of(api: ApiClient, type_: str) -> list[dict[str, Any]]:
    items = api.get("/api/events?limit=200").get_json()["items"]
    return [e["data"] for e in items if e["type"] == type_]
