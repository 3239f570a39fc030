"""Migration 0007: where several enabled integrations held one external account, the one
changed last keeps it and the others are disabled with a reason; then the index holds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from hub.core.migrations import alembic_config

ROW = (
    "INSERT INTO integrations (id, org_id, plugin, enabled, status, config, secrets, "
    "external_account_id, consecutive_errors, created_at, updated_at) VALUES "
    "(:id, :org, 'slack', 1, 'enabled', '{}', '{}', :account, 0, :at, :at)"
)


def test_older_holders_of_one_account_are_disabled_and_the_index_then_holds(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0005_webhooks")
    engine = create_engine(url)
    with engine.begin() as conn:
        for org in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, slug, timezone, due_soon_hours, "
                    "created_at, updated_at) VALUES (:id, 'o', :slug, 'UTC', 24, :at, :at)"
                ),
                {"id": org, "slug": f"o{org}", "at": datetime(2026, 1, 1)},
            )
        for row_id, org, account, day in ((1, 1, "T1", 1), (2, 2, "T1", 3), (3, 3, "T2", 2)):
            at = datetime(2026, 1, day)
            conn.execute(text(ROW), {"id": row_id, "org": org, "account": account, "at": at})
    command.upgrade(alembic_config(url), "0007_one_account")
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT id, enabled, status, disabled_reason FROM integrations ORDER BY id")
        ).all()
    assert [(r[0], bool(r[1]), r[2]) for r in rows] == [
        (1, False, "disabled"),  # changed first: it loses the workspace
        (2, True, "enabled"),
        (3, True, "enabled"),
    ]
    assert "Another organization connected the same account" in rows[0][3]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE integrations SET enabled = 1 WHERE id = 1"))
    engine.dispose()
