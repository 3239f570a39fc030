"""The signed one-click unsubscribe link: no login, RFC 8058 POST, no redirect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from mycelium_smtp import jobs
from smtp_helpers import SmtpServer, smtp_config

from hub.testing import ApiClient, OrgHandle

BASE = "/api/integrations/smtp"


@pytest.fixture
def enabled(api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    assert api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    return api


def queue_due(api: ApiClient, to: str) -> dict[str, Any]:
    email = {"template": "deliverable_due", "to": [to], "variables": {"deliverable_title": "Logo"}}
    response = api.post(f"{BASE}/emails", json=email)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def delivered_link(app: Any, org: OrgHandle, smtp_server: SmtpServer) -> str:
    with app.app_context():  # as a worker runs the job: its own app context and session
        jobs.deliver_org(org.id)
    header = smtp_server.mailbox.received[-1].message["List-Unsubscribe"]
    assert header.startswith("<https://hub.acme.example/") and header.endswith(">")
    return urlsplit(header[1:-1]).path


def test_one_click_unsubscribe(
    enabled: ApiClient,
    client: Any,
    member_api: ApiClient,
    org: OrgHandle,
    app: Any,
    smtp_server: SmtpServer,
) -> None:
    member = member_api.get(f"{BASE}/preferences").get_json()
    member_email = f"member@{org.org.slug}.example"
    queue_due(enabled, member_email)
    path = delivered_link(app, org, smtp_server)

    page = client.get(path)  # no API key: a mail client or the recipient's browser
    assert page.status_code == 200 and "Location" not in page.headers
    assert '<form method="post">' in page.get_data(as_text=True)
    assert member_api.get(f"{BASE}/preferences").get_json()["notifications"] is True  # GET only

    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Location" not in done.headers
    assert "no longer" in done.get_data(as_text=True)
    assert member_api.get(f"{BASE}/preferences").get_json() == {**member, "notifications": False}
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # twice

    again = queue_due(enabled, member_email)
    assert again["status"] == "suppressed" and "suppression list" in again["error"]
    listed = enabled.get(f"{BASE}/suppressions").get_json()["items"]
    assert [(s["address"], s["type"], s["reason"]) for s in listed] == [
        (member_email, "deliverable_due", "unsubscribe")
    ]
    other_type = enabled.post(
        f"{BASE}/emails",
        json={
            "template": "password_reset",
            "to": [member_email],
            "variables": {"reset_url": "https://hub.acme.example/r/1"},
        },
    )
    assert other_type.get_json()["status"] == "pending"

    # opting in again lifts the unsubscribe
    member_api.put(f"{BASE}/preferences", json={"notifications": True})
    assert queue_due(enabled, member_email)["status"] == "pending"


def test_forged_or_foreign_links_do_nothing(
    enabled: ApiClient, client: Any, app: Any, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    queue_due(enabled, "someone@client.example")
    path = delivered_link(app, org, smtp_server)
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for method in (client.get, client.post):
        response = method(forged)
        assert response.status_code == 404 and "Location" not in response.headers
    assert queue_due(enabled, "someone@client.example")["status"] == "pending"
