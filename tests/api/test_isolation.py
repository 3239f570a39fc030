"""Tenant isolation: every /api route, called with another organization's key and the victim's
ids, reads, changes and leaks nothing. A new route fails `test_every_api_route_is_walked`
until it is added to ROUTES below."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session
from support.apitools import assert_error, event_count, fill, snapshot, warm_up
from support.dispatch_tools import make_plugin
from support.webhook_tools import LOOPBACK, deliver, running_receiver

from hub.core import db as db_layer
from hub.core.connections import usage
from hub.core.db import scope_to_org
from hub.core.models import Base, Client, Deliverable, Run, ServiceType, User
from hub.core.scoping import get_owned
from hub.core.webhooks.models import WebhookDelivery, WebhookEndpoint
from hub.errors import NotFound
from hub.extensions import db

MARK = "zq9victim"  # in every object the victim owns, so a leak shows in any response

Ids = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """How to call one route as the attacker, and what must happen.

    expect: "404" (the victim's object is not found), "refused" (a body refers to the
    victim's object: the same field error as a missing one), "read" (a read of the attacker's
    own org: no victim data in it), "own" (the attacker's own org, whatever the answer: the
    victim's rows and events stay as they were). `absent` names the victim ids (in the setup)
    that no listed item may have.
    """

    path: str
    expect: str = "404"
    body: Callable[[Ids], dict[str, Any]] | None = None
    field: str | None = None
    absent: str | None = None


def _body(**fields: Any) -> Callable[[Ids], dict[str, Any]]:
    """A body whose "{name}" string values are replaced by the ids of the setup."""
    return lambda ids: fill(fields, ids)


PUBLIC = {
    ("/api/health", "GET"),
    ("/api/health/live", "GET"),
    ("/api/health/ready", "GET"),
    ("/api/openapi.json", "GET"),
}
WEBHOOK = "/api/integrations/webhooks/{endpoint}"
# Public browser redirects (the OAuth launch and callback trust only their state and the
# browser's cookie): 302, no org data.
REDIRECTS = {
    ("/api/integrations/<plugin:name>/callback", "GET"),
    ("/api/integrations/<plugin:name>/authorize", "GET"),
}

ROUTES: dict[tuple[str, str], list[Call]] = {
    ("/api/me", "GET"): [Call("/api/me", "read")],
    ("/api/org", "GET"): [Call("/api/org", "read")],
    ("/api/org", "PATCH"): [Call("/api/org", "own", _body(name="Taken Over"))],
    ("/api/users", "GET"): [Call("/api/users", "read")],
    ("/api/users", "POST"): [
        Call("/api/users", "own", _body(email="new@rival.example", name="New"))
    ],
    ("/api/users/<int:user_id>", "GET"): [Call("/api/users/{user}")],
    ("/api/users/<int:user_id>", "PATCH"): [Call("/api/users/{user}", body=_body(name="Pwned"))],
    ("/api/users/<int:user_id>", "DELETE"): [Call("/api/users/{user}")],
    ("/api/keys", "GET"): [Call("/api/keys", "read", absent="keys")],
    ("/api/keys", "POST"): [
        Call("/api/keys", "own", _body(name="Mine")),
        Call("/api/keys", "refused", _body(user_id="{user}"), "user_id"),
    ],
    ("/api/keys/<int:key_id>", "GET"): [Call("/api/keys/{key}")],
    ("/api/keys/<int:key_id>", "DELETE"): [Call("/api/keys/{key}")],
    # the console's session: no ids in them; the caller's own session only
    ("/api/session", "POST"): [Call("/api/session", "own", _body(api_key="mhk_x_not_a_key"))],
    ("/api/session/link", "POST"): [Call("/api/session/link", "own", _body(token="unknown"))],
    ("/api/session", "GET"): [Call("/api/session", "own")],
    ("/api/session", "DELETE"): [Call("/api/session", "own")],
    ("/api/service-types", "GET"): [Call("/api/service-types", "read")],
    ("/api/service-types", "POST"): [Call("/api/service-types", "own", _body(name="Web"))],
    ("/api/service-types/<int:service_type_id>", "PATCH"): [
        Call("/api/service-types/{service_type}", body=_body(name="Pwned"))
    ],
    ("/api/clients", "GET"): [Call("/api/clients", "read")],
    ("/api/clients", "POST"): [
        Call(
            "/api/clients",
            "refused",
            _body(name="Mine too", service_type_ids=["{service_type}"]),
            "service_type_ids",
        )
    ],
    ("/api/clients/<int:client_id>", "GET"): [Call("/api/clients/{client}")],
    ("/api/clients/<int:client_id>", "PATCH"): [
        Call("/api/clients/{client}", body=_body(name="Pwned")),
        Call(
            "/api/clients/{own_client}",
            "refused",
            _body(service_type_ids=["{service_type}"]),
            "service_type_ids",
        ),
    ],
    ("/api/clients/<int:client_id>", "DELETE"): [Call("/api/clients/{client}")],
    ("/api/deliverables", "GET"): [
        Call("/api/deliverables", "read"),
        Call("/api/deliverables?client_id={client}", "read"),
        Call("/api/deliverables?assignee_id={user}", "read"),
        Call("/api/deliverables?status=review", "read"),
    ],
    ("/api/deliverables", "POST"): [
        Call("/api/deliverables", "refused", _body(client_id="{client}", title="T"), "client_id"),
        Call(
            "/api/deliverables",
            "refused",
            _body(client_id="{own_client}", title="T", service_type_id="{service_type}"),
            "service_type_id",
        ),
        Call(
            "/api/deliverables",
            "refused",
            _body(client_id="{own_client}", title="T", assignee_id="{user}"),
            "assignee_id",
        ),
    ],
    ("/api/deliverables/<int:deliverable_id>", "GET"): [Call("/api/deliverables/{deliverable}")],
    ("/api/deliverables/<int:deliverable_id>", "PATCH"): [
        Call("/api/deliverables/{deliverable}", body=_body(status="in_progress")),
        Call(
            "/api/deliverables/{own_deliverable}",
            "refused",
            _body(client_id="{client}"),
            "client_id",
        ),
        Call(
            "/api/deliverables/{own_deliverable}",
            "refused",
            _body(assignee_id="{user}"),
            "assignee_id",
        ),
    ],
    ("/api/deliverables/<int:deliverable_id>", "DELETE"): [Call("/api/deliverables/{deliverable}")],
    ("/api/deliverables/<int:deliverable_id>/complete", "POST"): [
        Call("/api/deliverables/{deliverable}/complete")
    ],
    ("/api/events", "GET"): [
        Call("/api/events", "read"),
        Call("/api/events?type=client.created", "read"),
    ],
    ("/api/events/types", "GET"): [Call("/api/events/types", "read")],
    # plugins and integrations; an enabled integration's isolation:
    # tests/connections/test_integrations.py
    ("/api/plugins", "GET"): [Call("/api/plugins", "read")],
    ("/api/integrations", "GET"): [Call("/api/integrations", "read")],
    ("/api/integrations/<plugin:name>", "GET"): [Call("/api/integrations/nosuch")],
    ("/api/integrations/<plugin:name>", "PUT"): [Call("/api/integrations/nosuch", body=_body())],
    ("/api/integrations/<plugin:name>", "PATCH"): [Call("/api/integrations/nosuch", body=_body())],
    ("/api/integrations/<plugin:name>", "DELETE"): [Call("/api/integrations/nosuch")],
    ("/api/integrations/<plugin:name>/test", "POST"): [Call("/api/integrations/nosuch/test")],
    ("/api/integrations/runs", "GET"): [
        Call("/api/integrations/runs", "read", absent="runs"),
        Call("/api/integrations/runs?plugin=alpha", "read", absent="runs"),
    ],
    ("/api/integrations/runs/<int:run_id>/retry", "POST"): [
        Call("/api/integrations/runs/{run}/retry")
    ],
    ("/api/integrations/webhooks", "GET"): [
        Call("/api/integrations/webhooks", "read", absent="endpoints")
    ],
    ("/api/integrations/webhooks", "POST"): [
        Call(
            "/api/integrations/webhooks",
            "own",
            _body(url="http://127.0.0.1:9/mine", events=["*"]),
        )
    ],
    ("/api/integrations/webhooks/<int:endpoint_id>", "GET"): [Call(WEBHOOK)],
    ("/api/integrations/webhooks/<int:endpoint_id>", "PATCH"): [
        Call(WEBHOOK, body=_body(enabled=False))
    ],
    ("/api/integrations/webhooks/<int:endpoint_id>", "DELETE"): [Call(WEBHOOK)],
    ("/api/integrations/webhooks/<int:endpoint_id>/deliveries", "GET"): [
        Call(WEBHOOK + "/deliveries")
    ],
    ("/api/integrations/webhooks/<int:endpoint_id>/recover", "POST"): [
        Call(WEBHOOK + "/recover?since=2000-01-01T00:00:00Z")
    ],
    ("/api/integrations/webhooks/<int:endpoint_id>/rotate-secret", "POST"): [
        Call(WEBHOOK + "/rotate-secret", body=_body(grace_period_seconds=0))
    ],
    ("/api/integrations/webhooks/<int:endpoint_id>/test", "POST"): [Call(WEBHOOK + "/test")],
    ("/api/integrations/webhooks/deliveries/<int:delivery_id>", "GET"): [
        Call("/api/integrations/webhooks/deliveries/{delivery}")
    ],
    ("/api/integrations/webhooks/deliveries/<int:delivery_id>/resend", "POST"): [
        Call("/api/integrations/webhooks/deliveries/{delivery}/resend")
    ],
    ("/api/integrations/<plugin:name>/connect", "GET"): [Call("/api/integrations/nosuch/connect")],
    ("/api/integrations/<plugin:name>/connection", "DELETE"): [
        Call("/api/integrations/nosuch/connection")
    ],
    ("/api/integrations/status", "GET"): [Call("/api/integrations/status", "read")],
    ("/api/integrations/analytics", "GET"): [
        Call("/api/integrations/analytics?period=monthly", "read")
    ],
    ("/api/integrations/roi", "GET"): [Call("/api/integrations/roi", "read")],
}


def api_routes(app: Flask, exclude: set[str]) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api") and rule.endpoint not in exclude
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_is_walked(app):
    # routes that installed plugins mount under /api/integrations/<plugin>/ are each plugin's
    # to test; every route of the hub itself must be walked here
    mounted = set(app.extensions.get("hub.plugin_endpoints", {}))
    routes = api_routes(app, exclude=mounted)
    missing = routes - PUBLIC - REDIRECTS - set(ROUTES)
    assert not missing, f"add these routes to ROUTES in {__file__}: {sorted(missing)}"
    assert set(ROUTES) <= routes, f"stale entries: {sorted(set(ROUTES) - routes)}"


@pytest.mark.parametrize(("path", "method"), sorted(PUBLIC | REDIRECTS))
def test_public_routes_really_are_public_and_carry_no_org_data(client, org, path, method):
    response = client.open(path.replace("<plugin:name>", "slack"), method=method)
    assert response.status_code == (302 if (path, method) in REDIRECTS else 200)
    assert "acme" not in response.get_data(as_text=True).lower()


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {**hub_config, **LOOPBACK}  # webhook endpoints on a loopback receiver


@pytest.fixture
def receiver() -> Any:
    yield from running_receiver()


def _victim_integrations(app: Flask, api: Any, register_plugin: Any, enable_plugin: Any) -> None:
    """A plugin only the victim enabled, and a webhook endpoint of the victim's."""
    register_plugin(make_plugin("alpha", hooks=("on_event",)).obj, "alpha")
    enable_plugin("alpha")


def _dispatched(app: Flask, org_id: int, endpoint_id: int) -> Ids:
    """Let the workers run; the victim's runs and one delivery to its endpoint."""
    deliver(app)
    with app.app_context():
        # the deliveries' usage is in the database before the snapshots: a flush by any
        # request moves every organization's pending usage, which is no leak
        usage.drain(db.session(), app.extensions["hub.redis"])
        runs = list(db.session.scalars(select(Run.id).where(Run.org_id == org_id)))
        delivery = db.session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
        )
        db.session.remove()
    assert runs and delivery, "the setup must give the victim runs and a delivery"
    return {"runs": runs, "run": runs[0], "delivery": delivery}


