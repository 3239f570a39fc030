"""Plugin routes under /api/integrations/<name>/, the caller and context helpers, and the
hooks the core calls from a web request."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, request
from sqlalchemy import select, update

import hub
from hub.api.plugin_routes import mount
from hub.core.models import Integration
from hub.errors import ConfigError
from hub.extensions import db
from hub.plugins import get_plugins

NAME = "notebook"
bp = Blueprint("notebook", __name__)


@bp.get("/whoami")
def whoami() -> dict[str, Any]:
    """Who is calling, and the plugin's view of this org."""
    caller = hub.current_caller()
    ctx = hub.current_context()
    return {
        "org": caller.org.slug,
        "user": caller.user.email if caller.user else None,
        "role": caller.role,
        "ctx_org": ctx.org.slug,
        "team": ctx.config.get("team"),
        "integration": ctx.integration.id,
    }


@bp.post("/admin-only")
@hub.admin_route
def admin_only() -> dict[str, Any]:
    return {"ok": True}


@bp.post("/inbound/<account>")
@hub.public_route
def inbound(account: str) -> Any:
    """A provider calls this; the plugin verifies it and finds the org by account id."""
    if request.headers.get("X-Signature") != "valid":
        raise hub.Forbidden("Bad signature.")
    ctx = hub.find_integration(NAME, account)
    if ctx is None:
        raise hub.NotFound("Unknown account.")
    event_id = ctx.emit("notebook.inbound", {"account": account})
    hub.db_session().commit()
    return {"org": ctx.org.slug, "event": event_id}


@bp.post("/uninstalled/<account>")
@hub.public_route
def uninstalled(account: str) -> Any:
    """The provider says the app was removed: forget the tokens, disable."""
    ctx = hub.find_integration(NAME, account)
    if ctx is None:
        raise hub.NotFound("Unknown account.")
    hub.disable_integration(ctx, "The app was uninstalled.")
    hub.db_session().commit()
    return {"disabled": ctx.org.slug}


class Notebook:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name=NAME, title="Notebook", config_schema=None))

    @hub.hookimpl
    def register_routes(self, register: Any) -> None:
        register(bp)

    @hub.hookimpl
    def health_check(self, ctx: hub.PluginContext) -> hub.HealthResult:
        self.calls.append(("health_check", ctx.org.slug))
        return hub.HealthResult(ok=True, message=f"{ctx.org.slug} ok")

    @hub.hookimpl
    def send_test_message(self, ctx: hub.PluginContext, user: dict[str, Any] | None) -> str:
        self.calls.append(("send_test_message", user and user["email"]))
        return "a note"

    @hub.hookimpl
    def on_integration_enabled(
        self, ctx: hub.PluginContext, event: hub.EventInfo, integration: dict[str, Any]
    ) -> None:
        self.calls.append(("on_integration_enabled", (ctx.org.slug, event.id, integration)))


@pytest.fixture
def notebook(register_plugin: Any) -> Notebook:
    plugin = Notebook()
    register_plugin(plugin, NAME)
    return plugin


def _set_account(app: Flask, org_id: int, account: str) -> None:
    with app.app_context():
        db.session.execute(
            update(Integration)
            .where(Integration.org_id == org_id, Integration.plugin == NAME)
            .values(external_account_id=account)
        )
        db.session.commit()


def test_hook_register_routes(app: Flask, api: Any, client: Any, notebook: Notebook) -> None:
    assert client.get(f"/api/integrations/{NAME}/whoami").status_code == 401
    assert api.get(f"/api/integrations/{NAME}/whoami").status_code == 404  # not enabled
    api.put(f"/api/integrations/{NAME}", json={})
    response = api.get(f"/api/integrations/{NAME}/whoami")
    assert response.status_code == 200, response.json
    assert response.json["org"] == response.json["ctx_org"] == "acme-studio"
    assert response.json["role"] == "admin" and response.json["user"].startswith("admin@")


def test_admin_routes_need_an_admin_key(api: Any, member_api: Any, notebook: Notebook) -> None:
    assert member_api.post(f"/api/integrations/{NAME}/admin-only").status_code == 403
    assert api.post(f"/api/integrations/{NAME}/admin-only").json == {"ok": True}


def test_public_route_and_find_integration(
    app: Flask, api: Any, other_api: Any, client: Any, org: Any, other_org: Any, notebook: Notebook
) -> None:
    api.put(f"/api/integrations/{NAME}", json={})
    other_api.put(f"/api/integrations/{NAME}", json={})
    _set_account(app, org.id, "T-ACME")
    _set_account(app, other_org.id, "T-RIVAL")
    path = f"/api/integrations/{NAME}/inbound"
    assert client.post(f"{path}/T-ACME").status_code == 403  # the plugin's own check
    signed = {"X-Signature": "valid"}
    assert client.post(f"{path}/T-ACME", headers=signed).json["org"] == "acme-studio"
    assert client.post(f"{path}/T-RIVAL", headers=signed).json["org"] == "rival-agency"
    assert client.post(f"{path}/T-NONE", headers=signed).status_code == 404
    api.delete(f"/api/integrations/{NAME}")
    assert client.post(f"{path}/T-ACME", headers=signed).status_code == 404  # disabled


