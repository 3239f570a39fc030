"""The suppression list: a refusal at RCPT time (a hard bounce) or a later bounce keeps an
address from getting mail, visible in the API, until an admin lifts it."""

from __future__ import annotations

from typing import Any

import pytest
from mycelium_smtp import jobs, suppressions
from smtp_helpers import SmtpServer, smtp_config

from hub import db_session
from hub.testing import ApiClient, OrgHandle

BASE = "/api/integrations/smtp"
GONE = "gone@client.example"


@pytest.fixture
def enabled(api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    assert api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    return api


def queue(api: ApiClient, *to: str, template: str = "deliverable_due") -> dict[str, Any]:
    variables = {"reset_url": "https://hub.acme.example/r"} if template == "password_reset" else {}
    body = {"template": template, "to": list(to), "variables": variables}
    response = api.post(f"{BASE}/emails", json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def email(api: ApiClient, row: dict[str, Any]) -> dict[str, Any]:
    return api.get(f"{BASE}/emails/{row['id']}").get_json()


def deliver(app: Any, org: OrgHandle) -> None:
    with app.app_context():  # as a worker runs the job
        jobs.deliver_org(org.id)


def test_a_refusal_at_rcpt_suppresses_the_address_until_lifted(
    enabled: ApiClient, member_api: ApiClient, app: Any, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    smtp_server.mailbox.rcpt_replies[GONE] = "550 5.1.1 No such user"
    first = queue(enabled, GONE, "kept@client.example")
    deliver(app, org)
    assert email(enabled, first)["status"] == "sent"  # the other recipient got it
    [listed] = enabled.get(f"{BASE}/suppressions").get_json()["items"]
    assert listed["address"] == GONE and listed["type"] == "*"
    assert listed["reason"] == "refused" and "550" in listed["detail"]

    smtp_server.mailbox.rcpt_replies.clear()
    later = queue(enabled, GONE)
    assert later["status"] == "suppressed" and GONE in later["error"]
    reset = queue(enabled, GONE, template="password_reset")  # transactional: still not sent
    assert reset["status"] == "suppressed"
    partly = queue(enabled, GONE, "kept@client.example")
    assert partly["to"] == ["kept@client.example"]
    assert partly["refused"] == {GONE: "suppressed: refused"}
    deliver(app, org)
    assert [r.rcpt_tos for r in smtp_server.mailbox.received] == [
        ["kept@client.example"],
        ["kept@client.example"],
    ]

    assert member_api.delete(f"{BASE}/suppressions/{GONE}").status_code == 403
    assert enabled.delete(f"{BASE}/suppressions/{GONE}").status_code == 204
    assert enabled.get(f"{BASE}/suppressions").get_json()["items"] == []
    missing = enabled.delete(f"{BASE}/suppressions/{GONE}")
    assert missing.status_code == 404 and "address" in missing.get_json()["error"]["details"]
    assert queue(enabled, GONE)["status"] == "pending"


def test_an_address_suppressed_after_queueing_is_not_sent(
    enabled: ApiClient, app: Any, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    row = queue(enabled, GONE)
    with app.app_context():
        db = db_session()
        suppressions.suppress(db, org.org.id, [GONE.upper()], "hard_bounce", "550 mailbox gone")
        db.commit()
    deliver(app, org)
    after = email(enabled, row)
    assert after["status"] == "suppressed" and "hard_bounce" in after["error"]
    assert smtp_server.mailbox.received == []


def test_the_list_is_paginated_and_scoped(
    enabled: ApiClient, other_api: ApiClient, app: Any, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    with app.app_context():
        db = db_session()
        for n in range(5):
            suppressions.suppress(db, org.org.id, [f"p{n}@client.example"], "complaint")
        db.commit()
    first = enabled.get(f"{BASE}/suppressions?limit=2").get_json()
    assert [s["address"] for s in first["items"]] == ["p4@client.example", "p3@client.example"]
    rest = enabled.get(f"{BASE}/suppressions?limit=10&cursor={first['next_cursor']}").get_json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    bad = enabled.get(f"{BASE}/suppressions?limit=0")
    assert bad.status_code == 400 and "limit" in bad.get_json()["error"]["details"]
    assert other_api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    assert other_api.get(f"{BASE}/suppressions").get_json()["items"] == []
    assert other_api.delete(f"{BASE}/suppressions/p1@client.example").status_code == 404
