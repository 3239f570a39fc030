"""Tenant isolation: another organization's key never reads or changes this one's email data,
on every route the plugin mounts."""

from __future__ import annotations

from typing import Any

import pytest
from mycelium_smtp import suppressions
from smtp_helpers import SmtpServer, smtp_config

from hub import db_session
from hub.testing import ApiClient, OrgHandle

BASE = "/api/integrations/smtp"
TEMPLATE = {"subject": "Secret {{ client_name }}", "html": "<p>victim</p>", "text": "victim"}
ATTACK = {"subject": "Pwned", "html": "<p>attacker</p>", "text": "attacker"}


@pytest.fixture
def victim(
    app: Any,
    org: OrgHandle,
    api: ApiClient,
    member_api: ApiClient,
    other_api: ApiClient,
    smtp_server: SmtpServer,
) -> dict[str, Any]:
    """The victim's custom template, queued email and preferences; the attacker has email on."""
    for client in (api, other_api):
        assert client.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    assert api.put(f"{BASE}/templates/client_welcome", json=TEMPLATE).status_code == 200
    email = {
        "template": "user_invitation",
        "to": ["a@acme.example"],
        "scheduled_for": "2099-01-01T00:00:00+00:00",
    }
    queued = api.post(f"{BASE}/emails", json=email).get_json()
    member = member_api.put(f"{BASE}/preferences", json={"daily_digest": True}).get_json()
    with app.app_context():
        db = db_session()
        suppressions.suppress(db, org.id, ["gone@victim.example"], "hard_bounce", "victim")
        db.commit()
    return {"email": queued["id"], "user": member["user_id"], "org": org.id}


def routes_walked(victim: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Each route of the plugin and what the attacker tries there."""
    email, user, org = victim["email"], victim["user"], victim["org"]
    return {
        ("/templates", "GET"): ("GET", "/templates", None),
        ("/templates/<type_name>", "GET"): ("GET", "/templates/client_welcome", None),
        ("/templates/<type_name>", "PUT"): (
            "PUT",
            "/templates/client_welcome",
            ATTACK,
        ),
        ("/templates/<type_name>", "DELETE"): ("DELETE", "/templates/client_welcome", None),
        ("/templates/<type_name>/preview", "POST"): (
            "POST",
            "/templates/client_welcome/preview",
            {},
        ),
        ("/emails", "GET"): ("GET", "/emails", None),
        ("/emails", "POST"): (
            "POST",
            "/emails",
            {"template": "user_invitation", "to": ["x@rival.example"]},
        ),
        ("/emails/<int:email_id>", "GET"): ("GET", f"/emails/{email}", None),
        ("/emails/<int:email_id>/cancel", "POST"): ("POST", f"/emails/{email}/cancel", None),
        ("/preferences", "GET"): ("GET", "/preferences", None),
        ("/preferences", "PUT"): ("PUT", "/preferences", {"weekly_digest": True}),
        ("/preferences/<int:user_id>", "GET"): ("GET", f"/preferences/{user}", None),
        ("/preferences/<int:user_id>", "PUT"): (
            "PUT",
            f"/preferences/{user}",
            {"daily_digest": False},
        ),
        ("/emails/batch", "POST"): (
            "POST",
            "/emails/batch",
            {"emails": [{"template": "user_invitation", "to": ["y@rival.example"]}]},
        ),
        ("/suppressions", "GET"): ("GET", "/suppressions", None),
        ("/suppressions/<address>", "DELETE"): (
            "DELETE",
            "/suppressions/gone@victim.example",
            None,
        ),
        ("/events/sendgrid/<int:org_id>", "POST"): ("POST", f"/events/sendgrid/{org}", []),
        ("/events/mailgun/<int:org_id>", "POST"): ("POST", f"/events/mailgun/{org}", {}),
        ("/events/postmark/<int:org_id>", "POST"): ("POST", f"/events/postmark/{org}", {}),
        ("/unsubscribe/<token>", "GET"): ("GET", "/unsubscribe/forged", None),
        ("/unsubscribe/<token>", "POST"): ("POST", "/unsubscribe/forged", None),
    }


def plugin_routes(app: Any) -> set[tuple[str, str]]:
    mounted = {e for e, name in app.extensions["hub.plugin_endpoints"].items() if name == "smtp"}
    return {
        (rule.rule.removeprefix(BASE), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint in mounted
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_walked_and_nothing_leaks(
    app: Any,
    victim: dict[str, Any],
    api: ApiClient,
    member_api: ApiClient,
    other_api: ApiClient,
    client: Any,
    other_org: OrgHandle,
) -> None:
    walked = routes_walked(victim)
    assert plugin_routes(app) == set(walked)
    for method, path, body in walked.values():
        kwargs = {"json": body} if body is not None else {}
        if path.startswith(("/unsubscribe", "/events")):  # public: no key at all
            response = client.open(f"{BASE}{path}", method=method, **kwargs)
        else:
            response = other_api.request(method, f"{BASE}{path}", **kwargs)
        text = response.get_data(as_text=True)
        assert "victim" not in text and "Secret" not in text, (method, path)
        assert "Acme Studio" not in text and "acme-studio" not in text, (method, path)
    # the victim's data is as it was
    own = api.get(f"{BASE}/templates/client_welcome").get_json()
    assert own["customized"] is True and own["subject"] == TEMPLATE["subject"]
    assert api.get(f"{BASE}/emails/{victim['email']}").get_json()["status"] == "pending"
    assert member_api.get(f"{BASE}/preferences").get_json()["daily_digest"] is True
    # what the attacker made is the attacker's
    theirs = other_api.get(f"{BASE}/emails").get_json()["items"]
    assert sorted(e["to"][0] for e in theirs) == ["x@rival.example", "y@rival.example"]
    listed = api.get(f"{BASE}/suppressions").get_json()["items"]
    assert [entry["address"] for entry in listed] == ["gone@victim.example"]
    assert other_api.get(f"{BASE}/templates/client_welcome").get_json()["customized"] is False
    assert other_api.get(f"{BASE}/preferences/{victim['user']}").status_code == 404
    assert other_api.get(f"{BASE}/emails/{victim['email']}").status_code == 404
