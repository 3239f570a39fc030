"""Database behaviour shared by web and workers: SQLite pragmas, write locks, org scoping."""

from __future__ import annotations

import json
import logging
import select
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    Column,
    Connection,
    Engine,
    Table,
    TypeDecorator,
    bindparam,
    case,
    event,
    literal,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    scoped_session,
    with_loader_criteria,
)
from sqlalchemy.sql import ColumnElement, sqltypes
from sqlalchemy.sql.visitors import InternalTraversal

from hub.core.models import OrgScoped

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15000
SQLITE_CHECKPOINT_PAGES = 10_000  # about 40 MB of WAL between checkpoints (4 KB pages)
SQLITE_WAL_KEEP_BYTES = 64 * 1024 * 1024
# conn.info key: False while the transaction has only read, True once it writes (or locks
# rows); absent outside a transaction.
WRITING = "hub_writing"
# Statements that neither write nor need the write lock (the first word of the SQL).
_LOCK_FREE = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "ROLLBACK", "RELEASE"})


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
    # the WAL is copied into the database every SQLITE_CHECKPOINT_PAGES pages (SQLite's
    # default, 1,000, copied the pages a busy worker rewrites, index pages above all, ten
    # times as often); the file left behind is cut back to SQLITE_WAL_KEEP_BYTES
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_KEEP_BYTES}")
    cursor.close()


# SQLite has one writer at a time. A transaction begins deferred, so reading takes no lock,
# and takes the write lock (BEGIN IMMEDIATE) only just before its first write, row lock
# (FOR UPDATE) or savepoint. Nothing that merely reads, validates, renders or waits on the
# network before it writes holds up another organization's writes.
@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    conn.info[WRITING] = False
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _on_end(conn: Connection) -> None:
    if not conn.invalidated:  # a lost connection has no info left to clear
        conn.info.pop(WRITING, None)


