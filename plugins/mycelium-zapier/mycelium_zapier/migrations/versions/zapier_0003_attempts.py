"""zapier: an attempt log per delivery

Revision ID: zapier_0003_attempts
Revises: zapier_0002_ids
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "zapier_0003_attempts"
down_revision = "zapier_0002_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zapier_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "org_id",
            sa.Integer(),
            sa.ForeignKey(
                "organizations.id",
                name="fk_zapier_attempts_org_id_organizations",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["zapier_deliveries.id"],
            name="fk_zapier_attempts_delivery_id_zapier_deliveries",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_zapier_attempts"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_zapier_attempts_org_id", "zapier_attempts", ["org_id"])
    op.create_index("ix_zapier_attempts_delivery", "zapier_attempts", ["delivery_id", "attempt"])


def downgrade() -> None:
    op.drop_table("zapier_attempts")
