"""Every committed event reaches every enabled plugin through a real worker, and only those."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from support.dispatch_tools import events_of, integration_of, make_plugin, runs_of

from hub.core import clock
from hub.core.connections import integrations
from hub.core.models import Event
from hub.core.runs import dispatch, pending, recovery
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing import make_org, run_jobs
from hub.testing.jobs import _burst
from hub.testing.plans import generic_plan, rows_read


def create_client(api, name="Globex"):
    response = api.post("/api/clients", json={"name": name})
    assert response.status_code == 201, response.json
    return response.json


def test_an_event_reaches_the_enabled_plugin_with_its_resource_and_id(
    app, api, org, register_plugin, enable_plugin
):
    alpha = make_plugin("alpha")
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    client = create_client(api)
    run_jobs(app)
    created = events_of(app, "client.created")[0]
    calls = [(c.hook, c.event_id) for c in alpha.calls if c.event_type == "client.created"]
    assert calls == [("on_client_created", created.id), ("on_event", created.id)]
    assert alpha.calls[-1].org_id == org.id
    assert next(c.resource for c in alpha.calls if c.hook == "on_client_created") == client
    assert {r.state for r in runs_of(app, "alpha")} == {"succeeded"}


def test_installed_but_not_enabled_never_gets_the_orgs_events(
    app, api, org, other_org, register_plugin, enable_plugin
):
    alpha, beta = make_plugin("alpha"), make_plugin("beta")
    register_plugin(alpha.obj, "alpha")
    register_plugin(beta.obj, "beta")
    enable_plugin("alpha")
    enable_plugin("beta", org=other_org)  # enabled elsewhere only
    create_client(api)
    run_jobs(app)
    assert any(c.hook == "on_client_created" for c in alpha.calls)
    assert [c for c in beta.calls if c.org_id == org.id] == []
    assert {r.plugin for r in runs_of(app) if r.org_id == org.id} & {"alpha", "beta"} == {"alpha"}


def test_a_disabled_integration_stops_at_once(app, api, org, register_plugin, enable_plugin):
    alpha = make_plugin("alpha")
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    create_client(api, "Before")
    with app.app_context():  # dispatched (runs queued) but not yet performed
        ids = list(db.session.scalars(select(Event.id).where(Event.type == "client.created")))
        run_ids = dispatch.dispatch_events(db.session, get_plugins(app), ids)
        assert run_ids
        integrations.disable(db.session, get_plugins(app).providers, org.id, "alpha")
        db.session.commit()
    create_client(api, "After")
    run_jobs(app)
    assert [c for c in alpha.calls if c.event_type == "client.created"] == []
    failed = [r for r in runs_of(app, "alpha") if r.id in run_ids]
    assert {(r.state, r.last_error) for r in failed} == {("failed", "The integration is disabled.")}


def test_a_duplicated_job_does_nothing(app, api, register_plugin, enable_plugin):
    alpha = make_plugin("alpha", hooks=("on_client_created",))
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    create_client(api)
    with app.app_context():
        stmt = select(Event.id).where(Event.type == "client.created")
        ids = list(db.session.scalars(stmt))
        run_ids = dispatch.dispatch_events(db.session, get_plugins(app), ids)
        assert dispatch.dispatch_events(db.session, get_plugins(app), ids) == []  # idempotent
        db.session.remove()
    redis = app.extensions["hub.redis"]
    for _ in range(3):  # the same job three times, as a lost-and-found job would be
        pending.enqueue_job(redis, "hub.jobs.execute_runs", run_ids)
    run_jobs(app)
    assert [c.hook for c in alpha.calls] == ["on_client_created"]
    assert [(r.state, r.attempts) for r in runs_of(app, "alpha")] == [("succeeded", 1)]


def test_a_committed_event_reaches_its_plugin_by_its_own_push_with_no_sweeper(
    app, api, register_plugin, enable_plugin
):
    """The direct path: the commit pushes the id and queues a drain job. run_jobs would run
    the outbox sweeper first and hide a lost push, so only the queued jobs run here."""
    alpha = make_plugin("alpha", hooks=("on_client_created",))
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    run_jobs(app)  # the integration's own event, out of the way
    client = create_client(api)
    [created] = events_of(app, "client.created")
    assert app.extensions["hub.redis"].lrange(pending.PENDING, 0, -1) == [created.id.encode()]
    assert Queue("hub", connection=app.extensions["hub.redis"]).count == 1  # one drain job
    assert _burst(app) >= 1  # a real worker, the queued jobs only
    assert [(c.hook, c.event_id) for c in alpha.calls] == [("on_client_created", created.id)]
    assert next(c.resource for c in alpha.calls) == client
    assert events_of(app, "client.created")[0].dispatched_at is not None


def test_the_request_succeeds_when_redis_is_down_and_the_sweeper_dispatches_later(
    app, api, org, register_plugin, enable_plugin, hub_clock
):
    alpha = make_plugin("alpha", hooks=("on_client_created",))
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    run_jobs(app)
    working = app.extensions["hub.redis"]
    app.extensions["hub.redis"] = type(working).from_url("unix:///nonexistent/redis.sock")
    try:
        create_client(api)
    finally:
        app.extensions["hub.redis"] = working
    assert [e.dispatched_at for e in events_of(app, "client.created")] == [None]
    hub_clock.advance(seconds=app.config["HUB_OUTBOX_GRACE"] + 1)
    with app.app_context():
        assert recovery.sweep_outbox(db.session, app) >= 1
    run_jobs(app)
    assert [c.hook for c in alpha.calls] == ["on_client_created"]
    assert events_of(app, "client.created")[0].dispatched_at is not None


def test_the_outbox_sweeper_leaves_fresh_events_to_their_own_push(app, api, hub_clock):
    create_client(api)
    app.extensions["hub.redis"].delete(pending.PENDING)  # the push was lost
    with app.app_context():
        assert recovery.sweep_outbox(db.session, app) == 0
        hub_clock.advance(seconds=app.config["HUB_OUTBOX_GRACE"] + 1)
        assert recovery.sweep_outbox(db.session, app) == 1


def test_an_always_on_plugin_counts_as_enabled_with_a_row_of_its_own(
    app, api, org, register_plugin
):
    builtin = make_plugin("builtin", hooks=("on_event",), always_on=True)
    register_plugin(builtin.obj, "builtin")
    create_client(api)
    run_jobs(app)
    assert "client.created" in [c.event_type for c in builtin.calls]
    row = integration_of(app, org.id, "builtin")
    assert (row.enabled, row.status) == (True, "enabled")


def test_integration_events_call_their_own_plugin_and_on_event_of_the_others(
    app, org, register_plugin, enable_plugin
):
    alpha = make_plugin("alpha", hooks=("on_integration_enabled", "on_event"))
    beta = make_plugin("beta", hooks=("on_integration_enabled", "on_event"))
    register_plugin(alpha.obj, "alpha")
    register_plugin(beta.obj, "beta")
    enable_plugin("alpha")
    run_jobs(app)
    enable_plugin("beta")
    run_jobs(app)
    assert ("on_integration_enabled", "integration.enabled") in alpha.hooks_called()
    beta_enabled = [c for c in beta.calls if c.hook == "on_integration_enabled"]
    assert [c.resource["plugin"] for c in beta_enabled] == ["beta"]
    assert [c.resource["plugin"] for c in alpha.calls if c.hook == "on_integration_enabled"] == [
        "alpha"
    ]


def test_a_disabled_plugin_still_hears_that_it_was_disabled(
    app, api, org, register_plugin, enable_plugin
):
    alpha = make_plugin("alpha", hooks=("on_integration_disabled",))
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    assert api.delete("/api/integrations/alpha").status_code == 200
    run_jobs(app)
    assert [c.hook for c in alpha.calls] == ["on_integration_disabled"]


def _statements_to_dispatch_one_event(app, api) -> int:
    create_client(api, f"Client {len(events_of(app))}")
    count = 0

    def counter(*args, **kwargs):
        nonlocal count
        count += 1

    with app.app_context():
        event_id = events_of(app)[-1].id
        sa_event.listen(db.engine, "before_cursor_execute", counter)
        try:
            dispatch.dispatch_events(db.session, get_plugins(app), [event_id])
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", counter)
    return count


def test_dispatch_cost_does_not_grow_with_the_number_of_organizations(
    app, api, register_plugin, enable_plugin
):
    alpha = make_plugin("alpha")
    register_plugin(alpha.obj, "alpha")
    enable_plugin("alpha")
    _statements_to_dispatch_one_event(app, api)  # the first one creates always-on rows
    few = _statements_to_dispatch_one_event(app, api)
    for number in range(40):
        enable_plugin("alpha", org=make_org(app, f"Agency {number}"))
    assert _statements_to_dispatch_one_event(app, api) == few


def test_the_outbox_sweeper_does_not_repush_a_backlog_but_keeps_it_draining(app, api, hub_clock):
    create_client(api)  # its id waits in the pending list
    redis = app.extensions["hub.redis"]
    queue = Queue(pending.QUEUE, connection=redis)
    queue.empty()  # the drain job was lost
    redis.delete(pending.KICK)
    hub_clock.advance(seconds=app.config["HUB_OUTBOX_GRACE"] + 1)
    with app.app_context():
        assert recovery.sweep_outbox(db.session, app) == 0
    assert redis.llen(pending.PENDING) == 1  # not pushed twice
    assert queue.count == 1  # a drain job again
    run_jobs(app)
    assert events_of(app, "client.created")[0].dispatched_at is not None


def test_taking_a_batch_of_events_reads_them_by_id_whatever_the_statistics_say(app, api):
    """Planned while the outbox was small, taking 100 events by id read every undispatched
    event through ix_events_undispatched (30,000 at 0.5-4 ms a batch in a long backlog)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's plans")
    create_client(api)
    with app.app_context():
        (first,) = db.session.scalars(select(Event.id))
        copies = text(
            "INSERT INTO events (id, type, payload, created_at, dispatched_at, org_id)"
            " SELECT :prefix || n, type, payload, created_at, :dispatched, org_id"
            " FROM events, generate_series(1, :count) AS n WHERE id = :first"
        )
        history = {"prefix": "evt_old_", "dispatched": clock.now(), "count": 2000}
        db.session.execute(copies, {**history, "first": first})
        db.session.execute(text("ANALYZE events"))  # statistics: almost all dispatched
        backlog = {"prefix": "evt_new_", "dispatched": None, "count": 3000}
        db.session.execute(copies, {**backlog, "first": first})  # not in the statistics
        db.session.commit()
        with db.engine.connect() as conn:
            plan = generic_plan(conn, dispatch._UNDISPATCHED, e_ids=[first])
            conn.rollback()
    assert rows_read(plan) < 50, json.dumps(plan)
