"""smtp: what the provider reported after sending (delivered, bounced, complained, opened)

Revision ID: smtp_0006_delivery_events
Revises: smtp_0005_suppression_reasons
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "smtp_0006_delivery_events"
down_revision = "smtp_0005_suppression_reasons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("smtp_emails") as batch:
        batch.add_column(sa.Column("delivery", sa.String(20), nullable=True))
        batch.add_column(sa.Column("delivery_events", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("smtp_emails") as batch:
        batch.drop_column("delivery_events")
        batch.drop_column("delivery")
