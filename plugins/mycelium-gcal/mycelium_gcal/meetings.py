"""Client meetings as the hub records them: scheduled, changed and cancelled by the API.

A request writes the meeting (``pending``) and commits it. Scheduling then pushes it at
once with a short timeout, since its answer is the event's link; a change or a cancel
queues its push. The push (``meeting_push.py``) writes the event and records what Google
answered; ``meeting.*`` events say what is on the calendar.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub import Conflict, Deliverable, NotFound, PluginContext, ValidationError, now
from mycelium_gcal import access, schemas
from mycelium_gcal.ids import new_meeting_event_id
from mycelium_gcal.models import Meeting

CLOSED = ("cancelled", "failed")
MAX_KEY = 255
# hub field -> the Google fields a change of it rewrites
GOOGLE_FIELDS = {
    "title": ("summary",),
    "description": ("description",),
    "location": ("location",),
    "attendees": ("attendees",),
    "start_at": ("start", "end"),
    "duration_minutes": ("start", "end"),
    "meet_link": ("conferenceData",),
}


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def render(row: Meeting) -> dict[str, Any]:
    """A meeting as the API shows it and ``meeting.*`` events carry it."""
    return {
        "id": row.id,
        "deliverable_id": row.deliverable_id,
        "calendar_event_id": row.event_id,
        "calendar_id": row.calendar_id,
        "html_link": row.html_link,
        "meet_url": row.meet_url,
        "meet_link": row.meet_requested,
        "meet_status": row.meet_status,
        "title": row.title,
        "description": row.description,
        "location": row.location,
        "start_at": _when(row.start_at),
        "end_at": _when(row.end_at),
        "duration_minutes": int((row.end_at - row.start_at).total_seconds() // 60),
        "timezone": row.timezone,
        "attendees": list(row.attendees or []),
        "status": row.status,
        "pending": row.pending,
        "last_error": row.last_error,
        "created_at": _when(row.created_at),
        "updated_at": _when(row.updated_at),
    }


def _check_allowed(ctx: PluginContext) -> None:
    cfg = access.config(ctx)
    if not cfg["sync_meetings"]:
        raise Conflict(
            "Client meetings are off for this organization: set sync_meetings to true in the "
            "Google Calendar settings first.",
            {"sync_meetings": ["Must be true to schedule meetings."]},
        )
    if not cfg["create_events"]:
        raise Conflict(
            "Adding events to the calendar is off (create_events is false).",
            {"create_events": ["Must be true to schedule meetings."]},
        )
    if not access.connected(ctx):
        raise Conflict(
            "Google Calendar is not connected: connect an account first.",
            {"connection": ["Not connected."]},
        )


def _deliverable(ctx: PluginContext, deliverable_id: int) -> None:
    stmt = select(Deliverable.id).where(
        Deliverable.org_id == ctx.org.id, Deliverable.id == deliverable_id
    )
    if ctx.db.scalar(stmt) is None:
        raise ValidationError("Invalid reference.", {"deliverable_id": ["No such deliverable."]})


def request_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _replay(ctx: PluginContext, key: str, digest: str) -> Meeting | None:
    stmt = select(Meeting).where(Meeting.org_id == ctx.org.id, Meeting.idempotency_key == key)
    found = ctx.db.scalar(stmt)
    if found is not None and found.request_hash != digest:
        raise Conflict(
            "This Idempotency-Key was used for a different meeting request.",
            {"Idempotency-Key": ["Already used with another body; use a new key."]},
        )
    return found


def schedule(ctx: PluginContext, data: dict[str, Any], key: str | None) -> tuple[Meeting, bool]:
    """Record a new meeting (or find the one this Idempotency-Key made); (row, replayed)."""
    _check_allowed(ctx)
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise ValidationError("Invalid header.", {"Idempotency-Key": ["1-255 characters."]})
    digest = request_hash(data)
    if key is not None and (found := _replay(ctx, key, digest)) is not None:
        return found, True
    _deliverable(ctx, data["deliverable_id"])
    row = _new_row(ctx, data, key, digest)
    try:
        with ctx.db.begin_nested():
            ctx.db.add(row)
            ctx.db.flush()
    except IntegrityError:  # the same key, committed by a concurrent request
        found = _replay(ctx, str(key), digest) if key is not None else None
        if found is None:
            raise
        return found, True
    return row, False  # the caller commits it, then pushes it (meeting_push.push_now)


def _new_row(ctx: PluginContext, data: dict[str, Any], key: str | None, digest: str) -> Meeting:
    start = schemas.in_zone(data["start_at"], ctx.org.timezone)
    return Meeting(
        org_id=ctx.org.id,
        deliverable_id=data["deliverable_id"],
        calendar_id=str(access.config(ctx)["calendar_id"]),
        event_id=new_meeting_event_id(),
        idempotency_key=key,
        request_hash=digest,
        title=data["title"],
        description=data.get("description"),
        location=data.get("location"),
        start_at=start,
        end_at=start + timedelta(minutes=data["duration_minutes"]),
        timezone=ctx.org.timezone,
        attendees=list(data.get("attendees") or []),
        meet_requested=bool(data.get("meet_link")),
        status="scheduling",
        pending=True,
        changed=[],
        next_attempt_at=now(),
    )


def get(ctx: PluginContext, meeting_id: int) -> Meeting:
    stmt = select(Meeting).where(Meeting.org_id == ctx.org.id, Meeting.id == meeting_id)
    row = ctx.db.scalar(stmt)
    if row is None:
        raise NotFound("No such meeting in this organization.")
    return row


def listing(ctx: PluginContext, deliverable_id: int | None, limit: int) -> list[Meeting]:
    stmt = select(Meeting).where(Meeting.org_id == ctx.org.id)
    if deliverable_id is not None:
        stmt = stmt.where(Meeting.deliverable_id == deliverable_id)
    return list(ctx.db.scalars(stmt.order_by(Meeting.start_at, Meeting.id).limit(limit)))


def change(ctx: PluginContext, meeting_id: int, data: dict[str, Any]) -> Meeting:
    """Apply a PATCH; the fields that changed go to Google with the next push."""
    if not data:
        raise ValidationError("Nothing to change.", {"_schema": ["Give at least one field."]})
    row = get(ctx, meeting_id)
    if row.status in CLOSED:
        raise Conflict(f"This meeting is {row.status}.", {"status": [f"Already {row.status}."]})
    touched = _apply(ctx, row, data)
    if touched:
        fields = {g for name in touched for g in GOOGLE_FIELDS[name]}
        _mark_pending(ctx, row, sorted(set(row.changed or []) | fields))
    return row


def _apply(ctx: PluginContext, row: Meeting, data: dict[str, Any]) -> list[str]:
    """Set the fields that differ; their names."""
    touched = []
    duration = data.get("duration_minutes", int((row.end_at - row.start_at).total_seconds() // 60))
    start = schemas.in_zone(data["start_at"], row.timezone) if "start_at" in data else row.start_at
    if (start, start + timedelta(minutes=duration)) != (row.start_at, row.end_at):
        row.start_at, row.end_at = start, start + timedelta(minutes=duration)
        touched.append("start_at")
    for name in ("title", "description", "location", "attendees"):
        if name in data and data[name] != getattr(row, name):
            setattr(row, name, data[name])
            touched.append(name)
    if data.get("meet_link") and not row.meet_requested:
        row.meet_requested = True
        touched.append("meet_link")
    return touched


def _mark_pending(ctx: PluginContext, row: Meeting, changed: list[str]) -> None:
    row.changed, row.pending, row.attempts = changed, True, 0
    row.next_attempt_at, row.updated_at = now(), now()
    access.enqueue_after_commit(ctx, "push_meetings", ctx.org.id)


def cancel(ctx: PluginContext, meeting_id: int) -> Meeting:
    """Cancel a meeting: its event is deleted and the invitees told with the next push."""
    row = get(ctx, meeting_id)
    if row.status in CLOSED:
        raise Conflict(f"This meeting is {row.status}.", {"status": [f"Already {row.status}."]})
    row.status = "cancelled"
    _mark_pending(ctx, row, [])
    return row
