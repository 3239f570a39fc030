"""Sample data for Zap setup and polling: the organization's recent events in their Zapier
shape, newest first, or one documented sample when it has none of that type yet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select

from hub import EventInfo
from mycelium_zapier import payloads
from mycelium_zapier.models import RECENT, ZapierRecentEvent
from mycelium_zapier.store import insert_ignoring_conflicts

KEEP = 100  # recent events kept per organization and type (a few more between prunes)
SAMPLE_AT = datetime(2026, 1, 21, 9, 0, tzinfo=UTC)
_PERSON = {"id": 7, "name": "Ada Lovelace", "email": "ada@agency.example"}
_CLIENT = {
    "id": 1,
    "name": "Globex Corporation",
    "contact_person": "Hank Scorpio",
    "contact_email": "hank@globex.example",
    "notes": None,
    "service_types": [{"id": 1, "name": "Branding"}, {"id": 2, "name": "Web Design"}],
    "created_at": "2026-01-15T09:30:00+00:00",
    "updated_at": "2026-01-15T09:30:00+00:00",
}
_DELIVERABLE = {
    "id": 42,
    "client_id": 1,
    "client_name": "Globex Corporation",
    "service_type_id": 1,
    "service_type_name": "Branding",
    "title": "Logo refresh",
    "description": "Three directions for the new logo.",
    "assignee_id": 7,
    "assignee": _PERSON,
    "due_at": "2026-01-18T17:00:00+00:00",
    "priority": "high",
    "status": "in_progress",
    "completed_at": None,
    "completed_by_id": None,
    "completed_by": None,
    "client_visible": True,
    "created_at": "2026-01-10T10:00:00+00:00",
    "updated_at": "2026-01-18T17:00:00+00:00",
}
_COMPLETED = {
    **_DELIVERABLE,
    "status": "completed",
    "completed_at": "2026-01-17T15:45:00+00:00",
    "completed_by_id": 7,
    "completed_by": _PERSON,
}
_USER = {**_PERSON, "role": "member", "created_at": "2026-01-02T08:00:00+00:00"}
_ORGANIZATION = {
    "id": 3,
    "slug": "acme-studio",
    "name": "Acme Studio",
    "timezone": "Europe/London",
    "company_name": "Acme Studio Ltd",
    "due_soon_hours": 24,
}
_INTEGRATION = {"id": 5, "plugin": "slack", "enabled": True, "status": "enabled"}
_FILE = {"id": 9, "name": "logo-v2.pdf", "size": 48213, "client_id": 1, "deliverable_id": 42}
DATA_BY_NOUN: dict[str, dict[str, Any]] = {
    "client": _CLIENT,
    "deliverable": _DELIVERABLE,
    "user": _USER,
    "organization": _ORGANIZATION,
    "integration": _INTEGRATION,
    "file": _FILE,
}
DATA_BY_TYPE: dict[str, dict[str, Any]] = {"deliverable.completed": _COMPLETED}


def documented(event_type: str) -> dict[str, Any]:
    """The sample shown before the organization has an event of this type."""
    data = DATA_BY_TYPE.get(event_type) or DATA_BY_NOUN.get(payloads.noun(event_type), {})
    sample_id = "evt_sample_" + event_type.replace(".", "_")
    return payloads.shape(sample_id, event_type, SAMPLE_AT, data)


def remember(session: Any, event: EventInfo, payload: dict[str, Any]) -> None:
    """Keep this event's payload (a run executed twice keeps it once)."""
    row = {
        "org_id": event.org_id,
        "event_id": event.id,
        "event_type": event.type,
        "payload": payload,
        "occurred_at": event.created_at,
    }
    insert_ignoring_conflicts(session, ZapierRecentEvent, [row])


def prune(session: Any, org_id: int) -> None:
    """Keep only the newest KEEP events of each type (the minute job: off the event path)."""
    newest_first = (RECENT.c.occurred_at.desc(), RECENT.c.id.desc())
    rank = func.row_number().over(partition_by=RECENT.c.event_type, order_by=newest_first)
    ranked = select(RECENT.c.id, rank.label("rank")).where(RECENT.c.org_id == org_id).subquery()
    old = select(ranked.c.id).where(ranked.c.rank > KEEP)
    session.execute(delete(RECENT).where(RECENT.c.org_id == org_id, RECENT.c.id.in_(old)))


def _newest(org_id: int, event_type: str) -> Any:
    return (
        select(RECENT.c.payload)
        .where(RECENT.c.org_id == org_id, RECENT.c.event_type == event_type)
        .order_by(RECENT.c.occurred_at.desc(), RECENT.c.id.desc())
    )


def recent(session: Any, org_id: int, event_type: str, limit: int) -> list[dict[str, Any]]:
    """The organization's newest payloads of this type (a documented sample if none)."""
    found = [dict(p) for p in session.scalars(_newest(org_id, event_type).limit(limit))]
    return found or [documented(event_type)]
