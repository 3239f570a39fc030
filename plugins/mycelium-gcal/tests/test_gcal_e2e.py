"""End to end over real HTTP: the hub served on loopback, the loopback Google, a real worker.

An admin connects Google Calendar through the hub's OAuth flow (offline access, consent,
PKCE); Google's push notifications reach the hub's public route; a deadline lands on the
calendar; a client meeting gets its Meet link; moved and then cancelled in Google, the
meeting follows in the hub.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from gcal_helpers import CLIENT_URL, in_days, live_deadlines
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
    return {**hub_config, "HUB_APP_URL": hub_server["url"]}


@pytest.fixture
def hub(app, hub_server) -> str:
    hub_server["app"] = app
    return hub_server["url"]


def admin_session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def settle(app, google) -> None:
    """Run jobs until Google's notifications and the syncs they start are all done."""
    for _ in range(3):
        run_jobs(app)
        google.pusher.wait()
    run_jobs(app)


def test_connect_deadline_meeting_and_changes_made_in_google(app, hub, google, org, hub_clock):
    admin = admin_session(org.admin_key)
    auth_url = admin.get(f"{hub}/api/integrations/gcal/connect", timeout=10).json()["auth_url"]
    browser = requests.Session()  # keeps the cookie the hub binds the flow to
    launched = browser.get(auth_url, allow_redirects=False, timeout=10)
    consent = browser.get(launched.headers["Location"], allow_redirects=False, timeout=10)
    landing = browser.get(consent.headers["Location"], allow_redirects=False, timeout=10)
    assert landing.headers["Location"] == f"{CLIENT_URL}/settings/integrations?success=gcal"
    [asked] = google.oauth.authorizations
    assert asked["access_type"] == "offline" and asked["prompt"] == "consent"
    settle(app, google)
    assert [d["state"] for d in google.pusher.delivered] == ["sync"]
    assert google.pusher.delivered[0]["status"] == 200  # the hub knew the channel

    admin.patch(f"{hub}/api/integrations/gcal", json={"sync_meetings": True}, timeout=10)
    globex = admin.post(f"{hub}/api/clients", json={"name": "Globex"}, timeout=10).json()
    body = {"client_id": globex["id"], "title": "Launch", "due_at": in_days(4).isoformat()}
    deliverable = admin.post(f"{hub}/api/deliverables", json=body, timeout=10).json()
    start = in_days(2).replace(microsecond=0, second=0)
    meeting = admin.post(
        f"{hub}/api/integrations/gcal/meetings",
        json={
            "deliverable_id": deliverable["id"],
            "title": "Launch review",
            "start_at": start.isoformat(),
            "duration_minutes": 30,
            "attendees": ["client@globex.test"],
            "meet_link": True,
        },
        headers={"Idempotency-Key": "review-1"},
        timeout=10,
    ).json()
    settle(app, google)
    assert [e["summary"] for e in live_deadlines(google)] == ["📋 Launch"]
    shown = admin.get(f"{hub}/api/integrations/gcal/meetings/{meeting['id']}", timeout=10).json()
    assert shown["status"] == "scheduled" and shown["meet_url"].startswith(
        "https://meet.google.com/"
    )

    moved = start + timedelta(days=1, hours=2)
    google.move_event(
        meeting["calendar_event_id"], moved.isoformat(), (moved + timedelta(minutes=30)).isoformat()
    )
    settle(app, google)  # Google pushes, the hub syncs
    shown = admin.get(f"{hub}/api/integrations/gcal/meetings/{meeting['id']}", timeout=10).json()
    assert shown["start_at"] == moved.isoformat()

    google.cancel_event(meeting["calendar_event_id"])
    settle(app, google)
    shown = admin.get(f"{hub}/api/integrations/gcal/meetings/{meeting['id']}", timeout=10).json()
    assert shown["status"] == "cancelled"
    types = [
        e["type"] for e in admin.get(f"{hub}/api/events?limit=200", timeout=10).json()["items"]
    ]
    assert {"meeting.scheduled", "meeting.updated", "meeting.cancelled"} <= set(types)
    assert all(d["status"] == 200 for d in google.pusher.delivered)
