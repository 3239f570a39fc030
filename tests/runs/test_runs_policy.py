"""The run failure policy of docs/architecture.md, branch by branch, through a real worker;
and a plugin that raises, hangs or returns garbage hurts no other plugin's runs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from support.dispatch_tools import events_of, integration_of, make_plugin, runs_of

from hub import NeedsReauth, PermanentError, RateLimited
from hub.core.models import Integration, Run
from hub.core.runs import dispatch
from hub.core.runs import execute as runs
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing import run_jobs


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, "HUB_RUN_TIMEOUT": 0.5, "HUB_RUN_MAX_ATTEMPTS": 3}


@pytest.fixture
def plugins(app, register_plugin, enable_plugin):
    """alpha (misbehaves as told) and beta (always fine), both enabled for the test org."""
    alpha = make_plugin("alpha", hooks=("on_client_created",))
    beta = make_plugin("beta", hooks=("on_client_created",))
    for plugin in (alpha, beta):
        register_plugin(plugin.obj, plugin.name)
        enable_plugin(plugin.name)
    run_jobs(app)
    return alpha, beta


def raising(exc):
    def behaviour(hook, event, ctx):
        raise exc

    return behaviour


def create_clients(api, count=1):
    for number in range(count):
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201


def only_run(app, plugin):
    (run,) = runs_of(app, plugin)
    return run


def test_rate_limited_waits_its_time_and_does_not_count_an_attempt(
    app, api, org, plugins, hub_clock
):
    alpha, _ = plugins
    alpha.behaviour = raising(RateLimited(30, "slow down"))
    create_clients(api)
    run_jobs(app)
    run = only_run(app, "alpha")
    assert (run.state, run.attempts) == ("queued", 0)
    assert run.next_attempt_at == hub_clock.now() + timedelta(seconds=30)
    assert integration_of(app, org.id, "alpha").consecutive_errors == 0
    hub_clock.advance(seconds=29)
    run_jobs(app)
    assert len(alpha.calls) == 1  # not before its time
    alpha.behaviour = None
    hub_clock.advance(seconds=1)
    run_jobs(app)
    assert len(alpha.calls) == 2
    assert (only_run(app, "alpha").state, only_run(app, "alpha").attempts) == ("succeeded", 1)


def test_a_permanent_error_fails_at_once_and_counts(app, api, org, plugins, hub_clock):
    alpha, _ = plugins
    alpha.behaviour = raising(PermanentError("channel archived"))
    create_clients(api)
    run_jobs(app)
    hub_clock.advance(days=1)
    run_jobs(app)
    run = only_run(app, "alpha")
    assert (run.state, run.attempts, len(alpha.calls)) == ("failed", 1, 1)
    assert run.last_error == "PermanentError: channel archived"
    assert run.finished_at == hub_clock.now() - timedelta(days=1)
    integration = integration_of(app, org.id, "alpha")
    assert (integration.consecutive_errors, integration.last_error) == (1, run.last_error)


def test_other_errors_retry_with_growing_backoff_until_the_attempt_limit(
    app, api, plugins, hub_clock
):
    alpha, _ = plugins
    alpha.behaviour = raising(RuntimeError("provider hiccup"))
    create_clients(api)
    run_jobs(app)
    waits = []
    for attempt in (1, 2):
        run = only_run(app, "alpha")
        assert (run.state, run.attempts) == ("queued", attempt)
        waits.append((run.next_attempt_at - hub_clock.now()).total_seconds())
        hub_clock.set(run.next_attempt_at)
        run_jobs(app)
    assert 8 <= waits[0] <= 12 and 16 <= waits[1] <= 24  # 10 s doubling, +-20%
    run = only_run(app, "alpha")
    assert (run.state, run.attempts, len(alpha.calls)) == ("failed", 3, 3)
    assert run.last_error == "RuntimeError: provider hiccup"


def test_ten_consecutive_errors_disable_the_integration_with_a_reason_and_an_event(
    app, api, org, plugins
):
    alpha, beta = plugins
    alpha.behaviour = raising(PermanentError("refused"))
    create_clients(api, 12)
    run_jobs(app)
    assert len(alpha.calls) == 10  # stopped at once: the last two never reached the plugin
    assert len(beta.calls) == 12
    integration = integration_of(app, org.id, "alpha")
    assert (integration.enabled, integration.status) == (False, "disabled")
    assert integration.disabled_reason.startswith("Disabled after 10 consecutive errors")
    (disabled,) = events_of(app, "integration.disabled")
    assert disabled.payload["plugin"] == "alpha"
    states = sorted(r.state for r in runs_of(app, "alpha"))
    assert states == ["failed"] * 12


def test_a_success_resets_the_count_and_records_when(app, api, org, plugins, hub_clock):
    with app.app_context():
        db.session.execute(update(Integration).values(consecutive_errors=7))
        db.session.commit()
    create_clients(api)
    run_jobs(app)
    integration = integration_of(app, org.id, "alpha")
    assert (integration.consecutive_errors, integration.last_success_at) == (0, hub_clock.now())


def test_needs_reauth_marks_the_integration_and_its_runs_wait_for_a_reconnect(
    app, api, org, plugins
):
    alpha, _ = plugins
    alpha.behaviour = raising(NeedsReauth("token revoked"))
    create_clients(api)
    run_jobs(app)
    integration = integration_of(app, org.id, "alpha")
    assert integration.status == "needs_reauth"
    assert [e.payload["plugin"] for e in events_of(app, "integration.needs_reauth")] == ["alpha"]
    assert api.post("/api/clients", json={"name": "While waiting"}).status_code == 201
    run_jobs(app)
    assert [(r.state, r.attempts) for r in runs_of(app, "alpha")] == [("waiting", 0)] * 2
    assert len(alpha.calls) == 1  # the second run did not call a plugin that cannot work
    alpha.behaviour = None
    with app.app_context():  # what reconnecting does
        db.session.execute(update(Integration).values(status="enabled"))
        db.session.commit()
    run_jobs(app)
    assert [r.state for r in runs_of(app, "alpha")] == ["succeeded"] * 2
    assert len(events_of(app, "integration.needs_reauth")) == 1


def test_a_plugin_that_hangs_times_out_alone(app, api, plugins):
    alpha, _ = plugins
    alpha.behaviour = lambda hook, event, ctx: time.sleep(30)
    create_clients(api, 2)
    run_jobs(app)
    assert [r.state for r in runs_of(app, "beta")] == ["succeeded"] * 2
    for run in runs_of(app, "alpha"):
        assert (run.state, run.last_error) == ("queued", "Timeout: the hook timed out after 0.5 s")


def test_a_plugin_that_returns_garbage_fails_alone(app, api, plugins):
    alpha, _ = plugins
    alpha.behaviour = lambda hook, event, ctx: {"not": "None"}
    create_clients(api)
    run_jobs(app)
    assert only_run(app, "beta").state == "succeeded"
    run = only_run(app, "alpha")
    assert run.state == "failed"
    assert "on_client_created returned dict; event hooks return None." in run.last_error


def test_a_plugin_that_raises_fails_alone_and_its_changes_are_dropped(app, api, plugins):
    alpha, _ = plugins

    def emit_then_raise(hook, event, ctx):
        ctx.emit("client.updated", {"half": "done"})
        raise ValueError("boom")

    alpha.behaviour = emit_then_raise
    create_clients(api)
    run_jobs(app)
    assert only_run(app, "beta").state == "succeeded"
    assert only_run(app, "alpha").last_error == "ValueError: boom"
    assert events_of(app, "client.updated") == []


def test_what_a_hook_emits_is_committed_with_its_run_and_dispatched(app, api, plugins):
    alpha, beta = plugins
    alpha.behaviour = lambda hook, event, ctx: ctx.emit("client.updated", {"id": 1}) and None
    beta.obj.on_client_updated = None  # beta has no hook for it; alpha's own run shows it
    create_clients(api)
    run_jobs(app)
    assert only_run(app, "alpha").state == "succeeded"
    assert [e.payload for e in events_of(app, "client.updated")] == [{"id": 1}]
    assert events_of(app, "client.updated")[0].dispatched_at is not None


def dispatched(app):
    """Dispatch the committed client.created events now; their run ids."""
    ids = [e.id for e in events_of(app, "client.created")]
    with app.app_context():
        run_ids = dispatch.dispatch_events(db.session, get_plugins(app), ids)
        db.session.remove()
    return run_ids


def test_a_run_whose_worker_died_is_performed_again_after_its_lease(app, api, plugins, hub_clock):
    alpha, _ = plugins
    create_clients(api)
    dispatched(app)
    with app.app_context():  # a worker claims alpha's run and dies
        run_id = db.session.scalar(select(Run.id).where(Run.plugin == "alpha"))
        assert runs.claim(db.session, [run_id], lease=app.config["HUB_RUN_LEASE"])
        db.session.commit()
    run_jobs(app)
    assert alpha.calls == [] and only_run(app, "alpha").state == "running"
    hub_clock.advance(seconds=app.config["HUB_RUN_LEASE"] + 1)
    run_jobs(app)
    run = only_run(app, "alpha")
    assert (run.state, run.attempts, len(alpha.calls)) == ("succeeded", 2, 1)


def test_a_stopping_worker_gives_back_the_runs_it_has_not_started(app, api, plugins):
    alpha, beta = plugins
    create_clients(api, 3)
    run_ids = dispatched(app)
    asked = iter([False, True, True])
    with app.app_context():
        performed = runs.execute_runs(app, db.session, run_ids, lambda: next(asked))
        db.session.remove()
    assert performed == len(run_ids)
    states = sorted((r.state, r.attempts) for r in runs_of(app) if r.id in run_ids)
    assert states == [("queued", 0)] * (len(run_ids) - 1) + [("succeeded", 1)]
    run_jobs(app)
    assert len(alpha.calls) == len(beta.calls) == 3


def test_a_hook_never_starts_inside_a_transaction_even_after_a_failure(app, api, plugins):
    alpha, _ = plugins
    seen: list[bool] = []

    def behaviour(hook, event, ctx):
        session = ctx.db() if callable(ctx.db) else ctx.db  # the app's scoped session
        seen.append(session.in_transaction())  # on SQLite an open one holds the write lock
        if len(seen) == 1:
            raise ValueError("the first one fails")

    alpha.behaviour = behaviour
    create_clients(api, 3)
    run_jobs(app)
    assert seen == [False, False, False]
