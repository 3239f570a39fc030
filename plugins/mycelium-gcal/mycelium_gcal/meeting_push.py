"""Meetings to Google: insert, patch what changed, delete; invitees are told (sendUpdates=all).

A push works from a snapshot of the row taken under a per-meeting lock, calls Google with
no transaction open, then records the answer; a change the API made meanwhile keeps the
meeting ``pending`` for the next push. With ``meet_link`` the insert asks for a Google Meet
conference; Google may answer it ``pending``, and a follow-up reads the event again until
the link is there (a few seconds in the push, then once a minute).

A new meeting is pushed first by the request that scheduled it (:func:`push_now`: one try
with a short timeout, so the admin gets the event's link in the answer); what that try
leaves (Google slow, rate limited or failing, a Meet link still pending) a job finishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from hub import HubError, NeedsReauth, PermanentError, PluginContext, RateLimited, now
from mycelium_gcal import access, meeting_body, meetings
from mycelium_gcal.client import CalendarClient, EventExists, EventMissing
from mycelium_gcal.models import Meeting
from mycelium_gcal.provider import MEETING

# Usage labels. A unit of work (ROI) is the successful call that puts a meeting on the
# calendar (its insert, or the patch after a 409); everything after it is an update.
FEATURE = MEETING
UPDATE = "meeting_update"  # changes, cancellations, Meet-link reads: declared worth nothing
FOLLOW_UP_DELAYS = (1.0, 2.0)  # seconds before re-reading a pending conference in the push
LATER_CHECK = timedelta(minutes=1)
MAX_ATTEMPTS = 10
BACKOFF = timedelta(seconds=30)
TIMEOUT_SETTING = "GCAL_MEETING_TIMEOUT"  # seconds a request waits for Google's insert
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Mode:
    """How a push talks to Google: as a job does, or as the scheduling request does."""

    timeout: float | None = None  # None: the hub's HTTP timeout
    follow_up: bool = True  # read a pending conference again for a few seconds
    counts: bool = True  # a failure is an attempt (a request's short try is not)


JOB = Mode()


@dataclass(frozen=True)
class Outcome:
    """What Google answered for a push."""

    event: dict[str, Any] | None = None
    gone: bool = False  # deleted (ours) or missing in Google


def due(ctx: PluginContext) -> list[int]:
    """This organization's meetings with work for Google that is due now."""
    stmt = select(Meeting.id).where(
        Meeting.org_id == ctx.org.id,
        Meeting.pending.is_(True),
        Meeting.next_attempt_at <= now(),
    )
    return list(ctx.db.scalars(stmt.order_by(Meeting.next_attempt_at, Meeting.id)))


def push_all(ctx: PluginContext) -> int:
    """Push every due meeting of the organization; how many were pushed."""
    ids = due(ctx)
    access.end_transaction(ctx)
    for meeting_id in ids:
        push(ctx, meeting_id)
    return len(ids)


def push(ctx: PluginContext, meeting_id: int, mode: Mode = JOB) -> None:
    """Bring one meeting's event in line with the hub's record (if no worker is on it)."""
    with access.locked(ctx, f"meeting:{meeting_id}", wait=0) as had:
        if not had:
            return
        snapshot = _snapshot(ctx, meeting_id)
        body = meeting_body.body(ctx, snapshot) if snapshot is not None else {}
        access.end_transaction(ctx)  # after every read: nothing is held while Google answers
        if snapshot is None or not snapshot.pending:
            return
        try:
            client = access.calendar_client(ctx, mode.timeout)
            outcome = _send(ctx, client, snapshot, body, mode.follow_up)
        except HubError as exc:
            _failed(ctx, meeting_id, exc, mode.counts)
            ctx.db.commit()
            return
        _record(ctx, snapshot, outcome, mode.follow_up)
        ctx.db.commit()


def push_now(ctx: PluginContext, meeting_id: int) -> None:
    """The scheduling request's push: one try with a short timeout and no waiting for a
    Meet link; a job is queued for whatever is left. Never raises: the meeting is recorded,
    and the minute job pushes it whatever went wrong here."""
    try:
        timeout = float(ctx.setting(TIMEOUT_SETTING) or DEFAULT_TIMEOUT)
        push(ctx, meeting_id, Mode(timeout=timeout, follow_up=False, counts=False))
        row = _current(ctx, meeting_id)
        due = row is not None and row.pending and (row.next_attempt_at or now()) <= now()
        if due:  # a rate limit's wait is the minute job's
            access.enqueue_after_commit(ctx, "push_meetings", ctx.org.id)
        ctx.db.commit()
    except Exception:  # Redis away, a bad setting: the answer is "scheduling", a job pushes
        ctx.db.rollback()
        ctx.log.exception("google calendar: meeting %s left to the job", meeting_id)


def _snapshot(ctx: PluginContext, meeting_id: int) -> Meeting | None:
    stmt = select(Meeting).where(Meeting.org_id == ctx.org.id, Meeting.id == meeting_id)
    row = ctx.db.scalar(stmt.execution_options(populate_existing=True))
    if row is None:
        return None
    ctx.db.expunge(row)  # a detached copy: what this push sends, compared when recording
    return row


