"""indexes for what the retention job scans

Revision ID: 0009_retention_indexes
Revises: 0007_one_account
Create Date: 2026-12-05

The daily retention job looks for finished runs and webhook deliveries by
coalesce(finished_at, updated_at), the expression it compares with the cutoff, and for
dispatched events by created_at. Without these indexes each pass reads the whole table
(bench/scale.py shows the plans at 10,000 organizations).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_retention_indexes"
down_revision = "0007_one_account"
branch_labels = None
depends_on = None

FINISHED = sa.text("coalesce(finished_at, updated_at)")


def upgrade() -> None:
    op.create_index("ix_runs_finished", "runs", [FINISHED])
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.create_index("ix_webhook_deliveries_finished", "webhook_deliveries", [FINISHED])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_finished", table_name="webhook_deliveries")
    op.drop_index("ix_events_created_at", table_name="events")
    op.drop_index("ix_runs_finished", table_name="runs")