@event.listens_for(Engine, "before_cursor_execute")
def _before_cursor_execute(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    if conn.info.get(WRITING) is False and _needs_write_lock(statement, context):
        if conn.dialect.name == "sqlite":
            _take_sqlite_write_lock(conn.connection.dbapi_connection)
        conn.info[WRITING] = True


def _needs_write_lock(statement: str, context: Any) -> bool:
    word = statement.lstrip()[:10].split(None, 1)[0].upper() if statement.strip() else ""
    if word in ("SELECT", "WITH"):
        compiled = getattr(context, "compiled", None)
        if compiled is None:
            return word == "WITH"  # plain SQL: a CTE may write
        locks = getattr(compiled.statement, "_for_update_arg", None) is not None
        return locks or bool(context.isinsert or context.isupdate or context.isdelete)
    return word not in _LOCK_FREE


def _take_sqlite_write_lock(raw: Any) -> None:
    """Swap the read transaction for a write transaction (BEGIN IMMEDIATE waits for the lock).

    Upgrading a read transaction in place fails at once (SQLITE_BUSY, no waiting) when
    another connection wrote since it began, so the read snapshot is ended first: what the
    transaction read before may have changed since, as under PostgreSQL's READ COMMITTED,
    and the code is written for that. Only reads are dropped: nothing was written yet.
    """
    if raw.in_transaction:
        raw.execute("COMMIT")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        raw.execute("BEGIN")  # stay inside a transaction, as SQLAlchemy believes we are
        raise


@contextmanager
def no_lock_wait(conn: Connection) -> Iterator[None]:
    """Within this block, a statement of `conn` (a fresh connection, before its transaction
    begins) that needs a lock another transaction holds fails at once instead of waiting."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("SET LOCAL lock_timeout = '1ms'")  # 0 would mean no limit
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        yield
    finally:  # the connection goes back to the pool: others expect the usual wait
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


# PostgreSQL SQLSTATE classes of a lost or refused connection: 08 connection exception,
# 57P operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect).
_LOST_SQLSTATES = ("08", "57P")
_SQLITE_BUSY = ("database is locked", "database is busy")


def database_unavailable(error: DBAPIError) -> bool:
    """Did `error` come from a lost or unreachable database, or one that stayed locked,
    rather than from the statement? Then nothing was applied and a retry may succeed."""
    if error.connection_invalidated:
        return True
    orig = error.orig
    if isinstance(orig, sqlite3.OperationalError):
        return str(orig) in _SQLITE_BUSY
    sqlstate = getattr(orig, "sqlstate", "")
    if isinstance(error, OperationalError) and sqlstate is None:
        return True  # raised by the driver itself: the server could not be reached
    return str(sqlstate or "").startswith(_LOST_SQLSTATES)


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {
            "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        }
    # no pool_pre_ping: watch_pool pings only a connection whose socket has news
    return {"pool_size": 10, "max_overflow": 20}


def watch_pool(engine: Engine) -> None:
    """Never hand out a PostgreSQL connection whose backend is gone, without a round trip
    for every checkout (SQLAlchemy's pre-ping costs one: ~100 us of CPU here, each
    transaction).

    An idle connection's server writes to it only to end it: a terminated backend, a
    server shutting down or restarted, an idle timeout send their error and close, so
    its socket reads as ready. Only then is the connection pinged, as pre-ping would; a
    failed ping invalidates the pool, and the pool connects again. The listener stays
    with the engine when its pool is recreated (``engine.dispose()``).
    """
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", partial(_ping_if_told, engine.dialect))


def _ping_if_told(dialect: Any, dbapi_connection: Any, record: Any, proxy: Any) -> None:
    try:
        if getattr(dbapi_connection, "broken", False):
            raise DisconnectionError("the connection is broken")
        # poll, not select: a busy process's descriptors may number past select's 1024
        socket = select.poll()
        socket.register(dbapi_connection.fileno(), select.POLLIN)
        told = socket.poll(0)  # data, end of file, hang-up or error: anything
    except (OSError, ValueError, dialect.loaded_dbapi.Error) as exc:  # closed meanwhile
        raise DisconnectionError(str(exc)) from exc
    if not told:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, dbapi_connection, None):
            raise InvalidatePoolError(str(exc)) from exc
        raise


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


C = TypeVar("C", bound=Callable[[], Any])


def after_commit(session: AnySession, callback: C, *, key: str | None = None) -> C:
    """Call `callback()` once this session's transaction commits; forget it on rollback.

    For work that must not happen unless the change is kept (enqueue a job for a new row).
    The commit has happened when it runs, so a callback that raises is logged, not raised.

    With `key`, one callback per transaction: if one is already waiting under that key, it
    is returned and `callback` is dropped. That is how a transaction gathers work for one
    call at commit (ids into one job): keep the state on the callback object, as
    ``after_commit(session, Batch(), key="x").ids.append(row_id)``.
    """
    return _register(session, _AFTER_COMMIT, callback, key)


def before_commit(session: AnySession, callback: C, *, key: str | None = None) -> C:
    """Call `callback()` just before this session's transaction commits (it may still write,
    and an error it raises aborts the commit); forget it on rollback. `key` as for
    :func:`after_commit`."""
    return _register(session, _BEFORE_COMMIT, callback, key)


def _register(session: AnySession, when: str, callback: C, key: str | None) -> C:
    real = session() if isinstance(session, scoped_session) else session
    if not real.in_transaction():
        real.begin()  # so a rollback before any statement forgets the callback too
    if key is not None:
        keyed: dict[str, Any] = session.info.setdefault(when + ".keyed", {})
        if key in keyed:
            return cast(C, keyed[key])
        keyed[key] = callback
    session.info.setdefault(when, []).append(callback)
    return callback


@event.listens_for(Session, "before_commit")
def _run_before_commit(session: Session) -> None:
    # a callback may register another (or flush rows that do): loop until none is left
    while callbacks := session.info.pop(_BEFORE_COMMIT, None):
        session.info.pop(_BEFORE_COMMIT + ".keyed", None)
        for callback in callbacks:
            callback()


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT + ".keyed", None)
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed (the transaction is committed)")


@event.listens_for(Session, "after_transaction_end")
def _forget_callbacks(session: Session, transaction: SessionTransaction) -> None:
    # Only the outermost transaction's end: a savepoint rolled back leaves the callbacks of
    # the transaction around it in place. Committed, they have run by now; else they go.
    if transaction.parent is not None:
        return
    for name in (_AFTER_COMMIT, _BEFORE_COMMIT):
        session.info.pop(name, None)
        session.info.pop(name + ".keyed", None)


def insert_ignoring_conflicts(
    session: AnySession, model: Any, rows: list[dict[str, Any]], *returning: Any
) -> list[Any]:
    """Insert rows, skipping any that violate a unique constraint; the `returning` columns
    of those inserted (values for one column, rows for several; none: nothing)."""
    return _insert_many(session, model, rows, returning, ignore=True)


def insert_rows(session: AnySession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in one statement on PostgreSQL (an
    executemany elsewhere): the bulk writes of a batch (webhook attempts)."""
    _insert_many(session, table, rows, (), ignore=False)


