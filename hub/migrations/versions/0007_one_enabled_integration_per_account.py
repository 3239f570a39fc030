"""one enabled integration per external account

An external account (a workspace at the provider) belongs to at most one enabled integration of a
plugin. Where several enabled integrations hold one today, the one changed last (the one
the provider's requests were routed to) keeps it and the others are disabled with a reason.

Revision ID: 0007_one_account
Revises: 0006_ids_never_reused
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_one_account"
down_revision = "0006_ids_never_reused"
branch_labels = None
depends_on = None

REASON = (
    "Another organization connected the same account; reconnect to use it here "
    "(an account belongs to one organization)."
)


def _disable_all_but_the_newest_holder() -> None:
    integrations = sa.table(
        "integrations",
        sa.column("id", sa.Integer),
        sa.column("plugin", sa.String),
        sa.column("external_account_id", sa.String),
        sa.column("enabled", sa.Boolean),
        sa.column("status", sa.String),
        sa.column("disabled_reason", sa.Text),
        sa.column("updated_at", sa.DateTime),
    )
    bind = op.get_bind()
    held = bind.execute(
        sa.select(integrations.c.id, integrations.c.plugin, integrations.c.external_account_id)
        .where(integrations.c.enabled.is_(True), integrations.c.external_account_id.is_not(None))
        .order_by(integrations.c.updated_at.desc(), integrations.c.id.desc())
    ).all()
    seen: set[tuple[str, str]] = set()
    for row_id, plugin, account in held:
        if (plugin, account) in seen:
            bind.execute(
                integrations.update()
                .where(integrations.c.id == row_id)
                .values(enabled=False, status="disabled", disabled_reason=REASON)
            )
        seen.add((plugin, account))


def upgrade() -> None:
    _disable_all_but_the_newest_holder()
    op.create_index(
        "uq_integrations_enabled_account",
        "integrations",
        ["plugin", "external_account_id"],
        unique=True,
        sqlite_where=sa.text("enabled = 1 AND external_account_id IS NOT NULL"),
        postgresql_where=sa.text("enabled AND external_account_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_integrations_enabled_account", table_name="integrations")
