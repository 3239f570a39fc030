"""Sample data and the polling fallback: an array, newest first, every item with an id;
the organization's real recent events of the type, or a documented sample before any."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mycelium_zapier import retry_due, samples
from zapier_helpers import make_client

from hub.testing import run_jobs

SAMPLES = "/api/integrations/zapier/samples"


def test_before_any_event_the_documented_sample(api, zapier):
    response = api.get(f"{SAMPLES}/client.created")
    assert response.status_code == 200
    (item,) = response.get_json()
    assert item["id"] == "evt_sample_client_created"
    assert item["client_name"] == "Globex Corporation"
    assert item["service_types"] == ["Branding", "Web Design"]


@pytest.mark.parametrize("event", ["deliverable.completed", "deliverable.overdue", "user.created"])
def test_every_event_type_has_a_sample_with_an_id(api, zapier, event):
    (item,) = api.get(f"{SAMPLES}/{event}").get_json()
    assert item["id"] and item["event"] == event and item["occurred_at"].endswith("+00:00")


def test_real_events_newest_first_in_the_hook_shape(app, api, member_api, zapier, hub_clock):
    names = ["Globex", "Initech", "Umbrella"]
    for name in names:
        make_client(api, name)
        hub_clock.advance(seconds=1)
    run_jobs(app)
    items = member_api.get(f"{SAMPLES}/client.created").get_json()  # any key may read
    assert [i["client_name"] for i in items] == names[::-1]
    assert len({i["id"] for i in items}) == 3
    assert all(i["id"].startswith("evt_") for i in items)
    events = api.get("/api/events?type=client.created").get_json()["items"]
    assert [i["id"] for i in items] == [e["id"] for e in events]


def test_limit(app, api, zapier):
    for name in ["A", "B", "C"]:
        make_client(api, name)
    run_jobs(app)
    assert len(api.get(f"{SAMPLES}/client.created?limit=2").get_json()) == 2
    for bad in ["0", "101", "two"]:
        response = api.get(f"{SAMPLES}/client.created?limit={bad}")
        assert response.status_code == 400
        assert "limit" in response.get_json()["error"]["details"]


def test_only_the_newest_are_kept(app, api, zapier, plugin_context, monkeypatch):
    monkeypatch.setattr(samples, "KEEP", 2)
    for name in ["A", "B", "C"]:
        make_client(api, name)
    run_jobs(app)
    ctx = plugin_context("zapier")
    retry_due(ctx)  # the minute job prunes
    run_jobs(app)  # and waits for the sender it woke
    kept = samples.recent(ctx.db, ctx.org.id, "client.created", 10)
    assert [k["client_name"] for k in kept] == ["C", "B"]
    (only,) = samples.recent(ctx.db, ctx.org.id, "client.updated", 10)
    assert only["id"] == "evt_sample_client_updated"


def test_unknown_event_type_is_a_404(api, zapier):
    assert api.get(f"{SAMPLES}/client.exploded").status_code == 404


def test_samples_need_zapier_enabled_and_a_key(api, client):
    assert api.get(f"{SAMPLES}/client.created").status_code == 404
    assert client.get(f"{SAMPLES}/client.created").status_code == 401


def test_overdue_sample_counts_days(api, zapier, plugin_context, app, hub_clock):
    """A deliverable.overdue event (as the deadline scan emits it) in its Zapier shape."""
    client = make_client(api)
    due = (hub_clock.now() - timedelta(days=3, hours=2)).isoformat()
    body = {"client_id": client["id"], "title": "Logo", "due_at": due}
    deliverable = api.post("/api/deliverables", json=body).get_json()
    ctx = plugin_context("zapier")
    ctx.emit("deliverable.overdue", deliverable)
    ctx.db.commit()
    run_jobs(app)
    (item,) = api.get(f"{SAMPLES}/deliverable.overdue").get_json()
    assert (item["deliverable_id"], item["days_overdue"]) == (deliverable["id"], 3)
