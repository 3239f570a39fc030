"""Routes under ``/api/integrations/gcal/``: client meetings, and Google's push notifications."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

import hub
from hub import NotFound, ValidationError, api_route, current_context, public_route
from mycelium_gcal import channels, jobs, meeting_push, meetings, schemas, window

bp = Blueprint("gcal", __name__)
NOTIFIED = {"type": "object"}  # Google reads only the status


def _meeting_id(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= schemas.MAX_ID:
        raise NotFound("No such meeting in this organization.")
    return int(value)


@bp.post("/meetings")
@api_route(body=schemas.MeetingIn, response=schemas.MeetingOut, status=201)
def schedule_meeting(body: dict[str, Any]) -> Any:
    """Schedule a client meeting: its event is written to Google before the answer
    (invitees told, a Meet link when ``meet_link``), or by a job when Google is slow,
    rate limited or failing (``status: scheduling``); an ``Idempotency-Key`` header makes a
    repeat return it."""
    ctx = current_context()
    row, replayed = meetings.schedule(ctx, body, request.headers.get("Idempotency-Key"))
    ctx.db.commit()  # recorded before Google is asked: no transaction waits on it
    if not replayed:
        meeting_push.push_now(ctx, row.id)
        row = meetings.get(ctx, row.id)
    response = jsonify(meetings.render(row))
    response.status_code = 201
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/meetings")
@api_route(query=schemas.MeetingQuery, response=schemas.MeetingOut, many=True)
def list_meetings(query: dict[str, Any]) -> Any:
    """The organization's meetings by start time, optionally of one deliverable."""
    ctx = current_context()
    rows = meetings.listing(ctx, query.get("deliverable_id"), query["limit"])
    return jsonify({"items": [meetings.render(row) for row in rows], "next_cursor": None})


@bp.get("/meetings/<meeting_id>")
@api_route(response=schemas.MeetingOut)
def get_meeting(meeting_id: str) -> Any:
    """One meeting."""
    ctx = current_context()
    return jsonify(meetings.render(meetings.get(ctx, _meeting_id(meeting_id))))


@bp.patch("/meetings/<meeting_id>")
@api_route(body=schemas.MeetingChange, partial=True, response=schemas.MeetingOut)
def change_meeting(meeting_id: str, body: dict[str, Any]) -> Any:
    """Move, rename or re-invite: Google gets the change and invitees are told."""
    ctx = current_context()
    row = meetings.change(ctx, _meeting_id(meeting_id), body)
    ctx.db.commit()
    return jsonify(meetings.render(row))


@bp.delete("/meetings/<meeting_id>")
@api_route(response=schemas.MeetingOut)
def cancel_meeting(meeting_id: str) -> Any:
    """Cancel: the event is deleted in Google and invitees are told."""
    ctx = current_context()
    if request.get_data(cache=True):
        raise ValidationError("This endpoint takes no body.", {"_schema": ["No body."]})
    row = meetings.cancel(ctx, _meeting_id(meeting_id))
    ctx.db.commit()
    return jsonify(meetings.render(row))


@bp.post("/notifications")
@public_route
@api_route(response=NOTIFIED)
def notification() -> Any:
    """Google's push notification: the channel id (404) and its token (401, a failed
    authentication) are checked before anything else; then an incremental sync is queued
    (a burst makes one)."""
    session = hub.db_session()
    row = channels.find(session, request.headers.get("X-Goog-Channel-ID"))
    if row is None:
        raise NotFound("Unknown or stopped channel.")
    if not channels.token_matches(row, request.headers.get("X-Goog-Channel-Token")):
        raise channels.InvalidChannelToken("The channel token does not match.")
    if request.headers.get("X-Goog-Resource-State") == "sync":
        return jsonify({"ok": True})  # the channel's first message: nothing changed yet
    ctx = hub.context_for("gcal", row.org_id)
    if ctx is None:
        return jsonify({"ok": True, "ignored": "not enabled"})
    window.state_of(ctx).last_push_at = hub.now()
    ctx.db.commit()
    jobs.queue_sync(ctx, ctx.org.id)
    return jsonify({"ok": True})
