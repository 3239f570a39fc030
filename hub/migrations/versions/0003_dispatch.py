"""dispatch (runs, schedules)

Revision ID: 0003_dispatch
Revises: 0002_integrations
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_dispatch"
down_revision = "0002_integrations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