@pytest.fixture
def victim(app, api, org, register_plugin, enable_plugin, receiver) -> Ids:
    """The victim organization's objects, every one carrying MARK."""
    _victim_integrations(app, api, register_plugin, enable_plugin)
    endpoint = api.post(
        "/api/integrations/webhooks",
        json={"url": receiver.url(f"/{MARK}"), "events": ["*"], "description": f"Hook {MARK}"},
    ).get_json()
    service_type = api.post("/api/service-types", json={"name": f"Type {MARK}"}).get_json()
    client = api.post(
        "/api/clients",
        json={"name": f"Client {MARK}", "service_type_ids": [service_type["id"]]},
    ).get_json()
    user = api.post(
        "/api/users", json={"email": f"{MARK}@acme.example", "name": f"User {MARK}"}
    ).get_json()
    deliverable = api.post(
        "/api/deliverables",
        json={
            "client_id": client["id"],
            "title": f"Deliverable {MARK}",
            "assignee_id": user["id"],
            "service_type_id": service_type["id"],
            "status": "review",
        },
    ).get_json()
    api.patch("/api/org", json={"company_name": f"Company {MARK}"})
    keys = [k["id"] for k in api.get("/api/keys").get_json()["items"]]
    return {
        "key": keys[0],
        "keys": keys,
        "service_type": service_type["id"],
        "client": client["id"],
        "user": user["id"],
        "deliverable": deliverable["id"],
        "endpoint": endpoint["id"],
        "endpoints": [endpoint["id"]],
        **_dispatched(app, org.id, endpoint["id"]),
    }


