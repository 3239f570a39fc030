"""Helpers for the deploy recipes' tests: a fresh PostgreSQL schema, the recipes' settings."""

from __future__ import annotations

import base64
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.config import database_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's scripts: hub, honcho


@contextmanager
def fresh_postgresql_schema() -> Iterator[str]:
    """An empty schema (no tables, no migrations) on the test PostgreSQL; its URL."""
    if not os.environ.get("HUB_TEST_DATABASE_URL"):
        pytest.skip("needs HUB_TEST_DATABASE_URL (the recipes target PostgreSQL)")
    base = database_url(os.environ["HUB_TEST_DATABASE_URL"])
    schema = f"hub_deploy_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def deploy_env(database: str, redis_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """What an operator sets for every process (docs/deploy.md), plus `extra`."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HUB_DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "HUB_ENCRYPTION_KEYS": f"k1:{key}",
        "HUB_SECRET_KEY": secrets.token_hex(16),
        "HUB_VAR_DIR": str(var_dir),
        "HUB_LOG_LEVEL": "INFO",
        **extra,
    }
