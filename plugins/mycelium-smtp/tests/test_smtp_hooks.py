"""Each hook as in production: a change through the API, the hub's real worker calls the
hook, and the email it queues reaches the SMTP server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from mycelium_smtp import jobs
from smtp_helpers import SmtpServer, smtp_config

import hub
from hub.testing import ApiClient, FrozenClock, OrgHandle, run_jobs

BASE = "/api/integrations/smtp"


@pytest.fixture
def enabled(app: Any, api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    response = api.put(BASE, json=smtp_config(smtp_server.port))
    assert response.status_code == 200, response.get_json()
    run_jobs(app)  # integration.enabled: the welcome email
    smtp_server.mailbox.received.clear()
    return api


def deadline_event(app: Any, api: ApiClient, org: OrgHandle, type_: str, made: dict) -> None:
    """What the hub's deadline scan records when a deliverable is due soon or overdue: the
    event with the deliverable as the API renders it (the core's tests cover the scan)."""
    resource = api.get(f"/api/deliverables/{made['id']}").get_json()
    with app.app_context():
        ctx = hub.context_for("smtp", org.id)
        assert ctx is not None
        ctx.emit(type_, resource)
        ctx.db.commit()


def minute(app: Any) -> None:
    """The plugin's queue job for this minute, then the delivery jobs it fans out."""
    with app.app_context():
        jobs.process_queue()
    run_jobs(app)


def deliverable(api: ApiClient, client: str = "Globex", **fields: Any) -> dict[str, Any]:
    made = api.post("/api/clients", json={"name": client})
    assert made.status_code == 201, made.get_json()
    body = {"client_id": made.get_json()["id"], "title": "Logo", **fields}
    response = api.post("/api/deliverables", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def emails(api: ApiClient, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    return api.get(f"{BASE}/emails?{query}").get_json()["items"]


def test_hook_register_providers(api: ApiClient) -> None:
    listed = api.get("/api/plugins").get_json()
    plugins = listed["items"] if isinstance(listed, dict) else listed
    [smtp] = [p for p in plugins if p["name"] == "smtp"]
    assert smtp["distribution"] == "mycelium-smtp"
    assert "email.failed" in api.get("/api/events/types").get_data(as_text=True)


def test_hook_register_routes(app: Any) -> None:
    rules = {r.rule for r in app.url_map.iter_rules()}
    for path in ("templates", "emails", "preferences", "unsubscribe/<token>"):
        assert f"{BASE}/{path}" in rules


def test_hook_register_models(app: Any) -> None:
    from sqlalchemy import inspect

    with app.app_context():
        from hub import db_session

        tables = set(inspect(db_session().get_bind()).get_table_names())
    assert {"smtp_emails", "smtp_templates", "smtp_preferences", "smtp_suppressions"} <= tables


def test_hook_register_jobs(app: Any) -> None:
    registered = {
        (j.name, j.cron) for j in app.extensions["hub.plugins"].jobs() if j.plugin == "smtp"
    }
    assert registered == {("queue", "* * * * *"), ("digests", "0 * * * *")}


def test_hook_on_integration_enabled(
    app: Any, api: ApiClient, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    assert api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    run_jobs(app)  # the event's run, then the urgent send it queued
    [welcome] = smtp_server.mailbox.received
    assert welcome.rcpt_tos == [org.admin.email]
    assert welcome.message["Subject"] == "[Acme Studio] Email is set up"
    assert "studio@acme.example" in welcome.message.get_body(("plain",)).get_content()
    run_jobs(app)
    assert len(smtp_server.mailbox.received) == 1  # once


def test_hook_on_deliverable_due(
    app: Any, enabled: ApiClient, org: OrgHandle, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    hub_clock.set(hub_clock.now().replace(month=1, day=15, hour=12, minute=0))  # GMT in London
    due = hub_clock.now() + timedelta(hours=30)
    member = f"member@{org.org.slug}.example"
    users = enabled.get("/api/users").get_json()["items"]
    [member_id] = [u["id"] for u in users if u["email"] == member]
    made = deliverable(
        enabled, "<script>{{7*7}}</script>", assignee_id=member_id, due_at=due.isoformat()
    )
    hub_clock.advance(hours=7)
    deadline_event(app, enabled, org, "deliverable.due_soon", made)
    run_jobs(app)
    [queued] = emails(enabled, template="deliverable_due")
    assert queued["to"] == [member] and queued["status"] == "pending"
    minute(app)
    [received] = smtp_server.mailbox.received
    message = received.message
    assert received.rcpt_tos == [member]
    assert message["Subject"] == "Due soon: Logo (<script>{{7*7}}</script>)"
    html = message.get_body(("html",)).get_content()
    assert "&lt;script&gt;{{7*7}}&lt;/script&gt;" in html and "<script>" not in html
    assert f"{due.day} Jan {due.year}, 18:00 GMT" in message.get_body(("plain",)).get_content()


def test_hook_on_deliverable_overdue(
    app: Any, enabled: ApiClient, org: OrgHandle, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    due = hub_clock.now() + timedelta(minutes=30)
    made = deliverable(enabled, assignee_id=org.admin.id, due_at=due.isoformat())
    hub_clock.advance(minutes=31)
    deadline_event(app, enabled, org, "deliverable.overdue", made)
    run_jobs(app)  # overdue is high priority: sent at once, no minute wait
    [received] = smtp_server.mailbox.received
    assert received.rcpt_tos == [org.admin.email]
    assert received.message["Subject"] == "Overdue: Logo (Globex)"


def test_hook_on_deliverable_overdue_without_assignee_sends_nothing(
    app: Any, enabled: ApiClient, org: OrgHandle, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    made = deliverable(enabled, due_at=(hub_clock.now() + timedelta(minutes=1)).isoformat())
    hub_clock.advance(minutes=2)
    deadline_event(app, enabled, org, "deliverable.overdue", made)
    run_jobs(app)
    minute(app)
    assert emails(enabled, template="deliverable_overdue") == []
    assert smtp_server.mailbox.received == []


def test_hook_on_deliverable_completed(
    app: Any, enabled: ApiClient, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    made = deliverable(enabled, title="Brand book")
    assert enabled.post(f"/api/deliverables/{made['id']}/complete").status_code == 200
    run_jobs(app)
    minute(app)
    [received] = smtp_server.mailbox.received  # the org's one admin
    assert received.rcpt_tos == [org.admin.email]
    assert received.message["Subject"] == "Completed: Brand book (Globex)"


def test_hook_on_client_created(
    app: Any, api: ApiClient, smtp_server: SmtpServer, enabled: ApiClient
) -> None:
    welcome = {
        "name": "{{7*7}} <b>Globex</b>",
        "contact_person": "Hank",
        "contact_email": "hank@globex.example",
    }
    assert api.post("/api/clients", json=welcome).status_code == 201
    run_jobs(app)
    minute(app)
    assert smtp_server.mailbox.received == []  # off by default
    config = smtp_config(smtp_server.port, send_client_welcome=True)
    assert api.put(BASE, json=config).status_code == 200
    assert api.post("/api/clients", json={**welcome, "name": "Initech"}).status_code == 201
    run_jobs(app)
    minute(app)
    [received] = smtp_server.mailbox.received
    assert received.rcpt_tos == ["hank@globex.example"]
    assert received.message["Subject"] == "Welcome to Acme Studio, Initech"
    assert "Hello Hank" in received.message.get_body(("plain",)).get_content()


def test_hook_on_event(
    app: Any, enabled: ApiClient, org: OrgHandle, smtp_server: SmtpServer, plugin_context: Any
) -> None:
    """Admin alerts: another integration needs reconnecting, so every admin is told."""
    ctx = plugin_context("smtp")
    ctx.emit("integration.needs_reauth", {"plugin": "slack", "last_error": "token revoked"})
    ctx.db.commit()
    ctx.db.close()
    run_jobs(app)
    [received] = smtp_server.mailbox.received
    assert received.rcpt_tos == [org.admin.email]
    assert received.message["Subject"] == "[Acme Studio] slack needs reconnecting"
    assert "token revoked" in received.message.get_body(("plain",)).get_content()
    ctx = plugin_context("smtp")
    disabled = {"endpoint": {"id": 3, "url": "https://example.com/hook"}, "reason": "410 Gone"}
    ctx.emit("webhook.endpoint_disabled", disabled)
    ctx.emit("client.updated", {"id": 1, "name": "Globex"})  # not an alert: nothing
    ctx.db.commit()
    ctx.db.close()
    run_jobs(app)
    assert len(smtp_server.mailbox.received) == 2
    alert = smtp_server.mailbox.received[1].message
    assert alert["Subject"] == "[Acme Studio] A webhook endpoint was disabled"
    assert "https://example.com/hook: 410 Gone" in alert.get_body(("plain",)).get_content()


def test_failed_email_alerts_admins_without_a_loop(
    app: Any, enabled: ApiClient, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    """A failed email emits email.failed; the admins' alert about it failing too ends there."""
    smtp_server.mailbox.data_replies = ["554 5.7.1 Rejected"] * 2
    body = {
        "template": "password_reset",
        "to": ["x@client.example"],
        "priority": "urgent",
        "variables": {"reset_url": "https://hub.acme.example/r/1"},
    }
    assert enabled.post(f"{BASE}/emails", json=body).status_code == 202
    run_jobs(app)  # send fails -> email.failed -> alert to the admin -> fails -> no event
    statuses = sorted((e["subject"], e["status"]) for e in emails(enabled))
    assert statuses == [
        ("Reset your Acme Studio password", "failed"),
        ("[Acme Studio] An email could not be delivered", "failed"),
        ("[Acme Studio] Email is set up", "sent"),  # the welcome, before the server broke
    ]
    events = enabled.get("/api/events?type=email.failed").get_json()["items"]
    assert len(events) == 1
    assert smtp_server.mailbox.received == []


def test_hooks_run_twice_queue_once(
    app: Any, enabled: ApiClient, org: OrgHandle, plugin_context: Any
) -> None:
    """A run may execute twice: the event id keeps the email single."""
    import mycelium_smtp

    from hub import EventInfo, now

    ctx = plugin_context("smtp")
    event = EventInfo("evt_twice", "deliverable.overdue", org.id, now(), {})
    resource = {
        "id": 1,
        "title": "Logo",
        "client_name": "Globex",
        "assignee": {"id": org.admin.id, "name": "Ada", "email": org.admin.email},
    }
    for _ in range(2):
        mycelium_smtp.on_deliverable_overdue(ctx=ctx, event=event, deliverable=resource)
        ctx.db.commit()
    ctx.db.close()
    assert len(emails(enabled, template="deliverable_overdue")) == 1
