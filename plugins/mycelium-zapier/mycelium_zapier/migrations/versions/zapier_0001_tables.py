"""zapier: hooks (REST-hook subscriptions), deliveries, recent events

Revision ID: zapier_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "zapier_0001"
down_revision = None
branch_labels = ("zapier",)
depends_on = "0002_integrations"


def _org_id(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.Integer(),
        sa.ForeignKey(
            "organizations.id",
            name=f"fk_{table}_org_id_organizations",
            ondelete="CASCADE",
        ),
        nullable=False,
    )


def _hooks() -> None:
    op.create_table(
        "zapier_hooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_url", sa.String(length=2048), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("zap_id", sa.String(length=100), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _org_id("zapier_hooks"),
        sa.PrimaryKeyConstraint("id", name="pk_zapier_hooks"),
    )
    op.create_index("ix_zapier_hooks_org_id", "zapier_hooks", ["org_id"])
    op.create_index("ix_zapier_hooks_org_event", "zapier_hooks", ["org_id", "event"])


def _deliveries() -> None:
    op.create_table(
        "zapier_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        _org_id("zapier_deliveries"),
        sa.ForeignKeyConstraint(
            ["hook_id"],
            ["zapier_hooks.id"],
            name="fk_zapier_deliveries_hook_id_zapier_hooks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_zapier_deliveries"),
        sa.UniqueConstraint("hook_id", "event_id", name="uq_zapier_deliveries_hook_id"),
    )
    op.create_index("ix_zapier_deliveries_org_id", "zapier_deliveries", ["org_id"])
    op.create_index(
        "ix_zapier_deliveries_due", "zapier_deliveries", ["org_id", "state", "next_attempt_at"]
    )


def _recent() -> None:
    op.create_table(
        "zapier_recent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        _org_id("zapier_recent_events"),
        sa.PrimaryKeyConstraint("id", name="pk_zapier_recent_events"),
        sa.UniqueConstraint("org_id", "event_id", name="uq_zapier_recent_events_org_id"),
    )
    op.create_index("ix_zapier_recent_events_org_id", "zapier_recent_events", ["org_id"])
    op.create_index(
        "ix_zapier_recent_events_type",
        "zapier_recent_events",
        ["org_id", "event_type", "occurred_at"],
    )


def upgrade() -> None:
    _hooks()
    _deliveries()
    _recent()


def downgrade() -> None:
    op.drop_table("zapier_recent_events")
    op.drop_table("zapier_deliveries")
    op.drop_table("zapier_hooks")
