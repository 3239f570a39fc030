"""slack: an index on slack_messages.sent_at, which the retention job scans

Revision ID: slack_0003_retention
Revises: slack_0002_ids
Create Date: 2026-12-05

The hub's retention job deletes slack_messages rows older than HUB_RETENTION_DAYS by sent_at
(the table declares its __retention__); without an index each daily pass reads the table.
"""

from __future__ import annotations

from alembic import op

revision = "slack_0003_retention"
down_revision = "slack_0002_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_slack_messages_sent_at", "slack_messages", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_messages_sent_at", table_name="slack_messages")