def _insert_many(
    session: AnySession,
    model: Any,
    rows: list[dict[str, Any]],
    returning: tuple[Any, ...],
    ignore: bool,
) -> list[Any]:
    if not rows:
        return []
    table = model if isinstance(model, Table) else model.__table__
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        records = _as_records(table, rows, returning, ignore)
        done = None if records is None else records.run(session, dialect, rows, len(returning))
        if done is not None:
            return done
    keys = rows[0].keys()
    same = all(key in table.c for key in keys) and all(row.keys() == keys for row in rows)
    if table is not model and same:
        model = table  # Core's insert: the ORM's bulk insert costs more, row by row
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    # executemany form: one cached statement, batched by SQLAlchemy ("insertmanyvalues");
    # an ORM model's rows may differ in their keys (grouped), a table's take the first's
    stmt = insert(model).on_conflict_do_nothing() if ignore else insert(model)
    if not returning:
        session.execute(stmt, rows)
        return []
    returns = stmt.returning(*returning)
    if len(returning) == 1:
        return list(session.scalars(returns, rows))
    return list(session.execute(returns, rows))


class _NotPlain(Exception):
    """A value the JSON records cannot carry as the column's own type would: rows go
    SQLAlchemy's way."""


def _json_value(value: Any) -> str:
    raise _NotPlain(type(value).__name__)  # datetimes are text by now (_iso_times)


def _iso_times(values: list[Any], naive: bool) -> list[Any] | None:
    """A datetime column's values as ISO text (None: one is not a datetime, or is aware
    where the column keeps no zone). A batch's rows share their times, so one object is
    formatted once."""
    texts: list[Any] = []
    last: Any = None
    last_text = None
    for value in values:
        if value is not last:
            if value is not None and (
                not isinstance(value, datetime) or (naive and value.tzinfo is not None)
            ):
                return None
            last, last_text = value, None if value is None else value.isoformat()
        texts.append(last_text)
    return texts


