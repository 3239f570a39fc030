"""Outgoing webhooks: endpoints, their secrets, and one delivery per (event x endpoint).

Sending is :mod:`hub.core.webhooks.delivery`'s job; the retry rules are
:mod:`hub.core.webhooks.policy`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update

from hub.core import clock, events
from hub.core.crypto import KeyRing
from hub.core.db import AnySession, before_commit, insert_ignoring_conflicts
from hub.core.egress import EgressPolicy
from hub.core.signatures import generate_webhook_secret
from hub.core.webhooks.models import (
    DELIVERIES,
    ENDPOINTS,
    FAILED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from hub.errors import ValidationError

ALL_EVENTS = "*"
DISABLED_EVENT = "webhook.endpoint_disabled"
TEST_EVENT = "webhook.test"
MAX_PREVIOUS_SECRETS = 10
_FANNED_OUT = "hub.webhooks.fanned_out"  # the before-commit batch of delivery rows
EVENT_TYPES = {
    TEST_EVENT: "A test event an admin sent to one webhook endpoint.",
    DISABLED_EVENT: "A webhook endpoint was disabled: it answered 410, or failed for days.",
}


Endpoints = list[tuple[int, list[str]]]  # (endpoint id, event types)
Subscriptions = dict[int, Endpoints]  # org id -> its enabled endpoints


class EventLike(Protocol):
    """An event as hooks see it (hub.EventInfo)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def org_id(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def data(self) -> dict[str, Any]: ...


def secret_aad(org_id: int, endpoint_id: int) -> bytes:
    """Associated data binding an endpoint secret to its org and endpoint."""
    return f"org={org_id};webhook_endpoint={endpoint_id};field=secret".encode()


def check_events(requested: Iterable[str], catalogue: Iterable[str]) -> list[str]:
    """The subscription list, deduplicated; unknown types are a 400 naming them."""
    wanted = list(dict.fromkeys(requested))
    known = set(catalogue) | {ALL_EVENTS}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        message = f"Unknown event types: {', '.join(unknown)} (see GET /api/events/types)."
        raise ValidationError(message, {"events": [message]})
    if not wanted:
        raise ValidationError("Subscribe to at least one event.", {"events": ["Empty."]})
    return [ALL_EVENTS] if ALL_EVENTS in wanted else wanted


def create_endpoint(
    session: AnySession, keyring: KeyRing, egress: EgressPolicy, org_id: int, fields: dict[str, Any]
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, shown this once."""
    endpoint = WebhookEndpoint(
        org_id=org_id,
        url=egress.check_url(fields["url"], "url"),
        events=fields["events"],
        description=fields.get("description") or "",
    )
    session.add(endpoint)
    session.flush()
    secret = generate_webhook_secret()
    endpoint.secret = keyring.encrypt(secret, secret_aad(org_id, endpoint.id))
    return endpoint, secret


def update_endpoint(
    session: AnySession, egress: EgressPolicy, endpoint: WebhookEndpoint, changes: dict[str, Any]
) -> WebhookEndpoint:
    """Change url, events, description or enabled; re-enabling starts the failure clock anew."""
    if "url" in changes:
        endpoint.url = egress.check_url(changes["url"], "url")
    if "events" in changes:
        endpoint.events = changes["events"]
    if "description" in changes:
        endpoint.description = changes["description"] or ""
    if changes.get("enabled") is True and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, None, None
        endpoint.failing_since = None
    elif changes.get("enabled") is False and endpoint.enabled:
        disable_endpoint(session, endpoint, "Disabled by an admin.", notify=False)
    return endpoint


def disable_endpoint(
    session: AnySession, endpoint: WebhookEndpoint, reason: str, notify: bool = True
) -> None:
    """Stop sending to `endpoint`: pending deliveries fail; admins hear of it unless they did it."""
    endpoint.enabled, endpoint.disabled_reason = False, reason
    endpoint.disabled_at = clock.now()
    fail_pending(session, [endpoint.id], "The endpoint is disabled.")
    if notify:
        events.record(session, endpoint.org_id, DISABLED_EVENT, disabled_payload(endpoint))


def disabled_payload(endpoint: WebhookEndpoint) -> dict[str, Any]:
    failing = endpoint.failing_since
    return {
        "endpoint": {"id": endpoint.id, "url": endpoint.url, "description": endpoint.description},
        "reason": endpoint.disabled_reason,
        "failing_since": failing.isoformat() if failing else None,
    }


def fail_pending(session: AnySession, endpoint_ids: list[int], reason: str) -> None:
    """Pending deliveries of these endpoints that no worker holds now fail with `reason`."""
    now = clock.now()
    session.execute(
        update(DELIVERIES)
        .where(
            WebhookDelivery.endpoint_id.in_(endpoint_ids),
            WebhookDelivery.state == PENDING,
            (WebhookDelivery.lease_until.is_(None)) | (WebhookDelivery.lease_until < now),
        )
        .values(state=FAILED, last_error=reason, next_attempt_at=None, finished_at=now)
    )


def rotate_secret(
    keyring: KeyRing, endpoint: WebhookEndpoint, grace: timedelta
) -> tuple[str, datetime]:
    """A new secret; the old one keeps signing until the returned time."""
    now = clock.now()
    expires = now + grace
    kept = [p for p in endpoint.previous_secrets if _expiry(p) > now]
    if grace > timedelta(0):
        kept.insert(0, {"secret": endpoint.secret, "expires_at": expires.isoformat()})
    endpoint.previous_secrets = kept[:MAX_PREVIOUS_SECRETS]
    secret = generate_webhook_secret()
    endpoint.secret = keyring.encrypt(secret, secret_aad(endpoint.org_id, endpoint.id))
    return secret, expires


def _expiry(previous: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(previous["expires_at"]).astimezone(UTC)


def signing_secrets(keyring: KeyRing, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, then every previous one still in its grace period."""
    aad = secret_aad(endpoint.org_id, endpoint.id)
    stored = [endpoint.secret] + [
        p["secret"] for p in endpoint.previous_secrets if _expiry(p) > now
    ]
    return [keyring.decrypt(token, aad) for token in stored]


# one encoder for every body: json.dumps with any option builds a new one per call
_encode_body = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def envelope(event: EventLike) -> str:
    """The body every endpoint receives for `event`, serialised once."""
    stamp = event.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    body = {
        "id": event.id,
        "type": event.type,
        "timestamp": stamp,
        "organization_id": event.org_id,
        "data": event.data,
    }
    return _encode_body(body)


def subscriptions(session: AnySession, org_id: int, known: Subscriptions | None) -> Endpoints:
    """The org's enabled endpoints and their event types, read once per `known` (a job)."""
    if known is not None and org_id in known:
        return known[org_id]
    # columns, not ORM objects: this runs for every event of every organization
    stmt = select(ENDPOINTS.c.id, ENDPOINTS.c.events).where(
        ENDPOINTS.c.org_id == org_id, ENDPOINTS.c.enabled.is_(True)
    )
    found = [(eid, list(types)) for eid, types in session.execute(stmt)]
    if known is not None:
        known[org_id] = found
    return found


def fan_out(session: AnySession, event: EventLike, known: Subscriptions | None = None) -> int:
    """One pending delivery per enabled endpoint subscribed to `event` (idempotent); how many.

    `known` caches each org's subscriptions across the events of one job. The rows are
    inserted when the session commits, together with those of the other events fanned out
    in the same transaction: one statement for a batch of runs, not one per event.
    """
    found = subscriptions(session, event.org_id, known)
    targets = [eid for eid, types in found if ALL_EVENTS in types or event.type in types]
    if not targets:
        return 0
    body, now = envelope(event), clock.now()
    # registering begins the session's transaction: the caller sees work to commit
    pending = before_commit(session, _FannedOut(session), key=_FANNED_OUT).rows
    for endpoint_id in targets:
        pending[(event.id, endpoint_id)] = _new_delivery(event, endpoint_id, body, now)
    return len(targets)


class _FannedOut:
    """The deliveries fanned out in one transaction, inserted in one statement just before
    it commits (forgotten if it rolls back)."""

    def __init__(self, session: AnySession) -> None:
        self.session = session
        self.rows: dict[tuple[str, int], dict[str, Any]] = {}

    def __call__(self) -> None:
        # skips a delivery already made for (event, endpoint): a run may repeat
        insert_ignoring_conflicts(self.session, DELIVERIES, list(self.rows.values()))


def _new_delivery(event: EventLike, endpoint_id: int, body: str, now: datetime) -> dict[str, Any]:
    return {
        "org_id": event.org_id,
        "endpoint_id": endpoint_id,
        "event_id": event.id,
        "event_type": event.type,
        "body": body,
        "state": PENDING,
        "attempts": 0,
        "manual": False,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
