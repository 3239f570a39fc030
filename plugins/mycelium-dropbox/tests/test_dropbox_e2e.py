"""End to end over real HTTP: the hub served on loopback, the loopback Dropbox, a real
worker. An admin connects Dropbox through the browser flow; ten uploads of the same name
arrive at once and all land; Dropbox's signed webhook reaches the hub's public route and
a change made in Dropbox comes back as an event."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from dropbox_helpers import CLIENT_URL, MIB, ROOT, dropbox_hash
from werkzeug.serving import make_server

from hub.testing import run_jobs

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub_server() -> Iterator[dict[str, Any]]:
    holder: dict[str, Any] = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True
    )
    holder["url"] = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield holder
    server.shutdown()
    server.server_close()


@pytest.fixture
def hub_config(hub_config, hub_server):
    return {
        **hub_config,
        "HUB_APP_URL": hub_server["url"],
        "DROPBOX_INLINE_UPLOAD_BYTES": str(MIB),
        "DROPBOX_CHUNK_BYTES": str(4 * MIB),
    }


@pytest.fixture
def hub(app, hub_server) -> str:
    hub_server["app"] = app
    return hub_server["url"]


def admin_session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def test_connect_ten_uploads_at_once_and_a_change_made_in_dropbox(
    app, hub, dropbox, org, hub_clock
):
    admin = admin_session(org.admin_key)
    auth_url = admin.get(f"{hub}/api/integrations/dropbox/connect", timeout=10).json()["auth_url"]
    browser = requests.Session()
    launched = browser.get(auth_url, allow_redirects=False, timeout=10)
    consent = browser.get(launched.headers["Location"], allow_redirects=False, timeout=10)
    landing = browser.get(consent.headers["Location"], allow_redirects=False, timeout=10)
    assert landing.headers["Location"] == f"{CLIENT_URL}/settings/integrations?success=dropbox"
    [asked] = dropbox.oauth.authorizations
    assert asked["token_access_type"] == "offline"
    globex = admin.post(f"{hub}/api/clients", json={"name": "Globex"}, timeout=10).json()
    run_jobs(app)

    bodies = [os.urandom(1000 + i) for i in range(9)] + [os.urandom(3 * MIB)]

    def send(data: bytes) -> requests.Response:
        files = {"file": ("brief.pdf", data, "application/pdf")}
        form = {"client_id": str(globex["id"])}
        return admin_session(org.admin_key).post(
            f"{hub}/api/integrations/dropbox/upload", files=files, data=form, timeout=60
        )

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(send, bodies))
    assert [a.status_code for a in answers] == [201] * 9 + [202], [a.text for a in answers]
    run_jobs(app)
    listed = admin.get(f"{hub}/api/integrations/dropbox/files?limit=50", timeout=10).json()
    assert len(listed["items"]) == 10
    paths = {f["path"] for f in listed["items"]}
    assert len(paths) == 10  # autorenamed: brief.pdf, brief (1).pdf, ...
    assert f"{ROOT}/Clients/Globex/Work in Progress/brief.pdf" in paths
    assert {f["content_hash"] for f in listed["items"]} == {dropbox_hash(b) for b in bodies}

    assert (
        requests.get(f"{hub}/api/integrations/dropbox/webhook?challenge=c1", timeout=10).text
        == "c1"
    )
    dropbox.put_file(f"{ROOT}/Clients/Globex/Client Resources/logo.svg", b"<svg/>")
    assert dropbox.notify(f"{hub}/api/integrations/dropbox/webhook").status_code == 200
    run_jobs(app)
    events = admin.get(f"{hub}/api/events?limit=200", timeout=10).json()["items"]
    added = [e["data"] for e in events if e["type"] == "dropbox.file_added"]
    assert [a["name"] for a in added] == ["logo.svg"]
    assert sum(e["type"] == "dropbox.file_uploaded" for e in events) == 10
