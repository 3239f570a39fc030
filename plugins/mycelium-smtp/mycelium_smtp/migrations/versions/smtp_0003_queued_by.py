"""smtp: who queued an email through the API

Revision ID: smtp_0003_queued_by
Revises: smtp_0002_ids
Create Date: 2026-11-29

A member key may cancel only the emails its own user queued; the hub's own emails (hooks,
digests, alerts) have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "smtp_0003_queued_by"
down_revision = "smtp_0002_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("smtp_emails") as batch:
        batch.add_column(sa.Column("queued_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("smtp_emails") as batch:
        batch.drop_column("queued_by")
