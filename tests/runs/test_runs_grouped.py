"""Plugins whose hooks only touch the database (``Provider.db_only_hooks``): their runs in a
batch share commits, go before other plugins' runs, and lose nothing when one fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from support.dispatch_tools import events_of, make_plugin, runs_of

from hub.core.runs import execute as runs
from hub.core.runs.dispatch import create_runs
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing import run_jobs


@pytest.fixture
def plugins(app, register_plugin, enable_plugin):
    """gamma (db-only: emits a client.updated per client) and alpha (an ordinary plugin)."""
    gamma = make_plugin("gamma", hooks=("on_client_created",), db_only_hooks=True)
    alpha = make_plugin("alpha", hooks=("on_client_created",))
    for plugin in (gamma, alpha):
        register_plugin(plugin.obj, plugin.name)
        enable_plugin(plugin.name)
    run_jobs(app)
    gamma.behaviour = lambda hook, ev, ctx: ctx.emit("client.updated", {"of": ev.id}) and None
    return gamma, alpha


def create_clients(app, api, count):
    """Create `count` clients; the ids of their client.created events, in order."""
    before = {e.id for e in events_of(app, "client.created")}
    for number in range(count):
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201
    return [e.id for e in events_of(app, "client.created") if e.id not in before]


@contextmanager
def counting_commits(app) -> Iterator[list[int]]:
    """How many transactions the database committed meanwhile (a one-item list)."""
    counted = [0]

    def count(connection):
        counted[0] += 1

    event.listen(db.engine, "commit", count)
    try:
        yield counted
    finally:
        event.remove(db.engine, "commit", count)


def perform(app, event_ids):
    with app.app_context():
        performed = runs.dispatch_and_execute(app, db.session, event_ids)
        db.session.remove()
    return performed


def emitted_for(app):
    return sorted(e.payload["of"] for e in events_of(app, "client.updated"))


def test_db_only_runs_share_one_commit_where_others_commit_each(
    app, api, other_api, other_org, plugins, register_plugin, enable_plugin
):
    gamma, _ = plugins
    delta = make_plugin("delta", hooks=("on_client_created",), behaviour=gamma.behaviour)
    register_plugin(delta.obj, delta.name)  # the same work, from an ordinary plugin
    enable_plugin(delta.name, org=other_org)
    run_jobs(app)

    grouped_events = create_clients(app, api, 6)
    with app.app_context(), counting_commits(app) as grouped:
        perform(app, grouped_events)
    ungrouped_events = create_clients(app, other_api, 6)
    with app.app_context(), counting_commits(app) as ungrouped:
        perform(app, ungrouped_events)

    # the runs' creation, then one for gamma's six runs / one per delta run
    assert grouped[0] <= 3 and ungrouped[0] >= 7
    assert {r.state for r in runs_of(app, "gamma")} == {r.state for r in runs_of(app, "delta")}
    assert {r.state for r in runs_of(app, "gamma")} == {"succeeded"}
    assert emitted_for(app) == sorted(grouped_events + ungrouped_events)  # once each


def test_db_only_runs_go_first_and_no_other_hook_starts_in_their_transaction(app, api, plugins):
    gamma, alpha = plugins
    open_when_called: list[bool] = []

    def alpha_checks(hook, ev, ctx):
        session = ctx.db() if callable(ctx.db) else ctx.db
        open_when_called.append(session.in_transaction())  # would hold SQLite's write lock

    alpha.behaviour = alpha_checks
    event_ids = create_clients(app, api, 4)
    order: list[str] = []
    gamma_emit = gamma.behaviour
    gamma.behaviour = lambda hook, ev, ctx: order.append("gamma") or gamma_emit(hook, ev, ctx)
    alpha.behaviour = lambda hook, ev, ctx: order.append("alpha") or alpha_checks(hook, ev, ctx)
    perform(app, event_ids)
    assert order == ["gamma"] * 4 + ["alpha"] * 4
    assert open_when_called == [False] * 4
    assert [c.event_id for c in gamma.calls] == event_ids  # each plugin keeps event order


def test_a_failing_db_only_hook_loses_neither_its_groups_work_nor_the_rest(app, api, plugins):
    gamma, _ = plugins
    event_ids = create_clients(app, api, 5)
    emit = gamma.behaviour

    def fail_on_the_third(hook, ev, ctx):
        emit(hook, ev, ctx)
        if ev.id == event_ids[2]:
            raise ValueError("the third one fails")

    gamma.behaviour = fail_on_the_third
    perform(app, event_ids)
    # the first two were rolled back with the failure, and performed again on their own
    assert [c.event_id for c in gamma.calls] == event_ids[:3] + event_ids[:2] + event_ids[3:]
    assert emitted_for(app) == sorted(event_ids[:2] + event_ids[3:])  # once each
    states = {r.event_id: (r.state, r.last_error) for r in runs_of(app, "gamma")}
    assert states[event_ids[2]] == ("queued", "ValueError: the third one fails")  # retried
    assert {states[e][0] for e in event_ids if e != event_ids[2]} == {"succeeded"}


def test_a_group_whose_commit_fails_is_queued_again_and_performed_later(app, api, plugins):
    event_ids = create_clients(app, api, 3)
    failures = [OperationalError("COMMIT", {}, Exception("disk I/O error"))]

    def fail_once(session):
        if failures and session.info.get("fail_next_commit"):
            raise failures.pop()

    with app.app_context():
        event.listen(db.session, "before_commit", fail_once)
        try:
            created = create_runs(db.session, get_plugins(app), event_ids, lease=30)
            items = [
                runs.claimed_run(get_plugins(app), n.run, 1, n.event, n.integration, n.org)
                for n in created
            ]
            db.session.info["fail_next_commit"] = True
            runs.perform_batch(app, db.session, items)
        finally:
            event.remove(db.session, "before_commit", fail_once)
            db.session.remove()
    assert failures == []  # the group's commit did fail
    assert emitted_for(app) == []  # and its work with it
    assert {(r.state, r.attempts) for r in runs_of(app, "gamma")} == {("queued", 0)}
    run_jobs(app)  # performed again, whole
    assert {r.state for r in runs_of(app, "gamma")} == {"succeeded"}
    assert emitted_for(app) == sorted(event_ids)


def test_db_only_runs_of_one_batch_each_see_the_integrations_own_config(app, api, plugins):
    """A db-only plugin's runs in a batch share their integration's context (cheaper than
    one each), but a hook that changes ctx.config changes it for its own run only."""
    gamma, _ = plugins
    seen = []

    def behaviour(hook, ev, ctx):
        seen.append((dict(ctx.config), ctx.integration.plugin, ctx.org.id))
        ctx.config["scribbled"] = ev.id  # must not reach the next run

    gamma.behaviour = behaviour
    event_ids = create_clients(app, api, 4)
    assert perform(app, event_ids) >= 4
    assert len(seen) == 4
    assert all("scribbled" not in config for config, _, _ in seen)
    assert {(plugin, org) for _, plugin, org in seen} == {("gamma", seen[0][2])}
    assert {r.state for r in runs_of(app) if r.plugin == "gamma"} == {"succeeded"}
