"""Dispatch: committed events become runs, one per (event x enabled integration with a hook).

After a commit the web (or worker) pushes the new event ids onto a Redis list and, unless
one is already pending, enqueues a drain job; under load many commits share one job. If
Redis is down the request still succeeds: the outbox sweeper finds the undispatched
events later. The database is the truth; Redis only carries ids.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from rq import Queue
from sqlalchemy import select, update

from hub.core import clock
from hub.core.connections.context import AppLike, PluginManager
from hub.core.db import AnySession, insert_ignoring_conflicts
from hub.core.models import Event, Integration, Organization, Run

log = logging.getLogger(__name__)

QUEUE = "hub"
PENDING = "hub:dispatch:pending"  # event ids waiting for a drain job
KICK = "hub:dispatch:kick"  # set while a drain job is pending
KICK_TTL = 10  # seconds: a drain job lost with its flag is replaced after this
# A drain job takes batch after batch while events are pending, for up to this long: a
# job costs RQ about 2 ms of CPU, as much as a few runs, so a backlog is drained in few.
DRAIN_SECONDS = 0.5
SWEEP_LIMIT = 10_000


def target_plugin(event: Event) -> str | None:
    """The plugin an ``integration.*`` event is about: only it gets the event's own hook."""
    if event.type.startswith("integration."):
        plugin = (event.payload or {}).get("plugin")
        return plugin if isinstance(plugin, str) else None
    return None


class HookTable:
    """The event hooks each plugin implements, looked up once per batch (pluggy's is slow)."""

    def __init__(self, plugins: PluginManager) -> None:
        self.plugins = plugins
        self._found: dict[tuple[str, str], list[str]] = {}

    def event_hooks(self, plugin: str, event_type: str) -> list[str]:
        key = (plugin, event_type)
        if key not in self._found:
            self._found[key] = self.plugins.event_hooks(plugin, event_type)
        return self._found[key]


def hooks_to_call(
    table: HookTable, integration: Integration, event: Event
) -> list[tuple[str, dict[str, Any]]]:
    """(hook, resource kwargs) a run of `event` calls: its event hook, then on_event.

    The resource is named after the event type's noun: ``client.created`` passes ``client=``,
    as the API renders it (who acted stays in ``event.data["actor"]``).
    A disabled integration hears only news about itself (``on_integration_disabled``).
    """
    target = target_plugin(event)
    noun = event.type.partition(".")[0]
    calls: list[tuple[str, dict[str, Any]]] = []
    for hook in table.event_hooks(integration.plugin, event.type):
        if hook == "on_event" and integration.enabled:
            calls.append((hook, {}))
        elif hook != "on_event" and target in (None, integration.plugin):
            resource = {k: v for k, v in event.payload.items() if k != "actor"}
            calls.append((hook, {noun: resource}))
    return calls


# ----- after commit (web and workers) -----


def enqueue_job(client: redis.Redis, function: str, *args: Any, timeout: float = 600) -> None:
    """Put a job on the hub's queue; jobs take ids only, results are not kept."""
    Queue(QUEUE, connection=client).enqueue(
        function, *args, job_timeout=int(timeout), result_ttl=0, failure_ttl=7 * 86400
    )


def push_events(client: redis.Redis, event_ids: list[str], job_timeout: float) -> None:
    """Hand event ids to the workers: one pipelined round trip, plus a job if none is pending."""
    pipe = client.pipeline(transaction=False)
    pipe.rpush(PENDING, *event_ids)
    pipe.set(KICK, "1", nx=True, ex=KICK_TTL)
    _, kicked = pipe.execute()
    if kicked:
        enqueue_job(client, "hub.jobs.drain_events", timeout=job_timeout)


def drain_job_timeout(config: Mapping[str, Any]) -> float:
    """RQ's outer limit for a drain job (its last batch may start just before DRAIN_SECONDS
    end); each hook has its own, shorter deadline."""
    batch = float(config["HUB_RUN_BATCH"]) * float(config["HUB_RUN_TIMEOUT"])
    return batch + DRAIN_SECONDS + 120


def on_events_committed(app: AppLike, event_ids: list[str]) -> None:
    """``hub.on_events_committed``: never fails the commit that called it."""
    try:
        push_events(app.extensions["hub.redis"], event_ids, drain_job_timeout(app.config))
    except redis.RedisError as exc:
        log.warning(
            "%d event(s) not handed to the workers (%s); the outbox sweeper will dispatch them",
            len(event_ids),
            exc,
        )


def take_pending(
    client: redis.Redis, batch: int, job_timeout: float, first: bool = True
) -> list[str]:
    """Up to `batch` pending event ids; another drain job is queued if more remain.

    A job's `first` take clears the flag of the job now running, so ids pushed from then
    on get a job of their own; its later takes leave the flag of the job it queued.
    """
    if first:
        client.delete(KICK)
    taken = client.lpop(PENDING, batch) or []
    if client.llen(PENDING) and client.set(KICK, "1", nx=True, ex=KICK_TTL):
        enqueue_job(client, "hub.jobs.drain_events", timeout=job_timeout)
    return [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in taken]


