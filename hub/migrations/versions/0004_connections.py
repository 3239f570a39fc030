"""connections (tokens, usage, health)

Revision ID: 0004_connections
Revises: 0003_dispatch
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_connections"
down_revision = "0003_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