@pytest.fixture
def setup(victim: Ids, other_api) -> Ids:
    own_client = other_api.post("/api/clients", json={"name": "Own client"}).get_json()
    own = other_api.post(
        "/api/deliverables", json={"client_id": own_client["id"], "title": "Own work"}
    ).get_json()
    return {**victim, "own_client": own_client["id"], "own_deliverable": own["id"]}


def test_the_victim_sees_its_own_objects(api, setup):
    """Control: the ids and the mark are real, so the 404s and empty lists below mean something."""
    for path in ("/api/clients/{client}", "/api/users/{user}", "/api/deliverables/{deliverable}"):
        assert api.get(path.format(**setup)).status_code == 200
    for path in ("/api/clients", "/api/users", "/api/deliverables", "/api/events", "/api/org"):
        assert MARK in api.get(path).get_data(as_text=True)


def victim_rows(app: Flask, org_id: int) -> dict[str, list[str]]:
    """The victim organization's own rows in every org-scoped table, and its org row."""
    with app.app_context(), db.engine.connect() as conn:
        rows = {}
        for table in Base.metadata.sorted_tables:
            if "org_id" in table.c:
                stmt = select(table).where(table.c.org_id == org_id)
            elif table.name == "organizations":
                stmt = select(table).where(table.c.id == org_id)
            else:
                continue
            rows[table.name] = sorted(repr(tuple(row)) for row in conn.execute(stmt))
        return rows


