"""Runs: what each plugin did with each event, and an admin's retry."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Blueprint, current_app
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hub.api.auth import caller
from hub.api.encoding import iso
from hub.api.routing import endpoint, page
from hub.core.deliverables import in_org_zone
from hub.core.models import Run
from hub.core.pagination import paginate
from hub.core.runs.recovery import enqueue_runs, mark_enqueued, retry_run
from hub.core.schemas import ListQuerySchema, Moment
from hub.extensions import db

bp = Blueprint("runs", __name__)
log = logging.getLogger(__name__)

STATES = ("queued", "running", "waiting", "succeeded", "failed")


class RunQuerySchema(ListQuerySchema):
    plugin = fields.String(validate=validate.Length(min=1, max=64))
    state = fields.String(validate=validate.OneOf(STATES))
    event_type = fields.String(validate=validate.Length(min=1, max=100))
    since = Moment(metadata={"description": "Only runs created at or after this time."})


def _doc(text: str) -> dict[str, str]:
    return {"description": text}


class RunSchema(Schema):
    """One plugin's work on one event: the database row workers claim and record."""

    id = fields.Integer(metadata=_doc("The run's id."))
    event_id = fields.String(metadata=_doc("The event's id: the idempotency key hooks receive."))
    event_type = fields.String(metadata=_doc("The event's type, e.g. client.created."))
    plugin = fields.String(metadata=_doc("The plugin whose hooks the run calls."))
    integration_id = fields.Integer(metadata=_doc("The organization's integration of it."))
    state = fields.String(
        metadata=_doc(
            "queued (for its time, or a worker) | running (claimed under a lease) | "
            "waiting (for an admin to reconnect) | succeeded | failed (for good)."
        )
    )
    attempts = fields.Integer(metadata=_doc("Attempts so far; rate-limit waits do not count."))
    next_attempt_at = fields.Method(
        "_next_attempt",
        metadata={
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "When a queued or waiting run is tried next; null otherwise.",
        },
    )
    last_error = fields.String(
        allow_none=True,
        metadata=_doc("Why the last attempt failed (the hook's error, a timeout), or null."),
    )
    created_at = fields.DateTime(metadata=_doc("When the event was dispatched to the plugin."))
    updated_at = fields.DateTime(metadata=_doc("When the run last changed."))
    finished_at = fields.DateTime(
        allow_none=True, metadata=_doc("When it succeeded or failed for good, or null.")
    )

    def _next_attempt(self, run: Run) -> str | None:
        """A run that is running or finished has no next attempt, whatever the row kept."""
        if run.state not in ("queued", "waiting") or run.next_attempt_at is None:
            return None
        return iso(run.next_attempt_at)


@bp.get("/integrations/runs")
@endpoint(
    "Runs of this organization's events by its plugins, newest first",
    query=RunQuerySchema,
    response=RunSchema,
    many=True,
)
def list_runs(query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Run).where(Run.org_id == caller().org.id)
    for name in ("plugin", "state", "event_type"):
        if name in query:
            stmt = stmt.where(getattr(Run, name) == query[name])
    if "since" in query:  # without an offset, read in the org's time zone like every time
        stmt = stmt.where(Run.created_at >= in_org_zone(caller().org, query["since"]))
    rows, cursor = paginate(
        db.session, stmt, Run.id, query["limit"], query.get("cursor"), newest_first=True
    )
    return page(rows, RunSchema(), cursor)


@bp.post("/integrations/runs/<int:run_id>/retry")
@endpoint(
    "Retry a failed or queued run now, with a fresh attempt count",
    response=RunSchema,
    role="admin",
)
def retry(run_id: int) -> dict[str, Any]:
    run = retry_run(db.session, caller().org.id, run_id)
    db.session.commit()
    try:
        enqueue_runs(current_app, [run.id])
        mark_enqueued(db.session, [run.id])
        db.session.commit()
    except redis.RedisError as exc:  # the run sweeper enqueues it
        log.warning("run %s not enqueued (%s); the run sweeper will", run.id, exc)
    return RunSchema().dump(run)
