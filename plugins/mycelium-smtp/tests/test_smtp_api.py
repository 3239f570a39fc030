"""The plugin's routes: templates, the email queue, preferences, and unsubscribing."""

from __future__ import annotations

from typing import Any

import pytest
from rq import Queue
from smtp_helpers import SmtpServer, smtp_config

from hub.testing import ApiClient, OrgHandle

BASE = "/api/integrations/smtp"
GOOD_TEMPLATE = {
    "subject": "Welcome aboard, {{ client_name }}!",
    "html": "<p>Hi {{ contact_name }}, {{ organization_name }} is ready.</p>",
    "text": "Hi {{ contact_name }}, {{ organization_name }} is ready.",
}


@pytest.fixture
def enabled(api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    response = api.put(BASE, json=smtp_config(smtp_server.port))
    assert response.status_code == 200, response.get_json()
    return api


def test_templates_list_types_and_variables(enabled: ApiClient) -> None:
    items = enabled.get(f"{BASE}/templates").get_json()["items"]
    by_type = {item["type"]: item for item in items}
    assert {"user_invitation", "daily_digest", "monthly_report", "client_welcome"} <= set(by_type)
    names = [v["name"] for v in by_type["deliverable_due"]["variables"]]
    assert {"deliverable_title", "client_name", "due_at"} <= set(names)
    assert "organization_name" in by_type["deliverable_due"]["common_variables"]
    assert not any(item["customized"] for item in items)


def test_template_override_preview_and_reset(enabled: ApiClient) -> None:
    url = f"{BASE}/templates/client_welcome"
    default = enabled.get(url).get_json()
    assert default["customized"] is False and "{{ client_name }}" in default["subject"]
    saved = enabled.put(url, json=GOOD_TEMPLATE)
    assert saved.status_code == 200, saved.get_json()
    assert enabled.get(url).get_json()["subject"] == GOOD_TEMPLATE["subject"]
    preview = enabled.post(f"{url}/preview", json={"variables": {"client_name": "<b>Globex</b>"}})
    assert preview.status_code == 200, preview.get_json()
    rendered = preview.get_json()
    assert rendered["subject"] == "Welcome aboard, <b>Globex</b>!"
    assert "Hi Hank Scorpio, Acme Studio is ready." in rendered["html"]  # sample contact name
    reset = enabled.delete(url)
    assert reset.status_code == 200 and reset.get_json()["customized"] is False
    assert enabled.get(url).get_json()["subject"] == default["subject"]


def test_template_with_unknown_variables_is_refused_naming_them(enabled: ApiClient) -> None:
    bad = {**GOOD_TEMPLATE, "html": "<p>{{ password }} {{ api_key }}</p>"}
    response = enabled.put(f"{BASE}/templates/client_welcome", json=bad)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["html"] == [
        "Unknown variable: api_key.",
        "Unknown variable: password.",
    ]
    assert enabled.get(f"{BASE}/templates/client_welcome").get_json()["customized"] is False


def test_template_that_does_not_render_is_refused(enabled: ApiClient) -> None:
    bad = {**GOOD_TEMPLATE, "text": "{{ client_name.__class__.__init__.__globals__ }}"}
    response = enabled.put(f"{BASE}/templates/client_welcome", json=bad)
    assert response.status_code == 400
    assert "not allowed" in str(response.get_json()["error"]["details"])


def test_template_routes_refuse_bad_input(enabled: ApiClient, member_api: ApiClient) -> None:
    unknown = enabled.get(f"{BASE}/templates/no_such_type")  # a URL naming nothing: 404
    assert unknown.status_code == 404
    assert "type_name" in unknown.get_json()["error"]["details"]
    assert enabled.put(f"{BASE}/templates/client_welcome", json={"subject": "x"}).status_code == 400
    assert member_api.put(f"{BASE}/templates/client_welcome", json=GOOD_TEMPLATE).status_code == 403
    preview = enabled.post(f"{BASE}/templates/client_welcome/preview", json={"variables": {"x": 1}})
    assert preview.status_code == 400
    assert "variables.x" in preview.get_json()["error"]["details"]


def test_queue_list_get_and_cancel(enabled: ApiClient) -> None:
    email = {
        "template": "user_invitation",
        "variables": {"inviter_name": "Ada", "invite_url": "https://hub.acme.example/i/1"},
        "to": ["New Person <new@acme.example>"],
        "scheduled_for": "2099-01-01T09:00:00+00:00",
    }
    queued = enabled.post(f"{BASE}/emails", json=email)
    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert body["status"] == "pending" and body["subject"] == "Ada invited you to Acme Studio"
    assert body["scheduled_for"].startswith("2099-01-01T09:00:00")
    listed = enabled.get(f"{BASE}/emails?status=pending").get_json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert enabled.get(f"{BASE}/emails/{body['id']}").get_json()["message_id"] == body["message_id"]
    cancelled = enabled.post(f"{BASE}/emails/{body['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = enabled.post(f"{BASE}/emails/{body['id']}/cancel")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("email", "field"),
    [
        ({"template": "nope", "to": ["a@acme.example"]}, "template"),
        ({"template": "password_reset", "to": []}, "to"),
        ({"template": "password_reset", "to": ["not-an-address"]}, "to.0"),
        ({"template": "password_reset", "to": ["a@acme.example"], "cc": ["x"]}, "cc.0"),
        ({"template": "password_reset", "to": ["a@acme.example"], "priority": "asap"}, "priority"),
        (
            {"template": "password_reset", "to": ["a@acme.example"], "variables": {"y": 1}},
            "variables.y",
        ),
        (
            {"template": "password_reset", "to": ["a@acme.example"], "scheduled_for": "soon"},
            "scheduled_for",
        ),
        ({"template": "password_reset", "to": ["a@acme.example"], "extra": 1}, "extra"),
        (  # past year 9999 once in UTC
            {
                "template": "password_reset",
                "to": ["a@acme.example"],
                "scheduled_for": "9999-12-31T23:59:59-23:59",
            },
            "scheduled_for",
        ),
        ({"template": "password_reset", "to": ["a\x00@acme.example"]}, "to"),
        ({"template": "password_reset", "to": ["\ud800@acme.example"]}, "to"),
        (
            {"template": "password_reset", "to": ["a@acme.example"], "variables": {"k": "\x00"}},
            "variables",
        ),
    ],
)
def test_bad_emails_are_refused_naming_the_field(
    enabled: ApiClient, email: dict[str, Any], field: str
) -> None:
    response = enabled.post(f"{BASE}/emails", json=email)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["details"]
    assert enabled.get(f"{BASE}/emails").get_json()["items"] == []


def test_urgent_email_is_handed_to_a_worker_at_once(
    enabled: ApiClient, app: Any, org: OrgHandle
) -> None:
    email = {
        "template": "password_reset",
        "to": ["a@acme.example"],
        "priority": "urgent",
        "variables": {"reset_url": "https://hub.acme.example/r/1"},
    }
    body = enabled.post(f"{BASE}/emails", json=email).get_json()
    jobs = Queue("hub", connection=app.extensions["hub.redis"]).get_jobs()
    sends = [job for job in jobs if job.func_name == "mycelium_smtp.jobs.send_now"]
    assert [job.args for job in sends] == [(org.id, [body["id"]])]
    normal = enabled.post(f"{BASE}/emails", json={**email, "priority": "normal"}).get_json()
    jobs = Queue("hub", connection=app.extensions["hub.redis"]).get_jobs()
    assert all(
        normal["id"] not in job.args[1] for job in jobs if job.func_name.endswith("send_now")
    )


def test_emails_are_private_to_the_organization(
    enabled: ApiClient, other_api: ApiClient, smtp_server: SmtpServer
) -> None:
    email = {
        "template": "password_reset",
        "to": ["a@acme.example"],
        "variables": {"reset_url": "https://hub.acme.example/r/1"},
    }
    mine = enabled.post(f"{BASE}/emails", json=email).get_json()
    assert other_api.get(f"{BASE}/emails/{mine['id']}").status_code == 404  # not enabled there
    assert other_api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    assert other_api.get(f"{BASE}/emails/{mine['id']}").status_code == 404
    assert other_api.post(f"{BASE}/emails/{mine['id']}/cancel").status_code == 404
    assert other_api.get(f"{BASE}/emails").get_json()["items"] == []
    too_big = enabled.get(f"{BASE}/emails/{2**40}")  # past any id: refused like the core's
    assert too_big.status_code == 400 and "email_id" in too_big.get_json()["error"]["details"]


def test_preferences(
    enabled: ApiClient, member_api: ApiClient, org: OrgHandle, other_org: OrgHandle
) -> None:
    mine = member_api.get(f"{BASE}/preferences").get_json()
    assert mine == {
        "user_id": mine["user_id"],
        "daily_digest": False,
        "weekly_digest": False,
        "monthly_report": False,
        "notifications": True,
    }
    changed = member_api.put(f"{BASE}/preferences", json={"daily_digest": True})
    assert changed.status_code == 200 and changed.get_json()["daily_digest"] is True
    admin_view = enabled.get(f"{BASE}/preferences/{mine['user_id']}").get_json()
    assert admin_view["daily_digest"] is True
    assert enabled.get(f"{BASE}/preferences").get_json()["monthly_report"] is True  # admin
    other = f"{BASE}/preferences/{org.admin.id}"
    assert member_api.put(other, json={"daily_digest": True}).status_code == 403
    assert enabled.put(other, json={"daily_digest": "yes please"}).status_code == 400
    assert enabled.get(f"{BASE}/preferences/{other_org.admin.id}").status_code == 404
