"""Slack plugin tables: slack_users (user mapping) and slack_messages (posted events)

Revision ID: slack_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "slack_0001"
down_revision = None
branch_labels = ("slack",)
depends_on = "0002_integrations"


def upgrade() -> None:
    op.create_table(
        "slack_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("slack_username", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_slack_users_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_slack_users_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_users")),
        sa.UniqueConstraint("org_id", "user_id", name=op.f("uq_slack_users_org_id")),
    )
    op.create_index(op.f("ix_slack_users_org_id"), "slack_users", ["org_id"])
    op.create_index("ix_slack_users_org_slack_user", "slack_users", ["org_id", "slack_user_id"])
    op.create_table(
        "slack_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_slack_messages_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
        sa.UniqueConstraint("org_id", "event_id", name=op.f("uq_slack_messages_org_id")),
    )
    op.create_index(op.f("ix_slack_messages_org_id"), "slack_messages", ["org_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_messages_org_id"), table_name="slack_messages")
    op.drop_table("slack_messages")
    op.drop_index("ix_slack_users_org_slack_user", table_name="slack_users")
    op.drop_index(op.f("ix_slack_users_org_id"), table_name="slack_users")
    op.drop_table("slack_users")
