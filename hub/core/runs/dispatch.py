"""Dispatch: committed events become runs, one per (event x enabled integration with a hook).

A drain job takes event ids handed on by ``pending``, asks ``routing`` which integrations
want each event, and creates their runs already claimed (``execute`` performs them). Runs
are unique per (event, integration), so dispatching twice is harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from hub.core import clock
from hub.core.connections.context import PluginManager
from hub.core.db import AnySession, among, insert_ignoring_conflicts, row_check
from hub.core.models import Event, Integration, Organization, Run
from hub.core.runs.policy import RunRef
from hub.core.runs.routing import HookTable, wants


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
    params = {"o_ids": list(org_ids)}
    found = list(session.execute(_INTEGRATIONS_OF, params).all())
    existing = {(i.org_id, i.plugin) for i, _ in found}
    missing = _always_on_rows(plugins, org_ids, existing, now)
    if missing:
        insert_ignoring_conflicts(session, Integration, missing, Integration.id)
        found = list(session.execute(_INTEGRATIONS_OF, params).all())
    grouped: dict[int, list[tuple[Integration, Organization]]] = defaultdict(list)
    for integration, org in found:
        grouped[integration.org_id].append((integration, org))
    return grouped


@dataclass(frozen=True)
class NewRun:
    """A run dispatch created (``run``: what performing it reads of its row) and what it
    needs."""

    run: RunRef
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


EVENTS = cast(Table, Event.__table__)
# A batch's statements, built once: building one per batch (and its cache key) cost more
# than executing it; the ids go as one parameter.
_DISPATCHED = (
    update(EVENTS).where(among(EVENTS.c.id, "d_ids")).values(dispatched_at=bindparam("d_now"))
)
_UNDISPATCHED = (
    select(Event)
    .where(among(Event.id, "e_ids"), row_check(Event.dispatched_at.is_(None)))
    .order_by(Event.seq)
    .with_for_update(skip_locked=True)
)
_INTEGRATIONS_OF = (
    select(Integration, Organization)
    .join(Organization, Organization.id == Integration.org_id)
    .where(among(Integration.org_id, "o_ids"))
)


def _undispatched_events(session: AnySession, event_ids: list[str]) -> list[Event]:
    """The events not dispatched yet; on PostgreSQL, rows another dispatcher holds are skipped."""
    return list(session.scalars(_UNDISPATCHED, {"e_ids": event_ids}))


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
    session.execute(_DISPATCHED, {"d_ids": [e.id for e in events], "d_now": now})
    session.commit()
    return [_new_run(row, wanted[(row[1], row[2])]) for row in inserted]


def _new_run(row: Any, found: tuple[Event, Integration, Organization]) -> NewRun:
    event, integration, org = found
    run = RunRef(row[0], integration.plugin, event.type, event.id, integration.id, org.id)
    return NewRun(run, event, integration, org)


def dispatch_events(session: AnySession, plugins: PluginManager, event_ids: list[str]) -> list[int]:
    """Create the runs of these events, queued for any worker; the new runs' ids."""
    return [new.run.id for new in create_runs(session, plugins, event_ids)]
