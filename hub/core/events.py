"""The outbox: every change records its event in the same transaction."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import Table, insert

from hub.core import clock
from hub.core.db import AnySession, after_commit
from hub.core.ids import new_id
from hub.core.models import ApiKey, Event

PENDING_KEY = "hub_new_events"
_INSERT_EVENT = insert(cast(Table, Event.__table__))
ACTOR_KEY = "hub_actor"  # session.info: who the request's events name as their actor

# type -> description: the catalogue served at /api/events/types; plugins add theirs.
CORE_EVENT_TYPES: dict[str, str] = {
    "organization.updated": "The organization's settings or branding changed.",
    "user.created": "A team member was added.",
    "user.updated": "A team member's details or role changed.",
    "user.deleted": "A team member was removed.",
    "client.created": "A client was created.",
    "client.updated": "A client's details changed.",
    "client.deleted": "A client was deleted.",
    "service_type.created": "A service type was added to the organization's offer.",
    "service_type.updated": "A service type was renamed (its previous name in previous_name).",
    "deliverable.created": "A deliverable was created.",
    "deliverable.updated": "A deliverable changed.",
    "deliverable.completed": "A deliverable was completed.",
    "deliverable.deleted": "A deliverable was deleted.",
    "deliverable.due_soon": "A deliverable entered its organization's due-soon window.",
    "deliverable.overdue": "A deliverable passed its due time without being completed.",
    "integration.enabled": "An integration was enabled.",
    "integration.disabled": "An integration was disabled, by an admin or after repeated errors.",
    "integration.needs_reauth": "An integration's credentials were refused; reconnect it.",
}


def actor_of(key: ApiKey) -> dict[str, Any]:
    """Who acts with an API key: its user, or the key itself when it has none."""
    user = key.user
    if user is None:
        return {"type": "api_key", "id": None, "name": key.name or "API key", "email": None}
    return {"type": "user", "id": user.id, "name": user.name, "email": user.email}


def act_as(session: AnySession, actor: dict[str, Any] | None) -> None:
    """The events this session records from now on name `actor` (None: nobody, the hub)."""
    if actor is None:
        session.info.pop(ACTOR_KEY, None)
    else:
        session.info[ACTOR_KEY] = actor


def record(session: AnySession, org_id: int, type_: str, payload: dict[str, Any]) -> Event:
    """Write an event in the session's transaction; it is dispatched after commit.

    An event caused by a request carries ``actor`` in its payload (see :func:`act_as`).
    """
    actor = session.info.get(ACTOR_KEY)
    if actor is not None and "actor" not in payload:
        payload = {**payload, "actor": actor}
    event_id = new_id("evt")
    row = {"id": event_id, "org_id": org_id, "type": type_, "payload": payload}
    row["created_at"] = clock.now()
    # A Core INSERT in the session's transaction, not an ORM object for the commit's flush:
    # an event is written once and never changed by the request that makes it, and the
    # unit of work's second flush was an eighth of a POST /api/clients.
    session.connection().execute(_INSERT_EVENT, row)
    after_commit(session, Committed(), key=PENDING_KEY).ids.append(event_id)
    return Event(**row)  # the row as written (not in the session: it is in the database)


class Committed:
    """The events one transaction records; once it commits, they go to the app's
    ``hub.on_events_committed`` (the dispatcher). Rolled back, they are forgotten."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self) -> None:
        if not has_app_context():
            return
        notify: Any = current_app.extensions.get("hub.on_events_committed")
        if notify is None:
            return
        try:
            notify(self.ids)
        except Exception:  # the change is committed; the outbox sweeper dispatches it
            logging.getLogger(__name__).exception("dispatch after commit failed")
