"""Zapier-shaped payloads: one flat object per event, the same in hooks, samples and polls.

Every payload starts with ``id`` (the event id: Zapier's deduplication key), ``event``
(its type) and ``occurred_at`` (ISO 8601, UTC). Three triggers have the fields of the
original integration sketch; every other event carries its data flattened: each key
prefixed with the event's noun (``client.updated`` -> ``client_name``), nested objects
joined with ``_`` (``deliverable_assignee_name``), lists of objects reduced to their names
(or ids), lists of plain values kept as they are.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hub import EventInfo

Data = dict[str, Any]
MAX_DEPTH = 4  # deeper objects become a JSON string rather than ever more columns


def _name(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else None


def _names(items: Any) -> list[Any]:
    return [item.get("name", item.get("id")) for item in items or [] if isinstance(item, dict)]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def days_overdue(due: Any, at: datetime) -> int | None:
    """Whole days from `due` to `at` (0 on the day it fell due); None without a due date."""
    when = _moment(due)
    if when is None:
        return None
    return max(0, math.floor((at - when).total_seconds() / 86400))


def client_created(data: Data, at: datetime) -> Data:
    return {
        "client_id": data.get("id"),
        "client_name": data.get("name"),
        "contact_email": data.get("contact_email"),
        "contact_person": data.get("contact_person"),
        "service_types": _names(data.get("service_types")),
        "created_at": data.get("created_at"),
    }


def deliverable_completed(data: Data, at: datetime) -> Data:
    return {
        "deliverable_id": data.get("id"),
        "deliverable_title": data.get("title"),
        "client_name": data.get("client_name"),
        "service_type": data.get("service_type_name"),
        "completed_by": _name(data.get("completed_by")),
        "completed_at": data.get("completed_at"),
        "due_date": data.get("due_at"),
    }


def deliverable_overdue(data: Data, at: datetime) -> Data:
    return {
        "deliverable_id": data.get("id"),
        "deliverable_title": data.get("title"),
        "client_name": data.get("client_name"),
        "assigned_to": _name(data.get("assignee")),
        "due_date": data.get("due_at"),
        "days_overdue": days_overdue(data.get("due_at"), at),
    }


SHAPES: dict[str, Callable[[Data, datetime], Data]] = {
    "client.created": client_created,
    "deliverable.completed": deliverable_completed,
    "deliverable.overdue": deliverable_overdue,
}


def noun(event_type: str) -> str:
    """The prefix of an event's flattened keys: ``deliverable.due_soon`` -> ``deliverable``."""
    return event_type.split(".", 1)[0].replace("-", "_") or "event"


def _flat_value(value: list[Any]) -> list[Any]:
    if any(isinstance(item, dict) for item in value):
        return _names(value)
    return [item if not isinstance(item, list) else json.dumps(item) for item in value]


def flatten(data: Data, prefix: str, depth: int = 0) -> Data:
    """`data` as one level of ``<prefix>_<key>`` fields (the rules in this module's doc)."""
    flat: Data = {}
    for key, value in data.items():
        name = f"{prefix}_{key}"
        if isinstance(value, dict) and depth < MAX_DEPTH:
            flat.update(flatten(value, name, depth + 1))
        elif isinstance(value, dict):
            flat[name] = json.dumps(value, sort_keys=True)
        elif isinstance(value, list):
            flat[name] = _flat_value(value)
        else:
            flat[name] = value
    return flat


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def shape(event_id: str, event_type: str, occurred_at: datetime, data: Data) -> Data:
    """The flat payload of one event."""
    head = {"id": event_id, "event": event_type, "occurred_at": iso(occurred_at)}
    special = SHAPES.get(event_type)
    body = special(data, occurred_at) if special else flatten(data, noun(event_type))
    return {**head, **body}  # body keys are prefixed or the sketch's: never id/event


def of_event(event: EventInfo) -> Data:
    return shape(event.id, event.type, event.created_at, event.data or {})


def serialise(payload: Data) -> str:
    """The exact text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
