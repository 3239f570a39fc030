"""What a member key may do with the organization's mail server: write to the
organization's own people only, and cancel only what its user queued. Admins may do both
for anyone. Also: an email's id is never given to another email."""

from __future__ import annotations

from typing import Any

import pytest
from mycelium_smtp.models import Email
from smtp_helpers import SmtpServer, smtp_config
from sqlalchemy import delete

from hub.extensions import db
from hub.testing import ApiClient, OrgHandle

BASE = "/api/integrations/smtp"
RESET = {"template": "password_reset", "variables": {"reset_url": "https://hub.acme.example/r"}}


@pytest.fixture
def enabled(api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    response = api.put(BASE, json=smtp_config(smtp_server.port))
    assert response.status_code == 200, response.get_json()
    api.post("/api/clients", json={"name": "Globex", "contact_email": "Hank@Globex.example"})
    return api


def _queue(api: ApiClient, status: int = 202, **fields: Any) -> Any:
    response = api.post(f"{BASE}/emails", json={**RESET, **fields})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _emails(api: ApiClient) -> list[int]:
    return [item["id"] for item in api.get(f"{BASE}/emails").get_json()["items"]]


def test_a_member_may_write_to_users_and_client_contacts(
    enabled: ApiClient, member_api: ApiClient, org: OrgHandle
) -> None:
    people = [org.admin.email.upper(), "Hank <hank@globex.example>"]
    queued = _queue(member_api, to=people, cc=[f"member@{org.org.slug}.example"])
    assert queued["status"] == "pending"


def test_a_member_may_not_write_to_anyone_else(
    enabled: ApiClient, member_api: ApiClient, org: OrgHandle
) -> None:
    outsiders = {
        "to": [org.admin.email, "victim@bank.example"],
        "bcc": [f"member@{org.org.slug}.example", "Boss <ceo@rival.example>"],
    }
    refused = _queue(member_api, status=403, **outsiders)
    assert refused["error"]["code"] == "forbidden"
    assert set(refused["error"]["details"]) == {"to.1", "bcc.1"}
    assert _emails(enabled) == []


def test_an_admin_may_write_to_anyone(enabled: ApiClient) -> None:
    assert _queue(enabled, to=["victim@bank.example"])["status"] == "pending"


def test_a_member_cancels_only_what_its_user_queued(
    enabled: ApiClient, member_api: ApiClient, org: OrgHandle
) -> None:
    mine = _queue(member_api, to=[org.admin.email], scheduled_for="2099-01-01T09:00:00Z")
    admins = _queue(enabled, to=[org.admin.email], scheduled_for="2099-01-01T09:00:00Z")
    refused = member_api.post(f"{BASE}/emails/{admins['id']}/cancel")
    assert refused.status_code == 403
    assert "email_id" in refused.get_json()["error"]["details"]
    assert enabled.get(f"{BASE}/emails/{admins['id']}").get_json()["status"] == "pending"
    cancelled = member_api.post(f"{BASE}/emails/{mine['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert enabled.post(f"{BASE}/emails/{admins['id']}/cancel").status_code == 200


def test_a_deleted_emails_id_names_nothing_again(
    app: Any, enabled: ApiClient, org: OrgHandle
) -> None:
    _queue(enabled, to=[org.admin.email])
    newest = _queue(enabled, to=[org.admin.email])["id"]
    with app.app_context():  # as deleting the organization's mail history would
        db.session.execute(delete(Email).where(Email.id == newest))
        db.session.commit()
    again = _queue(enabled, to=[org.admin.email])["id"]
    assert again > newest
    assert enabled.get(f"{BASE}/emails/{newest}").status_code == 404