def test_authenticated_routes_see_only_the_callers_org(
    app: Flask, api: Any, other_api: Any, notebook: Notebook
) -> None:
    api.put(f"/api/integrations/{NAME}", json={})
    assert other_api.get(f"/api/integrations/{NAME}/whoami").status_code == 404
    other_api.put(f"/api/integrations/{NAME}", json={})
    mine = api.get(f"/api/integrations/{NAME}/whoami").json
    theirs = other_api.get(f"/api/integrations/{NAME}/whoami").json
    assert mine["integration"] != theirs["integration"]
    assert theirs["org"] == "rival-agency"


def test_plugin_routes_appear_in_the_openapi_document(client: Any, notebook: Notebook) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    whoami = paths[f"/api/integrations/{NAME}/whoami"]["get"]
    assert whoami["tags"] == [NAME] and whoami["summary"].startswith("Who is calling")
    assert "security" not in paths[f"/api/integrations/{NAME}/inbound/{{account}}"]["post"]


@pytest.mark.parametrize(
    "rule",
    [
        "/connect",
        "/authorize",
        "/callback",
        "/connection",
        "/test",
        "/status/x",
        "/runs",
        "/<thing>",
    ],
)
def test_routes_on_core_names_are_refused_at_start_up(app: Flask, rule: str) -> None:
    taken = Blueprint("taken", __name__)
    taken.add_url_rule(rule, "view", lambda **kw: "")

    class Greedy:
        @hub.hookimpl
        def register_routes(self, register: Any) -> None:
            register(taken)

    get_plugins(app).add(Greedy(), "greedy")
    with pytest.raises(ConfigError, match=r"plugin 'greedy': route /api/integrations/greedy/"):
        mount(app, "greedy")


def test_hook_health_check(api: Any, notebook: Notebook) -> None:
    api.put(f"/api/integrations/{NAME}", json={})
    report = api.post(f"/api/integrations/{NAME}/test").json
    assert report["health"] == {"ok": True, "message": "acme-studio ok", "details": {}}
    assert ("health_check", "acme-studio") in notebook.calls


def test_hook_send_test_message(api: Any, org: Any, notebook: Notebook) -> None:
    api.put(f"/api/integrations/{NAME}", json={})
    report = api.post(f"/api/integrations/{NAME}/test").json
    assert report["test_message"] == {"ok": True, "message": "a note"}
    assert ("send_test_message", org.admin.email) in notebook.calls
    assert [c[0] for c in notebook.calls] == ["health_check", "send_test_message"]


def test_hook_on_integration_enabled(
    app: Flask, api: Any, notebook: Notebook, plugin_context: Any
) -> None:
    api.put(f"/api/integrations/{NAME}", json={})
    event = api.get("/api/events?type=integration.enabled").json["items"][0]
    ctx = plugin_context(NAME)
    info = hub.EventInfo(event["id"], event["type"], ctx.org.id, hub.now(), event["data"])
    get_plugins(app).dispatch(
        NAME, "on_integration_enabled", ctx=ctx, event=info, integration=event["data"]
    )
    slug, event_id, integration = notebook.calls[-1][1]
    assert (slug, event_id) == ("acme-studio", event["id"])
    assert integration["plugin"] == NAME and integration["enabled"] is True


def test_a_public_route_can_disable_its_integration(
    app: Flask, api: Any, client: Any, org: Any, notebook: Notebook
) -> None:
    api.put(f"/api/integrations/{NAME}", json={})
    _set_account(app, org.id, "T-ACME")
    with app.app_context():
        row = db.session.scalar(select(Integration))
        row.secrets = {**row.secrets, "oauth.access_token": "v1:x:y"}
        db.session.commit()
    answer = client.post(f"/api/integrations/{NAME}/uninstalled/T-ACME")
    assert answer.json == {"disabled": "acme-studio"}
    shown = api.get(f"/api/integrations/{NAME}").json
    assert shown["enabled"] is False and shown["disabled_reason"] == "The app was uninstalled."
    assert shown["connected"] is False and shown["external_account_id"] is None
    events = api.get("/api/events?type=integration.disabled").json["items"]
    assert [e["data"]["disabled_reason"] for e in events] == ["The app was uninstalled."]


def test_a_job_reports_refused_credentials_and_saving_the_config_enables_it_again(
    app: Flask, api: Any, org: Any, notebook: Notebook
) -> None:
    """hub.report_needs_reauth: what a hook raising NeedsReauth does, for a job; a plugin
    without OAuth is enabled again by saving its config (its new credentials)."""
    assert api.put(f"/api/integrations/{NAME}", json={}).status_code == 200
    with app.app_context():
        ctx = hub.context_for(NAME, org.id)
        assert ctx is not None
        refused = hub.NeedsReauth("The provider refused the key.")
        assert hub.report_needs_reauth(ctx, refused) is True
        assert hub.report_needs_reauth(ctx, refused) is False  # once
        db.session.commit()
        assert hub.context_for(NAME, org.id) is None  # jobs find no working integration
    shown = api.get(f"/api/integrations/{NAME}").json
    assert shown["status"] == "needs_reauth" and shown["enabled"] is True
    events = api.get("/api/events?type=integration.needs_reauth").json["items"]
    assert [e["data"]["reason"] for e in events] == ["The provider refused the key."]
    assert api.put(f"/api/integrations/{NAME}", json={}).status_code == 200
    assert api.get(f"/api/integrations/{NAME}").json["status"] == "enabled"
    assert len(api.get("/api/events?type=integration.needs_reauth").json["items"]) == 1
