"""smtp: the suppression list: why an address is on it (bounce, complaint, refusal, unsubscribe)

Revision ID: smtp_0005_suppression_reasons
Revises: smtp_0004_retention
Create Date: 2026-12-05

Unsubscribes were the only suppressions (one row per address and email type). A hard
bounce, a spam complaint or a recipient the mail server refused at RCPT time suppress the
address for every type (type ``*``); ``reason`` and ``detail`` say why, for the list's API.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "smtp_0005_suppression_reasons"
down_revision = "smtp_0004_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("smtp_suppressions") as batch:
        batch.add_column(
            sa.Column("reason", sa.String(20), nullable=False, server_default="unsubscribe")
        )
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
    op.create_index("ix_smtp_suppressions_org_id_id", "smtp_suppressions", ["org_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_smtp_suppressions_org_id_id", table_name="smtp_suppressions")
    with op.batch_alter_table("smtp_suppressions") as batch:
        batch.drop_column("detail")
        batch.drop_column("reason")
