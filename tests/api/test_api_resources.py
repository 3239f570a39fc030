"""Behaviour of each REST resource, as a client of the API sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from support.apitools import assert_error, snapshot, walk_pages, warm_up

from hub.core import clients, clock
from hub.core.apikeys import create_api_key
from hub.core.models import ApiKey, Client, Deliverable, Event
from hub.errors import Conflict
from hub.extensions import db
from hub.testing import ApiClient

# ----- helpers -----


def make_client(api: Any, name: str = "Globex", **fields: Any) -> dict[str, Any]:
    response = api.post("/api/clients", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_deliverable(api: Any, client_id: int, title: str = "Logo", **fields: Any) -> dict:
    response = api.post(
        "/api/deliverables", json={"client_id": client_id, "title": title, **fields}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events(api: Any, type_: str | None = None) -> list[dict[str, Any]]:
    """The org's events, newest first; who acted is taken out of `data` into `actor`."""
    path = "/api/events?limit=200" + (f"&type={type_}" if type_ else "")
    items = api.get(path).get_json()["items"]
    for item in items:
        item["actor"] = item["data"].pop("actor", None)
    return items


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


# ----- health, me, auth -----


def test_health_needs_no_key_and_reports_database_and_redis(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_me_names_the_keys_org_role_and_user(api, member_api, org):
    me = api.get("/api/me").get_json()
    assert me["org"] == {"id": org.id, "slug": "acme-studio", "name": "Acme Studio"}
    assert me["role"] == "admin"
    assert me["user"]["email"] == org.admin.email
    assert member_api.get("/api/me").get_json()["role"] == "member"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-key",
        "Bearer mhk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_missing_or_invalid_key_is_401(client, org, header):
    headers = {"Authorization": header} if header is not None else {}
    assert_error(client.get("/api/clients", headers=headers), 401)
    assert_error(client.post("/api/clients", json={"name": "X"}, headers=headers), 401)


def test_a_key_with_a_wrong_secret_is_401(client, org):
    forged = org.admin_key[:-4] + ("AAAA" if not org.admin_key.endswith("AAAA") else "BBBB")
    error = assert_error(client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert org.admin_key not in error["message"]


def test_a_revoked_key_is_401(app, api, org):
    assert api.get("/api/me").status_code == 200
    with app.app_context():
        db.session.execute(update(ApiKey).values(revoked_at=clock.now()))
        db.session.commit()
    assert_error(api.get("/api/me"), 401)


def test_use_of_a_key_is_recorded(app, api):
    with app.app_context():
        assert all(k.last_used_at is None for k in db.session.scalars(select(ApiKey)))
    api.get("/api/me")
    with app.app_context():
        used = [k for k in db.session.scalars(select(ApiKey)) if k.last_used_at is not None]
    assert [k.role for k in used] == ["admin"]


# ----- organization -----


BRANDING = {
    "name": "Acme Studio Ltd",
    "timezone": "Europe/Paris",
    "company_name": "Acme Studio Limited",
    "logo_url": "https://cdn.acme.example/logo.png",
    "primary_color": "#12abEF",
    "support_email": "help@acme.example",
}


def test_org_settings_and_branding_round_trip(api, org):
    before = api.get("/api/org").get_json()
    assert before["slug"] == "acme-studio"
    assert before["timezone"] == "Europe/London"
    assert before["company_name"] is None
    response = api.patch("/api/org", json=BRANDING)
    assert response.status_code == 200, response.get_json()
    after = api.get("/api/org").get_json()
    assert {k: after[k] for k in BRANDING} == BRANDING
    assert after["slug"] == "acme-studio"  # renaming keeps the slug
    [event] = events(api, "organization.updated")
    assert event["data"] == response.get_json()


def test_org_branding_can_be_cleared(api):
    api.patch("/api/org", json=BRANDING)
    cleared = dict.fromkeys(["company_name", "logo_url", "primary_color", "support_email"])
    body = api.patch("/api/org", json=cleared).get_json()
    assert {k: body[k] for k in cleared} == cleared


# ----- users -----


def test_users_crud_with_events(api, org):
    created = api.post("/api/users", json={"email": "zoe@acme.example", "name": "Zoe"})
    assert created.status_code == 201, created.get_json()
    user = created.get_json()
    assert user["role"] == "member"
    assert user["id"] in ids(api.get("/api/users").get_json()["items"])
    assert api.get(f"/api/users/{user['id']}").get_json() == user
    changed = api.patch(f"/api/users/{user['id']}", json={"role": "admin", "name": "Zoë"})
    assert changed.get_json()["role"] == "admin" and changed.get_json()["name"] == "Zoë"
    assert api.delete(f"/api/users/{user['id']}").status_code == 204
    assert_error(api.get(f"/api/users/{user['id']}"), 404)
    kinds = [e["type"] for e in events(api)]
    assert kinds == ["user.deleted", "user.updated", "user.created"]
    assert events(api, "user.created")[0]["data"] == user


def test_user_email_is_unique_per_org_ignoring_case(api, other_api, org):
    api.post("/api/users", json={"email": "zoe@acme.example", "name": "Zoe"})
    dup = api.post("/api/users", json={"email": "ZOE@acme.example", "name": "Zoe 2"})
    assert_error(dup, 409, "email")
    taken = api.patch(f"/api/users/{org.admin.id}", json={"email": "zoe@acme.example"})
    assert_error(taken, 409, "email")
    # another organization may have the same address
    assert (
        other_api.post("/api/users", json={"email": "zoe@acme.example", "name": "Z"}).status_code
        == 201
    )


def test_a_user_may_keep_their_own_email(api, org):
    response = api.patch(f"/api/users/{org.admin.id}", json={"email": org.admin.email})
    assert response.status_code == 200


# ----- service types and clients -----


def test_service_types_are_listed_and_unique(api):
    first = api.post("/api/service-types", json={"name": "Branding"})
    assert first.status_code == 201
    assert first.get_json()["name"] == "Branding"
    assert_error(api.post("/api/service-types", json={"name": "branding"}), 409, "name")
    api.post("/api/service-types", json={"name": "Web"})
    names = [st["name"] for st in api.get("/api/service-types").get_json()["items"]]
    assert names == ["Branding", "Web"]


def test_clients_crud_with_service_types_and_events(api):
    web = api.post("/api/service-types", json={"name": "Web"}).get_json()
    seo = api.post("/api/service-types", json={"name": "SEO"}).get_json()
    client = make_client(
        api,
        contact_person="Hank",
        contact_email="hank@globex.example",
        service_type_ids=[seo["id"], web["id"]],
    )
    assert [st["name"] for st in client["service_types"]] == ["Web", "SEO"]  # by id
    assert api.get(f"/api/clients/{client['id']}").get_json() == client
    patch = {"name": "Globex Corp", "service_type_ids": [seo["id"]], "notes": "VIP"}
    changed = api.patch(f"/api/clients/{client['id']}", json=patch).get_json()
    assert changed["name"] == "Globex Corp" and changed["notes"] == "VIP"
    assert changed["contact_person"] == "Hank"  # untouched by the PATCH
    assert [st["id"] for st in changed["service_types"]] == [seo["id"]]
    assert api.delete(f"/api/clients/{client['id']}").status_code == 204
    assert_error(api.get(f"/api/clients/{client['id']}"), 404)
    assert_error(api.delete(f"/api/clients/{client['id']}"), 404)
    assert [e["type"] for e in events(api)] == [
        "client.deleted",
        "client.updated",
        "client.created",
        "service_type.created",
        "service_type.created",
    ]
    assert [e["data"]["name"] for e in events(api, "service_type.created")] == ["SEO", "Web"]
    assert events(api, "client.created")[0]["data"] == client
    assert events(api, "client.updated")[0]["data"] == changed


def test_client_name_is_unique_per_org(api, other_api):
    make_client(api, "Globex")
    other = make_client(api, "Initech")
    assert_error(api.post("/api/clients", json={"name": "Globex"}), 409, "name")
    assert_error(api.patch(f"/api/clients/{other['id']}", json={"name": "Globex"}), 409, "name")
    assert api.patch(f"/api/clients/{other['id']}", json={"name": "Initech"}).status_code == 200
    make_client(other_api, "Globex")


def test_a_name_taken_meanwhile_is_still_the_fields_conflict(app, org):
    """Another transaction takes the name after this one began reading: the INSERT itself
    finds the conflict, so the answer still names the field and nothing is written."""
    with app.app_context():
        assert db.session.execute(select(Client.id).where(Client.org_id == org.id)).all() == []
        with db.engine.connect() as other:  # a second connection, committing first
            other.execute(insert(Client).values(org_id=org.id, name="Raced"))
            other.commit()
        with pytest.raises(Conflict) as raised:
            clients.add_client(db.session, org.id, {"name": "Raced", "notes": "second"})
        assert raised.value.details == {"name": ["Already taken."]}
        db.session.rollback()
        rows = db.session.execute(select(Client.notes).where(Client.org_id == org.id)).all()
        assert rows == [(None,)]
        created = select(func.count()).where(Event.type == "client.created")
        assert db.session.scalar(created) == 0


def test_client_with_unknown_service_type_is_a_field_error(api):
    assert_error(
        api.post("/api/clients", json={"name": "A", "service_type_ids": [424242]}),
        400,
        "service_type_ids",
    )


def test_deleting_a_client_deletes_its_deliverables(api):
    client = make_client(api)
    deliverable = make_deliverable(api, client["id"])
    api.delete(f"/api/clients/{client['id']}")
    assert_error(api.get(f"/api/deliverables/{deliverable['id']}"), 404)


# ----- deliverables -----


def test_deliverables_crud_with_references(api, org):
    branding = api.post("/api/service-types", json={"name": "Branding"}).get_json()
    client = make_client(api)
    created = make_deliverable(
        api,
        client["id"],
        service_type_id=branding["id"],
        assignee_id=org.admin.id,
        priority="high",
        description="Three options",
        client_visible=True,
    )
    assert created["client_name"] == "Globex"
    assert created["service_type_name"] == "Branding"
    assert created["assignee"] == {
        "id": org.admin.id,
        "name": "Ada Admin",
        "email": org.admin.email,
    }
    assert (created["status"], created["priority"], created["completed_at"]) == (
        "todo",
        "high",
        None,
    )
    assert api.get(f"/api/deliverables/{created['id']}").get_json() == created
    changed = api.patch(
        f"/api/deliverables/{created['id']}", json={"status": "review", "assignee_id": None}
    )
    assert changed.get_json()["status"] == "review" and changed.get_json()["assignee"] is None
    assert api.delete(f"/api/deliverables/{created['id']}").status_code == 204
    assert_error(api.get(f"/api/deliverables/{created['id']}"), 404)
    kinds = [e["type"] for e in events(api) if e["type"].startswith("deliverable.")]
    assert kinds == ["deliverable.deleted", "deliverable.updated", "deliverable.created"]
    assert events(api, "deliverable.created")[0]["data"] == created


def test_completing_sets_who_and_when_and_emits_completed(api, org):
    deliverable = make_deliverable(api, make_client(api)["id"])
    moment = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    clock.set_now(moment)
    try:
        response = api.post(f"/api/deliverables/{deliverable['id']}/complete")
    finally:
        clock.set_now(None)
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert done["status"] == "completed"
    assert done["completed_at"] == "2031-05-06T07:08:09+00:00"
    assert done["completed_by"]["id"] == org.admin.id
    [event] = events(api, "deliverable.completed")
    assert event["data"] == done
    assert_error(api.post(f"/api/deliverables/{deliverable['id']}/complete"), 409)
    assert len(events(api, "deliverable.completed")) == 1


def test_reopening_a_completed_deliverable_clears_its_completion(api):
    deliverable = make_deliverable(api, make_client(api)["id"])
    api.post(f"/api/deliverables/{deliverable['id']}/complete")
    reopened = api.patch(f"/api/deliverables/{deliverable['id']}", json={"status": "in_progress"})
    body = reopened.get_json()
    assert (body["status"], body["completed_at"], body["completed_by"]) == (
        "in_progress",
        None,
        None,
    )


def test_patch_cannot_complete_a_deliverable(api):
    deliverable = make_deliverable(api, make_client(api)["id"])
    assert_error(
        api.patch(f"/api/deliverables/{deliverable['id']}", json={"status": "completed"}),
        400,
        "status",
    )


@pytest.mark.parametrize(
    ("local", "stored"),
    [
        ("2030-07-01T09:00:00", datetime(2030, 7, 1, 8, 0, tzinfo=UTC)),  # BST, UTC+1
        ("2030-01-15T09:00:00", datetime(2030, 1, 15, 9, 0, tzinfo=UTC)),  # GMT
        ("2030-07-01T09:00:00+02:00", datetime(2030, 7, 1, 7, 0, tzinfo=UTC)),  # offset wins
        ("2030-07-01T09:00:00Z", datetime(2030, 7, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_due_at_without_offset_is_read_in_the_orgs_time_zone(app, api, local, stored):
    deliverable = make_deliverable(api, make_client(api)["id"], due_at=local)
    assert datetime.fromisoformat(deliverable["due_at"]) == stored
    with app.app_context():
        row = db.session.get(Deliverable, deliverable["id"])
        assert row is not None and row.due_at == stored


def test_due_at_change_uses_the_orgs_current_time_zone(api):
    deliverable = make_deliverable(api, make_client(api)["id"])
    api.patch("/api/org", json={"timezone": "Asia/Tokyo"})
    body = api.patch(
        f"/api/deliverables/{deliverable['id']}", json={"due_at": "2030-07-01T09:00:00"}
    ).get_json()
    assert body["due_at"] == "2030-07-01T00:00:00+00:00"


@pytest.fixture
def board(api, org):
    """Two clients' deliverables in every state, assigned to the admin or to nobody."""
    globex, initech = make_client(api, "Globex")["id"], make_client(api, "Initech")["id"]
    made = {
        "a": make_deliverable(
            api, globex, "a", due_at="2030-03-01T10:00:00", assignee_id=org.admin.id
        ),
        "b": make_deliverable(api, globex, "b", due_at="2030-03-05T10:00:00", status="review"),
        "c": make_deliverable(
            api, initech, "c", due_at="2030-03-10T10:00:00", assignee_id=org.admin.id
        ),
        "d": make_deliverable(api, initech, "d"),
    }
    api.post(f"/api/deliverables/{made['c']['id']}/complete")
    return {"globex": globex, "initech": initech, **{k: v["id"] for k, v in made.items()}}


def _titles(api: Any, query: str) -> list[str]:
    response = api.get(f"/api/deliverables?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def test_deliverable_filters(api, org, board):
    assert _titles(api, "") == ["a", "b", "c", "d"]
    assert _titles(api, f"client_id={board['globex']}") == ["a", "b"]
    assert _titles(api, f"assignee_id={org.admin.id}") == ["a", "c"]
    assert _titles(api, "status=completed") == ["c"]
    assert _titles(api, "status=review") == ["b"]
    assert _titles(api, "due_before=2030-03-05T10:00:00") == ["a"]  # strictly before
    assert _titles(api, "due_after=2030-03-01T10:00:00") == ["b", "c"]
    assert _titles(api, "due_after=2030-03-02T00:00:00&due_before=2030-03-06T00:00:00") == ["b"]
    assert _titles(api, f"client_id={board['initech']}&status=todo") == ["d"]


def test_due_filters_without_offset_are_read_in_the_orgs_time_zone(api, board):
    # a is due 2030-03-01 10:00 London = 10:00 UTC; 05:30 in New York is 10:30 UTC
    assert _titles(api, "due_before=2030-03-01T10:00:01") == ["a"]
    assert _titles(api, "due_before=2030-03-01T10:00:00") == []
    assert _titles(api, "due_before=2030-03-01T05:30:00-05:00") == ["a"]


# ----- events -----


def test_events_are_newest_first_with_type_filter(api):
    client = make_client(api)
    api.patch(f"/api/clients/{client['id']}", json={"notes": "x"})
    make_deliverable(api, client["id"])
    all_events = events(api)
    assert [e["type"] for e in all_events] == [
        "deliverable.created",
        "client.updated",
        "client.created",
    ]
    assert all(set(e) == {"id", "type", "data", "created_at", "actor"} for e in all_events)
    assert all(e["id"].startswith("evt_") for e in all_events)
    assert [e["type"] for e in events(api, "client.updated")] == ["client.updated"]
    assert events(api, "no.such.type") == []


def test_event_types_catalogue_lists_every_type_the_api_emits(api):
    catalogue = {
        row["type"]: row["description"] for row in api.get("/api/events/types").get_json()["items"]
    }
    emitted = {
        "organization.updated",
        "user.created",
        "user.updated",
        "user.deleted",
        "client.created",
        "client.updated",
        "client.deleted",
        "deliverable.created",
        "deliverable.updated",
        "deliverable.completed",
        "deliverable.deleted",
    }
    assert emitted <= set(catalogue)
    assert all(catalogue.values())
    # nothing emits file.uploaded yet (a file-storage plugin will): it is not offered
    assert "file.uploaded" not in catalogue


# ----- pagination -----


def _fill(api: Any, org: Any) -> None:
    for n in range(7):
        client = make_client(api, f"Client {n}")
        make_deliverable(api, client["id"], f"Job {n}")
        api.post("/api/users", json={"email": f"u{n}@acme.example", "name": f"U{n}"})
        api.post("/api/service-types", json={"name": f"Type {n}"})


@pytest.mark.parametrize(
    ("path", "newest_first"),
    [
        ("/api/clients", False),
        ("/api/deliverables", False),
        ("/api/users", False),
        ("/api/service-types", False),
        ("/api/events", True),
        ("/api/events?type=client.created", True),
    ],
)
def test_cursor_pagination_returns_every_item_once_in_a_stable_order(api, org, path, newest_first):
    _fill(api, org)
    walked, pages = walk_pages(api, path, limit=2)
    whole = api.get(f"{path}{'&' if '?' in path else '?'}limit=200").get_json()
    assert whole["next_cursor"] is None
    key = "id"
    assert [item[key] for item in walked] == [item[key] for item in whole["items"]]
    assert len({item[key] for item in walked}) == len(walked) >= 7
    assert pages == -(-len(walked) // 2)  # full pages of 2, no empty page at the end
    if not newest_first:
        assert ids(walked) == sorted(ids(walked))
    else:
        created = [e["created_at"] for e in walked]
        assert created == sorted(created, reverse=True)


def test_a_cursor_stays_valid_while_new_rows_arrive(api, org):
    for n in range(4):
        make_client(api, f"Client {n}")
    first = api.get("/api/clients?limit=2").get_json()
    make_client(api, "Late arrival")
    rest, _ = walk_pages(api, "/api/clients", 2, first["next_cursor"])
    names = [c["name"] for c in first["items"] + rest]
    assert names == ["Client 0", "Client 1", "Client 2", "Client 3", "Late arrival"]


def test_new_events_do_not_shift_an_event_page_walk(api):
    for n in range(5):
        make_client(api, f"Client {n}")
    first = api.get("/api/events?limit=2").get_json()
    make_client(api, "Late")  # newer than the first page: never appears later in the walk
    rest, _ = walk_pages(api, "/api/events", 2, first["next_cursor"])
    names = [e["data"]["name"] for e in first["items"] + rest]
    assert names == ["Client 4", "Client 3", "Client 2", "Client 1", "Client 0"]


# ----- roles -----


def test_member_reads_and_works_on_deliverables(api, member_api, org):
    client = make_client(api)
    for path in (
        "/api/org",
        "/api/users",
        "/api/clients",
        "/api/service-types",
        "/api/events",
        f"/api/clients/{client['id']}",
        "/api/events/types",
        "/api/deliverables",
    ):
        assert member_api.get(path).status_code == 200, path
    created = member_api.post("/api/deliverables", json={"client_id": client["id"], "title": "T"})
    assert created.status_code == 201
    deliverable_id = created.get_json()["id"]
    assert (
        member_api.patch(
            f"/api/deliverables/{deliverable_id}", json={"status": "in_progress"}
        ).status_code
        == 200
    )
    done = member_api.post(f"/api/deliverables/{deliverable_id}/complete")
    assert done.status_code == 200
    assert done.get_json()["completed_by"]["email"] == f"member@{org.org.slug}.example"


ADMIN_ONLY = [
    ("PATCH", "/api/org", {"name": "Mine now"}),
    ("POST", "/api/users", {"email": "x@acme.example", "name": "X"}),
    ("PATCH", "/api/users/{user}", {"role": "admin"}),
    ("DELETE", "/api/users/{user}", None),
    ("POST", "/api/service-types", {"name": "Hacking"}),
    ("POST", "/api/clients", {"name": "Sneaky"}),
    ("PATCH", "/api/clients/{client}", {"name": "Renamed"}),
    ("DELETE", "/api/clients/{client}", None),
    ("DELETE", "/api/deliverables/{deliverable}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_member_gets_403_on_admin_actions_and_nothing_changes(
    app, api, member_api, org, method, path, body
):
    client = make_client(api)
    deliverable = make_deliverable(api, client["id"])
    warm_up(api, member_api)
    before = snapshot(app)
    url = path.format(user=org.admin.id, client=client["id"], deliverable=deliverable["id"])
    assert_error(member_api.request(method, url, json=body), 403)
    assert snapshot(app) == before


def test_deleting_a_user_revokes_their_keys_and_unassigns_their_work(api, member_api, org):
    client = make_client(api)
    deliverable = make_deliverable(api, client["id"])
    member_id = member_api.get("/api/me").get_json()["user"]["id"]
    api.patch(f"/api/deliverables/{deliverable['id']}", json={"assignee_id": member_id})
    assert api.delete(f"/api/users/{member_id}").status_code == 204
    assert_error(member_api.get("/api/me"), 401)
    assert api.get(f"/api/deliverables/{deliverable['id']}").get_json()["assignee"] is None


def test_events_of_a_request_name_who_acted(app, client, api, org):
    make_client(api, "Globex")
    [event] = events(api, "client.created")
    assert event["actor"] == {
        "type": "user",
        "id": org.admin.id,
        "name": "Ada Admin",
        "email": org.admin.email,
    }
    with app.app_context():
        _, secret = create_api_key(db.session, org.id, "admin", "deploy script")
        db.session.commit()
    ApiClient(client, secret).post("/api/clients", json={"name": "Initech"})
    newest = events(api, "client.created")[0]
    assert newest["actor"] == {
        "type": "api_key",
        "id": None,
        "name": "deploy script",
        "email": None,
    }


def test_a_service_type_is_renamed_once_with_its_previous_name(api, member_api):
    video = api.post("/api/service-types", json={"name": "Video"}).get_json()
    api.post("/api/service-types", json={"name": "Audio"})
    path = f"/api/service-types/{video['id']}"
    assert_error(api.patch(path, json={"name": "audio"}), 409, "name")
    assert member_api.patch(path, json={"name": "Film"}).status_code == 403
    assert api.patch(path, json={"name": "Video"}).get_json() == video  # unchanged: no event
    assert api.patch(path, json={}).get_json() == video
    renamed = api.patch(path, json={"name": "Film"})
    assert renamed.status_code == 200 and renamed.get_json() == {**video, "name": "Film"}
    [event] = events(api, "service_type.updated")
    assert event["data"] == {**video, "name": "Film", "previous_name": "Video"}
    assert api.patch("/api/service-types/999999", json={"name": "X"}).status_code == 404


def test_a_snapshot_sees_a_change_to_any_row(app, api):
    """What the "nothing changes" tests compare: a new row, a changed value and a removed
    row each make a different snapshot."""
    client = make_client(api)
    first = snapshot(app)
    assert first["clients"] and first["events"]
    assert api.patch(f"/api/clients/{client['id']}", json={"notes": "x"}).status_code == 200
    changed = snapshot(app)
    assert changed["clients"] != first["clients"]
    assert len(changed["events"]) == len(first["events"]) + 1
    assert api.delete(f"/api/clients/{client['id']}").status_code == 204
    assert snapshot(app)["clients"] == []
