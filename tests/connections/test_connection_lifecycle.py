"""An OAuth integration tells the truth: it is not enabled before it is connected (and no
work is created for it), connect needs the hub's whole OAuth app, and an external account
belongs to one organization's enabled integration."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from support import oauth_plugin
from support.oauth_plugin import NAME, OAuthTestPlugin, connect, integration, oauth_config
from support.oauth_server import OAuthServer

from hub import Conflict, hookimpl, set_external_account_id
from hub.core.connections.context import build_context
from hub.core.models import Integration, Run
from hub.extensions import db
from hub.testing import run_jobs

oauth_server = oauth_plugin.oauth_server
URL = f"/api/integrations/{NAME}"


class Listening(OAuthTestPlugin):
    """The test provider with an event hook, so runs would be created for it."""

    def __init__(self) -> None:
        super().__init__()
        self.clients: list[str] = []

    @hookimpl
    def on_client_created(self, ctx: Any, event: Any, client: dict[str, Any]) -> None:
        self.clients.append(client["name"])


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_config(hub_config, oauth_server)


@pytest.fixture
def plugin(register_plugin: Any) -> Listening:
    registered = Listening()
    register_plugin(registered, NAME)
    return registered


def runs_of(app: Any) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(Run.plugin == NAME))
        db.session.commit()
        return int(count or 0)


def shown(api: Any) -> tuple[bool, str, bool]:
    body = api.get(URL).json
    return body["enabled"], body["status"], body["connected"]


def events_of(api: Any, kind: str) -> list[dict[str, Any]]:
    items = api.get(f"/api/events?type={kind}").json["items"]
    return [e for e in items if e["data"]["plugin"] == NAME]


# ----- not enabled before it is connected -----


def test_put_before_connecting_waits_as_not_connected_and_creates_no_runs(
    app: Any, api: Any, client: Any, plugin: Listening
) -> None:
    body = api.put(URL, json={}).json
    assert (body["enabled"], body["status"], body["connected"]) == (False, "not_connected", False)
    assert api.post("/api/clients", json={"name": "Globex"}).status_code == 201
    run_jobs(app)
    assert runs_of(app) == 0 and plugin.clients == []
    assert events_of(api, "integration.enabled") == []
    # the connect flow enables it, once; from then on its events reach it
    assert connect(api, client) == {"success": NAME}
    assert shown(api) == (True, "enabled", True)
    assert len(events_of(api, "integration.enabled")) == 1
    assert api.post("/api/clients", json={"name": "Initech"}).status_code == 201
    run_jobs(app)
    assert plugin.clients == ["Initech"]


def test_put_after_a_disconnect_waits_for_a_connection_again(
    api: Any, client: Any, plugin: Listening
) -> None:
    assert connect(api, client) == {"success": NAME}
    assert api.delete(f"{URL}/connection").status_code == 200
    assert api.put(URL, json={}).json["status"] == "not_connected"
    assert shown(api) == (False, "not_connected", False)


def test_put_of_a_connected_integration_enables_it(
    api: Any, client: Any, plugin: Listening
) -> None:
    assert connect(api, client) == {"success": NAME}
    assert api.delete(URL).json["status"] == "disabled"
    assert api.put(URL, json={}).json["status"] == "enabled"
    assert shown(api) == (True, "enabled", True)


def test_the_test_route_says_to_connect_first(api: Any, plugin: Listening) -> None:
    api.put(URL, json={})
    response = api.post(f"{URL}/test")
    assert response.status_code == 409
    assert "not connected" in response.json["error"]["message"]


def test_delete_of_a_waiting_integration_disables_it(api: Any, plugin: Listening) -> None:
    api.put(URL, json={})
    assert api.delete(URL).json["status"] == "disabled"
    assert events_of(api, "integration.disabled") == []  # it never was enabled


@pytest.mark.parametrize("missing", ["TESTOAUTH_CLIENT_SECRET", "TESTOAUTH_CLIENT_ID"])
def test_connect_is_a_409_naming_a_missing_app_credential(
    app: Any, api: Any, plugin: Listening, missing: str
) -> None:
    app.config[missing] = None
    response = api.get(f"{URL}/connect")
    assert response.status_code == 409, response.json
    assert response.json["error"]["details"] == {"setting": [missing]}
    assert missing in response.json["error"]["message"]


# ----- one external account, one organization -----


def test_a_second_organization_cannot_connect_the_same_account(
    app: Any, api: Any, other_api: Any, client: Any, org: Any, other_org: Any, plugin: Listening
) -> None:
    assert connect(api, client) == {"success": NAME}
    assert connect(other_api, client) == {"error": "account_already_connected"}
    other = other_api.get(URL).json
    assert (other["enabled"], other["connected"]) == (False, False)
    assert events_of(other_api, "integration.enabled") == []
    with app.app_context():
        assert integration(org.id).enabled and integration(org.id).external_account_id == "acct-42"
        db.session.commit()


def test_disconnecting_frees_the_account_for_another_organization(
    api: Any, other_api: Any, client: Any, plugin: Listening
) -> None:
    assert connect(api, client) == {"success": NAME}
    assert api.delete(f"{URL}/connection").status_code == 200
    assert connect(other_api, client) == {"success": NAME}


def test_re_enabling_an_integration_whose_account_moved_is_a_409(
    api: Any, other_api: Any, client: Any, plugin: Listening
) -> None:
    assert connect(api, client) == {"success": NAME}
    api.delete(URL)  # disabled, still holding its tokens
    assert connect(other_api, client) == {"success": NAME}
    response = api.put(URL, json={})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "account_already_connected"
    assert shown(api)[0] is False


def test_set_external_account_id_refuses_an_account_held_elsewhere(
    app: Any,
    api: Any,
    other_api: Any,
    client: Any,
    other_org: Any,
    plugin: Listening,
    oauth_server: OAuthServer,
) -> None:
    assert connect(api, client) == {"success": NAME}
    oauth_server.account = "acct-43"
    assert connect(other_api, client) == {"success": NAME}
    with app.app_context():
        ctx = build_context(app, db.session, integration(other_org.id))
        with pytest.raises(Conflict) as refused:
            set_external_account_id(ctx, "acct-42")
        assert refused.value.code == "account_already_connected"
        set_external_account_id(ctx, "acct-44")  # a free one is recorded
        db.session.commit()
        assert integration(other_org.id).external_account_id == "acct-44"
        db.session.commit()


def test_the_database_keeps_one_enabled_holder_per_account(
    app: Any, api: Any, other_api: Any, client: Any, other_org: Any, plugin: Listening
) -> None:
    assert connect(api, client) == {"success": NAME}
    other_api.put(URL, json={})
    with app.app_context(), pytest.raises(IntegrityError):  # at the update or the commit
        db.session.execute(
            update(Integration)
            .where(Integration.org_id == other_org.id)
            .values(enabled=True, external_account_id="acct-42")
        )
        db.session.commit()