CALLS = [
    pytest.param(method, call, id=f"{method} {call.path} {call.expect}")
    for (rule, method), calls in ROUTES.items()
    for call in calls
]


@pytest.mark.parametrize(("method", "call"), CALLS)
def test_another_orgs_key_cannot_reach_the_victim(
    app, api, other_api, org, other_org, setup, method, call
):
    warm_up(api, other_api)
    before, victims_before = snapshot(app), victim_rows(app, org.id)
    victim_events = event_count(app, org.id)
    body = call.body(setup) if call.body else None
    response = other_api.request(method, call.path.format(**setup), json=body)
    text = response.get_data(as_text=True)
    assert MARK not in text and "acme-studio" not in text, text
    assert event_count(app, org.id) == victim_events
    assert victim_rows(app, org.id) == victims_before
    if call.expect == "404":
        assert_error(response, 404)
        assert snapshot(app) == before
    elif call.expect == "refused":
        assert_error(response, 400, call.field)
        assert snapshot(app) == before
    elif call.expect == "read":
        assert response.status_code == 200
        assert snapshot(app) == before
        if call.absent:
            listed = {item.get("id") for item in response.get_json()["items"]}
            assert not listed & set(setup[call.absent]), "the victim's rows are listed"
    else:
        assert response.status_code < 500, text


