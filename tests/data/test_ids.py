"""No id the API has shown ever names another object: deleting the newest row and creating
another gives a new id, on SQLite (AUTOINCREMENT on every table) as on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable
from support.webhook_tools import LOOPBACK, register

from hub.core.models import Base, Run
from hub.extensions import db
from hub.testing import run_jobs

WEBHOOKS = "/api/integrations/webhooks"
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {**hub_config, **LOOPBACK}


def _created(response: Any) -> int:
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_a_deleted_webhook_endpoints_id_names_nothing_again(api):
    first = register(api, URL)["id"]
    newest = register(api, URL)["id"]
    assert api.delete(f"{WEBHOOKS}/{newest}").status_code == 204
    again = register(api, URL)["id"]
    assert again > newest
    assert api.get(f"{WEBHOOKS}/{newest}").status_code == 404
    assert api.delete(f"{WEBHOOKS}/{newest}").status_code == 404  # the stale id removes nothing
    assert [e["id"] for e in api.get(WEBHOOKS).get_json()["items"]] == [first, again]


def test_a_deleted_clients_id_names_nothing_again(api):
    _created(api.post("/api/clients", json={"name": "Globex"}))
    newest = _created(api.post("/api/clients", json={"name": "Initech"}))
    assert api.delete(f"/api/clients/{newest}").status_code == 204
    again = _created(api.post("/api/clients", json={"name": "Umbrella"}))
    assert again > newest
    assert api.get(f"/api/clients/{newest}").status_code == 404


def test_a_deleted_deliverables_id_names_nothing_again(api):
    client_id = _created(api.post("/api/clients", json={"name": "Globex"}))
    body = {"client_id": client_id, "title": "Logo"}
    newest = _created(api.post("/api/deliverables", json=body))
    assert api.delete(f"/api/deliverables/{newest}").status_code == 204
    again = _created(api.post("/api/deliverables", json={**body, "title": "Site"}))
    assert again > newest
    assert api.get(f"/api/deliverables/{newest}").status_code == 404


def test_a_deleted_users_id_names_nothing_again(api):
    newest = _created(api.post("/api/users", json={"email": "a@x.example", "name": "A"}))
    assert api.delete(f"/api/users/{newest}").status_code == 204
    again = _created(api.post("/api/users", json={"email": "b@x.example", "name": "B"}))
    assert again > newest
    assert api.get(f"/api/users/{newest}").status_code == 404


def test_a_deleted_runs_id_names_nothing_again(app, api):
    """Runs leave with the retention job; the next event's run still gets a new id."""
    _created(api.post("/api/clients", json={"name": "Globex"}))
    run_jobs(app)
    (newest,) = [r["id"] for r in api.get("/api/integrations/runs").get_json()["items"]]
    with app.app_context():
        db.session.execute(db.delete(Run).where(Run.id == newest))
        db.session.commit()
    _created(api.post("/api/clients", json={"name": "Initech"}))
    run_jobs(app)
    (again,) = [r["id"] for r in api.get("/api/integrations/runs").get_json()["items"]]
    assert again > newest


def _integer_keyed(inspector: Any) -> list[str]:
    """The database's tables whose primary key is one integer column."""
    found = []
    for name in inspector.get_table_names():
        key = inspector.get_pk_constraint(name)["constrained_columns"]
        types = {c["name"]: c["type"] for c in inspector.get_columns(name)}
        if len(key) == 1 and types[key[0]].python_type is int:
            found.append(name)
    return found


def test_every_integer_key_in_the_migrated_database_never_goes_back(app, hub_database_url):
    """Every table the migrations made, plugins' included: AUTOINCREMENT on SQLite, a
    sequence on PostgreSQL."""
    engine = create_engine(hub_database_url)
    try:
        tables = _integer_keyed(inspect(engine))
        assert {"webhook_endpoints", "zapier_hooks", "smtp_emails", "slack_users"} <= set(tables)
        with engine.connect() as conn:
            plain = [t for t in tables if not _never_reuses(conn, t)]
    finally:
        engine.dispose()
    assert not plain, f"tables that may hand a deleted row's id out again: {plain}"


def _never_reuses(conn: Any, table: str) -> bool:
    if conn.dialect.name == "sqlite":
        sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
        ).scalar_one()
        return "AUTOINCREMENT" in sql.upper()
    default = conn.execute(
        text(
            "SELECT pg_get_serial_sequence(:t, a.attname) FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary"
        ),
        {"t": table},
    ).scalar_one()
    return default is not None


def test_every_model_declares_autoincrement(app):
    """The models say it too, so a database made from them gets it."""
    missing = [
        table.name
        for table in Base.metadata.sorted_tables
        if [c.type.python_type for c in table.primary_key.columns] == [int]
        and "AUTOINCREMENT" not in str(CreateTable(table).compile(dialect=sqlite.dialect()))
    ]
    assert not missing
