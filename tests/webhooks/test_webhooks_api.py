"""The webhooks admin API: endpoints, validation, roles, isolation, secrets at rest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from support.webhook_tools import (
    LOOPBACK,
    Answer,
    deliver,
    deliveries,
    emit,
    register,
    running_receiver,
)

from hub.core.crypto import KeyRing, generate_entry
from hub.core.keyrotation import rotate_all
from hub.core.webhooks.endpoints import secret_aad
from hub.core.webhooks.models import WebhookEndpoint
from hub.extensions import db

BASE = "/api/integrations/webhooks"


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, **LOOPBACK}


@pytest.fixture
def receiver():
    yield from running_receiver()


def test_register_shows_the_secret_once_and_keeps_it_encrypted(app, api, receiver):
    created = register(api, receiver.url(), ("client.created", "deliverable.completed"))
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["client.created", "deliverable.completed"]
    assert (created["enabled"], created["description"]) == (True, "")
    shown = api.get(f"{BASE}/{created['id']}").json
    assert "secret" not in shown and shown["url"] == receiver.url()
    assert "secret" not in api.get(BASE).json["items"][0]
    with app.app_context():
        raw = db.session.execute(text("SELECT secret FROM webhook_endpoints")).scalar_one()
    assert created["secret"] not in raw and created["secret"][6:] not in raw


def test_the_secret_is_bound_to_its_endpoint_row(app, api, receiver):
    first = register(api, receiver.url("/1"))
    second = register(api, receiver.url("/2"))
    with app.app_context():
        rows = {e.id: e for e in db.session.scalars(db.select(WebhookEndpoint))}
        rows[second["id"]].secret = rows[first["id"]].secret  # moved by someone with DB access
        db.session.commit()
    receiver.answer(Answer(200), Answer(200))
    emit(api)
    deliver(app)
    by_endpoint = {d.endpoint_id: d for d in deliveries(app)}
    assert by_endpoint[first["id"]].state == "succeeded"
    assert by_endpoint[second["id"]].state == "failed"  # never signed with a stolen secret
    assert "decrypted" in by_endpoint[second["id"]].last_error
    assert [r.path for r in receiver.received] == ["/1"]


def test_star_means_every_event_and_duplicates_collapse(api, receiver):
    assert register(api, receiver.url(), ("client.created", "*"))["events"] == ["*"]
    twice = register(api, receiver.url(), ("client.created", "client.created"))
    assert twice["events"] == ["client.created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1/x", "events": ["client.exploded"]}, "events"),
        ({"url": "http://127.0.0.1/x", "events": []}, "events"),
        ({"url": "http://127.0.0.1/x", "events": "client.created"}, "events"),
        ({"url": "http://127.0.0.1/x"}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "", "events": ["*"]}, "url"),
        ({"url": "ftp://127.0.0.1/x", "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1/" + "x" * 2048, "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "http://[127.0.0.1]:1/", "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:1\\@127.0.0.2/", "events": ["*"]}, "url"),
        ({"url": "http://[64:ff9b::7f00:1]/x", "events": ["*"]}, "url"),
        ({"url": "http://[64:ff9b::a9fe:a9fe]/x", "events": ["*"]}, "url"),
        ({"url": "http://[::ffff:0:7f00:1]/x", "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1/x", "events": ["*"], "description": "d" * 501}, "description"),
        ({"url": "http://127.0.0.1/x", "events": ["*"], "secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(app, api, body, field):
    response = api.post(BASE, json=body)
    assert response.status_code == 400, response.json
    assert field in response.json["error"]["details"]
    assert api.get(BASE).json["items"] == []


def test_event_types_come_from_the_catalogue(api, receiver):
    catalogue = {item["type"] for item in api.get("/api/events/types").json["items"]}
    assert {"webhook.test", "webhook.endpoint_disabled", "client.created"} <= catalogue
    created = register(api, receiver.url(), tuple(sorted(catalogue)))
    assert set(created["events"]) == catalogue


def test_patch_changes_url_events_description_and_enabled(api, receiver):
    endpoint = register(api, receiver.url())
    url = f"{BASE}/{endpoint['id']}"
    changed = api.patch(
        url,
        json={"url": receiver.url("/v2"), "events": ["client.updated"], "description": "CRM"},
    ).json
    assert (changed["url"], changed["events"], changed["description"]) == (
        receiver.url("/v2"),
        ["client.updated"],
        "CRM",
    )
    off = api.patch(url, json={"enabled": False}).json
    assert (off["enabled"], off["disabled_reason"]) == (False, "Disabled by an admin.")
    on = api.patch(url, json={"enabled": True}).json
    assert (on["enabled"], on["disabled_reason"], on["failing_since"]) == (True, None, None)
    bad = api.patch(url, json={"events": ["nope"]})
    assert bad.status_code == 400 and "events" in bad.json["error"]["details"]
    assert api.get(url).json["events"] == ["client.updated"]


def test_a_missing_endpoint_is_named_in_words(api):
    response = api.get(f"{BASE}/424242")
    assert response.status_code == 404
    assert response.json["error"]["message"] == "No webhook endpoint with id 424242."


def test_delete_removes_the_endpoint_and_its_log(app, api, receiver):
    endpoint = register(api, receiver.url())
    emit(api)
    deliver(app)
    assert len(deliveries(app)) == 1
    assert api.delete(f"{BASE}/{endpoint['id']}").status_code == 204
    assert api.get(f"{BASE}/{endpoint['id']}").status_code == 404
    assert deliveries(app) == []


def test_deliveries_are_listed_newest_first_with_filters_and_attempts(app, api, receiver):
    endpoint = register(api, receiver.url())
    receiver.answer(Answer(500))
    emit(api, "A")
    deliver(app)
    emit(api, "B")
    deliver(app)
    url = f"{BASE}/{endpoint['id']}/deliveries"
    items = api.get(url).json["items"]
    assert [i["payload"]["data"]["name"] for i in items] == ["B", "A"]
    assert [i["state"] for i in items] == ["succeeded", "pending"]
    assert items[1]["attempt_log"][0]["status_code"] == 500
    assert [i["state"] for i in api.get(url, query_string={"state": "pending"}).json["items"]] == [
        "pending"
    ]
    assert api.get(url, query_string={"event_type": "user.created"}).json["items"] == []
    first = api.get(url, query_string={"limit": 1}).json
    second = api.get(url, query_string={"limit": 1, "cursor": first["next_cursor"]}).json
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [i["id"] for i in items]
    one = api.get(f"{BASE}/deliveries/{items[1]['id']}").json
    assert one["attempt_log"] == items[1]["attempt_log"]
    bad = api.get(url, query_string={"state": "exploded"})
    assert bad.status_code == 400 and "state" in bad.json["error"]["details"]


def test_resend_and_recover_refuse_what_they_cannot_do(app, api, receiver):
    endpoint = register(api, receiver.url())
    receiver.answer(Answer(500))
    emit(api)
    deliver(app)
    [pending] = deliveries(app)
    resend = api.post(f"{BASE}/deliveries/{pending.id}/resend")
    assert resend.status_code == 409  # still being retried
    recover = api.post(f"{BASE}/{endpoint['id']}/recover")
    assert recover.status_code == 400 and "since" in recover.json["error"]["details"]
    api.patch(f"{BASE}/{endpoint['id']}", json={"enabled": False})
    query = {"since": "2020-01-01T00:00:00Z"}
    assert api.post(f"{BASE}/{endpoint['id']}/recover", query_string=query).status_code == 409
    assert api.post(f"{BASE}/deliveries/{pending.id}/resend").status_code == 409


@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1, "1h", None])
def test_rotation_grace_is_validated(api, receiver, grace):
    endpoint = register(api, receiver.url())
    response = api.post(
        f"{BASE}/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": grace}
    )
    assert response.status_code == 400
    assert "grace_period_seconds" in response.json["error"]["details"]


def test_rotation_answers_when_the_old_secret_expires_in_iso_8601(api, receiver, hub_clock):
    endpoint = register(api, receiver.url())
    rotated = api.post(
        f"{BASE}/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": 3600}
    ).json
    expires = rotated["previous_secret_expires_at"]
    assert expires.endswith("+00:00"), expires  # not an HTTP date
    assert datetime.fromisoformat(expires) == hub_clock.now() + timedelta(hours=1)


def test_rotation_without_grace_drops_the_old_secret_at_once(app, api, receiver):
    endpoint = register(api, receiver.url())
    rotated = api.post(
        f"{BASE}/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": 0}
    ).json
    assert rotated["previous_secret_expires_at"] is None
    emit(api)
    deliver(app)
    assert len(receiver.received[0].header("webhook-signature").split(" ")) == 1


def test_members_cannot_see_or_change_webhooks(api, member_api, receiver):
    endpoint = register(api, receiver.url())
    for method, path in [
        ("get", BASE),
        ("post", BASE),
        ("get", f"{BASE}/{endpoint['id']}"),
        ("patch", f"{BASE}/{endpoint['id']}"),
        ("delete", f"{BASE}/{endpoint['id']}"),
        ("post", f"{BASE}/{endpoint['id']}/rotate-secret"),
        ("post", f"{BASE}/{endpoint['id']}/test"),
        ("get", f"{BASE}/{endpoint['id']}/deliveries"),
    ]:
        assert getattr(member_api, method)(path).status_code == 403, (method, path)
    assert api.get(f"{BASE}/{endpoint['id']}").status_code == 200


def test_another_orgs_endpoints_and_deliveries_are_not_found(app, api, other_api, receiver):
    endpoint = register(api, receiver.url())
    emit(api)
    deliver(app)
    [delivery] = deliveries(app)
    since = {"since": "2020-01-01T00:00:00Z"}
    calls = [
        ("get", f"{BASE}/{endpoint['id']}", {}),
        ("patch", f"{BASE}/{endpoint['id']}", {"json": {"description": "pwned"}}),
        ("delete", f"{BASE}/{endpoint['id']}", {}),
        ("post", f"{BASE}/{endpoint['id']}/rotate-secret", {"json": {}}),
        ("post", f"{BASE}/{endpoint['id']}/test", {}),
        ("get", f"{BASE}/{endpoint['id']}/deliveries", {}),
        ("post", f"{BASE}/{endpoint['id']}/recover", {"query_string": since}),
        ("get", f"{BASE}/deliveries/{delivery.id}", {}),
        ("post", f"{BASE}/deliveries/{delivery.id}/resend", {}),
    ]
    for method, path, kwargs in calls:
        response = getattr(other_api, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.json)
    assert other_api.get(BASE).json["items"] == []
    assert api.get(f"{BASE}/{endpoint['id']}").json["description"] == ""
    assert len(receiver.received) == 1  # the attacker's test sent nothing


def test_an_orgs_events_reach_only_its_own_endpoints(app, api, other_api, receiver):
    mine = register(api, receiver.url("/mine"))
    register(other_api, receiver.url("/theirs"))
    emit(api, "Ours")
    deliver(app)
    assert [r.path for r in receiver.received] == ["/mine"]
    assert [d.endpoint_id for d in deliveries(app)] == [mine["id"]]


def test_key_rotation_re_encrypts_current_and_previous_secrets(app, api, hub_config, receiver):
    endpoint = register(api, receiver.url())
    new = api.post(f"{BASE}/{endpoint['id']}/rotate-secret", json={}).json["secret"]
    ring = KeyRing.parse(f"{generate_entry()},{hub_config['HUB_ENCRYPTION_KEYS']}")
    with app.app_context():
        report = rotate_all(sessionmaker(bind=db.engine), ring)
        assert (report.rotated, report.failed) == (2, [])
        row = db.session.get(WebhookEndpoint, endpoint["id"])
        db.session.close()
    tokens = [row.secret, row.previous_secrets[0]["secret"]]
    assert {ring.key_id_of(token) for token in tokens} == {ring.newest}
    aad = secret_aad(row.org_id, row.id)
    assert [ring.decrypt(token, aad) for token in tokens] == [new, endpoint["secret"]]
    with app.app_context():
        assert rotate_all(sessionmaker(bind=db.engine), ring).rotated == 0
