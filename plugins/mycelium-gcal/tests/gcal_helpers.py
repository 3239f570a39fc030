"""Helpers for the Google Calendar plugin's tests: connecting, deliverables, contexts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from flask.testing import FlaskClient
from mycelium_gcal.emulator import GoogleEmulator
from mycelium_gcal.ids import deadline_event_id

from hub import now

if TYPE_CHECKING:
    from hub.testing import ApiClient

CLIENT_URL = "https://app.mycelium.test"  # HUB_CLIENT_URL in these tests


def connect(client: FlaskClient, api: ApiClient, google: GoogleEmulator) -> None:
    """An admin connects Google Calendar: connect, consent at Google, follow the callback."""
    from hub.testing import open_auth_url  # after pytest_plugins registered it (conftest)

    started = api.get("/api/integrations/gcal/connect")
    assert started.status_code == 200, started.get_json()
    provider_url = open_auth_url(client, started.get_json()["auth_url"])  # binds `client`
    consent = requests.get(provider_url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    callback = urlsplit(consent.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302 and "success=gcal" in done.headers["Location"], done.headers


def make_client(api: ApiClient, name: str = "Globex") -> dict[str, Any]:
    response = api.post("/api/clients", json={"name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_deliverable(
    api: ApiClient, client_id: int, title: str, due: datetime | None, **fields: Any
) -> dict[str, Any]:
    body = {"client_id": client_id, "title": title, **fields}
    if due is not None:
        body["due_at"] = due.isoformat()
    response = api.post("/api/deliverables", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def in_days(days: float) -> datetime:
    return now() + timedelta(days=days)


def event_of(google: GoogleEmulator, org_id: int, deliverable_id: int) -> dict[str, Any]:
    """The deadline event of a deliverable in the emulated primary calendar."""
    return google.event(deadline_event_id(org_id, deliverable_id))


def live_deadlines(google: GoogleEmulator) -> list[dict[str, Any]]:
    return [
        e
        for e in google.events()
        if (e.get("extendedProperties") or {}).get("private", {}).get("mycelium") == "deadline"
    ]
