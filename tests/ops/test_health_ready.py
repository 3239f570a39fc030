"""Liveness and readiness for orchestrators, and the worker's schema check at start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import create_engine, text

from hub.app import create_app
from hub.core import schema_version
from hub.core.migrations import alembic_config, upgrade
from hub.extensions import db
from hub.testing import plugin_migration_dirs

CORE_SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))
CORE_HEAD = CORE_SCRIPTS.get_current_head() or ""  # the core's newest migration
OLDER = str(CORE_SCRIPTS.get_revision(CORE_HEAD).down_revision)  # the one before it


@contextmanager
def core_version(url: str, version: str) -> Iterator[None]:
    """The database says its core schema is at `version`; as it was afterwards (the
    PostgreSQL template schema is shared by the session's tests)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
                {"new": version, "old": CORE_HEAD},
            )
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE alembic_version SET version_num = :old WHERE version_num = :new"),
                {"new": version, "old": CORE_HEAD},
            )
        engine.dispose()


@pytest.fixture(autouse=True)
def _no_revisions_of_other_tests(hub_database_url: str) -> Iterator[None]:
    """On PostgreSQL the session's tests share one schema, and a test that installs and
    migrates a plugin of its own leaves that plugin's revision in alembic_version: set such
    rows aside while these tests read the schema's state, and put them back afterwards."""
    engine = create_engine(hub_database_url)
    known = schema_version.code_revisions(plugin_migration_dirs()).known
    with engine.begin() as conn:
        others = sorted(schema_version.database_heads(conn) - known)
        for revision in others:
            conn.execute(
                text("DELETE FROM alembic_version WHERE version_num = :r"), {"r": revision}
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            for revision in others:
                conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
        engine.dispose()


@contextmanager
def app_on(settings: dict[str, Any]) -> Iterator[Flask]:
    """An app on these settings, its connections closed afterwards."""
    app = create_app(settings)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["hub.redis"].close()


def test_live_answers_without_database_or_redis(hub_config):
    down = {**hub_config, "REDIS_URL": "redis://127.0.0.1:1/0"}
    down["HUB_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    with app_on(down) as app:
        response = app.test_client().get("/api/health/live")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_when_everything_is_up(client):
    response = client.get("/api/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "migrations": "ok"},
    }


def test_not_ready_without_redis_names_it(hub_config, redis_client):
    with app_on({**hub_config, "REDIS_URL": "redis://127.0.0.1:1/0"}) as app:
        response = app.test_client().get("/api/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready"
    assert body["checks"]["redis"] == "error: ConnectionError"
    assert body["checks"]["database"] == "ok"


def test_not_ready_without_database_names_it(hub_config, redis_client):
    with app_on({**hub_config, "HUB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}) as app:
        response = app.test_client().get("/api/health/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "error: OperationalError"
    assert checks["migrations"] == "unknown: no database"
    assert checks["redis"] == "ok"


def test_schema_older_than_the_code_is_not_ready(app, client, hub_config):
    with core_version(hub_config["HUB_DATABASE_URL"], OLDER):
        response = client.get("/api/health/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == (
        f"behind: {CORE_HEAD} not applied (run `hub db upgrade`)"
    )
    assert client.get("/api/health/ready").status_code == 200


def test_schema_migrated_by_newer_code_stays_ready(app, client, hub_config):
    with core_version(hub_config["HUB_DATABASE_URL"], "0099_from_newer_code"):
        response = client.get("/api/health/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"]["migrations"] == (
        "ahead: 0099_from_newer_code applied by newer code"
    )


def test_empty_database_is_not_ready_until_upgraded(hub_config, redis_client, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with app_on({**hub_config, "HUB_DATABASE_URL": url}) as app:
        client = app.test_client()
        response = client.get("/api/health/ready")
        assert response.status_code == 503
        assert CORE_HEAD in response.get_json()["checks"]["migrations"]
        assert "smtp" in response.get_json()["checks"]["migrations"]  # plugins' heads too
        upgrade(url, plugin_migration_dirs())
        assert client.get("/api/health/ready").status_code == 200


def run_worker(settings: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "worker", "--burst"],
        # INFO, so that "worker started" shows when it does
        env={**os.environ, **{k: str(v) for k, v in settings.items()}, "HUB_LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_worker_refuses_a_schema_older_than_its_code(hub_config, redis_client):
    with core_version(hub_config["HUB_DATABASE_URL"], OLDER):
        refused = run_worker(hub_config)
    assert refused.returncode == 2
    assert f"the database schema is behind: {CORE_HEAD} not applied" in refused.stderr
    assert "worker started" not in refused.stderr
    started = run_worker(hub_config)
    assert started.returncode == 0, started.stderr
    assert "worker started" in started.stderr


def test_worker_runs_on_a_schema_newer_than_its_code(hub_config, redis_client):
    with core_version(hub_config["HUB_DATABASE_URL"], "0099_from_newer_code"):
        finished = run_worker(hub_config)
    assert finished.returncode == 0, finished.stderr
    assert "applied by newer code" in finished.stderr
