"""End to end over real HTTP: the hub served on loopback, a loopback Slack, a real worker.

An admin connects Slack through the hub's OAuth flow; a deliverable goes overdue (the
deadline scan), Slack rate-limits the first try, the message arrives with the assignee's
mention; a signed slash command completes the deliverable and Slack hears of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from mycelium_slack.emulator import Member
from slack_helpers import ADA, CLIENT_URL
from werkzeug.serving import make_server

from hub.jobs import scan_deadlines
from hub.testing import run_jobs


@pytest.fixture
def hub_server() -> Iterator[dict[str, Any]]:
    """A loopback HTTP server for the hub; the app is plugged in once it exists."""
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


def connect_over_http(hub: str, admin: requests.Session) -> None:
    auth_url = admin.get(f"{hub}/api/integrations/slack/connect", timeout=10).json()["auth_url"]
    browser = requests.Session()  # keeps the cookie the hub binds the flow to
    launched = browser.get(auth_url, allow_redirects=False, timeout=10)
    consent = browser.get(launched.headers["Location"], allow_redirects=False, timeout=10)
    assert consent.headers["Location"].startswith(f"{hub}/api/integrations/slack/callback?")
    landing = browser.get(consent.headers["Location"], allow_redirects=False, timeout=10)
    assert landing.headers["Location"] == f"{CLIENT_URL}/settings/integrations?success=slack"


def texts(slack) -> list[str]:
    return [m["text"] for m in slack.messages]


def test_connect_overdue_mention_and_complete_by_slash_command(app, hub, slack, org, hub_clock):
    slack.members = [
        Member("U0BOT2", "bot@x.test", "Bot", is_bot=True),
        Member(ADA, org.admin.email, "Ada Admin"),
    ]
    admin = admin_session(org.admin_key)
    connect_over_http(hub, admin)
    run_jobs(app)
    assert texts(slack) == ["👋 Mycelium Hub is connected: notifications will arrive in #general."]

    patch = {"channels": {"deliverable.completed": "#studio"}}
    assert admin.patch(f"{hub}/api/integrations/slack", json=patch, timeout=10).ok
    globex = admin.post(f"{hub}/api/clients", json={"name": "Globex"}, timeout=10).json()
    body = {
        "client_id": globex["id"],
        "title": "Logo refresh",
        "assignee_id": org.admin.id,
        "due_at": (hub_clock.now() + timedelta(hours=3)).isoformat(),
    }
    deliverable = admin.post(f"{hub}/api/deliverables", json=body, timeout=10).json()
    run_jobs(app)
    assert texts(slack)[-1] == "🎉 New client: Globex"

    hub_clock.advance(days=2, hours=4)
    with app.app_context():
        scan_deadlines(app)
    slack.rate_limit_next("/services/", retry_after=30)
    run_jobs(app)
    assert not [t for t in texts(slack) if "Overdue" in t]  # deferred, not dropped
    hub_clock.advance(seconds=31)
    run_jobs(app)
    [overdue] = [m for m in slack.messages if "Overdue" in m["text"]]
    assert f"assigned to <@{ADA}>" in overdue["text"] and "2 days overdue" in overdue["text"]
    assert overdue["via"] == "webhook" and overdue["blocks"][-1]["type"] == "context"

    stamp = int(hub_clock.now().timestamp())
    answer = slack.slash_command(
        hub, "/mycelium-complete", str(deliverable["id"]), ADA, timestamp=stamp
    )
    assert answer.status_code == 200 and answer.json()["text"].startswith("✅ Completed")
    run_jobs(app)
    done = admin.get(f"{hub}/api/deliverables/{deliverable['id']}", timeout=10).json()
    assert done["status"] == "completed"
    [completed] = [m for m in slack.messages if m["text"].startswith("✅ Completed")]
    assert completed["via"] == "chat.postMessage" and completed["channel"] == "#studio"
    assert f"by <@{ADA}>" in completed["text"]
    forged = slack.slash_command(hub, "/mycelium-complete", "1", ADA, timestamp=stamp - 301)
    assert forged.status_code == 401