def test_no_cursor_reaches_the_victims_rows(api, other_api, setup):
    """A cursor only says where to continue; it cannot widen the organization."""
    for path in ("/api/clients", "/api/events", "/api/deliverables", "/api/users"):
        victim_page = api.get(f"{path}?limit=1").get_json()
        cursor = victim_page["next_cursor"]
        if cursor:
            page = other_api.get(f"{path}?cursor={cursor}&limit=200")
            assert MARK not in page.get_data(as_text=True)


def test_another_orgs_integration_is_not_shown_as_enabled(other_api, setup):
    """Control for the integration routes: the victim enabled alpha, the attacker did not."""
    listed = {i["plugin"]: i for i in other_api.get("/api/integrations").get_json()["items"]}
    assert not listed.get("alpha", {}).get("enabled")
    answer = other_api.get("/api/integrations/alpha")
    assert answer.status_code == 404 or answer.get_json()["enabled"] is False


# ----- each of the two layers of tenant scoping, on its own -----
# Layer 1: every handler's explicit org condition (get_owned, `where(X.org_id == ...)`).
# Layer 2: the session-wide criteria (scope_to_org) added to every ORM query of a request.
# Either alone must keep the victim out, so each is tested with the other taken away.

OWNED = {
    "client": Client,
    "deliverable": Deliverable,
    "user": User,
    "service_type": ServiceType,
    "endpoint": WebhookEndpoint,
    "run": Run,
    "delivery": WebhookDelivery,
}


@pytest.fixture
def session_filter_off() -> Any:
    """Take layer 2 away for one test: only the explicit org conditions are left."""
    listener = db_layer._add_org_criteria
    event.remove(Session, "do_orm_execute", listener)
    yield
    event.listen(Session, "do_orm_execute", listener)


def test_the_explicit_org_conditions_alone_keep_the_victim_out(
    app, api, other_api, org, setup, session_filter_off
):
    """Layer 1 alone: a handler fetching by bare id leaks here, whatever layer 2 would do."""
    warm_up(api, other_api)
    victims_before = victim_rows(app, org.id)
    for method, call in (param.values for param in CALLS):
        body = call.body(setup) if call.body else None
        response = other_api.request(method, call.path.format(**setup), json=body)
        text = response.get_data(as_text=True)
        assert MARK not in text and "acme-studio" not in text, (method, call.path, text)
        if call.expect == "404":
            assert response.status_code == 404, (method, call.path, text)
    assert victim_rows(app, org.id) == victims_before


def test_the_owned_lookup_alone_refuses_another_orgs_object(app, org, other_org, setup):
    """Layer 1 alone, in the core: an unscoped session, the explicit condition only."""
    with app.app_context():
        scope_to_org(db.session, None)
        for name, model in OWNED.items():
            assert get_owned(db.session, model, org.id, setup[name]).id == setup[name]  # control
            with pytest.raises(NotFound):
                get_owned(db.session, model, other_org.id, setup[name])
        db.session.remove()


def test_the_session_scope_alone_hides_and_protects_the_victims_rows(app, org, other_org, setup):
    """Layer 2 alone: queries with no org condition at all (a handler fetching by bare id),
    in a session scoped to the attacker, find and change none of the victim's rows."""
    with app.app_context():
        for name, model in OWNED.items():
            by_id: Any = model.id == setup[name]  # type: ignore[attr-defined]
            scope_to_org(db.session, org.id)
            assert db.session.scalar(select(model).where(by_id)) is not None  # control
            db.session.expunge_all()
            scope_to_org(db.session, other_org.id)
            assert db.session.get(model, setup[name]) is None, name
            assert db.session.scalar(select(model).where(by_id)) is None, name
            assert db.session.execute(delete(model).where(by_id)).rowcount == 0, name
            db.session.rollback()
        db.session.remove()
