"""Email through SendGrid, Mailgun and Postmark: each transport end to end over real HTTP
against the loopback emulator of their APIs (``mycelium_smtp.emulator``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from mycelium_smtp import checks, jobs
from mycelium_smtp.emulator import MailApiEmulator

from hub import NeedsReauth, context_for
from hub.testing import ApiClient, FrozenClock, OrgHandle, make_org

BASE = "/api/integrations/smtp"
KEYS = {
    "sendgrid": {"api_key": "SG.emulator-key"},
    "mailgun": {"api_key": "key-emulator", "mailgun_domain": "mg.acme.example"},
    "postmark": {"api_key": "postmark-emulator-token"},
}
PROVIDERS = tuple(KEYS)


@pytest.fixture
def mail_api() -> Any:
    emulator = MailApiEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], mail_api: MailApiEmulator) -> dict[str, Any]:
    return {**hub_config, **mail_api.settings()}


def config(transport: str, **changes: Any) -> dict[str, Any]:
    return {
        "transport": transport,
        **KEYS[transport],
        "from_address": "studio@acme.example",
        "from_name": "Acme Studio",
        "reply_to": "hello@acme.example",
        "rate_limit_per_minute": 1000,
        **changes,
    }


def enable(api: ApiClient, transport: str) -> None:
    response = api.put(BASE, json=config(transport))
    assert response.status_code == 200, response.get_json()


def queue(api: ApiClient, to: str = "zoe@client.example") -> dict[str, Any]:
    body = {"template": "deliverable_due", "to": [to], "variables": {"deliverable_title": "Logo"}}
    response = api.post(f"{BASE}/emails", json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def deliver(app: Any, org: OrgHandle) -> None:
    with app.app_context():  # as the queue's job runs in a worker
        jobs.deliver_org(org.id)


def email(api: ApiClient, row: dict[str, Any]) -> dict[str, Any]:
    return api.get(f"{BASE}/emails/{row['id']}").get_json()


def parts(sent: Any) -> tuple[str, str, str, dict[str, str]]:
    """(subject, text, html, headers) of what a provider received, whatever its format."""
    if sent.provider == "mailgun":
        message = sent.message()
        headers = {k: str(v) for k, v in message.items()}
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        return str(message["Subject"]), text, html, headers
    if sent.provider == "sendgrid":
        body = sent.payload
        content = {c["type"]: c["value"] for c in body["content"]}
        return body["subject"], content["text/plain"], content["text/html"], body["headers"]
    body = sent.payload
    headers = {h["Name"]: h["Value"] for h in body["Headers"]}
    return body["Subject"], body["TextBody"], body["HtmlBody"], headers


@pytest.mark.parametrize("transport", PROVIDERS)
def test_a_queued_email_arrives_through_the_provider(
    transport: str,
    api: ApiClient,
    app: Any,
    org: OrgHandle,
    mail_api: MailApiEmulator,
    hub_clock: FrozenClock,
) -> None:
    enable(api, transport)
    assert mail_api.requests  # saving checked the key against the provider
    row = queue(api)
    deliver(app, org)
    assert email(api, row)["status"] == "sent"
    [sent] = mail_api.messages
    assert sent.provider == transport and sent.recipients == ["zoe@client.example"]
    subject, text, html, headers = parts(sent)
    assert subject == row["subject"] and "Logo" in text and "Logo" in html
    assert headers["Message-ID"] == row["message_id"]
    assert headers["List-Unsubscribe"].startswith("<https://hub.acme.example/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    usage = api.get("/api/integrations/analytics?period=daily").get_json()
    smtp = next(i for i in usage["integrations"] if i["plugin"] == "smtp")
    assert smtp["breakdown"]["by_feature"]["email.send"] == 1


@pytest.mark.parametrize("transport", PROVIDERS)
def test_a_refused_key_is_a_400_on_api_key(
    transport: str, api: ApiClient, mail_api: MailApiEmulator
) -> None:
    response = api.put(BASE, json=config(transport, api_key="wrong-key"))
    assert response.status_code == 400
    assert "api_key" in response.get_json()["error"]["details"]
    # nothing was enabled with the bad key
    assert api.get(f"{BASE}/emails").status_code == 404


def test_a_mailgun_domain_the_key_does_not_own_is_named(api: ApiClient) -> None:
    response = api.put(BASE, json=config("mailgun", mailgun_domain="other.example"))
    assert response.status_code == 400
    assert "mailgun_domain" in response.get_json()["error"]["details"]


@pytest.mark.parametrize("transport", PROVIDERS)
def test_a_429_waits_for_retry_after_without_counting_an_attempt(
    transport: str,
    api: ApiClient,
    app: Any,
    org: OrgHandle,
    mail_api: MailApiEmulator,
    hub_clock: FrozenClock,
) -> None:
    enable(api, transport)
    first, second = queue(api), queue(api, "max@client.example")
    mail_api.faults.append((429, {"Retry-After": "300"}))
    deliver(app, org)
    waiting = email(api, first)
    assert waiting["status"] == "pending" and waiting["retries"] == 0
    due = datetime.fromisoformat(waiting["next_attempt_at"])
    assert (due - hub_clock.now()).total_seconds() >= 299
    assert email(api, second)["status"] == "pending"  # the run stopped asking
    assert mail_api.messages == []
    hub_clock.advance(seconds=301)
    deliver(app, org)
    assert email(api, first)["status"] == "sent" and email(api, second)["status"] == "sent"


def test_a_5xx_is_retried_on_the_queue_schedule(
    api: ApiClient, app: Any, org: OrgHandle, mail_api: MailApiEmulator, hub_clock: FrozenClock
) -> None:
    enable(api, "sendgrid")
    row = queue(api)
    mail_api.faults.append((503, {"Retry-After": "600"}))  # longer than the 2-minute step
    deliver(app, org)
    retrying = email(api, row)
    assert retrying["status"] == "pending" and retrying["retries"] == 1
    assert "503" in retrying["error"]
    due = datetime.fromisoformat(retrying["next_attempt_at"])
    assert (due - hub_clock.now()).total_seconds() >= 599
    hub_clock.advance(seconds=601)
    deliver(app, org)
    assert email(api, row)["status"] == "sent"


@pytest.mark.parametrize("transport", PROVIDERS)
def test_a_rejected_recipient_fails_that_email_alone(
    transport: str,
    api: ApiClient,
    app: Any,
    org: OrgHandle,
    mail_api: MailApiEmulator,
    hub_clock: FrozenClock,
) -> None:
    enable(api, transport)
    mail_api.rejected.add("bad@client.example")
    bad, good = queue(api, "bad@client.example"), queue(api, "good@client.example")
    deliver(app, org)
    failed = email(api, bad)
    assert failed["status"] == "failed" and ("400" in failed["error"] or "422" in failed["error"])
    assert email(api, good)["status"] == "sent"
    assert [m.recipients for m in mail_api.messages] == [["good@client.example"]]
    sends = [r for r in mail_api.requests if r[0] == "POST"]
    if transport == "postmark":  # the provider with a batch call: one call for both
        assert sends == [("POST", "/email/batch")]
    else:
        assert len(sends) == 2


NEW_KEYS = {
    "sendgrid": {"api_key": "SG.second-key"},
    "mailgun": {"api_key": "key-second", "mailgun_domain": "mg.acme.example"},
    "postmark": {"api_key": "postmark-second-token"},
}


def revoke_keys(mail_api: MailApiEmulator) -> None:
    for keys in (mail_api.sendgrid_keys, mail_api.mailgun_keys, mail_api.postmark_tokens):
        keys.clear()


@pytest.mark.parametrize("transport", PROVIDERS)
def test_a_key_revoked_later_marks_needs_reauth_and_the_emails_wait_for_a_new_one(
    transport: str,
    api: ApiClient,
    app: Any,
    org: OrgHandle,
    mail_api: MailApiEmulator,
    hub_clock: FrozenClock,
) -> None:
    """A 401/403 while sending: the integration becomes needs_reauth at once (one
    integration.needs_reauth event, as a hook raising NeedsReauth makes it), the emails wait
    without counting an attempt, and they go once the admin saves a working key."""
    enable(api, transport)
    rows = [queue(api, f"p{n}@client.example") for n in range(3)]
    revoke_keys(mail_api)
    deliver(app, org)
    waiting = [email(api, row) for row in rows]
    assert {w["status"] for w in waiting} == {"pending"}
    assert [w["retries"] for w in waiting] == [0, 0, 0]
    assert "refused the API key" in waiting[0]["error"]
    sends = [r for r in mail_api.requests if r[0] == "POST"]
    assert len(sends) == 1  # the run stopped at the first refusal (Postmark: one batch call)
    integration = api.get(BASE).get_json()
    assert integration["status"] == "needs_reauth" and integration["enabled"] is True
    events = api.get("/api/events?type=integration.needs_reauth").get_json()["items"]
    assert len(events) == 1 and "refused the API key" in events[0]["data"]["reason"]

    later = queue(api, "late@client.example")  # queued meanwhile: waits as well
    deliver(app, org)
    assert len([r for r in mail_api.requests if r[0] == "POST"]) == 1  # nothing tried
    assert email(api, later)["status"] == "pending"
    assert len(api.get("/api/events?type=integration.needs_reauth").get_json()["items"]) == 1

    # the admin saves a working key (checked with the provider): enabled, and mail goes
    mail_api.sendgrid_keys.add("SG.second-key")
    mail_api.mailgun_keys.add("key-second")
    mail_api.postmark_tokens.add("postmark-second-token")
    saved = api.put(BASE, json=config(transport, **NEW_KEYS[transport]))
    assert saved.status_code == 200, saved.get_json()
    assert api.get(BASE).get_json()["status"] == "enabled"
    deliver(app, org)
    done = [email(api, row) for row in [*rows, later]]
    assert [d["status"] for d in done] == ["sent"] * 4 and [d["retries"] for d in done] == [0] * 4
    assert sorted(r for m in mail_api.messages for r in m.recipients) == sorted(
        [f"p{n}@client.example" for n in range(3)] + ["late@client.example"]
    )


@pytest.mark.parametrize("transport", PROVIDERS)
def test_a_patched_key_enables_an_integration_whose_key_was_refused(
    transport: str, api: ApiClient, app: Any, org: OrgHandle, mail_api: MailApiEmulator
) -> None:
    enable(api, transport)
    row = queue(api)
    revoke_keys(mail_api)
    deliver(app, org)
    assert api.get(BASE).get_json()["status"] == "needs_reauth"
    with app.app_context():  # the queue's jobs send nothing for it meanwhile
        assert context_for("smtp", org.id) is None
    mail_api.sendgrid_keys.add("SG.second-key")
    mail_api.mailgun_keys.add("key-second")
    mail_api.postmark_tokens.add("postmark-second-token")
    wrong = api.patch(BASE, json={"api_key": "still-wrong"})
    assert wrong.status_code == 400 and api.get(BASE).get_json()["status"] == "needs_reauth"
    patched = api.patch(BASE, json={"api_key": NEW_KEYS[transport]["api_key"]})
    assert patched.status_code == 200, patched.get_json()
    assert api.get(BASE).get_json()["status"] == "enabled"
    with app.app_context():
        ctx = context_for("smtp", org.id)
        assert ctx is not None
        assert checks.health(ctx).ok
    deliver(app, org)
    assert email(api, row)["status"] == "sent"


def test_the_health_check_asks_for_a_new_key(
    api: ApiClient, app: Any, org: OrgHandle, mail_api: MailApiEmulator
) -> None:
    enable(api, "sendgrid")
    revoke_keys(mail_api)
    with app.app_context():
        ctx = context_for("smtp", org.id)
        assert ctx is not None
        with pytest.raises(NeedsReauth, match="refused the API key"):
            checks.health(ctx)


def test_the_operator_default_provider_and_key(
    make_app: Any, app: Any, mail_api: MailApiEmulator
) -> None:
    """DEFAULT_SMTP_PROVIDER and SENDGRID_API_KEY: an org gives only its sender."""
    app = make_app(DEFAULT_SMTP_PROVIDER="sendgrid", SENDGRID_API_KEY="SG.emulator-key")
    handle = make_org(app, "Operator Default")
    api = ApiClient(app.test_client(), handle.admin_key)
    response = api.put(BASE, json={"from_address": "studio@acme.example"})
    assert response.status_code == 200, response.get_json()
    row = queue(api)
    deliver(app, handle)
    assert email(api, row)["status"] == "sent"
    assert [m.provider for m in mail_api.messages] == ["sendgrid"]


def test_the_test_email_goes_through_the_provider(
    api: ApiClient, mail_api: MailApiEmulator
) -> None:
    enable(api, "postmark")
    response = api.post(f"{BASE}/test")
    assert response.status_code == 200, response.get_json()
    [sent] = mail_api.messages
    assert sent.provider == "postmark" and sent.recipients == [
        api.get("/api/me").get_json()["user"]["email"]
    ]
