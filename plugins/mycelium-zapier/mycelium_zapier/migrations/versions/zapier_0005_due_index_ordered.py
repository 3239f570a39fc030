"""zapier: the due index ends with id, so a claim reads its oldest due deliveries in order

Revision ID: zapier_0005_due_ordered
Revises: zapier_0004_attempts
Create Date: 2026-12-07

A claim takes an organization's due deliveries ordered by (next_attempt_at, id), a few at
a time. With ix_zapier_deliveries_due on (org_id, state, next_attempt_at) alone, PostgreSQL
read every due delivery of the organization and sorted them to keep the first few (3,000
read to lease 8); with id at the end the index gives them in that order and the scan stops
at the limit.
"""

from __future__ import annotations

from alembic import op

revision = "zapier_0005_due_ordered"
down_revision = "zapier_0004_attempts"
branch_labels = None
depends_on = None

OLD = ["org_id", "state", "next_attempt_at"]


def upgrade() -> None:
    op.drop_index("ix_zapier_deliveries_due", table_name="zapier_deliveries")
    op.create_index("ix_zapier_deliveries_due", "zapier_deliveries", [*OLD, "id"])


def downgrade() -> None:
    op.drop_index("ix_zapier_deliveries_due", table_name="zapier_deliveries")
    op.create_index("ix_zapier_deliveries_due", "zapier_deliveries", OLD)
