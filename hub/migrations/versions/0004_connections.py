"""connections (tokens, usage, health)

Revision ID: 0004_connections
Revises: 0003_dispatch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_connections"
down_revision = "0003_dispatch"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_org_id_organizations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        _org_fk("usage_records"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        sa.UniqueConstraint("uid", name=op.f("uq_usage_records_uid")),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_records_org_plugin_at", ["org_id", "plugin", "created_at"], unique=False
        )
        batch_op.create_index("ix_usage_records_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_records_org_id"), ["org_id"], unique=False)

    op.create_table(
        "health_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_health_checks_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        _org_fk("health_checks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_checks")),
    )
    with op.batch_alter_table("health_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_checks_integration_at", ["integration_id", "checked_at"], unique=False
        )
        batch_op.create_index("ix_health_checks_org_at", ["org_id", "checked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_checks_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("health_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_checks_org_id"))
        batch_op.drop_index("ix_health_checks_org_at")
        batch_op.drop_index("ix_health_checks_integration_at")
    op.drop_table("health_checks")
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_records_org_id"))
        batch_op.drop_index("ix_usage_records_created_at")
        batch_op.drop_index("ix_usage_records_org_plugin_at")
    op.drop_table("usage_records")
