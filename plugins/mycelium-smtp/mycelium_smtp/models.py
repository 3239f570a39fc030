"""The plugin's own tables: every row belongs to one organization and is scoped like core rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub import Model, OrgScoped, Retention, now

STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "suppressed")
# why an address is on the suppression list
REASONS = ("unsubscribe", "hard_bounce", "complaint", "refused")
ALL_TYPES = "*"  # a suppression of every email type (bounces, complaints, refusals)
PRIORITIES = ("low", "normal", "high", "urgent")


class Email(OrgScoped, Model):
    """One email and its delivery state: the truth the queue works from."""

    __tablename__ = "smtp_emails"
    __table_args__ = (
        UniqueConstraint("org_id", "dedupe_key"),
        Index("ix_smtp_emails_due", "status", "next_attempt_at"),
        Index("ix_smtp_emails_org_id_id", "org_id", "id"),
        Index("ix_smtp_emails_updated_at", "updated_at"),
    )
    # sent, failed or cancelled, and untouched for HUB_RETENTION_DAYS; the queue keeps the rest
    __retention__ = Retention(
        when="updated_at", state="status", finished=("sent", "failed", "cancelled", "suppressed")
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(40))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    to: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    bcc: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    # pending | sending | sent | failed | cancelled
    status: Mapped[str] = mapped_column(String(12), default="pending")
    retries: Mapped[int] = mapped_column(default=0)
    max_retries: Mapped[int] = mapped_column(default=3)
    scheduled_for: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime] = mapped_column(default=now)
    lease_until: Mapped[datetime | None]
    # Set by the worker that claimed the row; it sends only rows carrying its own token.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # Kept from the first attempt, so a message resent after a crash is recognisably the same.
    message_id: Mapped[str] = mapped_column(String(255))
    # Envelope recipients still owed the message after a partial 4xx refusal (None: all).
    pending_rcpts: Mapped[list[str] | None] = mapped_column(JSON)
    refused: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    # The user whose key queued it through the API (a member may cancel only those);
    # None for the hub's own emails and keys tied to no user.
    queued_by: Mapped[int | None]
    # What the provider reported since (event webhooks): the latest of delivered, bounced,
    # complained, opened; and each report, oldest first (at most 20 are kept).
    delivery: Mapped[str | None] = mapped_column(String(20))
    delivery_events: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class Template(OrgScoped, Model):
    """An organization's own version of one email type (the shipped default otherwise)."""

    __tablename__ = "smtp_templates"
    __table_args__ = (UniqueConstraint("org_id", "type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class Preference(OrgScoped, Model):
    """What one user wants by email; no row means the defaults."""

    __tablename__ = "smtp_preferences"
    __table_args__ = (UniqueConstraint("user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    weekly_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    monthly_report: Mapped[bool] = mapped_column(Boolean, default=False)
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class Suppression(OrgScoped, Model):
    """An address the organization's emails no longer go to: unsubscribed from one type, or
    (type ``*``) every type after a hard bounce, a complaint or a refusal."""

    __tablename__ = "smtp_suppressions"
    __table_args__ = (
        UniqueConstraint("org_id", "email", "type"),
        Index("ix_smtp_suppressions_org_id_id", "org_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    type: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(
        String(20), default="unsubscribe", server_default="unsubscribe"
    )
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class DigestRun(OrgScoped, Model):
    """The last local date a scheduled digest kind went out for this organization."""

    __tablename__ = "smtp_digest_runs"
    __table_args__ = (UniqueConstraint("org_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # daily_digest | weekly_digest | monthly_report
    last_local_date: Mapped[date]
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
