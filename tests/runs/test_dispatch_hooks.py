"""Each event hook, called as in production: a change through the API (or the deadline
scan), then a real worker; the hook gets its org's ctx, the event (id = idempotency key)
and the resource. Plus ``register_jobs``, fired by the workers' scheduler."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.dispatch_tools import EVENT_HOOKS, events_of, make_plugin

from hub import hookimpl
from hub.core import events
from hub.core.runs.scheduling import Scheduler
from hub.extensions import db
from hub.jobs import recurring
from hub.testing import run_jobs


@pytest.fixture
def recorder(app, register_plugin, enable_plugin):
    plugin = make_plugin("recorder", hooks=EVENT_HOOKS)
    register_plugin(plugin.obj, "recorder")
    enable_plugin("recorder")
    run_jobs(app)
    plugin.calls.clear()
    return plugin


def calls_of(plugin, hook):
    return [c for c in plugin.calls if c.hook == hook]


def assert_called_once(app, plugin, hook, event_type, org, by_request=True):
    (call,) = calls_of(plugin, hook)
    (event,) = events_of(app, event_type)
    assert (call.event_id, call.event_type, call.org_id) == (event.id, event_type, org.id)
    # the resource as the API renders it; who acted (the key's user) is in the event's data
    assert call.resource == {k: v for k, v in event.payload.items() if k != "actor"}
    actor = event.payload.get("actor")
    assert (actor or {}).get("id") == (org.admin.id if by_request else None)
    assert event.id in [c.event_id for c in calls_of(plugin, "on_event")]
    return call


def make_client(api, name="Globex"):
    response = api.post("/api/clients", json={"name": name})
    assert response.status_code == 201
    return response.json


def make_deliverable(api, **fields):
    client = make_client(api, f"Client for {fields.get('title', 'Logo')}")
    body = {"client_id": client["id"], "title": "Logo", **fields}
    response = api.post("/api/deliverables", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_hook_on_organization_updated(app, api, org, recorder):
    changed = api.patch("/api/org", json={"timezone": "America/New_York"}).json
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_organization_updated", "organization.updated", org)
    assert call.resource == changed and changed["timezone"] == "America/New_York"


def test_hook_on_client_created(app, api, org, recorder):
    client = make_client(api)
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_client_created", "client.created", org)
    assert call.resource["name"] == client["name"]


def test_hook_on_client_updated(app, api, org, recorder):
    client = make_client(api)
    assert api.patch(f"/api/clients/{client['id']}", json={"notes": "VIP"}).status_code == 200
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_client_updated", "client.updated", org)
    assert call.resource["notes"] == "VIP"


def test_hook_on_client_deleted(app, api, org, recorder):
    client = make_client(api)
    assert api.delete(f"/api/clients/{client['id']}").status_code in (200, 204)
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_client_deleted", "client.deleted", org)
    assert call.resource["id"] == client["id"]


def test_hook_on_deliverable_created(app, api, org, recorder):
    make_deliverable(api, title="Brand book")
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_deliverable_created", "deliverable.created", org)
    assert call.resource["title"] == "Brand book"


def test_hook_on_deliverable_updated(app, api, org, recorder):
    deliverable = make_deliverable(api)
    response = api.patch(f"/api/deliverables/{deliverable['id']}", json={"priority": "high"})
    assert response.status_code == 200
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_deliverable_updated", "deliverable.updated", org)
    assert call.resource["priority"] == "high"


def test_hook_on_deliverable_completed(app, api, org, recorder):
    deliverable = make_deliverable(api)
    assert api.post(f"/api/deliverables/{deliverable['id']}/complete").status_code == 200
    run_jobs(app)
    call = assert_called_once(
        app, recorder, "on_deliverable_completed", "deliverable.completed", org
    )
    assert call.resource["status"] == "completed"


def test_hook_on_deliverable_deleted(app, api, org, recorder):
    deliverable = make_deliverable(api)
    assert api.delete(f"/api/deliverables/{deliverable['id']}").status_code in (200, 204)
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_deliverable_deleted", "deliverable.deleted", org)
    assert call.resource["id"] == deliverable["id"]


def scan(app):
    with app.app_context():  # what the scheduler's deadline_scan slot runs
        recurring(app)["deadline_scan"].function(app)
        db.session.remove()


def test_hook_on_deliverable_due(app, api, org, recorder, hub_clock):
    due = (hub_clock.now() + timedelta(hours=30)).isoformat()
    deliverable = make_deliverable(api, due_at=due)
    scan(app)
    hub_clock.advance(hours=7)  # now 23 h before due: inside the default 24 h window
    scan(app)
    run_jobs(app)
    call = assert_called_once(
        app, recorder, "on_deliverable_due", "deliverable.due_soon", org, False
    )
    assert call.resource["id"] == deliverable["id"]


def test_hook_on_deliverable_overdue(app, api, org, recorder, hub_clock):
    due = (hub_clock.now() + timedelta(minutes=30)).isoformat()
    deliverable = make_deliverable(api, due_at=due)
    hub_clock.advance(minutes=31)
    scan(app)
    run_jobs(app)
    call = assert_called_once(
        app, recorder, "on_deliverable_overdue", "deliverable.overdue", org, False
    )
    assert call.resource["id"] == deliverable["id"]


def test_hook_on_service_type_created(app, api, org, recorder):
    assert api.post("/api/service-types", json={"name": "Video"}).status_code == 201
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_service_type_created", "service_type.created", org)
    assert call.resource["name"] == "Video"


def test_hook_on_service_type_updated(app, api, org, recorder):
    made = api.post("/api/service-types", json={"name": "Video"}).get_json()
    renamed = api.patch(f"/api/service-types/{made['id']}", json={"name": "Film"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Film"
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_service_type_updated", "service_type.updated", org)
    assert (call.resource["name"], call.resource["previous_name"]) == ("Film", "Video")


def test_hook_on_user_created(app, api, org, recorder):
    body = {"email": "new@acme.example", "name": "Nia New"}
    assert api.post("/api/users", json=body).status_code == 201
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_user_created", "user.created", org)
    assert call.resource["email"] == "new@acme.example"


def test_hook_on_user_updated(app, api, org, recorder):
    user = api.post("/api/users", json={"email": "u@acme.example", "name": "U"}).json
    assert api.patch(f"/api/users/{user['id']}", json={"name": "Una"}).status_code == 200
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_user_updated", "user.updated", org)
    assert call.resource["name"] == "Una"


def test_hook_on_user_deleted(app, api, org, recorder):
    user = api.post("/api/users", json={"email": "u@acme.example", "name": "U"}).json
    assert api.delete(f"/api/users/{user['id']}").status_code in (200, 204)
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_user_deleted", "user.deleted", org)
    assert call.resource["id"] == user["id"]


def test_hook_on_file_uploaded(app, org, recorder):
    with app.app_context():  # no core API uploads files: a plugin (or the core) records it
        events.record(db.session, org.id, "file.uploaded", {"name": "brief.pdf", "size": 1024})
        db.session.commit()
    run_jobs(app)
    call = assert_called_once(app, recorder, "on_file_uploaded", "file.uploaded", org, False)
    assert call.resource["name"] == "brief.pdf"


def test_hook_on_integration_enabled(app, org, register_plugin, enable_plugin):
    plugin = make_plugin("recorder", hooks=("on_integration_enabled",))
    register_plugin(plugin.obj, "recorder")
    enable_plugin("recorder")
    run_jobs(app)
    (call,) = calls_of(plugin, "on_integration_enabled")
    (event,) = events_of(app, "integration.enabled")
    assert (call.event_id, call.org_id, call.resource["plugin"]) == (event.id, org.id, "recorder")


def test_hook_on_integration_disabled(app, api, org, recorder):
    assert api.delete("/api/integrations/recorder").status_code == 200
    run_jobs(app)
    (call,) = calls_of(recorder, "on_integration_disabled")
    (event,) = events_of(app, "integration.disabled")
    assert (call.event_id, call.org_id, call.resource["plugin"]) == (event.id, org.id, "recorder")
    assert calls_of(recorder, "on_event") == []  # disabled: only news about itself


def test_hook_on_event(app, api, org, recorder):
    make_client(api)
    api.post("/api/users", json={"email": "u@acme.example", "name": "U"})
    run_jobs(app)
    types = [c.event_type for c in calls_of(recorder, "on_event")]
    assert sorted(types) == ["client.created", "user.created"]
    assert all(c.resource is None for c in calls_of(recorder, "on_event"))


class JobPlugin:
    """A plugin with a recurring job, and one that runs per enabled integration."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.per_org: list[int] = []

    @hookimpl
    def register_providers(self, register):
        from hub import Provider

        register(Provider(name="jobber", title="Jobber"))

    @hookimpl
    def register_jobs(self, register):
        register("tidy", "*/5 * * * *", lambda: self.ran.append("tidy"))
        register("digest", "0 9 * * *", lambda ctx: self.per_org.append(ctx.org.id))


def test_hook_register_jobs(app, org, other_org, register_plugin, enable_plugin, hub_clock):
    plugin = JobPlugin()
    register_plugin(plugin, "jobber")
    enable_plugin("jobber")  # for org only: other_org never gets the digest
    hub_clock.set(hub_clock.now().replace(hour=9, minute=0, second=30))
    first = Scheduler(app, app.extensions["hub.redis"])
    second = Scheduler(app, app.extensions["hub.redis"])
    with app.app_context():
        recurring(app)
    fired = first.tick() + second.tick()
    assert sorted(n for n in fired if n.startswith("jobber:")) == ["jobber:digest", "jobber:tidy"]
    run_jobs(app)
    assert (plugin.ran, plugin.per_org) == (["tidy"], [org.id])
