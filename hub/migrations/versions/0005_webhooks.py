"""outgoing webhooks

Revision ID: 0005_webhooks
Revises: 0004_connections
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_webhooks"
down_revision = "0004_connections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
