"""A lost database connection, or a database that stays locked, is a 503 with Retry-After
that changed nothing; the pool never hands out a connection whose backend is gone."""

from __future__ import annotations

import os
import resource
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


class _Pings:
    """Counts the pings of the app's pool (the dialect's, wrapped for this test)."""

    def __init__(self, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        dialect = _engine(app).dialect
        ping = dialect.do_ping

        def counted(dbapi_connection: Any) -> bool:
            self.count += 1
            return ping(dbapi_connection)

        monkeypatch.setattr(dialect, "do_ping", counted)


def _backend_pids(app: Any) -> list[int]:
    pids: list[int] = []
    event.listen(_engine(app), "checkout", lambda raw, *args: pids.append(raw.info.backend_pid))
    return pids


def test_a_live_idle_connection_is_handed_out_without_a_ping(app, api, postgresql, monkeypatch):
    assert api.get("/api/clients").status_code == 200
    pings = _Pings(app, monkeypatch)
    for number in range(5):
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201
        assert api.get("/api/clients").status_code == 200
    assert pings.count == 0


def test_a_connection_its_server_wrote_to_is_pinged_and_kept_if_alive(
    app, api, postgresql, monkeypatch
):
    """A notification arrives on an idle pooled connection: its socket reads as ready, the
    ping finds the backend alive, and the same connection serves the next request."""
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(text("LISTEN hub_test_channel"))
        conn.commit()
        listening = conn.connection.dbapi_connection.info.backend_pid
    admin = create_engine(postgresql, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text("NOTIFY hub_test_channel"))
    admin.dispose()
    pings, pids = _Pings(app, monkeypatch), _backend_pids(app)
    assert api.get("/api/clients").status_code == 200
    assert pings.count == 1
    assert listening in pids  # kept: it served the request, not replaced


def test_a_connection_past_descriptor_1024_is_handed_out(app, api, postgresql):
    """select() cannot watch a descriptor past 1024; a busy process has such connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("this process may not open 1,200 files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with app.app_context():
            db.engine.dispose()  # the next connection gets a descriptor past them
        assert api.get("/api/clients").status_code == 200
        connects: list[int] = []
        event.listen(_engine(app), "connect", lambda raw, record: connects.append(raw.fileno()))
        assert api.get("/api/clients").status_code == 200  # its connections, checked again
        assert connects == []  # none was taken for dead and replaced
        with app.app_context(), db.engine.connect() as conn:
            assert conn.connection.dbapi_connection.fileno() > 1024
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_recreated_pool_still_hands_out_no_dead_connection(app, api, terminate):
    with app.app_context():
        db.engine.dispose()  # as a forked process does: a new pool, the listener kept
    pids = _backend_pids(app)
    assert api.get("/api/clients").status_code == 200
    terminate(list(pids))
    assert api.post("/api/clients", json={"name": "After"}).status_code == 201
    assert pids[-1] != pids[0]


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
