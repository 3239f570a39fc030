"""smtp: emails, templates, preferences, suppressions, digest runs

Revision ID: smtp_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "smtp_0001"
down_revision = None
branch_labels = ("smtp",)
depends_on = "0002_integrations"


def _org_id() -> sa.Column:
    return sa.Column(
        "org_id",
        sa.Integer(),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "smtp_emails",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id(),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("to", sa.JSON(), nullable=False),
        sa.Column("cc", sa.JSON(), nullable=False),
        sa.Column("bcc", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("unsubscribe_url", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("pending_rcpts", sa.JSON(), nullable=True),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_smtp_emails"),
        sa.UniqueConstraint("org_id", "dedupe_key", name="uq_smtp_emails_org_id"),
    )
    op.create_index("ix_smtp_emails_due", "smtp_emails", ["status", "next_attempt_at"])
    op.create_index("ix_smtp_emails_org_id_id", "smtp_emails", ["org_id", "id"])
    op.create_table(
        "smtp_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id(),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smtp_templates"),
        sa.UniqueConstraint("org_id", "type", name="uq_smtp_templates_org_id"),
    )
    op.create_table(
        "smtp_preferences",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id(),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("daily_digest", sa.Boolean(), nullable=False),
        sa.Column("weekly_digest", sa.Boolean(), nullable=False),
        sa.Column("monthly_report", sa.Boolean(), nullable=False),
        sa.Column("notifications", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smtp_preferences"),
        sa.UniqueConstraint("user_id", name="uq_smtp_preferences_user_id"),
    )
    op.create_table(
        "smtp_suppressions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smtp_suppressions"),
        sa.UniqueConstraint("org_id", "email", "type", name="uq_smtp_suppressions_org_id"),
    )
    op.create_table(
        "smtp_digest_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("last_local_date", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_smtp_digest_runs"),
        sa.UniqueConstraint("org_id", "kind", name="uq_smtp_digest_runs_org_id"),
    )


def downgrade() -> None:
    for table in (
        "smtp_digest_runs",
        "smtp_suppressions",
        "smtp_preferences",
        "smtp_templates",
        "smtp_emails",
    ):
        op.drop_table(table)
