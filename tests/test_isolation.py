"""Tenant isolation: every /api route, called with another organization's key and the victim's
ids, reads, changes and leaks nothing. A new route fails `test_every_api_route_is_walked`
until it is added to ROUTES below."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from apitools import assert_error, event_count, fill, snapshot, warm_up
from flask import Flask
from sqlalchemy import select

from hub.core.models import Base
from hub.extensions import db

MARK = "zq9victim"  # in every object the victim owns, so a leak shows in any response

Ids = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """How to call one route as the attacker, and what must happen.

    expect: "404" (the victim's object is not found), "refused" (a body refers to the
    victim's object: the same field error as a missing one), "read" (a read of the attacker's
    own org: no victim data in it), "own" (a change of the attacker's own org only).
    """

    path: str
    expect: str = "404"
    body: Callable[[Ids], dict[str, Any]] | None = None
    field: str | None = None


def _body(**fields: Any) -> Callable[[Ids], dict[str, Any]]:
    """A body whose "{name}" string values are replaced by the ids of the setup."""
    return lambda ids: fill(fields, ids)


PUBLIC = {("/api/health", "GET"), ("/api/openapi.json", "GET")}

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
    ("/api/service-types", "GET"): [Call("/api/service-types", "read")],
    ("/api/service-types", "POST"): [Call("/api/service-types", "own", _body(name="Web"))],
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
    # plugins and integrations; an enabled integration's isolation: tests/test_integrations.py
    ("/api/plugins", "GET"): [Call("/api/plugins", "read")],
    ("/api/integrations", "GET"): [Call("/api/integrations", "read")],
    ("/api/integrations/<name>", "GET"): [Call("/api/integrations/nosuch")],
    ("/api/integrations/<name>", "PUT"): [Call("/api/integrations/nosuch", body=_body())],
    ("/api/integrations/<name>", "PATCH"): [Call("/api/integrations/nosuch", body=_body())],
    ("/api/integrations/<name>", "DELETE"): [Call("/api/integrations/nosuch")],
    ("/api/integrations/<name>/test", "POST"): [Call("/api/integrations/nosuch/test")],
}


def api_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_is_walked(app):
    routes = api_routes(app)
    missing = routes - PUBLIC - set(ROUTES)
    assert not missing, f"add these routes to ROUTES in {__file__}: {sorted(missing)}"
    assert set(ROUTES) <= routes, f"stale entries: {sorted(set(ROUTES) - routes)}"


@pytest.mark.parametrize(("path", "method"), sorted(PUBLIC))
def test_public_routes_really_are_public_and_carry_no_org_data(client, org, path, method):
    response = client.open(path, method=method)
    assert response.status_code == 200
    assert "acme" not in response.get_data(as_text=True).lower()


@pytest.fixture
def victim(api, org) -> Ids:
    """The victim organization's objects, every one carrying MARK."""
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
    return {
        "service_type": service_type["id"],
        "client": client["id"],
        "user": user["id"],
        "deliverable": deliverable["id"],
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
    else:
        assert response.status_code in (200, 201), text


def test_no_cursor_reaches_the_victims_rows(api, other_api, setup):
    """A cursor only says where to continue; it cannot widen the organization."""
    for path in ("/api/clients", "/api/events", "/api/deliverables", "/api/users"):
        victim_page = api.get(f"{path}?limit=1").get_json()
        cursor = victim_page["next_cursor"]
        if cursor:
            page = other_api.get(f"{path}?cursor={cursor}&limit=200")
            assert MARK not in page.get_data(as_text=True)
