"""Deliverables: the work an agency owes its clients, with due times and completion."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from hub.core import clock, events
from hub.core.db import AnySession
from hub.core.models import Client, Deliverable, Organization, ServiceType, User
from hub.core.schemas import DeliverableSchema
from hub.core.scoping import get_owned, require_ref
from hub.errors import Conflict

_render = DeliverableSchema().dump
_REFS = {"client_id": Client, "service_type_id": ServiceType, "assignee_id": User}


def render_deliverable(deliverable: Deliverable) -> dict[str, Any]:
    """A deliverable as the API renders it: what event payloads and hooks' ``deliverable``
    hold."""
    return _render(deliverable)


def in_org_zone(org: Organization, value: datetime | None) -> datetime | None:
    """A time without an offset is read in the organization's time zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(org.timezone))


def _apply(
    session: AnySession, org: Organization, deliverable: Deliverable, data: dict[str, Any]
) -> None:
    for field, model in _REFS.items():
        if field in data and data[field] is not None:
            require_ref(session, model, org.id, data[field], field)
    if "due_at" in data:
        data = {**data, "due_at": in_org_zone(org, data["due_at"])}
    if data.get("status", "completed") != "completed":
        data = {**data, "completed_at": None, "completed_by_id": None}  # reopened
    for field, value in data.items():
        setattr(deliverable, field, value)


def create_deliverable(session: AnySession, org: Organization, data: dict[str, Any]) -> Deliverable:
    deliverable = Deliverable(org_id=org.id)
    _apply(session, org, deliverable, data)
    session.add(deliverable)
    session.flush()
    session.refresh(deliverable)
    events.record(session, org.id, "deliverable.created", render_deliverable(deliverable))
    return deliverable


def update_deliverable(
    session: AnySession, org: Organization, deliverable_id: int, changes: dict[str, Any]
) -> Deliverable:
    deliverable = get_owned(session, Deliverable, org.id, deliverable_id)
    _apply(session, org, deliverable, changes)
    session.flush()
    session.refresh(deliverable)
    events.record(session, org.id, "deliverable.updated", render_deliverable(deliverable))
    return deliverable


def complete_deliverable(
    session: AnySession, org: Organization, deliverable_id: int, user_id: int | None
) -> Deliverable:
    """Complete `org`'s deliverable as `user_id` (None: nobody in particular) and record
    ``deliverable.completed``; the caller commits. NotFound if it is not `org`'s,
    Conflict if it is completed already. `org` may be ``ctx.org``."""
    deliverable = get_owned(session, Deliverable, org.id, deliverable_id)
    if deliverable.status == "completed":
        raise Conflict("This deliverable is already completed.", {"status": ["Already completed."]})
    deliverable.status = "completed"
    deliverable.completed_at = clock.now()
    deliverable.completed_by_id = user_id
    session.flush()
    session.refresh(deliverable)
    events.record(session, org.id, "deliverable.completed", render_deliverable(deliverable))
    return deliverable


def delete_deliverable(session: AnySession, org_id: int, deliverable_id: int) -> None:
    deliverable = get_owned(session, Deliverable, org_id, deliverable_id)
    payload = render_deliverable(deliverable)
    session.delete(deliverable)
    session.flush()
    events.record(session, org_id, "deliverable.deleted", payload)


def filter_deliverables(org: Organization, query: dict[str, Any]) -> Select[Any]:
    stmt = select(Deliverable).where(Deliverable.org_id == org.id)
    if "client_id" in query:
        stmt = stmt.where(Deliverable.client_id == query["client_id"])
    if "assignee_id" in query:
        stmt = stmt.where(Deliverable.assignee_id == query["assignee_id"])
    if "status" in query:
        stmt = stmt.where(Deliverable.status == query["status"])
    if "due_before" in query:
        stmt = stmt.where(Deliverable.due_at < in_org_zone(org, query["due_before"]))
    if "due_after" in query:
        stmt = stmt.where(Deliverable.due_at > in_org_zone(org, query["due_after"]))
    return stmt
