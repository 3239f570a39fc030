"""Every SQLite connection of the hub is set up the same way: WAL, a busy timeout, foreign
keys, and checkpoints far enough apart that a busy worker's hot pages are copied back
once per checkpoint, not once per thousand pages (with the WAL file cut back after)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hub.core.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_CHECKPOINT_PAGES, SQLITE_WAL_KEEP_BYTES
from hub.extensions import db


def test_each_sqlite_connection_has_the_hubs_settings(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's connection settings")
        with db.engine.connect() as conn:
            read = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in (
                    "journal_mode",
                    "busy_timeout",
                    "foreign_keys",
                    "synchronous",
                    "wal_autocheckpoint",
                    "journal_size_limit",
                )
            }
    assert read == {
        "journal_mode": "wal",
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
        "wal_autocheckpoint": SQLITE_CHECKPOINT_PAGES,
        "journal_size_limit": SQLITE_WAL_KEEP_BYTES,
    }
    assert SQLITE_CHECKPOINT_PAGES > 1000  # SQLite's default, which copied ten times as often


def test_the_wal_is_checkpointed_every_so_many_pages_on_sqlite(app):
    """Past SQLITE_CHECKPOINT_PAGES a commit copies the WAL back, and the WAL starts over:
    it neither grows without end nor is copied back every 1,000 pages."""
    fill = text(
        "INSERT INTO filler (body) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
        "SELECT i + 1 FROM n WHERE i < 100) SELECT randomblob(3900) FROM n"
    )
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's WAL")
        with db.engine.connect() as conn:
            conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)"))
            conn.commit()
            for _ in range(SQLITE_CHECKPOINT_PAGES * 3 // 2 // 100):  # 1.5 checkpoints' worth
                conn.execute(fill)  # about 100 pages of 4 KB
                conn.commit()
            _, wal_pages, _ = conn.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
    # one checkpoint at SQLITE_CHECKPOINT_PAGES, then about half as many again
    assert 1_100 < wal_pages <= SQLITE_CHECKPOINT_PAGES + 200
