"""The REST-hook API Zapier calls: subscribe, list, unsubscribe; bad input is a 400 naming
the field and changes nothing; another organization can neither see nor remove a hook."""

from __future__ import annotations

import pytest
from zapier_helpers import HOOKS, hooks_of, subscribe

from hub.testing import run_jobs

TARGET = "http://127.0.0.1:9/hooks/standard/535583948/f4cb/"


def test_subscribe_answers_201_with_an_id_and_a_signing_secret(api, zapier):
    body = {"target_url": TARGET, "event": "deliverable.completed", "zap_id": "zap-77"}
    response = api.post(HOOKS, json=body)
    assert response.status_code == 201
    hook = response.get_json()
    assert isinstance(hook["id"], int)
    assert hook["secret"].startswith("whsec_")
    assert (hook["event"], hook["target_url"], hook["zap_id"]) == (
        "deliverable.completed",
        TARGET,
        "zap-77",
    )
    (listed,) = hooks_of(api)
    assert listed["id"] == hook["id"] and listed["status"] == "enabled"
    assert "secret" not in listed  # shown once, to the subscriber


def test_the_legacy_subscription_url_field_is_accepted(api, zapier):
    body = {"target_url": TARGET, "event": "client.created", "subscription_url": TARGET}
    assert api.post(HOOKS, json=body).status_code == 201


def test_several_subscriptions_to_one_event_are_allowed(api, zapier):
    first, second = subscribe(api, TARGET), subscribe(api, TARGET)
    assert first["id"] != second["id"]
    assert [h["id"] for h in hooks_of(api)] == [first["id"], second["id"]]


def test_unsubscribe_answers_204_then_404(api, zapier):
    hook = subscribe(api, TARGET)
    response = api.delete(f"{HOOKS}/{hook['id']}")
    assert response.status_code == 204 and response.get_data() == b""
    assert hooks_of(api) == []
    assert api.delete(f"{HOOKS}/{hook['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "client.created"}, "target_url"),
        ({"target_url": TARGET}, "event"),
        ({"target_url": TARGET, "event": "client.exploded"}, "event"),
        ({"target_url": TARGET, "event": ""}, "event"),
        ({"target_url": TARGET, "event": 7}, "event"),
        ({"target_url": "not a url", "event": "client.created"}, "target_url"),
        ({"target_url": "ftp://127.0.0.1/x", "event": "client.created"}, "target_url"),
        ({"target_url": "http://10.0.0.8/hook", "event": "client.created"}, "target_url"),
        ({"target_url": "http://169.254.169.254/", "event": "client.created"}, "target_url"),
        ({"target_url": "http://[::1]:8/x", "event": "client.created"}, "target_url"),
        ({"target_url": "http://[64:ff9b::a9fe:a9fe]/", "event": "client.created"}, "target_url"),
        ({"target_url": "http://[::ffff:0:7f00:1]/", "event": "client.created"}, "target_url"),
        ({"target_url": "http://[127.0.0.1]:1/", "event": "client.created"}, "target_url"),
        ({"target_url": "http://127.0.0.1:9\\@x.org/", "event": "client.created"}, "target_url"),
        ({"target_url": "http://127.0.0.1/" + "x" * 2100, "event": "client.created"}, "target_url"),
        ({"target_url": TARGET, "event": "client.created", "owner": "me"}, "owner"),
        ({"target_url": TARGET, "event": "client.created", "zap_id": ["x"]}, "zap_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, zapier, body, field):
    response = api.post(HOOKS, json=body)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["details"]
    assert hooks_of(api) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "target_url=x", "content_type": "application/x-www-form-urlencoded"},
        {"data": "{not json", "content_type": "application/json"},
        {"json": [{"target_url": TARGET, "event": "client.created"}]},
        {},
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api, zapier, kwargs):
    response = api.post(HOOKS, **kwargs)
    assert response.status_code == 400
    assert "_schema" in response.get_json()["error"]["details"]
    assert hooks_of(api) == []


