"""Per-organization integrations: enable with a validated config, secrets, change, disable."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, fields, validate
from sqlalchemy import select, text

import hub
from hub.core.models import Event, Integration
from hub.extensions import db

NAME = "acmecrm"


class CrmConfig(Schema):
    base_url = fields.Url(required=True)
    api_key = fields.String(required=True, metadata={"secret": True})
    webhook_token = fields.String(metadata={"secret": True})
    channel = fields.String(load_default="general", validate=validate.Length(min=1, max=40))


class CrmPlugin:
    """A plugin with a secret config field, a health check and a test message."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.health = hub.HealthResult(ok=True, message="reachable")

    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name=NAME, title="Acme CRM", config_schema=CrmConfig))

    @hub.hookimpl
    def health_check(self, ctx: hub.PluginContext) -> hub.HealthResult:
        if isinstance(self.health, Exception):
            raise self.health
        return self.health

    @hub.hookimpl
    def send_test_message(self, ctx: hub.PluginContext, user: dict[str, Any] | None) -> str:
        self.sent.append((ctx.org.slug, ctx.config["channel"], ctx.secret("api_key"), user))
        return f"sent to #{ctx.config['channel']}"


class CheckedCrm(CrmPlugin):
    """Tests its config against the (pretend) server before it is saved."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[dict[str, Any], bool]] = []

    @hub.hookimpl
    def check_config(self, config: dict[str, Any], settings: Any) -> None:
        self.seen.append((dict(config), db.session().in_transaction()))
        if "refused" in config["base_url"]:
            raise hub.ValidationError("The server refused.", {"base_url": ["Unknown account."]})


class AlwaysOn:
    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name="builtin_audit", title="Audit", always_on=True))


@pytest.fixture
def crm(register_plugin: Any) -> CrmPlugin:
    plugin = CrmPlugin()
    register_plugin(plugin, NAME)
    return plugin


GOOD = {"base_url": "https://crm.example.com", "api_key": "sk_live_CLEARTEXT123"}


def _events(app: Any, type_: str) -> list[Event]:
    with app.app_context():
        return list(db.session.scalars(select(Event).where(Event.type == type_)))


def test_list_shows_every_installed_plugin_for_this_org(api: Any, crm: CrmPlugin) -> None:
    items = {item["plugin"]: item for item in api.get("/api/integrations").json["items"]}
    assert items[NAME]["enabled"] is False
    assert items[NAME]["status"] == "disabled"
    assert items[NAME]["config"] == {"api_key": {"set": False}, "webhook_token": {"set": False}}
    assert items[NAME]["consecutive_errors"] == 0
    assert items[NAME]["last_error"] is None


def test_put_enables_and_never_returns_secrets(app: Any, api: Any, crm: CrmPlugin) -> None:
    response = api.put(f"/api/integrations/{NAME}", json=GOOD)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["enabled"] is True and body["status"] == "enabled"
    assert body["config"] == {
        "base_url": "https://crm.example.com",
        "channel": "general",
        "api_key": {"set": True},
        "webhook_token": {"set": False},
    }
    assert "CLEARTEXT" not in response.get_data(as_text=True)
    assert "CLEARTEXT" not in api.get(f"/api/integrations/{NAME}").get_data(as_text=True)
    enabled = _events(app, "integration.enabled")
    assert len(enabled) == 1 and enabled[0].payload["plugin"] == NAME
    assert "CLEARTEXT" not in str(enabled[0].payload)


def test_raw_row_holds_no_clear_text(app: Any, api: Any, crm: CrmPlugin) -> None:
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    with app.app_context():
        raw = db.session.execute(text("SELECT config, secrets FROM integrations")).one()
    assert "CLEARTEXT" not in str(raw)
    assert "api_key" in str(raw.secrets)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"base_url": "https://crm.example.com"}, "api_key"),
        ({**GOOD, "base_url": "not a url"}, "base_url"),
        ({**GOOD, "channel": ""}, "channel"),
        ({**GOOD, "surprise": 1}, "surprise"),
        ({**GOOD, "api_key": 42}, "api_key"),
    ],
)
def test_bad_config_is_400_naming_the_field_and_changes_nothing(
    app: Any, api: Any, crm: CrmPlugin, body: dict[str, Any], field: str
) -> None:
    response = api.put(f"/api/integrations/{NAME}", json=body)
    assert response.status_code == 400
    assert field in response.json["error"]["details"]
    with app.app_context():
        assert db.session.scalar(select(Integration)) is None
    assert _events(app, "integration.enabled") == []


def test_patch_keeps_secrets_unless_given(app: Any, api: Any, crm: CrmPlugin, plugin_context: Any):
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    response = api.patch(f"/api/integrations/{NAME}", json={"channel": "ops"})
    assert response.status_code == 200, response.json
    assert response.json["config"]["channel"] == "ops"
    assert plugin_context(NAME).secret("api_key") == "sk_live_CLEARTEXT123"
    api.patch(f"/api/integrations/{NAME}", json={"api_key": "sk_new"})
    assert plugin_context(NAME).secret("api_key") == "sk_new"
    bad = api.patch(f"/api/integrations/{NAME}", json={"base_url": "nope"})
    assert bad.status_code == 400 and "base_url" in bad.json["error"]["details"]
    assert plugin_context(NAME).config["base_url"] == "https://crm.example.com"


def test_put_again_may_omit_stored_secrets(api: Any, crm: CrmPlugin, plugin_context: Any) -> None:
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    response = api.put(f"/api/integrations/{NAME}", json={"base_url": "https://b.example.com"})
    assert response.status_code == 200, response.json
    assert response.json["config"]["api_key"] == {"set": True}
    assert plugin_context(NAME).secret("api_key") == GOOD["api_key"]


def test_patch_before_put_is_404(api: Any, crm: CrmPlugin) -> None:
    assert api.patch(f"/api/integrations/{NAME}", json={"channel": "x"}).status_code == 404


def test_delete_disables_and_emits_once(app: Any, api: Any, crm: CrmPlugin) -> None:
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    response = api.delete(f"/api/integrations/{NAME}")
    assert response.status_code == 200
    assert response.json["enabled"] is False and response.json["status"] == "disabled"
    assert api.delete(f"/api/integrations/{NAME}").status_code == 200
    disabled = _events(app, "integration.disabled")
    assert len(disabled) == 1 and disabled[0].payload["plugin"] == NAME
    again = api.put(f"/api/integrations/{NAME}", json={"base_url": "https://crm.example.com"})
    assert again.json["enabled"] is True  # the stored secret is kept through a disable
    assert len(_events(app, "integration.enabled")) == 2


def test_unknown_plugin_is_404(api: Any) -> None:
    for method in ("get", "put", "patch", "delete"):
        assert getattr(api, method)("/api/integrations/nosuch", json={}).status_code == 404
    assert api.post("/api/integrations/nosuch/test").status_code == 404


def test_members_read_but_only_admins_change(member_api: Any, crm: CrmPlugin) -> None:
    assert member_api.get(f"/api/integrations/{NAME}").status_code == 200
    assert member_api.put(f"/api/integrations/{NAME}", json=GOOD).status_code == 403
    assert member_api.patch(f"/api/integrations/{NAME}", json={}).status_code == 403
    assert member_api.delete(f"/api/integrations/{NAME}").status_code == 403
    assert member_api.post(f"/api/integrations/{NAME}/test").status_code == 403


def test_other_org_cannot_see_or_change(api: Any, other_api: Any, crm: CrmPlugin) -> None:
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    theirs = other_api.get(f"/api/integrations/{NAME}").json
    assert theirs["enabled"] is False and theirs["config"]["api_key"] == {"set": False}
    assert other_api.patch(f"/api/integrations/{NAME}", json={"channel": "x"}).status_code == 404
    assert other_api.delete(f"/api/integrations/{NAME}").status_code == 404
    assert api.get(f"/api/integrations/{NAME}").json["enabled"] is True


def test_always_on_plugins(api: Any, register_plugin: Any) -> None:
    register_plugin(AlwaysOn(), "builtin_audit")
    item = api.get("/api/integrations/builtin_audit").json
    assert item["enabled"] is True and item["always_on"] is True
    assert api.delete("/api/integrations/builtin_audit").status_code == 409
    result = api.post("/api/integrations/builtin_audit/test").json
    assert result == {
        "health": {"ok": None, "message": "This plugin has no health check."},
        "test_message": None,
    }


def test_test_runs_health_then_message_to_the_callers_user(
    api: Any, org: Any, crm: CrmPlugin
) -> None:
    assert api.post(f"/api/integrations/{NAME}/test").status_code == 409  # not enabled
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    response = api.post(f"/api/integrations/{NAME}/test")
    assert response.status_code == 200
    assert response.json == {
        "health": {"ok": True, "message": "reachable", "details": {}},
        "test_message": {"ok": True, "message": "sent to #general"},
    }
    slug, channel, secret, user = crm.sent[0]
    assert (slug, channel, secret) == (org.org.slug, "general", GOOD["api_key"])
    assert user["email"] == org.admin.email
    # the check is kept: the integration shows it, alone and in the list
    shown = api.get(f"/api/integrations/{NAME}").json["health"]
    assert (shown["ok"], shown["message"]) == (True, "reachable") and shown["checked_at"]
    listed = {i["plugin"]: i for i in api.get("/api/integrations").json["items"]}
    assert listed[NAME]["health"] == shown


def test_test_turns_plugin_errors_into_results(api: Any, crm: CrmPlugin) -> None:
    api.put(f"/api/integrations/{NAME}", json=GOOD)
    crm.health = hub.NeedsReauth("The API key was revoked.")
    report = api.post(f"/api/integrations/{NAME}/test").json
    assert report["health"] == {
        "ok": False,
        "message": "The API key was revoked.",
        "error": "needs_reauth",
    }
    shown = api.get(f"/api/integrations/{NAME}").json
    assert shown["health"]["ok"] is False
    assert shown["health"]["message"] == "NeedsReauth: The API key was revoked."
    assert shown["consecutive_errors"] == 1  # it counts, like a scheduled check's failure
    crm.health = ZeroDivisionError("boom")
    report = api.post(f"/api/integrations/{NAME}/test").json
    assert report["health"]["ok"] is False
    assert report["health"]["error"] == "plugin_error"
    assert report["test_message"]["ok"] is True
    assert api.get(f"/api/integrations/{NAME}").json["health"]["message"] == (
        "ZeroDivisionError: boom"
    )


def test_enable_plugin_fixture(enable_plugin: Any, api: Any, crm: CrmPlugin) -> None:
    shown = enable_plugin(NAME, GOOD)
    assert shown["enabled"] is True and shown["config"]["api_key"] == {"set": True}
    assert api.get(f"/api/integrations/{NAME}").json["enabled"] is True


def test_hook_check_config(app: Any, api: Any, register_plugin: Any) -> None:
    plugin = CheckedCrm()
    register_plugin(plugin, NAME)
    refused = api.put(f"/api/integrations/{NAME}", json={**GOOD, "base_url": "https://refused.io"})
    assert refused.status_code == 400
    assert refused.json["error"]["details"] == {"base_url": ["Unknown account."]}
    assert api.get(f"/api/integrations/{NAME}").json["enabled"] is False  # nothing saved

    assert api.put(f"/api/integrations/{NAME}", json=GOOD).status_code == 200
    assert api.patch(f"/api/integrations/{NAME}", json={"channel": "ops"}).status_code == 200
    # the PATCH is checked merged with what is stored, the kept secret in clear
    assert plugin.seen[-1][0] == {**GOOD, "channel": "ops"}
    assert [open_ for _, open_ in plugin.seen] == [False, False, False]  # no lock held

    checked = len(plugin.seen)
    bad_schema = api.patch(f"/api/integrations/{NAME}", json={"base_url": "not a url"})
    assert bad_schema.status_code == 400 and "base_url" in bad_schema.json["error"]["details"]
    assert len(plugin.seen) == checked  # the schema refused it before the hook was asked
    refused = api.patch(f"/api/integrations/{NAME}", json={"base_url": "https://refused.io"})
    assert refused.status_code == 400
    assert api.get(f"/api/integrations/{NAME}").json["config"]["channel"] == "ops"  # unchanged
