"""Payload shapes: the three triggers of the original sketch exactly, and the documented
flat shape of every other event; as Zapier receives them over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mycelium_zapier import payloads
from zapier_helpers import make_client, subscribe

from hub.testing import run_jobs

HEAD = {"id", "event", "occurred_at"}


def _delivered(receiver, path):
    (received,) = receiver.at(path)
    return received.json


def test_client_created_shape(app, api, zapier, receiver):
    subscribe(api, receiver.url("/c"), "client.created")
    web = api.post("/api/service-types", json={"name": "Web Design"}).get_json()
    client = make_client(
        api,
        "Globex",
        contact_email="hank@globex.example",
        contact_person="Hank Scorpio",
        service_type_ids=[web["id"]],
    )
    run_jobs(app)
    body = _delivered(receiver, "/c")
    assert set(body) == HEAD | {
        "client_id",
        "client_name",
        "contact_email",
        "contact_person",
        "service_types",
        "created_at",
    }
    assert body["client_id"] == client["id"]
    assert (body["client_name"], body["contact_email"], body["contact_person"]) == (
        "Globex",
        "hank@globex.example",
        "Hank Scorpio",
    )
    assert body["service_types"] == ["Web Design"]
    assert body["created_at"] == client["created_at"]
    assert body["event"] == "client.created" and body["id"].startswith("evt_")


def test_deliverable_completed_shape(app, api, org, zapier, receiver):
    subscribe(api, receiver.url("/done"), "deliverable.completed")
    brand = api.post("/api/service-types", json={"name": "Branding"}).get_json()
    client = make_client(api, "Globex")
    fields = {
        "client_id": client["id"],
        "title": "Logo refresh",
        "service_type_id": brand["id"],
        "due_at": "2030-01-18T17:00:00+00:00",
    }
    deliverable = api.post("/api/deliverables", json=fields).get_json()
    done = api.post(f"/api/deliverables/{deliverable['id']}/complete")
    assert done.status_code == 200, done.get_json()
    run_jobs(app)
    body = _delivered(receiver, "/done")
    assert set(body) == HEAD | {
        "deliverable_id",
        "deliverable_title",
        "client_name",
        "service_type",
        "completed_by",
        "completed_at",
        "due_date",
    }
    completed = done.get_json()
    assert body["deliverable_id"] == deliverable["id"]
    assert body["deliverable_title"] == "Logo refresh"
    assert (body["client_name"], body["service_type"]) == ("Globex", "Branding")
    assert body["completed_by"] == org.admin.name
    assert body["completed_at"] == completed["completed_at"]
    assert body["due_date"] == completed["due_at"]


def test_deliverable_overdue_shape(app, api, org, zapier, receiver, plugin_context, hub_clock):
    subscribe(api, receiver.url("/late"), "deliverable.overdue")
    client = make_client(api)
    due = hub_clock.now() - timedelta(days=2, minutes=5)
    fields = {
        "client_id": client["id"],
        "title": "Brand book",
        "assignee_id": org.admin.id,
        "due_at": due.isoformat(),
    }
    deliverable = api.post("/api/deliverables", json=fields).get_json()
    ctx = plugin_context("zapier")
    ctx.emit("deliverable.overdue", deliverable)  # as the deadline scan records it
    ctx.db.commit()
    run_jobs(app)
    body = _delivered(receiver, "/late")
    assert set(body) == HEAD | {
        "deliverable_id",
        "deliverable_title",
        "client_name",
        "assigned_to",
        "due_date",
        "days_overdue",
    }
    assert (body["deliverable_title"], body["assigned_to"]) == ("Brand book", org.admin.name)
    assert (body["due_date"], body["days_overdue"]) == (deliverable["due_at"], 2)


def test_other_events_are_flattened_with_the_noun_as_prefix(app, api, org, zapier, receiver):
    subscribe(api, receiver.url("/new"), "deliverable.created")
    client = make_client(api, "Globex")
    fields = {"client_id": client["id"], "title": "Site", "assignee_id": org.admin.id}
    deliverable = api.post("/api/deliverables", json=fields).get_json()
    run_jobs(app)
    body = _delivered(receiver, "/new")
    assert body["event"] == "deliverable.created"
    assert body["deliverable_id"] == deliverable["id"]
    assert body["deliverable_title"] == "Site"
    assert body["deliverable_client_name"] == "Globex"
    assert body["deliverable_assignee_name"] == org.admin.name
    assert body["deliverable_assignee_email"] == org.admin.email
    assert body["deliverable_completed_by"] is None
    assert not any(isinstance(v, dict) for v in body.values())


def test_flatten_rules():
    data = {
        "id": 5,
        "tags": ["a", "b"],
        "service_types": [{"id": 1, "name": "Web"}, {"id": 2}],
        "owner": {"id": 1, "team": {"name": "Core"}},
        "matrix": [[1, 2]],
        "deep": {"a": {"b": {"c": {"d": {"e": 1}}}}},
    }
    flat = payloads.flatten(data, "thing")
    assert flat["thing_id"] == 5
    assert flat["thing_tags"] == ["a", "b"]
    assert flat["thing_service_types"] == ["Web", 2]
    assert flat["thing_owner_team_name"] == "Core"
    assert flat["thing_matrix"] == ["[1, 2]"]
    assert flat["thing_deep_a_b_c_d"] == '{"e": 1}'


def test_shape_of_an_unknown_plugin_event():
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    body = payloads.shape("evt_1", "acme-crm.synced", at, {"count": 3})
    assert body == {
        "id": "evt_1",
        "event": "acme-crm.synced",
        "occurred_at": "2026-03-01T12:00:00+00:00",
        "acme_crm_count": 3,
    }


def test_days_overdue():
    at = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert payloads.days_overdue("2026-03-10T08:00:00+00:00", at) == 0
    assert payloads.days_overdue("2026-03-07T09:00:00+00:00", at) == 3
    assert payloads.days_overdue("2026-03-07T10:00:00+01:00", at) == 3
    assert payloads.days_overdue("2026-03-11T09:00:00+00:00", at) == 0
    assert payloads.days_overdue(None, at) is None
    assert payloads.days_overdue("yesterday", at) is None
