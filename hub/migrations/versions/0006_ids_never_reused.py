"""ids never reused: SQLite tables rebuilt with AUTOINCREMENT

Revision ID: 0006_ids_never_reused
Revises: 0005_webhooks
Create Date: 2026-11-29

Without AUTOINCREMENT SQLite gives the next row the id of the newest deleted one, so an id
the API once showed could name another object. Batch mode rebuilds each table (copying
its rows, so the largest id is kept as the sequence's start); PostgreSQL's sequences never
go back and are left alone.
"""

from __future__ import annotations

from alembic import op

revision = "0006_ids_never_reused"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None

TABLES = (
    "organizations",
    "users",
    "api_keys",
    "service_types",
    "clients",
    "deliverables",
    "events",
    "integrations",
    "runs",
    "deadline_notices",
    "usage_records",
    "health_checks",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
