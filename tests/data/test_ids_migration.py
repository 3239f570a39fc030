"""Migrating a SQLite database made before AUTOINCREMENT: every row and every reference is
kept, the sequence starts after the largest id, and from then on ids are never reused."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import create_engine, inspect, text

from hub.app import create_app
from hub.core.connections import integrations
from hub.core.migrations import alembic_config, upgrade
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing import ApiClient, make_org, plugin_migration_dirs, run_jobs

# The heads before ids were made never to go back (core, then each plugin's branch).
OLD_HEADS = ("0005_webhooks", "slack_0001", "smtp_0001", "zapier_0001")
# The revisions that rebuild the tables (later ones may change them in other ways).
ID_REVISIONS = ("0006_ids_never_reused", "slack_0002_ids", "smtp_0002_ids", "zapier_0002_ids")
DEAD_PORT = "http://127.0.0.1:9"  # refused at once: deliveries fail and log attempts


@pytest.fixture
def old_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url, plugin_migration_dirs())
    for revision in OLD_HEADS:
        command.upgrade(config, revision)
    return url


@pytest.fixture
def open_app(
    old_database: str, hub_redis_url: str, redis_client: Any, tmp_path: Path
) -> Iterator[Any]:
    """``open_app()``: an app on the old database, closed after the test."""
    made: list[Flask] = []

    def make() -> Flask:
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        made.append(
            create_app(
                {
                    "HUB_DATABASE_URL": old_database,
                    "REDIS_URL": hub_redis_url,
                    "HUB_VAR_DIR": str(tmp_path / "var"),
                    "HUB_SECRET_KEY": "test-secret-key",
                    "HUB_ENCRYPTION_KEYS": f"test1:{key}",
                    "HUB_LOG_LEVEL": "WARNING",
                    "HUB_EGRESS_ALLOW_HTTP": "1",
                    "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
                }
            )
        )
        return made[-1]

    yield make
    for app in made:
        _close(app)


def _close(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _fill(app: Flask) -> ApiClient:
    """Rows in every family that references another: orgs, people, keys, clients,
    deliverables, events, runs, webhook endpoints with deliveries and attempts, Zapier
    subscriptions with theirs."""
    acme, _ = make_org(app, "Acme"), make_org(app, "Rival")
    api = ApiClient(app.test_client(), acme.admin_key)
    with app.app_context():
        keyring = app.extensions["hub.keyring"]
        integrations.enable(db.session, get_plugins(app).providers, keyring, acme.id, "zapier", {})
        db.session.commit()
    _ok(api.post("/api/integrations/webhooks", json={"url": f"{DEAD_PORT}/w", "events": ["*"]}))
    hook = {"target_url": f"{DEAD_PORT}/z", "event": "client.created"}
    _ok(api.post("/api/integrations/zapier/hooks", json=hook))
    service = _ok(api.post("/api/service-types", json={"name": "Branding"}))
    ids = [
        _ok(api.post("/api/clients", json={"name": n, "service_type_ids": [service["id"]]}))["id"]
        for n in ("Globex", "Initech", "Umbrella")
    ]
    _ok(api.post("/api/deliverables", json={"client_id": ids[0], "title": "Logo"}))
    assert api.delete(f"/api/clients/{ids[1]}").status_code == 204  # a gap in the middle
    run_jobs(app)
    return api


def _snapshot(url: str) -> dict[str, Any]:
    """Every row of every table, and each table's columns, indexes and constraints."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        names = [n for n in inspector.get_table_names() if n != "alembic_version"]
        with engine.connect() as conn:
            rows = {
                n: conn.execute(text(f'SELECT * FROM "{n}" ORDER BY rowid')).all() for n in names
            }
        shape = {
            n: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(n)],
                sorted(str(sorted(i.items())) for i in inspector.get_indexes(n)),
                sorted(str(sorted(u.items())) for u in inspector.get_unique_constraints(n)),
                sorted(str(sorted(f.items())) for f in inspector.get_foreign_keys(n)),
            )
            for n in names
        }
    finally:
        engine.dispose()
    return {"rows": rows, "shape": shape}


def _sequences(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT name, seq FROM sqlite_sequence")).all())
    finally:
        engine.dispose()


def test_migration_keeps_every_row_and_starts_after_the_largest_id(
    old_database: str, open_app: Any
) -> None:
    app = open_app()
    _fill(app)
    _close(app)
    before = _snapshot(old_database)
    assert before["rows"]["webhook_attempts"] and before["rows"]["zapier_deliveries"]

    config = alembic_config(old_database, plugin_migration_dirs())
    for revision in ID_REVISIONS:
        command.upgrade(config, revision)

    after = _snapshot(old_database)
    assert after["shape"] == before["shape"]
    for table, rows in before["rows"].items():
        assert after["rows"][table] == rows, f"{table} changed"
    sequences = _sequences(old_database)
    for table in ("organizations", "clients", "webhook_endpoints", "zapier_hooks", "runs"):
        assert sequences[table] == max(row[0] for row in before["rows"][table]), table


def test_after_migrating_a_deleted_id_is_never_given_again(
    old_database: str, open_app: Any
) -> None:
    app = open_app()
    api = _fill(app)
    newest = max(c["id"] for c in api.get("/api/clients").get_json()["items"])
    _close(app)
    upgrade(old_database, plugin_migration_dirs())
    app = open_app()
    api = ApiClient(app.test_client(), api.key)
    assert api.delete(f"/api/clients/{newest}").status_code == 204
    again = _ok(api.post("/api/clients", json={"name": "Hooli"}))["id"]
    assert again > newest
