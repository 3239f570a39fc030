"""smtp: an index on smtp_emails.updated_at, which the retention job scans

Revision ID: smtp_0004_retention
Revises: smtp_0003_queued_by
Create Date: 2026-12-05

The hub's retention job deletes smtp_emails rows older than HUB_RETENTION_DAYS by updated_at
(the table declares its __retention__); without an index each daily pass reads the table.
"""

from __future__ import annotations

from alembic import op

revision = "smtp_0004_retention"
down_revision = "smtp_0003_queued_by"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_smtp_emails_updated_at", "smtp_emails", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_smtp_emails_updated_at", table_name="smtp_emails")