def test_https_is_required_unless_the_hub_allows_http(make_app, org, zapier):
    strict = make_app(HUB_EGRESS_ALLOW_HTTP="0").test_client()
    headers = {"Authorization": f"Bearer {org.admin_key}"}
    body = {"target_url": TARGET, "event": "client.created"}
    response = strict.post(HOOKS, json=body, headers=headers)
    assert response.status_code == 400
    assert "target_url" in response.get_json()["error"]["details"]


def test_a_member_key_cannot_subscribe_or_unsubscribe(api, member_api, zapier):
    hook = subscribe(api, TARGET)
    body = {"target_url": TARGET, "event": "client.created"}
    assert member_api.post(HOOKS, json=body).status_code == 403
    assert member_api.delete(f"{HOOKS}/{hook['id']}").status_code == 403
    assert member_api.get(HOOKS).status_code == 403
    assert len(hooks_of(api)) == 1


def test_no_key_no_hooks(client, zapier):
    assert client.get(HOOKS).status_code == 401
    assert client.post(HOOKS, json={"target_url": TARGET, "event": "x"}).status_code == 401


def test_zapier_must_be_enabled_for_the_organization(api):
    response = api.post(HOOKS, json={"target_url": TARGET, "event": "client.created"})
    assert response.status_code == 404
    assert api.get(HOOKS).status_code == 404


def test_another_org_cannot_list_or_delete_your_hooks(
    api, other_api, zapier, enable_plugin, other_org
):
    hook = subscribe(api, TARGET)
    assert other_api.delete(f"{HOOKS}/{hook['id']}").status_code == 404  # not enabled there
    enable_plugin("zapier", org=other_org)
    assert other_api.get(HOOKS).get_json()["items"] == []
    assert other_api.delete(f"{HOOKS}/{hook['id']}").status_code == 404
    assert [h["id"] for h in hooks_of(api)] == [hook["id"]]


ROUTES = {
    ("/api/integrations/zapier/hooks", "GET"),
    ("/api/integrations/zapier/hooks", "POST"),
    ("/api/integrations/zapier/hooks/<int:hook_id>", "DELETE"),
    ("/api/integrations/zapier/hooks/<int:hook_id>/deliveries", "GET"),
    ("/api/integrations/zapier/deliveries/<int:delivery_id>/resend", "POST"),
    ("/api/integrations/zapier/samples/<event>", "GET"),
}


def test_every_zapier_route_is_walked_with_another_orgs_key(
    app, api, other_api, zapier, enable_plugin, other_org
):
    """A new route fails here until it is added to ROUTES and walked below."""
    mounted = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/integrations/zapier/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert mounted == ROUTES
    mark = "zq9victim"
    hook = subscribe(api, f"{TARGET}{mark}")
    api.post("/api/clients", json={"name": f"Client {mark}"})
    run_jobs(app)
    listed = api.get(f"{HOOKS}/{hook['id']}/deliveries").get_json()
    [delivery] = listed["items"] if isinstance(listed, dict) else listed
    enable_plugin("zapier", org=other_org)
    answers = [
        other_api.get(HOOKS),
        other_api.post(HOOKS, json={"target_url": TARGET, "event": "client.created"}),
        other_api.delete(f"{HOOKS}/{hook['id']}"),
        other_api.get(f"{HOOKS}/{hook['id']}/deliveries"),
        other_api.post(f"/api/integrations/zapier/deliveries/{delivery['id']}/resend"),
        other_api.get("/api/integrations/zapier/samples/client.created"),
    ]
    assert [a.status_code for a in answers] == [200, 201, 404, 404, 404, 200]
    assert all(mark not in a.get_data(as_text=True) for a in answers)
    assert [h["id"] for h in hooks_of(api)] == [hook["id"]]  # the attacker's is its own
