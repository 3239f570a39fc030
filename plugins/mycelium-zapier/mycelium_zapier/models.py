"""The plugin's own tables: subscriptions, one delivery per (event x subscription) with its
attempts, and the recent events that Zapier's sample and polling calls read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub import Model, OrgScoped, Retention, now

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class ZapierHook(OrgScoped, Model):
    """A REST-hook subscription: Zapier's target URL for one event type of one organization."""

    __tablename__ = "zapier_hooks"
    __table_args__ = (Index("ix_zapier_hooks_org_event", "org_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(100))
    zap_id: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # first failure since the last success; disabled when it is old enough (like webhooks)
    failing_since: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class ZapierDelivery(OrgScoped, Model):
    """One event for one subscription: the body as signed and sent, and its retries."""

    __tablename__ = "zapier_deliveries"
    __table_args__ = (
        UniqueConstraint("hook_id", "event_id"),
        Index("ix_zapier_deliveries_due", "org_id", "state", "next_attempt_at", "id"),
        Index("ix_zapier_deliveries_finished_at", "finished_at"),
    )
    __retention__ = Retention(when="finished_at", state="state", finished=(SUCCEEDED, FAILED))

    id: Mapped[int] = mapped_column(primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("zapier_hooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header, every retry
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)  # serialised once, signed and sent as it is
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=now)
    lease_until: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]


class ZapierAttempt(OrgScoped, Model):
    """One request of a delivery and what came back: the delivery's attempt log."""

    __tablename__ = "zapier_attempts"
    __table_args__ = (Index("ix_zapier_attempts_delivery", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("zapier_deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int]
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 16 KiB at most
    error: Mapped[str | None] = mapped_column(Text)


class ZapierRecentEvent(OrgScoped, Model):
    """An event of the organization in its Zapier shape, kept for samples and polling."""

    __tablename__ = "zapier_recent_events"
    __table_args__ = (
        UniqueConstraint("org_id", "event_id"),
        Index("ix_zapier_recent_events_type", "org_id", "event_type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime]


HOOKS = cast(Table, ZapierHook.__table__)
DELIVERIES = cast(Table, ZapierDelivery.__table__)
RECENT = cast(Table, ZapierRecentEvent.__table__)
ATTEMPTS = cast(Table, ZapierAttempt.__table__)
