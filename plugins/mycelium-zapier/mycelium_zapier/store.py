"""Database helpers the plugin shares: idempotent inserts (a run may execute twice)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_conflicts(session: Any, model: Any, rows: list[dict[str, Any]]) -> int:
    """Insert `rows`, skipping those a unique constraint already holds; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(insert(model).values(rows).on_conflict_do_nothing())
    return max(int(result.rowcount or 0), 0)
