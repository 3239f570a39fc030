"""Helpers for the Dropbox plugin's tests: connecting, clients, uploads."""

from __future__ import annotations

import io
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


MIB = 1024 * 1024


def upload(api: ApiClient, data: bytes, name: str = "brief.pdf", **fields: Any) -> Any:
    """POST upload as multipart/form-data, the body encoded here (in memory: test sizes)."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    form: dict[str, Any] = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()
    }
    form["file"] = FileStorage(io.BytesIO(data), filename=name)
    boundary, body = encode_multipart(form)
    return api.post(
        "/api/integrations/dropbox/upload",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def dropbox_hash(data: bytes) -> str:
    """Dropbox's content hash, written out here independently of the plugin's."""
    import hashlib

    blocks = [data[i : i + 4 * MIB] for i in range(0, len(data), 4 * MIB)]
    return hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in blocks)).hexdigest()


def sweep_uploads(app: Any) -> list[int]:
    """What the minute's ``uploads`` job does: queue the uploads that wait."""
    from mycelium_dropbox import jobs

    from hub.extensions import db

    with app.app_context():
        found = jobs.due_uploads()
        db.session.remove()
    return found
