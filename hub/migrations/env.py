"""Alembic environment: the core's tables and every plugin's branch share one metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from hub.core.models import Base

config = context.config
target_metadata = Base.metadata


def _check_foreign_keys(connection: Connection) -> None:
    """SQLite ran the migrations without enforcing foreign keys: refuse to commit any
    reference they left dangling."""
    if connection.dialect.name != "sqlite":
        return
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise RuntimeError(f"migrations left rows referring to nothing: {dangling[:10]}")


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Batch mode rebuilds a SQLite table by dropping it, and dropping a table with foreign
    keys enforced deletes the rows that refer to it (ON DELETE CASCADE) before the copy
    takes its place. The pragma only works outside a transaction: set it on the driver's
    connection, before SQLAlchemy begins one."""
    if connection.dialect.name == "sqlite":
        raw = connection.connection.driver_connection
        raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")  # type: ignore[union-attr]


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        _check_foreign_keys(connection)


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _sqlite_foreign_keys(conn, on=False)
        _run(conn)
        conn.commit()
        _sqlite_foreign_keys(conn, on=True)
    engine.dispose()