def _send(
    ctx: PluginContext, client: CalendarClient, row: Meeting, body: dict[str, Any], follow: bool
) -> Outcome:
    ctx.calls_are_for(UPDATE)
    if row.status == "cancelled":
        client.delete_event(row.calendar_id, row.event_id, send_updates="all")
        return Outcome(gone=True)
    if row.status == "scheduling":
        with ctx.calls_for(FEATURE):
            event = _insert(client, row, body)
    elif row.changed:
        try:
            fields = {k: body[k] for k in row.changed if k in body}
            event = client.patch_event(row.calendar_id, row.event_id, fields, "all")
        except EventMissing:
            return Outcome(gone=True)
    else:
        event = client.get_event(row.calendar_id, row.event_id)
    return Outcome(event=_follow_up(client, row, event) if follow else event)


def _insert(client: CalendarClient, row: Meeting, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return client.insert_event(row.calendar_id, {"id": row.event_id, **body}, "all")
    except EventExists:  # an earlier try got through: make it what we hold now
        return client.patch_event(row.calendar_id, row.event_id, body, "all")


def _follow_up(client: CalendarClient, row: Meeting, event: dict[str, Any]) -> dict[str, Any]:
    """Read the event again while its conference is pending, a few seconds at most."""
    for delay in FOLLOW_UP_DELAYS:
        if meeting_body.conference_status(event) != "pending":
            break
        time.sleep(delay)
        event = client.get_event(row.calendar_id, row.event_id)
    return event


def _current(ctx: PluginContext, meeting_id: int) -> Meeting | None:
    stmt = select(Meeting).where(Meeting.org_id == ctx.org.id, Meeting.id == meeting_id)
    return ctx.db.scalar(stmt.execution_options(populate_existing=True))


def _record(ctx: PluginContext, sent: Meeting, outcome: Outcome, followed_up: bool) -> None:
    """Store Google's answer; emit the event that tells what is on the calendar now."""
    row = _current(ctx, sent.id)
    if row is None:
        return
    before = meetings.render(row)
    untouched = row.updated_at == sent.updated_at  # no API change while we were at Google
    if outcome.gone:
        _closed(ctx, row, sent, untouched)
        return
    assert outcome.event is not None
    was = row.status
    meeting_body.absorb(row, outcome.event)
    if row.status == "scheduling":
        row.status = "scheduled"
    row.changed = [] if untouched else [f for f in row.changed if f not in sent.changed]
    _settle(row, untouched, LATER_CHECK if followed_up else timedelta(0))
    if was == "scheduling":
        ctx.emit("meeting.scheduled", meetings.render(row))
    elif sent.changed or _differs(before, meetings.render(row)):  # a change, or the Meet link
        ctx.emit("meeting.updated", meetings.render(row))


def _closed(ctx: PluginContext, row: Meeting, sent: Meeting, untouched: bool) -> None:
    was_on_calendar = sent.html_link is not None or sent.status == "scheduled"
    row.status, row.changed = "cancelled", []
    _settle(row, True, LATER_CHECK)
    if was_on_calendar:
        ctx.emit("meeting.cancelled", meetings.render(row))


def _settle(row: Meeting, untouched: bool, meet_check: timedelta) -> None:
    """Done unless the API changed it meanwhile or its Meet link is still coming (read
    again after `meet_check`: at once when this push could not wait for it)."""
    waiting_meet = row.meet_status == "pending" and row.status != "cancelled"
    row.pending = not untouched or bool(row.changed) or waiting_meet
    row.attempts, row.last_error, row.lease_until = 0, None, None
    row.next_attempt_at = now() + meet_check if waiting_meet and untouched else now()


def _differs(before: dict[str, Any], after: dict[str, Any]) -> bool:
    ignored = ("updated_at", "pending", "last_error")
    return {k: v for k, v in before.items() if k not in ignored} != {
        k: v for k, v in after.items() if k not in ignored
    }


def _failed(ctx: PluginContext, meeting_id: int, exc: HubError, counts: bool = True) -> None:
    """Keep the meeting pending for a later try, or give up when retrying cannot help."""
    row = _current(ctx, meeting_id)
    if row is None:
        return
    row.last_error = exc.message[:2000]
    if isinstance(exc, RateLimited):
        row.next_attempt_at = now() + timedelta(seconds=exc.retry_after)
        return
    if not counts and not isinstance(exc, (PermanentError, NeedsReauth)):
        row.next_attempt_at = now()  # slow or failing for a request: a job tries at once
        return
    row.attempts += 1
    if isinstance(exc, PermanentError) or row.attempts >= MAX_ATTEMPTS:
        row.pending = False
        row.status = "failed" if row.status == "scheduling" else row.status
        return
    wait = BACKOFF * 2 ** (row.attempts - 1)
    if isinstance(exc, NeedsReauth):
        wait = max(wait, timedelta(minutes=15))  # until an admin reconnects
    row.next_attempt_at = now() + min(wait, timedelta(hours=1))