_dump_records = json.JSONEncoder(
    default=_json_value, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


@dataclass(frozen=True)
class _RecordsInsert:
    """``INSERT ... SELECT ... FROM json_to_recordset(:records) [ON CONFLICT DO NOTHING]
    [RETURNING]``: the rows as one JSON parameter, whatever their number.

    SQLAlchemy sends many rows either as one ``VALUES (...), (...)`` statement with a
    parameter per value, which psycopg parses anew each time (it caches statements of up to
    50 parameters; for dispatch's 100 runs of 13 columns that parsing was a quarter of
    dispatch's CPU), or as an executemany, a statement executed per row. This statement is
    short and the same for any batch; the rows are encoded by the json module's C encoder,
    where an array parameter per column made psycopg quote every string in Python.
    Strings are read as ``text`` and the insert's assignment checks a ``VARCHAR``'s length
    (a cast to ``VARCHAR(n)`` would cut a longer string without a word).
    """

    statement: Any  # TextClause, or TextualSelect with RETURNING
    keys: tuple[str, ...]
    columns: tuple[Column[Any], ...]
    times: frozenset[str]  # datetime columns: their values go as ISO text
    # of those, the columns without a zone: an aware value goes SQLAlchemy's way
    # (PostgreSQL would drop its offset, where psycopg's own parameter converts it)
    naive: frozenset[str]

    def run(
        self, session: AnySession, dialect: Any, rows: list[dict[str, Any]], returned: int
    ) -> list[Any] | None:
        """Insert; None (nothing done) when a value must go SQLAlchemy's way."""
        changed: dict[str, list[Any]] = {}
        for column in self.columns:
            key, process = column.key, column.type.bind_processor(dialect)
            values = None if process is None else [process(row[key]) for row in rows]
            if key in self.times:
                values = _iso_times(values or [row[key] for row in rows], key in self.naive)
                if values is None:
                    return None
            if values is not None:
                changed[key] = values
        records: list[dict[str, Any]] = rows
        if changed:  # the rows as the columns' processing left them (the caller's untouched)
            keys = self.keys
            columns = (changed.get(key) or [row[key] for row in rows] for key in keys)
            by_row = zip(*columns, strict=True)
            records = [dict(zip(keys, values, strict=True)) for values in by_row]
        try:
            encoded = _dump_records(records)
        except (_NotPlain, ValueError):
            return None
        result = session.execute(self.statement, {"records": encoded})
        if not returned:
            return []
        return list(result.scalars() if returned == 1 else result)


def _as_records(
    table: Table, rows: list[dict[str, Any]], returning: tuple[Any, ...], ignore: bool
) -> _RecordsInsert | None:
    names = tuple(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        return None
    return _records_insert(table, names, returning, ignore)


def _impl(kind: Any) -> Any:
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind


def _field_type(column: Column[Any]) -> str | None:
    """The column's type in the JSON records (None: its values do not travel as JSON)."""
    kind = _impl(column.type)
    if isinstance(kind, sqltypes.Enum):
        return None
    if isinstance(kind, sqltypes.Boolean):
        return "boolean"
    if isinstance(kind, sqltypes.Integer):
        return str(kind.compile(dialect=_PG))
    if isinstance(kind, sqltypes.Float) and not kind.asdecimal:  # a Python float's repr
        return "double precision"  # is exact: it reads back as the same double
    if isinstance(kind, sqltypes.String):
        return "text"
    if isinstance(kind, sqltypes.DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    return None


_PG = postgresql.dialect()


@cache
def _records_insert(
    table: Table, names: tuple[str, ...], returning: tuple[Any, ...], ignore: bool
) -> _RecordsInsert | None:
    """The statement for rows with exactly these keys (None: a column's type does not
    travel as JSON, or one left out has a default of SQLAlchemy's to fill in)."""
    columns = tuple(table.c[name] for name in names if name in table.c)
    if len(columns) != len(names):
        return None
    left_out = [c for c in table.c if c.key not in names]
    if any(c.default is not None for c in left_out):
        return None
    types = [_field_type(c) for c in columns]
    if None in types:
        return None
    prep = _PG.identifier_preparer
    fields = ", ".join(
        f"{prep.quote_identifier(c.key)} {kind}" for c, kind in zip(columns, types, strict=True)
    )
    sql = (
        f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(c.name) for c in columns)})"
        f" SELECT {', '.join(prep.quote_identifier(c.key) for c in columns)}"
        f" FROM json_to_recordset(CAST(:records AS json)) AS records({fields})"
    )
    if ignore:
        sql += " ON CONFLICT DO NOTHING"
    times = frozenset(c.key for c in columns if isinstance(_impl(c.type), sqltypes.DateTime))
    naive = frozenset(key for key in times if not _impl(table.c[key].type).timezone)
    if not returning:
        return _RecordsInsert(text(sql), names, columns, times, naive)
    sql += f" RETURNING {', '.join(prep.quote(c.name) for c in returning)}"
    statement = text(sql).columns(*(table.c[c.key] for c in returning))
    return _RecordsInsert(statement, names, columns, times, naive)


