"""Delivery events back from the providers' webhooks, over the hub's real routes: verified
before anything is read (tampered, stale, replayed or unauthenticated requests are 401 and
change nothing), recorded on the email row, announced as the hub's events, and a hard
bounce or a complaint suppresses the address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mycelium_smtp import jobs
from mycelium_smtp.emulator import MailApiEmulator
from test_smtp_providers import KEYS
from test_smtp_queue import events

from hub import context_for
from hub.testing import ApiClient, FrozenClock, OrgHandle

BASE = "/api/integrations/smtp"
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
VERIFICATION_KEY = base64.b64encode(
    SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
MAILGUN_SIGNING_KEY = "mailgun-webhook-signing-key"
POSTMARK_PASSWORD = "postmark-webhook-password"
WEBHOOK_KEYS = {
    "sendgrid": VERIFICATION_KEY,
    "mailgun": MAILGUN_SIGNING_KEY,
    "postmark": POSTMARK_PASSWORD,
}


@pytest.fixture
def mail_api() -> Any:
    emulator = MailApiEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], mail_api: MailApiEmulator) -> dict[str, Any]:
    return {**hub_config, **mail_api.settings()}


def sent_email(api: ApiClient, app: Any, org: OrgHandle, transport: str, to: str) -> dict[str, Any]:
    """Email on through `transport`, one email queued and sent; the row."""
    config = {
        "transport": transport,
        **KEYS[transport],
        "webhook_key": WEBHOOK_KEYS[transport],
        "from_address": "studio@acme.example",
        "rate_limit_per_minute": 1000,
    }
    assert api.put(BASE, json=config).status_code == 200
    body = {"template": "deliverable_due", "to": [to], "variables": {"deliverable_title": "Logo"}}
    row = api.post(f"{BASE}/emails", json=body).get_json()
    with app.app_context():
        jobs.deliver_org(org.id)
    return dict(api.get(f"{BASE}/emails/{row['id']}").get_json())


def org_events(app: Any, org: OrgHandle, type_: str) -> list[dict[str, Any]]:
    with app.app_context():
        ctx = context_for("smtp", org.id)
        return events(ctx, type_)


def sendgrid_post(
    client: Any, org: OrgHandle, body: bytes, timestamp: int, sign: bytes | None = None
) -> Any:
    signature = SIGNING_KEY.sign(
        str(timestamp).encode() + (sign if sign is not None else body), ec.ECDSA(hashes.SHA256())
    )
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
        "Content-Type": "application/json",
    }
    return client.post(f"{BASE}/events/sendgrid/{org.id}", data=body, headers=headers)


def test_sendgrid_events_are_recorded_and_a_hard_bounce_suppresses(
    api: ApiClient, client: Any, app: Any, org: OrgHandle, hub_clock: FrozenClock
) -> None:
    row = sent_email(api, app, org, "sendgrid", "zoe@client.example")
    at = int(hub_clock.now().timestamp())
    common = {"email": "zoe@client.example", "timestamp": at, "hub_email_id": str(row["id"])}
    batch = [
        {**common, "event": "delivered", "response": "250 OK"},
        {**common, "event": "open"},
        {**common, "event": "bounce", "type": "bounce", "reason": "550 5.1.1 User unknown"},
        {**common, "event": "processed"},  # not a delivery report: ignored
    ]
    body = json.dumps(batch).encode()

    stale = sendgrid_post(client, org, body, at - 301)
    assert stale.status_code == 401
    tampered = sendgrid_post(client, org, body.replace(b"bounce", b"blocks"), at, sign=body)
    assert tampered.status_code == 401
    unsigned = client.post(f"{BASE}/events/sendgrid/{org.id}", data=body)
    assert unsigned.status_code == 401
    assert api.get(f"{BASE}/emails/{row['id']}").get_json()["delivery_events"] == []

    ok = sendgrid_post(client, org, body, at)
    assert ok.status_code == 200 and ok.get_json() == {"received": 3, "recorded": 3}
    again = sendgrid_post(client, org, body, at)  # SendGrid retries: the same reports once
    assert again.get_json()["recorded"] == 0
    after = api.get(f"{BASE}/emails/{row['id']}").get_json()
    assert after["delivery"] == "bounced"
    assert [e["type"] for e in after["delivery_events"]] == ["delivered", "opened", "bounced"]
    assert after["delivery_events"][2]["bounce"] == "hard"
    assert [e["bounce"] for e in org_events(app, org, "email.bounced")] == ["hard"]
    assert len(org_events(app, org, "email.delivered")) == 1
    assert len(org_events(app, org, "email.opened")) == 1

    [listed] = api.get(f"{BASE}/suppressions").get_json()["items"]
    assert listed["address"] == "zoe@client.example" and listed["reason"] == "hard_bounce"
    body = {"template": "deliverable_due", "to": ["zoe@client.example"], "variables": {}}
    assert api.post(f"{BASE}/emails", json=body).get_json()["status"] == "suppressed"


def test_a_soft_bounce_does_not_suppress(
    api: ApiClient, client: Any, app: Any, org: OrgHandle, hub_clock: FrozenClock
) -> None:
    row = sent_email(api, app, org, "sendgrid", "zoe@client.example")
    at = int(hub_clock.now().timestamp())
    event = {
        "email": "zoe@client.example",
        "timestamp": at,
        "hub_email_id": str(row["id"]),
        "event": "bounce",
        "type": "blocked",
        "reason": "421 try later",
    }
    assert sendgrid_post(client, org, json.dumps([event]).encode(), at).status_code == 200
    assert org_events(app, org, "email.bounced")[0]["bounce"] == "soft"
    assert api.get(f"{BASE}/suppressions").get_json()["items"] == []


def mailgun_body(
    event: dict[str, Any], timestamp: int, key: str = MAILGUN_SIGNING_KEY
) -> dict[str, Any]:
    token = secrets.token_hex(25)
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": str(timestamp), "token": token, "signature": digest},
        "event-data": event,
    }


def test_mailgun_events_verified_once_each(
    api: ApiClient, client: Any, app: Any, org: OrgHandle, hub_clock: FrozenClock
) -> None:
    row = sent_email(api, app, org, "mailgun", "max@client.example")
    at = int(hub_clock.now().timestamp())
    url = f"{BASE}/events/mailgun/{org.id}"
    complained = {
        "event": "complained",
        "recipient": "max@client.example",
        "timestamp": at,
        "user-variables": {"hub_email_id": str(row["id"])},
    }
    assert client.post(url, json=mailgun_body(complained, at, key="wrong")).status_code == 401
    assert client.post(url, json=mailgun_body(complained, at - 600)).status_code == 401
    assert client.post(url, json={"event-data": complained}).status_code == 401
    signed = mailgun_body(complained, at)
    tampered = {**signed, "signature": {**signed["signature"], "timestamp": str(at + 1)}}
    assert client.post(url, json=tampered).status_code == 401
    assert api.get(f"{BASE}/suppressions").get_json()["items"] == []

    assert client.post(url, json=signed).status_code == 200
    assert client.post(url, json=signed).status_code == 401  # a replayed token
    after = api.get(f"{BASE}/emails/{row['id']}").get_json()
    assert after["delivery"] == "complained"
    [listed] = api.get(f"{BASE}/suppressions").get_json()["items"]
    assert listed["reason"] == "complaint"
    failed = {
        "event": "failed",
        "severity": "permanent",
        "recipient": "max@client.example",
        "timestamp": at,
        "delivery-status": {"code": 550, "message": "No such mailbox"},
        "user-variables": {"hub_email_id": str(row["id"])},
    }
    assert client.post(url, json=mailgun_body(failed, at)).status_code == 200
    assert org_events(app, org, "email.bounced")[0]["bounce"] == "hard"
    assert len(org_events(app, org, "email.complained")) == 1


def test_postmark_webhooks_need_their_credentials(
    api: ApiClient, client: Any, app: Any, org: OrgHandle, hub_clock: FrozenClock
) -> None:
    row = sent_email(api, app, org, "postmark", "ann@client.example")
    url = f"{BASE}/events/postmark/{org.id}"
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "Email": "ann@client.example",
        "Description": "The server was unable to deliver your message",
        "Metadata": {"hub_email_id": str(row["id"])},
        "MessageStream": "outbound",
    }

    def auth(user: str, password: str) -> dict[str, str]:
        return {
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        }

    assert client.post(url, json=bounce).status_code == 401
    assert client.post(url, json=bounce, headers=auth("hub", "wrong")).status_code == 401
    assert (
        client.post(url, json=bounce, headers=auth("other", POSTMARK_PASSWORD)).status_code == 401
    )
    assert api.get(f"{BASE}/suppressions").get_json()["items"] == []
    ok = client.post(url, json=bounce, headers=auth("hub", POSTMARK_PASSWORD))
    assert ok.status_code == 200, ok.get_json()
    after = api.get(f"{BASE}/emails/{row['id']}").get_json()
    assert after["delivery"] == "bounced" and after["delivery_events"][0]["bounce"] == "hard"
    assert api.get(f"{BASE}/suppressions").get_json()["items"][0]["reason"] == "hard_bounce"
    delivered = {
        "RecordType": "Delivery",
        "Recipient": "other@client.example",
        "Metadata": {"hub_email_id": str(row["id"])},
    }
    assert (
        client.post(url, json=delivered, headers=auth("hub", POSTMARK_PASSWORD)).status_code == 200
    )
    assert len(org_events(app, org, "email.delivered")) == 1


def test_an_org_not_using_the_provider_is_not_found(
    api: ApiClient, client: Any, app: Any, org: OrgHandle
) -> None:
    sent_email(api, app, org, "postmark", "ann@client.example")
    response = client.post(f"{BASE}/events/sendgrid/{org.id}", data=b"[]")
    assert response.status_code == 404
    assert client.post(f"{BASE}/events/postmark/999999", json={}).status_code == 404


def postmark_auth() -> dict[str, str]:
    token = base64.b64encode(f"hub:{POSTMARK_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def suppressed(api: ApiClient) -> dict[str, str]:
    return {i["address"]: i["reason"] for i in api.get(f"{BASE}/suppressions").get_json()["items"]}


@pytest.mark.parametrize(
    ("fields", "reason", "kind"),
    [
        ({"Type": "HardBounce", "TypeCode": 1, "Inactive": True}, "hard_bounce", "bounced"),
        ({"Type": "ManuallyDeactivated", "TypeCode": 100002}, "hard_bounce", "bounced"),
        ({"Type": "BadEmailAddress"}, "hard_bounce", "bounced"),
        ({"TypeCode": 100000}, "hard_bounce", "bounced"),  # the code alone
        # a type Postmark may still deactivate on: Inactive says it did
        ({"Type": "SoftBounce", "TypeCode": 4096, "Inactive": True}, "hard_bounce", "bounced"),
        (
            {"Type": "SpamComplaint", "TypeCode": 100001, "Inactive": True},
            "complaint",
            "complained",
        ),
        ({"Type": "Transient", "TypeCode": 2, "Inactive": False}, None, "bounced"),
        ({"Type": "SoftBounce", "Inactive": "true"}, None, "bounced"),  # not a JSON true
    ],
)
def test_a_postmark_bounce_that_deactivates_the_address_suppresses_it(
    fields: dict[str, Any],
    reason: str | None,
    kind: str,
    api: ApiClient,
    client: Any,
    app: Any,
    org: OrgHandle,
    hub_clock: FrozenClock,
) -> None:
    row = sent_email(api, app, org, "postmark", "ann@client.example")
    bounce = {
        "RecordType": "Bounce",
        "Email": "ann@client.example",
        "Description": "Postmark's description",
        "Metadata": {"hub_email_id": str(row["id"])},
        **fields,
    }
    answer = client.post(f"{BASE}/events/postmark/{org.id}", json=bounce, headers=postmark_auth())
    assert answer.status_code == 200, answer.get_json()
    assert suppressed(api) == ({"ann@client.example": reason} if reason else {})
    after = api.get(f"{BASE}/emails/{row['id']}").get_json()
    assert after["delivery"] == kind
    [event] = org_events(app, org, f"email.{kind}")
    if kind == "bounced":
        assert event["bounce"] == ("hard" if reason else "soft")
    # a later email to a suppressed address is not sent to it
    later = {"template": "deliverable_due", "to": ["ann@client.example"], "variables": {}}
    status = api.post(f"{BASE}/emails", json=later).get_json()["status"]
    assert status == ("suppressed" if reason else "pending")


def test_a_postmark_subscription_change_suppresses_the_address(
    api: ApiClient, client: Any, app: Any, org: OrgHandle, hub_clock: FrozenClock
) -> None:
    row = sent_email(api, app, org, "postmark", "ann@client.example")
    url = f"{BASE}/events/postmark/{org.id}"

    def change(recipient: str, why: str, suppress: Any = True) -> int:
        record = {
            "RecordType": "SubscriptionChange",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "ServerID": 23,
            "MessageStream": "outbound",
            "ChangedAt": "2026-12-05T16:33:54.9070259Z",
            "Recipient": recipient,
            "Origin": "Customer",
            "SuppressSending": suppress,
            "SuppressionReason": why,
            "Metadata": {"hub_email_id": str(row["id"])},
        }
        answer = client.post(url, json=record, headers=postmark_auth())
        assert answer.status_code == 200, answer.get_json()
        return int(answer.get_json()["recorded"])

    assert change("ann@client.example", "ManualSuppression") == 1
    assert change("bob@client.example", "HardBounce") == 1
    assert change("cy@client.example", "SpamComplaint") == 1
    assert change("dee@client.example", "HardBounce", suppress=False) == 0  # a reactivation
    assert change("eve@client.example", "HardBounce", suppress="true") == 0
    assert change("fay@client.example", "Unsubscribe") == 0  # no reason this hub knows
    assert suppressed(api) == {
        "ann@client.example": "refused",
        "bob@client.example": "hard_bounce",
        "cy@client.example": "complaint",
    }
    # a suppression only: the bounce or complaint that caused it has its own event
    assert org_events(app, org, "email.bounced") == []
    assert org_events(app, org, "email.complained") == []
    assert api.get(f"{BASE}/emails/{row['id']}").get_json()["delivery_events"] in (None, [])


@pytest.mark.parametrize("batch", [False, True])
def test_postmark_inactive_recipients_join_the_list_and_the_others_still_get_it(
    batch: bool,
    api: ApiClient,
    app: Any,
    org: OrgHandle,
    mail_api: MailApiEmulator,
    hub_clock: FrozenClock,
) -> None:
    """Postmark refuses a whole message with ErrorCode 406 naming its inactive recipients:
    they go on the suppression list (as a refusal at RCPT), and the message goes again to
    the others; an email to nobody else fails."""
    mail_api.rejected.add("gone@client.example")
    config = {
        "transport": "postmark",
        **KEYS["postmark"],
        "from_address": "studio@acme.example",
        "rate_limit_per_minute": 1000,
    }
    assert api.put(BASE, json=config).status_code == 200
    bodies = [
        {"to": ["ann@client.example"], "cc": ["Gone <gone@client.example>"]},
        {"to": ["gone@client.example"]},
    ]
    if batch:  # two more emails: the chunk goes in one batch call
        bodies.append({"to": ["bob@client.example"]})
    rows = [
        api.post(
            f"{BASE}/emails",
            json={"template": "deliverable_due", "variables": {}, **body},
        ).get_json()
        for body in (bodies if batch else bodies[:1])
    ]
    if not batch:
        with app.app_context():  # one at a time: POST /email
            jobs.deliver_org(org.id)
        rows.append(
            api.post(
                f"{BASE}/emails", json={"template": "deliverable_due", "variables": {}, **bodies[1]}
            ).get_json()
        )
    with app.app_context():
        jobs.deliver_org(org.id)
    shown = [api.get(f"{BASE}/emails/{r['id']}").get_json() for r in rows]
    assert shown[0]["status"] == "sent" and shown[0]["retries"] == 0
    assert "inactive recipient" in shown[0]["refused"]["gone@client.example"]
    assert shown[1]["status"] in ("failed", "suppressed")
    if batch:
        assert shown[1]["status"] == "failed" and "inactive recipient" in shown[1]["error"]
        assert shown[2]["status"] == "sent"
    assert suppressed(api) == {"gone@client.example": "refused"}
    got = sorted(r for m in mail_api.messages for r in m.recipients)
    assert got == (
        ["ann@client.example", "bob@client.example"] if batch else ["ann@client.example"]
    )
    assert any(p == "/email/batch" for _, p in mail_api.requests) is batch
    later = {"template": "deliverable_due", "to": ["gone@client.example"], "variables": {}}
    assert api.post(f"{BASE}/emails", json=later).get_json()["status"] == "suppressed"
