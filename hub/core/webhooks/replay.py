"""Sending deliveries again: an admin's test, resending one, recovering every failed one.

These are manual attempts: each is sent once and not retried.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from hub.core import clock
from hub.core.db import AnySession
from hub.core.scoping import get_owned
from hub.core.webhooks.endpoints import EventLike, envelope
from hub.core.webhooks.models import (
    DELIVERIES,
    FAILED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from hub.errors import Conflict

RECOVER_LIMIT = 10_000


def add_manual_delivery(
    session: AnySession, endpoint: WebhookEndpoint, event: EventLike
) -> WebhookDelivery:
    """A delivery an admin asked for (a test): one attempt, never retried."""
    delivery = WebhookDelivery(
        org_id=endpoint.org_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        event_type=event.type,
        body=envelope(event),
        manual=True,
    )
    session.add(delivery)
    session.flush()
    return delivery


def resend(session: AnySession, org_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a finished delivery once more, now (a manual attempt, not retried)."""
    delivery = get_owned(session, WebhookDelivery, org_id, delivery_id)
    endpoint = get_owned(session, WebhookEndpoint, org_id, delivery.endpoint_id)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it first.")
    if delivery.state == PENDING:
        raise Conflict("The delivery is still pending; its next attempt is scheduled.")
    _requeue(delivery)
    return delivery


def _requeue(delivery: WebhookDelivery) -> None:
    delivery.state, delivery.manual, delivery.finished_at = PENDING, True, None
    delivery.next_attempt_at, delivery.lease_until = clock.now(), None


def recover(
    session: AnySession, endpoint: WebhookEndpoint, since: datetime, until: datetime | None
) -> int:
    """Queue a manual attempt of every failed delivery created since `since` (capped)."""
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it first.")
    stmt = select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.state == FAILED,
        WebhookDelivery.created_at >= since,
    )
    if until is not None:
        stmt = stmt.where(WebhookDelivery.created_at < until)
    ids = list(session.scalars(stmt.order_by(WebhookDelivery.id).limit(RECOVER_LIMIT)))
    now = clock.now()
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        session.execute(
            update(DELIVERIES)
            .where(WebhookDelivery.id.in_(chunk), WebhookDelivery.state == FAILED)
            .values(state=PENDING, manual=True, next_attempt_at=now, finished_at=None)
        )
    return len(ids)
