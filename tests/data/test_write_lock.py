"""No request holds a write lock while plugin code runs, and recording a key's use never
waits for one: on SQLite one request's write transaction stalls every organization's
writes, on PostgreSQL a row lock stalls whoever needs that row."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import hub
from hub.core.models import ApiKey
from hub.extensions import db

NAME = "probe"
bp = Blueprint("probe", __name__)


def _sqlite_path(url: str) -> str | None:
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def write_lock_free(url: str) -> bool:
    """Can another connection write right now without waiting? (SQLite: the database's
    write lock; PostgreSQL: the API keys' rows, which a request's own writes would lock.)"""
    path = _sqlite_path(url)
    if path is not None:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            probe.close()
    with _connection(url) as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
        try:
            conn.execute(text("UPDATE api_keys SET name = name"))
        except OperationalError:
            return False
        finally:
            conn.rollback()
        return True


class Probe:
    """A plugin whose code checks, while it runs, that no write lock is held."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[str, bool] = {}

    def look(self, where: str) -> bool:
        self.seen[where] = write_lock_free(self.url)
        return self.seen[where]

    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name=NAME, title="Probe", config_schema=None))

    @hub.hookimpl
    def register_routes(self, register: Any) -> None:
        register(bp)

    @hub.hookimpl
    def health_check(self, ctx: hub.PluginContext) -> hub.HealthResult:
        return hub.HealthResult(ok=self.look("health_check"))

    @hub.hookimpl
    def send_test_message(self, ctx: hub.PluginContext, user: Any) -> str:
        self.look("send_test_message")
        return "sent"


PROBES: list[Probe] = []


@bp.post("/work")
def work() -> dict[str, Any]:
    """A plugin route that reads, then works (renders, calls out) before it answers."""
    ctx = hub.current_context()
    ctx.db.scalar(select(ApiKey.id))
    return {"lock_free": PROBES[-1].look("route")}


def _probe(register_plugin: Any, app: Any) -> Probe:
    probe = Probe(app.config["HUB_DATABASE_URL"])
    PROBES.append(probe)
    register_plugin(probe, NAME)
    return probe


def test_plugin_code_in_a_request_runs_with_no_write_lock_held(
    app, register_plugin, enable_plugin, api, member_api
):
    probe = _probe(register_plugin, app)
    enable_plugin(NAME)
    tested = api.post(f"/api/integrations/{NAME}/test")
    assert tested.status_code == 200, tested.json
    assert member_api.post(f"/api/integrations/{NAME}/work").json == {"lock_free": True}
    assert probe.seen == {"health_check": True, "send_test_message": True, "route": True}


@contextmanager
def _held_lock(url: str) -> Iterator[None]:
    """Another connection holds what a key touch needs: SQLite's write lock, or the keys' rows."""
    path = _sqlite_path(url)
    if path is not None:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with _connection(url) as conn:
        conn.execute(text("SELECT id FROM api_keys FOR UPDATE"))
        try:
            yield
        finally:
            conn.rollback()


def _last_used(app: Any) -> dict[str, Any]:
    with app.app_context():
        rows = db.session.execute(select(ApiKey.role, ApiKey.last_used_at)).all()
        db.session.remove()
    return {role: used for role, used in rows}


def test_recording_a_keys_use_never_waits_for_a_lock(app, api):
    answers: list[Any] = []
    with _held_lock(app.config["HUB_DATABASE_URL"]):
        reader = threading.Thread(target=lambda: answers.append(api.get("/api/me")))
        reader.start()
        reader.join(timeout=5)  # it would wait 15 s (SQLite's busy timeout), or for ever
        assert not reader.is_alive(), "the request waited for the lock"
    assert answers[0].status_code == 200
    assert _last_used(app)["admin"] is None  # skipped while locked...
    assert api.get("/api/me").status_code == 200
    assert _last_used(app)["admin"] is not None  # ...and recorded by a later use
