"""The plugin's own tables: who is who in Slack, and which events were already posted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub import Model, OrgScoped, Retention, now


class SlackUser(OrgScoped, Model):
    """A hub user matched (by email) to a member of the org's Slack workspace."""

    __tablename__ = "slack_users"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id"),
        Index("ix_slack_users_org_slack_user", "org_id", "slack_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    slack_username: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(254))
    synced_at: Mapped[datetime] = mapped_column(default=now)


class SlackMessage(OrgScoped, Model):
    """One event posted to Slack: a run that executes twice does not post twice."""

    __tablename__ = "slack_messages"
    __table_args__ = (
        UniqueConstraint("org_id", "event_id"),
        Index("ix_slack_messages_sent_at", "sent_at"),
    )
    # its event's runs are gone after HUB_RETENTION_DAYS too: nothing can post it again
    __retention__ = Retention(when="sent_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(255))
    ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(default=now)
