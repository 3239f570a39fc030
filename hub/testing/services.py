"""The real services a test runs against: a migrated database per backend (SQLite always,
PostgreSQL too when `HUB_TEST_DATABASE_URL` is set), Redis from `REDIS_URL` (a database no
other test session uses) or an embedded server, and an app on both."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, inspect, text

from hub.app import create_app
from hub.config import database_url
from hub.core.embedded_redis import EmbeddedRedis
from hub.core.migrations import upgrade
from hub.extensions import db

TEST_REDIS_DBS = (9, 10, 11, 12, 13, 14, 8, 7, 6, 5, 4, 3, 2)  # 0 is the hub's default
CLAIMS_DB = 15  # where sessions claim their database
CLAIM_SECONDS = 120


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("HUB_TEST_DATABASE_URL") else ["sqlite"]


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redis_db_url(url: str, number: int) -> str:
    if url.startswith("unix"):
        return _with_query(url, db=str(number))
    return urlunsplit(urlsplit(url)._replace(path=f"/{number}"))


@contextmanager
def _claimed_redis_db(url: str) -> Iterator[int]:
    """A database number no other test session on this Redis is using, held while in use.

    Tests flush their database, so two suites on one server (a developer's and CI's) must
    not share one. Claims are keys in database CLAIMS_DB that expire unless renewed, so a
    killed session's claim lapses by itself.
    """
    claims = redis.Redis.from_url(_redis_db_url(url, CLAIMS_DB))
    owner = f"{socket.gethostname()}:{os.getpid()}"
    for number in TEST_REDIS_DBS:
        key = f"hub:test-session:{number}"
        if claims.set(key, owner, nx=True, ex=CLAIM_SECONDS):
            break
    else:
        raise RuntimeError(f"every test database of {url} is in use by another test session")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(CLAIM_SECONDS / 4):
            with suppress(redis.RedisError):
                claims.expire(key, CLAIM_SECONDS)

    threading.Thread(target=renew, name="redis-db-claim", daemon=True).start()
    try:
        yield number
    finally:
        stop.set()
        with suppress(redis.RedisError):
            if claims.get(key) == owner.encode():
                claims.delete(key)
        claims.close()


@pytest.fixture(scope="session")
def hub_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Redis for the test session: a database of `REDIS_URL`'s server that no other test
    session uses (9, or the next free one), or an embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        with _claimed_redis_db(url) as number:
            yield _redis_db_url(url, number)
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.sock").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session", params=_backends())
def hub_database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A migrated database per backend: (backend, url of the template)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        upgrade(f"sqlite:///{path}", plugin_migration_dirs())
        yield "sqlite", str(path)
        return
    schema = f"hub_test_{os.getpid()}_{secrets.token_hex(3)}"
    base = database_url(os.environ["HUB_TEST_DATABASE_URL"])
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _with_query(base, options=f"-csearch_path={schema}")
    upgrade(url, plugin_migration_dirs())
    yield "postgresql", url
    emptying = _EMPTYING.pop(url, None)
    if emptying is not None:
        emptying[0].dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def plugin_migration_dirs() -> list[Path]:
    """Migration folders of every installed plugin (filled in by the plugin system)."""
    try:
        from hub.plugins import installed_migration_dirs
    except ImportError:
        return []
    return installed_migration_dirs()


@pytest.fixture
def hub_database_url(hub_database_template: tuple[str, str], tmp_path: Path) -> str:
    """A fresh, migrated, empty database for one test."""
    backend, template = hub_database_template
    if backend == "sqlite":
        target = tmp_path / "hub.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    _emptied(template)
    return template


_EMPTYING: dict[str, tuple[Engine, str]] = {}  # template url -> engine, emptying statement


def _emptied(url: str) -> None:
    """Every table but ``alembic_version`` emptied, ids from 1 again.

    ``DELETE`` in dependency order and ``setval`` on the schema's sequences, sent as one
    batch over a kept engine: on tables of a few rows that takes milliseconds, where
    ``TRUNCATE ... RESTART IDENTITY`` of fifty tables took a third of a second per test."""
    if url not in _EMPTYING:
        engine = create_engine(url)
        # the migrated tables (every installed plugin's, imported or not), dependents first
        ordered = [name for name, _ in inspect(engine).get_sorted_table_and_fkc_names()]
        tables = [name for name in reversed(ordered) if name and name != "alembic_version"]
        with engine.connect() as conn:  # the session's own schema: its sequences are ours
            sequences = conn.scalars(text(_SEQUENCES)).all()
        statements = [f'DELETE FROM "{name}"' for name in tables]
        if sequences:
            resets = ", ".join(f"setval('\"{name}\"', 1, false)" for name in sequences)
            statements.append(f"SELECT {resets}")
        _EMPTYING[url] = (engine, "; ".join(statements))
    engine, statement = _EMPTYING[url]
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)


_SEQUENCES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname = current_schema()
"""


@pytest.fixture
def hub_config(hub_database_url: str, hub_redis_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for a test app; extend it in a test before `app` is created."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        "HUB_DATABASE_URL": hub_database_url,
        "REDIS_URL": hub_redis_url,
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_SECRET_KEY": "test-secret-key",
        "HUB_ENCRYPTION_KEYS": f"test1:{key}",
        "HUB_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def redis_client(hub_redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(hub_redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def app(hub_config: dict[str, Any], redis_client: redis.Redis) -> Iterator[Flask]:
    """A hub app on a throwaway database and a flushed Redis database."""
    application = create_app(hub_config)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
