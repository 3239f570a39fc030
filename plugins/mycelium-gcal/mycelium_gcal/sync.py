"""Changes made in Google Calendar come back: incremental sync with a ``syncToken``.

A meeting moved, renamed, re-invited or cancelled in Google updates the hub's record and
emits ``meeting.updated`` / ``meeting.cancelled``, as a change through the API would. Our own
writes come back too and change nothing (the record already says the same). A deadline
event someone changed or deleted in Google is marked stale, and the sweep puts it back:
the hub is the truth for deadlines. An expired token (``410``) means a full resync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub import PluginContext, now
from mycelium_gcal import access, bodies, meeting_body, meetings, window
from mycelium_gcal.client import FullSyncRequired
from mycelium_gcal.models import DeadlineEvent, Meeting

FEATURE = "calendar_sync"
FULL_SYNC_PAST = timedelta(days=30)  # a full sync reads events from this long ago on


@dataclass
class SyncReport:
    changes: int = 0
    meetings_changed: int = 0
    deadlines_stale: int = 0
    full: bool = False


def sync_changes(ctx: PluginContext) -> SyncReport:
    """Read every change since the stored token (all events, after a 410) and apply it."""
    state = window.state_of(ctx)
    token, calendar = state.sync_token, str(access.config(ctx)["calendar_id"])
    access.end_transaction(ctx)
    ctx.calls_are_for(FEATURE)
    report = SyncReport(full=token is None)
    try:
        next_token = _read(ctx, calendar, token, report)
    except FullSyncRequired:
        report.full = True
        next_token = _read(ctx, calendar, None, report)
    state = window.state_of(ctx)
    state.sync_token, state.calendar_id, state.last_sync_at = next_token, calendar, now()
    ctx.db.commit()
    return report


def _read(ctx: PluginContext, calendar: str, token: str | None, report: SyncReport) -> str | None:
    """Apply page after page (each committed before the next request); the next token."""
    client = access.calendar_client(ctx)
    if token is not None:
        params: dict[str, Any] = {"syncToken": token}
    else:
        params = {"showDeleted": "true", "timeMin": (now() - FULL_SYNC_PAST).isoformat()}
    next_token = None
    for page in client.list_all(calendar, **params):
        for item in page.get("items") or []:
            apply_change(ctx, item, report)
        ctx.db.commit()
        next_token = page.get("nextSyncToken") or next_token
    return next_token


def apply_change(ctx: PluginContext, item: dict[str, Any], report: SyncReport) -> None:
    report.changes += 1
    event_id = str(item.get("id") or "")
    meeting = ctx.db.scalar(
        select(Meeting).where(Meeting.org_id == ctx.org.id, Meeting.event_id == event_id)
    )
    if meeting is not None:
        report.meetings_changed += int(reconcile_meeting(ctx, meeting, item))
        return
    row = ctx.db.scalar(
        select(DeadlineEvent).where(
            DeadlineEvent.org_id == ctx.org.id, DeadlineEvent.event_id == event_id
        )
    )
    if row is not None and row.present and _deadline_differs(row, item):
        row.body = None if item.get("status") != "cancelled" else row.body
        row.present = item.get("status") != "cancelled"
        report.deadlines_stale += 1
        window.request(ctx)


def _instant(value: dict[str, Any] | None) -> Any:
    if not value or not value.get("dateTime"):
        return None
    return bodies.parse_instant(str(value["dateTime"]))


def _deadline_differs(row: DeadlineEvent, item: dict[str, Any]) -> bool:
    body = row.body or {}
    if item.get("status") == "cancelled":
        return True
    return (
        item.get("summary") != body.get("summary")
        or _instant(item.get("start")) != _instant(body.get("start"))
        or _instant(item.get("end")) != _instant(body.get("end"))
    )


def _google_view(item: dict[str, Any]) -> dict[str, Any]:
    """The meeting fields as Google holds them."""
    attendees = [  # the connected account itself (the organizer) is not an invitee
        str(a["email"])
        for a in item.get("attendees") or []
        if a.get("email") and not a.get("self") and not a.get("resource")
    ]
    return {
        "start_at": (_instant(item.get("start")), _instant(item.get("end"))),
        "title": item.get("summary") or "",
        "attendees": attendees,
        "location": item.get("location") or None,
    }


def reconcile_meeting(ctx: PluginContext, row: Meeting, item: dict[str, Any]) -> bool:
    """Take Google's version of a meeting; whether the hub's record changed."""
    if row.status in meetings.CLOSED or (row.status == "scheduling" and row.html_link is None):
        return False  # ours to write (or already closed): Google's echo of a past state
    if item.get("status") == "cancelled":
        row.status, row.pending, row.changed = "cancelled", False, []
        ctx.emit("meeting.cancelled", meetings.render(row))
        return True
    before = meetings.render(row)
    _take_fields(row, _google_view(item))
    meeting_body.absorb(row, item)
    after = meetings.render(row)
    if {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }:
        return False
    ctx.emit("meeting.updated", after)
    return True


def _take_fields(row: Meeting, google: dict[str, Any]) -> None:
    """Google's values, except for fields the hub changed and has not sent yet."""
    pending = set(row.changed or [])
    start, end = google["start_at"]
    if start is not None and end is not None and not {"start", "end"} & pending:
        row.start_at, row.end_at = start, end
    if "summary" not in pending and google["title"]:
        row.title = google["title"]
    if "attendees" not in pending:
        row.attendees = google["attendees"]
    if "location" not in pending:
        row.location = google["location"]
