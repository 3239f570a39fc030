"""The event log and the catalogue of event types."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import select

from hub.api.auth import caller
from hub.api.routing import endpoint, page
from hub.core.models import Event
from hub.core.pagination import paginate
from hub.core.schemas import EventQuerySchema, EventSchema, EventTypeSchema
from hub.extensions import db

bp = Blueprint("events", __name__)


def event_types() -> dict[str, str]:
    return current_app.extensions["hub.event_types"]


@bp.get("/events")
@endpoint(
    "Events of this organization, newest first",
    query=EventQuerySchema,
    response=EventSchema,
    many=True,
)
def list_events(query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Event).where(Event.org_id == caller().org.id)
    if "type" in query:
        stmt = stmt.where(Event.type == query["type"])
    rows, cursor = paginate(
        db.session, stmt, Event.seq, query["limit"], query.get("cursor"), newest_first=True
    )
    return page(rows, EventSchema(), cursor)


@bp.get("/events/types")
@endpoint("The catalogue of event types", response=EventTypeSchema, many=True)
def list_event_types() -> dict[str, Any]:
    items = [{"type": name, "description": text} for name, text in sorted(event_types().items())]
    return {"items": items, "next_cursor": None}
