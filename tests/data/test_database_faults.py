"""A lost database connection, or a database that stays locked, is a 503 with Retry-After
that changed nothing; the pool never hands out a connection whose backend is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.pool import NullPool

import hub.core.db
from hub.api.keycache import bump_generation
from hub.core.models import Client, Event
from hub.extensions import db
from hub.testing import ApiClient, make_org


@pytest.fixture
def postgresql(app: Any) -> str:
    url = app.config["HUB_DATABASE_URL"]
    if not url.startswith("postgresql"):
        pytest.skip("terminating a backend is a PostgreSQL test")
    return url


@pytest.fixture
def terminate(postgresql: str) -> Iterator[Callable[[list[int]], None]]:
    """``terminate(pids)``: end those backends (only the hub's own, never another session's)."""
    admin = create_engine(postgresql, poolclass=NullPool)

    def kill(pids: list[int]) -> None:
        with admin.begin() as conn:
            for pid in pids:  # waits (up to 5 s) until the backend is gone
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})

    yield kill
    admin.dispose()


def _engine(app: Any) -> Engine:
    with app.app_context():
        return db.engine


def _terminate_before(app: Any, marker: str, terminate: Callable[[list[int]], None]) -> None:
    """The first statement containing `marker` finds its connection's backend terminated."""
    fired: list[int] = []

    @event.listens_for(_engine(app), "before_cursor_execute")
    def kill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if marker in statement and not fired:
            fired.append(conn.connection.dbapi_connection.info.backend_pid)
            terminate(fired)


def _assert_retry_later(response: Any) -> None:
    assert response.status_code == 503, response.json
    assert response.json["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def _rows(app: Any, model: Any) -> list[Any]:
    with app.app_context():
        found = list(db.session.scalars(select(model)))
        db.session.remove()
    return found


def test_a_connection_lost_while_authenticating_is_503(app, api, terminate):
    assert api.get("/api/clients").status_code == 200
    bump_generation(app.extensions["hub.redis"])  # the key cache forgets: the key is read again
    _terminate_before(app, "FROM api_keys", terminate)
    _assert_retry_later(api.post("/api/clients", json={"name": "Northwind"}))
    assert api.get("/api/clients").json["items"] == []
    assert api.post("/api/clients", json={"name": "Northwind"}).status_code == 201


def test_a_connection_lost_while_writing_is_503_and_applies_nothing(app, api, terminate):
    _terminate_before(app, "INSERT INTO clients", terminate)
    _assert_retry_later(api.post("/api/clients", json={"name": "Northwind"}))
    assert _rows(app, Client) == [] and _rows(app, Event) == []
    retried = api.post("/api/clients", json={"name": "Northwind"})
    assert retried.status_code == 201
    assert [c.name for c in _rows(app, Client)] == ["Northwind"]


def test_the_pool_hands_out_no_dead_connection(app, api, terminate):
    pids: list[int] = []
    event.listen(_engine(app), "connect", lambda raw, record: pids.append(raw.info.backend_pid))
    assert api.get("/api/clients").status_code == 200
    assert api.post("/api/clients", json={"name": "Before"}).status_code == 201
    terminate(list(pids))  # every connection the pool holds, idle between requests
    assert api.get("/api/clients").status_code == 200
    assert api.post("/api/clients", json={"name": "After"}).status_code == 201


def test_a_sqlite_database_that_stays_locked_is_503(
    make_app, hub_config, redis_client, monkeypatch
):
    if not hub_config["HUB_DATABASE_URL"].startswith("sqlite:///"):
        pytest.skip("SQLite's write lock")
    monkeypatch.setattr(hub.core.db, "SQLITE_BUSY_TIMEOUT_MS", 200)  # not 15 s in a test
    app = make_app()
    api = ApiClient(app.test_client(), make_org(app, "Acme").admin_key)
    assert api.get("/api/me").status_code == 200
    holder = sqlite3.connect(hub_config["HUB_DATABASE_URL"].removeprefix("sqlite:///"))
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")
    try:
        _assert_retry_later(api.post("/api/clients", json={"name": "Northwind"}))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert api.get("/api/clients").json["items"] == []
    assert api.post("/api/clients", json={"name": "Northwind"}).status_code == 201
