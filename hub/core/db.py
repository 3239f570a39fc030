"""Database behaviour shared by web and workers: SQLite pragmas, write locks, org scoping."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria

from hub.core.models import OrgScoped

log = logging.getLogger(__name__)

# SQLite: web and workers write at once, so a write transaction takes the lock at BEGIN
# (BEGIN IMMEDIATE) and waits for it, instead of failing when it upgrades from a read.
_sqlite_begin: ContextVar[str] = ContextVar("sqlite_begin", default="BEGIN IMMEDIATE")
SQLITE_BUSY_TIMEOUT_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection: Any) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(_sqlite_begin.get())


@contextmanager
def read_only_transactions() -> Iterator[None]:
    """Within this block, SQLite transactions begin deferred (readers never queue on writers)."""
    token = _sqlite_begin.set("BEGIN")
    try:
        yield
    finally:
        _sqlite_begin.reset(token)


def set_read_mode(read_only: bool) -> None:
    """Choose how SQLite transactions begin for the rest of this context (a web request)."""
    _sqlite_begin.set("BEGIN" if read_only else "BEGIN IMMEDIATE")


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        }
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def scope_to_org(session: Session | scoped_session[Any], org_id: int | None) -> None:
    """Every ORM query in this session sees only rows of `org_id` (None: no scope)."""
    if org_id is None:
        session.info.pop("org_id", None)
    else:
        session.info["org_id"] = org_id


@event.listens_for(Session, "do_orm_execute")
def _add_org_criteria(state: ORMExecuteState) -> None:
    org_id = state.session.info.get("org_id")
    if org_id is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(OrgScoped, lambda cls: cls.org_id == org_id, include_aliases=True)
        )


# What core functions accept: a Session, or the app's scoped session that proxies one.
AnySession = Session | scoped_session[Any]


# ----- callbacks of one transaction -----

_AFTER_COMMIT = "hub.after_commit"
_BEFORE_COMMIT = "hub.before_commit"


def after_commit(session: AnySession, callback: Callable[[], Any]) -> None:
    """Call `callback()` once this session's transaction commits; forget it on rollback.

    For work that must not happen unless the change is kept (enqueue a job for a new row).
    The commit has happened when it runs, so a callback that raises is logged, not raised.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def before_commit(session: AnySession, callback: Callable[[], Any]) -> None:
    """Call `callback()` just before this session's transaction commits (it may still write,
    and an error it raises aborts the commit); forget it on rollback."""
    session.info.setdefault(_BEFORE_COMMIT, []).append(callback)


@event.listens_for(Session, "before_commit")
def _run_before_commit(session: Session) -> None:
    # a callback may register another (or flush rows that do): loop until none is left
    while callbacks := session.info.pop(_BEFORE_COMMIT, None):
        for callback in callbacks:
            callback()


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed (the transaction is committed)")


@event.listens_for(Session, "after_rollback")
def _forget_callbacks(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_BEFORE_COMMIT, None)