# ----- creating runs -----


def _always_on_rows(
    plugins: PluginManager, org_ids: Iterable[int], existing: set[tuple[int, str]], now: datetime
) -> list[dict[str, Any]]:
    names = [name for name, p in plugins.providers.items() if p.always_on]
    return [
        {
            "org_id": org_id,
            "plugin": name,
            "enabled": True,
            "status": "enabled",
            "config": {},
            "secrets": {},
            "consecutive_errors": 0,
            "created_at": now,
            "updated_at": now,
        }
        for org_id in org_ids
        for name in names
        if (org_id, name) not in existing
    ]


def integrations_by_org(
    session: AnySession, plugins: PluginManager, org_ids: set[int], now: datetime
) -> dict[int, list[tuple[Integration, Organization]]]:
    """Every integration of these organizations (with its org); always-on plugins get
    their row here."""
    stmt = (
        select(Integration, Organization)
        .join(Organization, Organization.id == Integration.org_id)
        .where(Integration.org_id.in_(org_ids))
    )
    found = list(session.execute(stmt).all())
    existing = {(i.org_id, i.plugin) for i, _ in found}
    missing = _always_on_rows(plugins, org_ids, existing, now)
    if missing:
        insert_ignoring_conflicts(session, Integration, missing, Integration.id)
        found = list(session.execute(stmt).all())
    grouped: dict[int, list[tuple[Integration, Organization]]] = defaultdict(list)
    for integration, org in found:
        grouped[integration.org_id].append((integration, org))
    return grouped


def wants(table: HookTable, integration: Integration, event: Event) -> bool:
    """Does this integration get a run of `event`? (a disabled one only for news about itself)"""
    if integration.plugin not in table.plugins.providers:
        return False
    if not integration.enabled and target_plugin(event) != integration.plugin:
        return False
    return bool(hooks_to_call(table, integration, event))


@dataclass(frozen=True)
class NewRun:
    """A run dispatch created (``run`` is a detached copy of its row) and what it needs."""

    run: Run
    event: Event
    integration: Integration
    org: Organization


def _run_row(
    event: Event, integration: Integration, now: datetime, lease_until: datetime | None
) -> dict[str, Any]:
    return {
        "org_id": event.org_id,
        "event_id": event.id,
        "integration_id": integration.id,
        "plugin": integration.plugin,
        "event_type": event.type,
        # claimed at birth when the dispatcher performs it itself (one statement less)
        "state": "queued" if lease_until is None else "running",
        "attempts": 0 if lease_until is None else 1,
        "lease_until": lease_until,
        "next_attempt_at": now,
        "enqueued_at": now,  # the caller runs them now; the sweeper steps in if it dies
        "created_at": now,
        "updated_at": now,
    }


def _undispatched_events(session: AnySession, event_ids: list[str]) -> list[Event]:
    """The events not dispatched yet; on PostgreSQL, rows another dispatcher holds are skipped."""
    stmt = (
        select(Event)
        .where(Event.id.in_(event_ids), Event.dispatched_at.is_(None))
        .order_by(Event.seq)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def create_runs(
    session: AnySession, plugins: PluginManager, event_ids: list[str], lease: float | None = None
) -> list[NewRun]:
    """Create the runs of these events (idempotent) and mark them dispatched, in one commit.

    With `lease` (seconds) the runs are created already claimed by the caller.
    """
    now = clock.now()
    events = _undispatched_events(session, event_ids) if event_ids else []
    if not events:
        session.commit()
        return []
    by_org = integrations_by_org(session, plugins, {e.org_id for e in events}, now)
    lease_until = now + timedelta(seconds=lease) if lease is not None else None
    table, wanted = HookTable(plugins), {}
    for event in events:
        for integration, org in by_org[event.org_id]:
            if wants(table, integration, event):
                wanted[(event.id, integration.id)] = (event, integration, org)
    rows = [_run_row(e, i, now, lease_until) for e, i, _ in wanted.values()]
    inserted = insert_ignoring_conflicts(
        session, Run, rows, Run.id, Run.event_id, Run.integration_id
    )
    session.execute(
        update(Event)
        .where(Event.id.in_([e.id for e in events]))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return [_new_run(row, wanted[(row[1], row[2])]) for row in inserted]


def _new_run(row: Any, found: tuple[Event, Integration, Organization]) -> NewRun:
    event, integration, org = found
    run = Run(id=row[0], event_id=event.id, integration_id=integration.id, org_id=org.id)
    run.plugin, run.event_type = integration.plugin, event.type
    return NewRun(run, event, integration, org)


def dispatch_events(session: AnySession, plugins: PluginManager, event_ids: list[str]) -> list[int]:
    """Create the runs of these events, queued for any worker; the new runs' ids."""
    return [new.run.id for new in create_runs(session, plugins, event_ids)]
