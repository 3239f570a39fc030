"""dispatch (runs, schedules): the deadline notices that make due-soon/overdue events once-only

Revision ID: 0003_dispatch
Revises: 0002_integrations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_dispatch"
down_revision = "0002_integrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deliverable_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deliverable_id"],
            ["deliverables.id"],
            name=op.f("fk_deadline_notices_deliverable_id_deliverables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deadline_notices_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_notices")),
        sa.UniqueConstraint(
            "deliverable_id", "kind", name=op.f("uq_deadline_notices_deliverable_id")
        ),
    )
    with op.batch_alter_table("deadline_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_notices_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deadline_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_notices_org_id"))
    op.drop_table("deadline_notices")
