"""zapier: an index on zapier_deliveries.finished_at, which the retention job scans

Revision ID: zapier_0003_retention
Revises: zapier_0002_ids
Create Date: 2026-12-05

The hub's retention job deletes zapier_deliveries rows older than HUB_RETENTION_DAYS by finished_at
(the table declares its __retention__); without an index each daily pass reads the table.
"""

from __future__ import annotations

from alembic import op

revision = "zapier_0003_retention"
down_revision = "zapier_0002_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_zapier_deliveries_finished_at", "zapier_deliveries", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_zapier_deliveries_finished_at", table_name="zapier_deliveries")
