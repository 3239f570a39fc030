"""GET /api/integrations/runs (filters, cursor pages, org scope) and an admin's retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.dispatch_tools import make_plugin, runs_of

from hub import PermanentError
from hub.testing import run_jobs


@pytest.fixture
def plugins(app, register_plugin, enable_plugin):
    alpha = make_plugin("alpha", hooks=("on_client_created",))
    beta = make_plugin("beta", hooks=("on_event",))
    for plugin in (alpha, beta):
        register_plugin(plugin.obj, plugin.name)
        enable_plugin(plugin.name)
    run_jobs(app)
    return alpha, beta


def refuse(hook, event, ctx):
    raise PermanentError("no")


def fail_once(hook, event, ctx):
    raise RuntimeError("a passing fault")


def create_clients(api, count):
    for number in range(count):
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201


def listed(api, **params):
    response = api.get("/api/integrations/runs", query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def test_runs_are_listed_newest_first_with_what_happened(app, api, plugins):
    create_clients(api, 2)
    run_jobs(app)
    items = listed(api, plugin="alpha")["items"]
    assert [r["event_type"] for r in items] == ["client.created"] * 2
    assert items[0]["id"] > items[1]["id"]
    first = items[0]
    assert (first["plugin"], first["state"], first["attempts"]) == ("alpha", "succeeded", 1)
    assert first["event_id"].startswith("evt_")
    assert {"next_attempt_at", "last_error", "finished_at", "integration_id"} <= set(first)
    assert first["next_attempt_at"] is None  # succeeded: nothing is coming


def test_a_run_waiting_for_a_retry_shows_its_next_attempt(app, api, plugins):
    alpha, _ = plugins
    alpha.behaviour = fail_once
    create_clients(api, 1)
    run_jobs(app)
    [run] = listed(api, plugin="alpha")["items"]
    assert run["state"] == "queued" and run["attempts"] == 1
    assert datetime.fromisoformat(run["next_attempt_at"]) > datetime.now(UTC)


def test_filters_by_plugin_state_event_type_and_since(app, api, plugins, hub_clock):
    alpha, _ = plugins
    create_clients(api, 1)
    run_jobs(app)
    hub_clock.advance(hours=1)
    alpha.behaviour = refuse
    assert api.post("/api/clients", json={"name": "Later"}).status_code == 201
    run_jobs(app)
    assert [r["state"] for r in listed(api, plugin="alpha", state="failed")["items"]] == ["failed"]
    types = {r["event_type"] for r in listed(api, plugin="beta")["items"]}
    assert "integration.enabled" in types and "client.created" in types
    only = listed(api, event_type="client.created", plugin="beta")["items"]
    assert len(only) == 2
    since = (hub_clock.now() - timedelta(minutes=1)).isoformat()
    recent = listed(api, since=since)["items"]
    assert {(r["plugin"], r["state"]) for r in recent} >= {("alpha", "failed")}
    assert all(r["created_at"] >= since for r in recent)


def test_cursor_pages_walk_every_run_once(app, api, plugins):
    create_clients(api, 5)
    run_jobs(app)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = listed(api, **params)
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen, reverse=True) == seen
    assert len(seen) == len(set(seen)) == len([r for r in runs_of(app)])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "exploded"}, "state"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "nope"}, "cursor"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(api, params, field):
    response = api.get("/api/integrations/runs", query_string=params)
    assert response.status_code == 400
    assert field in response.json["error"]["details"]


def test_another_organization_sees_none_of_them_and_cannot_retry(app, api, other_api, plugins):
    create_clients(api, 1)
    run_jobs(app)
    run_id = listed(api)["items"][0]["id"]
    assert listed(other_api)["items"] == []
    response = other_api.post(f"/api/integrations/runs/{run_id}/retry")
    assert response.status_code == 404


def test_an_admin_retries_a_failed_run_with_a_fresh_attempt_count(app, api, member_api, plugins):
    alpha, _ = plugins
    alpha.behaviour = refuse
    create_clients(api, 1)
    run_jobs(app)
    (run,) = listed(api, plugin="alpha")["items"]
    assert run["state"] == "failed"
    assert member_api.post(f"/api/integrations/runs/{run['id']}/retry").status_code == 403
    alpha.behaviour = None
    response = api.post(f"/api/integrations/runs/{run['id']}/retry")
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["attempts"]) == ("queued", 0)
    run_jobs(app)
    (after,) = listed(api, plugin="alpha")["items"]
    assert (after["state"], after["attempts"], len(alpha.calls)) == ("succeeded", 1, 2)


def test_a_succeeded_run_or_a_disabled_integrations_run_cannot_be_retried(app, api, plugins):
    alpha, _ = plugins
    create_clients(api, 1)
    run_jobs(app)
    (succeeded,) = listed(api, plugin="alpha")["items"]
    response = api.post(f"/api/integrations/runs/{succeeded['id']}/retry")
    assert (response.status_code, response.json["error"]["code"]) == (409, "conflict")
    alpha.behaviour = refuse
    assert api.post("/api/clients", json={"name": "Refused"}).status_code == 201
    run_jobs(app)
    assert api.delete("/api/integrations/alpha").status_code == 200
    (failed,) = listed(api, plugin="alpha", state="failed")["items"]
    response = api.post(f"/api/integrations/runs/{failed['id']}/retry")
    assert response.status_code == 409
    assert "disabled" in response.json["error"]["message"]
    assert api.post("/api/integrations/runs/999999/retry").status_code == 404