# ----- a list of values as one parameter -----


class _Among(ColumnElement[bool]):
    """``column = ANY(array)`` on PostgreSQL, ``column IN (...)`` elsewhere: the values
    ride in two bind parameters, one per form, and a statement compiles one of them."""

    inherit_cache = True
    type = sqltypes.BOOLEANTYPE
    _is_implicitly_boolean = True  # a condition itself: no "= 1" after it on SQLite
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
        ("each", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self, column: ColumnElement[Any], array: BindParameter[Any], each: BindParameter[Any]
    ) -> None:
        self.column, self.array, self.each = column, array, each


@compiles(_Among)
def _among_in(element: _Among, compiler: Any, **kw: Any) -> str:
    # SQLite keeps its IN list: its planner, without statistics, reads
    # "IN (SELECT value FROM json_each(?))" through another index than the key's
    return str(compiler.process(element.column.in_(element.each), **kw))


@compiles(_Among, "postgresql")
def _among_array(element: _Among, compiler: Any, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.array, **kw)
    return f"{column} = ANY ({values})"


def constant(value: str) -> ColumnElement[Any]:
    """`value` written into the statement's text, not sent as a parameter: for a column
    compared with a constant of the code (a delivery's state), so that PostgreSQL plans
    knowing the value.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    plan it once for any parameters (a generic plan), with an average share of rows for
    ``state = $1``. Under such a plan the pump's claim found the organizations with
    pending deliveries by walking every delivery ever made (succeeded ones included)
    through the ``org_id`` index, instead of the few pending ones through the ``state``
    index: 1 ms per claim with 3,000 deliveries behind it, growing with the history.
    """
    return literal(value, literal_execute=True)


def row_check(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` checked on each row a statement found otherwise (by id, or by the ids a
    subquery picked), and never used to find them: one ``CASE``, which no index can serve.
    For an ``UPDATE`` that leases rows a ``SELECT ... LIMIT`` chose, checking they are
    still free (``docs/writing_plugins.md``, "A statement's plan").

    A statement that takes rows by id and checks them again (still due, not dispatched yet)
    read, on PostgreSQL, every row the check alone would select: planned from the
    statistics of a table that was still small, the check's own index looked selective and
    went into a bitmap beside the ids. The pump's lease read 30,000 due deliveries to keep
    64 (10-12 ms a claim), dispatch 30,000 undispatched events to take 100 (0.5-4 ms a
    batch), seen with ``auto_explain`` during a 30,000-event run.
    """
    return case((condition, 1), else_=0) == 1


def among(column: Any, values: Iterable[Any] | str) -> ColumnElement[bool]:
    """``column IN (values)``, with the values as one array parameter on PostgreSQL
    (``= ANY(...)``); elsewhere SQLAlchemy's ``IN`` list. `values` are the values, or the
    name of a parameter given when the statement runs.

    On PostgreSQL the statement's text is then the same for any number of values. An ``IN``
    list renders a placeholder per value on every execute, and psycopg parses anew each
    statement of more than 50 parameters (it caches smaller ones): for the 64-100 ids of a
    batch's statements that was several percent of dispatch's and the pump's CPU there.
    Not for ORM updates that synchronize the session by evaluating their criteria.
    """
    column = column.expression
    array_type = postgresql.ARRAY(column.type)
    if isinstance(values, str):
        array = bindparam(values, type_=array_type)
        each = bindparam(values, type_=column.type, expanding=True)
    else:
        listed = list(values)
        array = bindparam(None, listed, type_=array_type, unique=True)
        each = bindparam(None, listed, type_=column.type, expanding=True, unique=True)
    return _Among(column, array, each)
