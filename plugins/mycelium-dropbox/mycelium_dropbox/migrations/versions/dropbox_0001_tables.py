"""Dropbox plugin tables: client folders, uploads, known files, the sync cursor

Revision ID: dropbox_0001
Revises:
Create Date: 2026-12-05

Every table has SQLite's AUTOINCREMENT (PostgreSQL's sequences never go back), so an id the
API once showed, an upload's, never names another row after a delete.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "dropbox_0001"
down_revision = None
branch_labels = ("dropbox",)
depends_on = "0002_integrations"


def _org_id(table: str) -> sa.Column:
    return sa.Column(
        "org_id",
        sa.Integer(),
        sa.ForeignKey(
            "organizations.id", name=f"fk_{table}_org_id_organizations", ondelete="CASCADE"
        ),
        nullable=False,
    )


def _id(table: str) -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        _org_id(table),
    ]


def upgrade() -> None:
    op.create_table(
        "dropbox_client_folders",
        *_id("dropbox_client_folders"),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("path_lower", sa.String(1024), nullable=False),
        sa.Column("shared_link", sa.String(2000), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dropbox_client_folders"),
        sa.UniqueConstraint("org_id", "client_id", name="uq_dropbox_client_folders_org_id"),
        sa.UniqueConstraint("org_id", "path_lower", name="uq_dropbox_client_folders_path"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dropbox_client_folders_org_id", "dropbox_client_folders", ["org_id"])
    op.create_table(
        "dropbox_uploads",
        *_id("dropbox_uploads"),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("deliverable_id", sa.Integer(), nullable=True),
        sa.Column("service_type", sa.String(100), nullable=True),
        sa.Column("client_visible", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("target", sa.String(1024), nullable=False),
        sa.Column("spool", sa.String(255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(255), nullable=True),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(255), nullable=True),
        sa.Column("path", sa.String(1024), nullable=True),
        sa.Column("rev", sa.String(64), nullable=True),
        sa.Column("shared_link", sa.String(2000), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dropbox_uploads"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dropbox_uploads_org_id", "dropbox_uploads", ["org_id"])
    op.create_index("ix_dropbox_uploads_due", "dropbox_uploads", ["state", "next_attempt_at"])
    op.create_index(
        "ix_dropbox_uploads_client", "dropbox_uploads", ["org_id", "client_id", "deliverable_id"]
    )
    op.create_table(
        "dropbox_known_files",
        *_id("dropbox_known_files"),
        sa.Column("path_lower", sa.String(1024), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("rev", sa.String(64), nullable=True),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dropbox_known_files"),
        sa.UniqueConstraint("org_id", "path_lower", name="uq_dropbox_known_files_org_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dropbox_known_files_org_id", "dropbox_known_files", ["org_id"])
    op.create_table(
        "dropbox_sync_state",
        *_id("dropbox_sync_state"),
        sa.Column("root", sa.String(1024), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dropbox_sync_state"),
        sa.UniqueConstraint("org_id", name="uq_dropbox_sync_state_org_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dropbox_sync_state_org_id", "dropbox_sync_state", ["org_id"])


def downgrade() -> None:
    for table in (
        "dropbox_sync_state",
        "dropbox_known_files",
        "dropbox_uploads",
        "dropbox_client_folders",
    ):
        op.drop_table(table)
