"""The plugin's tables: what each deadline event holds, meetings, sync state, channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub import Model, OrgScoped, now


class DeadlineEvent(OrgScoped, Model):
    """The calendar event of one deliverable, and the body it was last given.

    No foreign key to the deliverable: its row outlives it, so a deletion can still find
    the event to remove. ``body`` is what Google holds; a sweep compares against it and
    calls Google only for what differs. ``present`` is false once the event was deleted.
    """

    __tablename__ = "gcal_deadline_events"
    __table_args__ = (
        UniqueConstraint("org_id", "deliverable_id"),
        Index("ix_gcal_deadline_events_client", "org_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deliverable_id: Mapped[int]
    client_id: Mapped[int]
    calendar_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(64))
    present: Mapped[bool] = mapped_column(default=True)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(default=now)


class Meeting(OrgScoped, Model):
    """A client meeting and its event; ``pending`` says a change still has to reach Google."""

    __tablename__ = "gcal_meetings"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        UniqueConstraint("org_id", "event_id", name="uq_gcal_meetings_org_id_event"),
        Index("ix_gcal_meetings_due", "pending", "next_attempt_at"),
        Index("ix_gcal_meetings_deliverable", "org_id", "deliverable_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deliverable_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliverables.id", ondelete="SET NULL")
    )
    calendar_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    meet_requested: Mapped[bool] = mapped_column(default=False)
    meet_status: Mapped[str | None] = mapped_column(String(16))  # pending|success|failure
    meet_url: Mapped[str | None] = mapped_column(String(500))
    html_link: Mapped[str | None] = mapped_column(String(2000))
    # scheduling -> scheduled -> cancelled; failed when Google refused it for good
    status: Mapped[str] = mapped_column(String(16), default="scheduling")
    pending: Mapped[bool] = mapped_column(default=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=now)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    google_updated: Mapped[str | None] = mapped_column(String(40))
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)  # fields Google lacks
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class SyncState(OrgScoped, Model):
    """Per organization: the incremental sync token and the window sweep's bookkeeping."""

    __tablename__ = "gcal_sync_state"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[str] = mapped_column(String(255))
    sync_token: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
    last_push_at: Mapped[datetime | None]
    sweep_requested_at: Mapped[datetime | None]
    last_sweep_at: Mapped[datetime | None]
    swept_config: Mapped[str | None] = mapped_column(String(64))  # hash of the config swept


class Channel(OrgScoped, Model):
    """A push channel (``events.watch``): Google posts to the hub until it expires."""

    __tablename__ = "gcal_channels"
    __table_args__ = (UniqueConstraint("channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of X-Goog-Channel-Token
    calendar_id: Mapped[str] = mapped_column(String(255))
    resource_id: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)
