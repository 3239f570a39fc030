"""Retention: finished history older than ``HUB_RETENTION_DAYS`` is deleted, a batch at a time.

Runs, events and webhook deliveries grow with every event, and once finished nothing needs
them for long (analytics and ROI read ``usage_records`` and ``health_checks``, which keep
their own ``HUB_USAGE_RETENTION_DAYS``). Only finished rows go: runs ``succeeded`` or
``failed``; events dispatched that no run refers to any more (the runs' foreign key
cascades, so deleting an event would take its runs with it); deliveries ``succeeded`` or
``failed``, with their attempts. A row still to be worked on stays, whatever its age.

Each batch is first found in a read transaction (the search may scan; on SQLite it must not
hold the write lock meanwhile), then locked again by primary key with its conditions
re-checked, deleted and committed: other writers wait at most one batch, and a row that
changed in between (an admin's retry or resend) is left alone.

Plugins' history tables (an email sent, a message posted, a Zap delivery) are pruned by the
same job: a plugin declares on its model what is old with ``__retention__ = Retention(...)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, inspect, select

from hub.core.db import AnySession
from hub.core.models import Base, Event, Run
from hub.core.webhooks.models import FAILED, SUCCEEDED, WebhookAttempt, WebhookDelivery

FINISHED = (SUCCEEDED, FAILED)  # the final states of runs and of deliveries alike
BATCH = 1000
JOB_SECONDS = 300.0  # a job's share of the work; RQ stops a job after 600 s

Conditions = list[ColumnElement[bool]]


def old_runs(cutoff: datetime) -> Conditions:
    return [Run.state.in_(FINISHED), func.coalesce(Run.finished_at, Run.updated_at) < cutoff]


def old_events(cutoff: datetime) -> Conditions:
    """Dispatched before `cutoff` and referred to by no run (deleting it would cascade)."""
    referenced = exists().where(Run.event_id == Event.id)
    return [Event.dispatched_at.is_not(None), Event.created_at < cutoff, ~referenced]


def old_deliveries(cutoff: datetime) -> Conditions:
    finished_at = func.coalesce(WebhookDelivery.finished_at, WebhookDelivery.updated_at)
    return [WebhookDelivery.state.in_(FINISHED), finished_at < cutoff]


@dataclass(frozen=True)
class Pruned:
    """A table `prune` deletes from: its key, which rows are old, child rows to delete first."""

    model: type[Base]
    key: Any
    old: Callable[[datetime], Conditions]
    children: tuple[Any, ...] = ()  # the foreign-key columns of child tables


@dataclass(frozen=True)
class Retention:
    """What the retention job deletes from a plugin's table: rows whose `when` column is
    older than ``HUB_RETENTION_DAYS`` and, with `state`, whose `state` column is one of
    `finished` (the rest is still being worked on). Set as the model's ``__retention__``."""

    when: str
    state: str | None = None
    finished: tuple[str, ...] = ()

    def old(self, model: Any) -> Callable[[datetime], Conditions]:
        def conditions(cutoff: datetime) -> Conditions:
            found = [getattr(model, self.when) < cutoff]
            if self.state is not None:
                found.append(getattr(model, self.state).in_(self.finished))
            return found

        return conditions


# Runs before events: an event is kept while a run refers to it.
TABLES = (
    Pruned(Run, Run.id, old_runs),
    Pruned(Event, Event.seq, old_events),
    Pruned(WebhookDelivery, WebhookDelivery.id, old_deliveries, (WebhookAttempt.delivery_id,)),
)


def _never() -> bool:
    return False


def _candidates(
    session: AnySession, key: Any, where: Conditions, after: Any, batch: int
) -> list[Any]:
    """The next `batch` keys past `after` that meet `where`, found without the write lock."""
    stmt = select(key).where(*where).order_by(key).limit(batch)
    if after is not None:
        stmt = stmt.where(key > after)
    keys = list(session.scalars(stmt))
    session.commit()
    return keys


def _bulk_delete(session: AnySession, model: Any, column: Any, keys: Sequence[Any]) -> int:
    stmt = delete(model).where(column.in_(keys)).execution_options(synchronize_session=False)
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _delete(session: AnySession, table: Pruned, where: Conditions, keys: list[Any]) -> Counter[str]:
    """Those of `keys` still meeting `where`, deleted with their children, and committed."""
    recheck = select(table.key).where(table.key.in_(keys), *where)
    locked = list(session.scalars(recheck.with_for_update(skip_locked=True)))
    counts: Counter[str] = Counter()
    if locked:
        for column in table.children:
            counts[column.class_.__tablename__] += _bulk_delete(
                session, column.class_, column, locked
            )
        counts[table.model.__tablename__] += _bulk_delete(session, table.model, table.key, locked)
    session.commit()
    return counts


def _prune_table(
    session: AnySession, table: Pruned, cutoff: datetime, batch: int, stop: Callable[[], bool]
) -> Counter[str]:
    counts: Counter[str] = Counter()
    where, after = table.old(cutoff), None
    while not stop():
        keys = _candidates(session, table.key, where, after, batch)
        if keys:
            counts += _delete(session, table, where, keys)
        if len(keys) < batch:
            break
        after = keys[-1]
    return counts


def delete_older(session: AnySession, model: Any, key: Any, when: Any, cutoff: datetime) -> int:
    """Delete `model`'s rows whose `when` column is before `cutoff`, BATCH at a time (a
    history table nothing else refers to); how many."""
    table = Pruned(model, key, lambda before: [when < before])
    return sum(_prune_table(session, table, cutoff, BATCH, _never).values())


def plugin_tables() -> list[Pruned]:
    """The plugins' tables that declare a ``__retention__``, by name."""
    found = []
    for mapper in Base.registry.mappers:
        declared = getattr(mapper.class_, "__retention__", None)
        if isinstance(declared, Retention):
            key = mapper.primary_key[0]
            found.append(Pruned(mapper.class_, key, declared.old(mapper.class_)))
    return sorted(found, key=lambda table: str(table.model.__tablename__))


def _tables(session: AnySession) -> list[Pruned]:
    """The core's tables, then the plugins' whose migrations made them in this database."""
    present = set(inspect(session.get_bind()).get_table_names())
    return [*TABLES, *(t for t in plugin_tables() if t.model.__tablename__ in present)]


def names(tables: Sequence[Pruned] = TABLES) -> list[str]:
    """The tables `prune` deletes from, children included."""
    found = []
    for table in tables:
        found += [column.class_.__tablename__ for column in table.children]
        found.append(table.model.__tablename__)
    return found


def prune(
    session: AnySession,
    now: datetime,
    retention: timedelta,
    batch: int = BATCH,
    stop: Callable[[], bool] = _never,
) -> dict[str, int]:
    """Delete finished rows older than `retention`, `batch` at a time; how many per table.

    `stop` is asked before each batch (a time budget, a worker told to stop): what is left
    goes at the next slot.
    """
    cutoff = now - retention
    counts: Counter[str] = Counter()
    tables = _tables(session)
    session.commit()  # the inspection's read transaction: SQLite must not keep it open
    for table in tables:
        counts += _prune_table(session, table, cutoff, batch, stop)
    return {name: counts[name] for name in names(tables)}
