"""Outgoing webhooks' tables: endpoints, one delivery per (event x endpoint), its attempts.

The delivery row is the truth about a delivery (state, attempts, next attempt, lease);
RQ only carries the work of sending the deliveries that are due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core import clock
from hub.core.models import Base, OrgScoped, Timestamped

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
DELIVERY_STATES = (PENDING, SUCCEEDED, FAILED)
SCHEDULED, MANUAL = "scheduled", "manual"


class WebhookEndpoint(OrgScoped, Timestamped, Base):
    """An HTTPS URL of an organization that receives the events it subscribes to."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(Text, default="")
    # event types, or ["*"] for every event
    events: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["*"])
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    # KeyRing ciphertext bound to (org, endpoint, "secret"); "" only until the row has an id
    secret: Mapped[str] = mapped_column(Text, default="")
    # secrets still signing during a rotation's grace: [{"secret": ciphertext, "expires_at": iso}]
    previous_secrets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # first failure since the last success; the endpoint is disabled when it is old enough
    failing_since: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]


class WebhookDelivery(OrgScoped, Base):
    """One event for one endpoint: the body as signed and sent, and where its retries stand."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        # the claim: organizations with pending deliveries, and each one's oldest due
        Index("ix_webhook_deliveries_org_due", "state", "org_id", "next_attempt_at", "id"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        # what the retention job compares with its cutoff (hub/core/retention.py)
        Index("ix_webhook_deliveries_finished", text("coalesce(finished_at, updated_at)")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header, on every retry
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)  # serialised once, signed and sent as it is
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=clock.now)
    lease_until: Mapped[datetime | None]
    # the next attempt was asked for by an admin (resend, recover): it is not retried
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    finished_at: Mapped[datetime | None]

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        lazy="raise", order_by="WebhookAttempt.attempt", viewonly=True
    )


class WebhookAttempt(OrgScoped, Base):
    """One HTTP request of a delivery and what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    response_body: Mapped[str | None] = mapped_column(Text)  # truncated
    error: Mapped[str | None] = mapped_column(Text)


# The tables, for bulk statements (claims, results) that need no ORM objects.
ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
DELIVERIES = cast(Table, WebhookDelivery.__table__)
ATTEMPTS = cast(Table, WebhookAttempt.__table__)
