"""Deadline events kept true: one event per deliverable, written only when it differs.

Each change is planned from the deliverable as it is now (read under a per-deliverable
Redis lock, so a retried run with an older payload cannot put back an old date), then sent
with no database transaction open, then recorded. The event id is derived from the
deliverable, so two workers, a retry or a sweep all address the same event: an insert that
meets ``409`` patches instead, a patch that meets ``404`` inserts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from hub import Deliverable, PluginContext, now, render_deliverable
from mycelium_gcal import access, bodies
from mycelium_gcal.client import CalendarClient, EventExists, EventMissing, GoogleError
from mycelium_gcal.ids import deadline_event_id
from mycelium_gcal.models import DeadlineEvent
from mycelium_gcal.provider import DEADLINE_EVENT

# Usage labels. A unit of work (ROI) is the successful call that writes a deliverable's event
# (an insert, or the patch after a 409): failed calls around it count for nothing.
FEATURE = DEADLINE_EVENT
REMOVAL = "deadline_removal"  # deleting an event: calendar upkeep, declared worth nothing


@dataclass(frozen=True)
class Plan:
    """What one deliverable's event needs: ``none``, ``insert``, ``patch``, ``delete``."""

    action: str
    deliverable_id: int
    client_id: int
    event_id: str
    calendar_id: str
    body: dict[str, Any] | None = None  # the whole desired body
    old_body: dict[str, Any] | None = None
    old_calendar_id: str | None = None
    present: bool = False  # Google holds a live event with this id (as far as we know)


def tracked(ctx: PluginContext, deliverable_id: int) -> DeadlineEvent | None:
    stmt = select(DeadlineEvent).where(
        DeadlineEvent.org_id == ctx.org.id, DeadlineEvent.deliverable_id == deliverable_id
    )
    return ctx.db.scalar(stmt.execution_options(populate_existing=True))


def current(ctx: PluginContext, deliverable_id: int) -> dict[str, Any] | None:
    """The deliverable as the API renders it now, or None once deleted."""
    stmt = select(Deliverable).where(
        Deliverable.org_id == ctx.org.id, Deliverable.id == deliverable_id
    )
    found = ctx.db.scalar(stmt.execution_options(populate_existing=True))
    return render_deliverable(found) if found is not None else None


def plan(
    ctx: PluginContext,
    deliverable: dict[str, Any] | None,
    row: DeadlineEvent | None,
    deliverable_id: int,
) -> Plan:
    """Compare what Google holds (``row``) with what the deliverable calls for."""
    cfg = access.config(ctx)
    present = bool(row and row.present)
    base = Plan(
        "none",
        deliverable_id,
        int((deliverable or {}).get("client_id") or (row.client_id if row else 0)),
        row.event_id if row else deadline_event_id(ctx.org.id, deliverable_id),
        str(cfg["calendar_id"]),
        old_body=row.body if row else None,
        old_calendar_id=row.calendar_id if row else None,
        present=present,
    )
    if not bodies.wants_event(deliverable, present, now(), cfg):
        return _with(base, "delete") if present else base
    assert deliverable is not None
    link = access.client_url(ctx, f"deliverables/{deliverable_id}")
    body = bodies.deadline_body(deliverable, ctx.org.timezone, cfg, link)
    if present and row is not None and row.body == body and row.calendar_id == cfg["calendar_id"]:
        return base
    if not present and not cfg["create_events"]:
        return base
    return _with(base, "patch" if present else "insert", body)


def _with(base: Plan, action: str, body: dict[str, Any] | None = None) -> Plan:
    return replace(base, action=action, body=body)


def sync_deliverable(ctx: PluginContext, deliverable_id: int) -> str:
    """Make the deliverable's event what it should be now; the action taken."""
    with access.locked(ctx, f"deadline:{deliverable_id}") as had:
        if not had:
            raise GoogleError(f"Deliverable {deliverable_id}'s event is busy; retrying.")
        todo = plan(ctx, current(ctx, deliverable_id), tracked(ctx, deliverable_id), deliverable_id)
        access.end_transaction(ctx)
        if todo.action == "none":
            return "none"
        apply(ctx, access.calendar_client(ctx), todo)
        record(ctx, todo)
        ctx.db.commit()
        return todo.action


def apply(ctx: PluginContext, client: CalendarClient, todo: Plan) -> None:
    """Send the plan to Google."""
    if todo.action == "delete":
        with ctx.calls_for(REMOVAL):
            client.delete_event(todo.old_calendar_id or todo.calendar_id, todo.event_id)
        return
    assert todo.body is not None
    moved = todo.present and todo.old_calendar_id not in (None, todo.calendar_id)
    if moved:  # the calendar changed: the event leaves the old one
        with ctx.calls_for(REMOVAL):
            client.delete_event(str(todo.old_calendar_id), todo.event_id)
    with ctx.calls_for(FEATURE):
        if todo.action == "patch" and not moved:
            _patch(client, todo)
        else:
            _insert(client, todo)


def _patch(client: CalendarClient, todo: Plan) -> None:
    assert todo.body is not None
    try:
        changes = bodies.changed_fields(todo.old_body, todo.body)
        client.patch_event(todo.calendar_id, todo.event_id, changes)
    except EventMissing:  # deleted for good in Google (or never made): make it again
        _insert(client, todo)


def _insert(client: CalendarClient, todo: Plan) -> None:
    """Insert with our id; ``409`` means it exists (an earlier try, or deleted and kept
    by Google as cancelled): patch the whole body back in, confirmed."""
    assert todo.body is not None
    try:
        client.insert_event(todo.calendar_id, {"id": todo.event_id, **todo.body})
    except EventExists:
        client.patch_event(todo.calendar_id, todo.event_id, {**todo.body, "status": "confirmed"})


def record(ctx: PluginContext, todo: Plan) -> None:
    """Remember what Google now holds for the deliverable."""
    row = tracked(ctx, todo.deliverable_id)
    if row is None:
        row = DeadlineEvent(
            org_id=ctx.org.id, deliverable_id=todo.deliverable_id, event_id=todo.event_id
        )
        ctx.db.add(row)
    row.client_id = todo.client_id
    row.calendar_id = todo.calendar_id if todo.action != "delete" else row.calendar_id
    row.present = todo.action != "delete"
    row.body = todo.body if todo.action != "delete" else None
    row.synced_at = now()
    ctx.db.flush()


def deliverables_of_client(ctx: PluginContext, client_id: int) -> list[int]:
    """Deliverables of a client that have (or had) an event."""
    stmt = select(DeadlineEvent.deliverable_id).where(
        DeadlineEvent.org_id == ctx.org.id,
        DeadlineEvent.client_id == client_id,
        DeadlineEvent.present.is_(True),
    )
    return list(ctx.db.scalars(stmt))
