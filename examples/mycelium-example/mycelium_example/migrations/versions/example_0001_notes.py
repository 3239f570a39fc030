"""example: notes table

Revision ID: example_0001
Revises:
Create Date: 2026-11-28

The plugin's own Alembic branch: no down revision, labelled with the plugin's name,
depending on the core revision that created the tables it refers to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = "0002_integrations"


def upgrade() -> None:
    op.create_table(
        "example_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_example_notes_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_notes")),
        sa.UniqueConstraint("org_id", "event_id", name=op.f("uq_example_notes_org_id")),
        sqlite_autoincrement=True,  # SQLite would otherwise hand a deleted row's id out again
    )
    op.create_index(op.f("ix_example_notes_org_id"), "example_notes", ["org_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_example_notes_org_id"), table_name="example_notes")
    op.drop_table("example_notes")
