"""Google Calendar plugin tables: deadline events, meetings, sync state, push channels

Revision ID: gcal_0001
Revises:
Create Date: 2026-12-05

Every table has SQLite's AUTOINCREMENT (PostgreSQL's sequences never go back), so an id the
API once showed, a meeting's, never names another row after a delete.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "gcal_0001"
down_revision = None
branch_labels = ("gcal",)
depends_on = "0002_integrations"


def _org_id(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.Integer(),
        sa.ForeignKey(
            "organizations.id", name=f"fk_{table}_org_id_organizations", ondelete="CASCADE"
        ),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "gcal_deadline_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id("gcal_deadline_events"),
        sa.Column("deliverable_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gcal_deadline_events"),
        sa.UniqueConstraint("org_id", "deliverable_id", name="uq_gcal_deadline_events_org_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gcal_deadline_events_org_id", "gcal_deadline_events", ["org_id"])
    op.create_index(
        "ix_gcal_deadline_events_client", "gcal_deadline_events", ["org_id", "client_id"]
    )
    op.create_table(
        "gcal_meetings",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id("gcal_meetings"),
        sa.Column(
            "deliverable_id",
            sa.Integer(),
            sa.ForeignKey(
                "deliverables.id",
                name="fk_gcal_meetings_deliverable_id_deliverables",
                ondelete="SET NULL",
            ),
            nullable=True,
        ),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.String(500), nullable=True),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("meet_requested", sa.Boolean(), nullable=False),
        sa.Column("meet_status", sa.String(16), nullable=True),
        sa.Column("meet_url", sa.String(500), nullable=True),
        sa.Column("html_link", sa.String(2000), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("google_updated", sa.String(40), nullable=True),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gcal_meetings"),
        sa.UniqueConstraint("org_id", "idempotency_key", name="uq_gcal_meetings_org_id"),
        sa.UniqueConstraint("org_id", "event_id", name="uq_gcal_meetings_org_id_event"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gcal_meetings_org_id", "gcal_meetings", ["org_id"])
    op.create_index("ix_gcal_meetings_due", "gcal_meetings", ["pending", "next_attempt_at"])
    op.create_index("ix_gcal_meetings_deliverable", "gcal_meetings", ["org_id", "deliverable_id"])
    op.create_table(
        "gcal_sync_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id("gcal_sync_state"),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("sync_token", sa.Text(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.Column("last_push_at", sa.DateTime(), nullable=True),
        sa.Column("sweep_requested_at", sa.DateTime(), nullable=True),
        sa.Column("last_sweep_at", sa.DateTime(), nullable=True),
        sa.Column("swept_config", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gcal_sync_state"),
        sa.UniqueConstraint("org_id", name="uq_gcal_sync_state_org_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gcal_sync_state_org_id", "gcal_sync_state", ["org_id"])
    op.create_table(
        "gcal_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id("gcal_channels"),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("calendar_id", sa.String(255), nullable=False),
        sa.Column("resource_id", sa.String(255), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gcal_channels"),
        sa.UniqueConstraint("channel_id", name="uq_gcal_channels_channel_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_gcal_channels_org_id", "gcal_channels", ["org_id"])


def downgrade() -> None:
    for table in ("gcal_channels", "gcal_sync_state", "gcal_meetings", "gcal_deadline_events"):
        op.drop_table(table)
