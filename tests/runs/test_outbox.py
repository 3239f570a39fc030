"""The outbox: an event exists exactly when the change it records was committed, and the
after-commit notifier hears of committed events only, once, after they are visible."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.core import clients, events
from hub.core.models import Client, Event
from hub.extensions import db


@pytest.fixture
def notified(app) -> Iterator[list[list[str]]]:
    """Each call of the after-commit notifier, with the ids it got and proof they were visible."""
    calls: list[list[str]] = []

    def notify(event_ids: list[str]) -> None:
        with db.engine.connect() as conn:  # another connection: only committed rows show
            visible = set(conn.scalars(select(Event.id).where(Event.id.in_(event_ids))))
        assert visible == set(event_ids), "notified before the events were committed"
        calls.append(list(event_ids))

    previous = app.extensions.get("hub.on_events_committed")
    app.extensions["hub.on_events_committed"] = notify
    yield calls
    app.extensions["hub.on_events_committed"] = previous


def stored_events(app) -> list[tuple[str, str]]:
    with app.app_context():
        db.session.remove()
        return [(e.id, e.type) for e in db.session.scalars(select(Event).order_by(Event.seq))]


def test_a_rolled_back_change_writes_no_event_and_notifies_nobody(app, org, notified):
    with app.app_context():
        clients.create_client(db.session, org.id, {"name": "Ghost"})
        db.session.rollback()
        # a later commit in the same session must not announce the forgotten event
        clients.create_service_type(db.session, org.id, "Web")
        db.session.commit()
    # only the later change's own event is stored and announced, never the forgotten one
    [(event_id, event_type)] = stored_events(app)
    assert event_type == "service_type.created"
    assert notified == [[event_id]]
    with app.app_context():
        assert db.session.scalar(select(Client).where(Client.name == "Ghost")) is None


def test_a_commit_that_fails_writes_no_event(app, org, notified):
    with app.app_context():
        db.session.add(Client(org_id=org.id, name="Taken"))
        db.session.commit()
        events.record(db.session, org.id, "client.created", {"name": "Taken"})
        db.session.add(Client(org_id=org.id, name="Taken"))  # unique (org, name) breaks at commit
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.commit()
    assert stored_events(app) == []
    assert notified == []


def test_a_committed_change_writes_exactly_one_event_and_notifies_its_id(app, api, notified):
    response = api.post("/api/clients", json={"name": "Globex"})
    assert response.status_code == 201
    [(event_id, event_type)] = stored_events(app)
    assert event_type == "client.created"
    assert notified == [[event_id]]
    assert api.get("/api/events").get_json()["items"][0]["id"] == event_id


def test_a_failed_request_writes_no_event_and_notifies_nobody(app, api, notified):
    api.post("/api/clients", json={"name": "Globex"})
    notified.clear()
    assert api.post("/api/clients", json={"name": "Globex"}).status_code == 409
    assert (
        api.post("/api/deliverables", json={"client_id": 424242, "title": "x"}).status_code == 400
    )
    assert len(stored_events(app)) == 1
    assert notified == []


def test_events_of_one_transaction_are_notified_together_in_order(app, org, notified):
    with app.app_context():
        first = clients.create_client(db.session, org.id, {"name": "A"})
        clients.update_client(db.session, org.id, first.id, {"notes": "n"})
        clients.delete_client(db.session, org.id, first.id)
        db.session.commit()
    stored = stored_events(app)
    assert [kind for _, kind in stored] == ["client.created", "client.updated", "client.deleted"]
    assert notified == [[event_id for event_id, _ in stored]]


def test_a_notifier_that_fails_does_not_fail_the_committed_request(app, api):
    def broken(event_ids: list[Any]) -> None:
        raise ConnectionError("redis is down")

    app.extensions["hub.on_events_committed"] = broken
    response = api.post("/api/clients", json={"name": "Globex"})
    assert [kind for _, kind in stored_events(app)] == ["client.created"]
    assert response.status_code == 201
