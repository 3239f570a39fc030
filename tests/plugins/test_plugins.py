"""The plugin manager: discovery, HUB_LOAD_PLUGINS, the typed facade, introspection, CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
from marshmallow import Schema, fields

import hub
from hub.cli import main
from hub.errors import ConfigError
from hub.plugins import PluginInfo, Plugins, get_plugins, hook_for_event

DIST = "mycelium-fakecrm"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two installed distributions with `mycelium` entry points, on sys.path for this test."""
    site = tmp_path / "site"
    _distribution(site, "fakecrm", DIST, "2.3.1", PLUGIN_SOURCE)
    _distribution(site, "fakechat", "mycelium-fakechat", "0.1.0", CHAT_SOURCE)
    monkeypatch.syspath_prepend(str(site))
    yield site
    for module in ("mycelium_fakecrm", "mycelium_fakechat"):
        sys.modules.pop(module, None)


def _distribution(site: Path, name: str, dist: str, version: str, source: str) -> None:
    package = site / f"mycelium_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[mycelium]\n{name} = mycelium_{name}\n")


PLUGIN_SOURCE = """
import hub
from marshmallow import Schema, fields


class Config(Schema):
    url = fields.Url(required=True, metadata={"description": "Where the CRM lives."})
    token = fields.String(required=True, metadata={"secret": True})


@hub.hookimpl
def register_providers(register):
    register(hub.Provider(
        name="fakecrm", title="Fake CRM", description="A CRM for tests.", version="2.3.1",
        config_schema=Config, auth="credentials", events=("client.created",),
        rate_limits=hub.RateLimits(per_minute=60),
    ))


@hub.hookimpl
def on_client_created(ctx, event, client):
    pass
"""

CHAT_SOURCE = """
import hub


@hub.hookimpl
def register_providers(register):
    register(hub.Provider(
        name="fakechat", title="Fake Chat", auth="oauth2",
        oauth2=hub.OAuth2("CHAT_AUTHORIZE_URL", "CHAT_TOKEN_URL", "CHAT_ID", "CHAT_SECRET",
                          scopes=("chat:write",), pkce=False),
    ))
"""


def test_entry_points_are_discovered_with_their_distribution(installed: Path) -> None:
    plugins = Plugins()
    assert {"fakecrm", "fakechat"} <= set(plugins.names())
    assert plugins.info["fakecrm"].distribution == DIST
    assert plugins.info["fakecrm"].version == "2.3.1"
    assert plugins.provider("fakecrm").title == "Fake CRM"


def test_a_plugin_installed_or_removed_after_the_first_app_is_seen_by_the_next(
    installed: Path,
) -> None:
    """Discovery is read once per state of sys.path: a distribution added to or removed
    from a folder already on it changes that folder, and the next app sees it."""
    assert "fakenotes" not in Plugins().names()  # read, and kept for this sys.path
    _distribution(installed, "fakenotes", "mycelium-fakenotes", "1.0.0", NOTES_SOURCE)
    try:
        plugins = Plugins()
        assert "fakenotes" in plugins.names()
        assert plugins.info["fakenotes"].distribution == "mycelium-fakenotes"
        assert plugins.info["fakenotes"].version == "1.0.0"
        info = installed / "mycelium_fakenotes-1.0.0.dist-info"
        for path in info.iterdir():
            path.unlink()
        info.rmdir()
        assert "fakenotes" not in Plugins().names()
    finally:
        sys.modules.pop("mycelium_fakenotes", None)


NOTES_SOURCE = """
import hub


@hub.hookimpl
def register_providers(register):
    register(hub.Provider(name="fakenotes", title="Fake Notes"))
"""


def test_hub_load_plugins_chooses_which_installed_plugins_load(installed: Path) -> None:
    plugins = Plugins(load=("fakecrm",))
    assert "fakecrm" in plugins.names() and "fakechat" not in plugins.names()
    defaults = [name for name, info in Plugins().info.items() if info.builtin]
    assert set(defaults) <= set(plugins.names())  # default plugins always load


def test_hub_load_plugins_naming_an_unknown_plugin_stops_start_up(
    installed: Path, make_app: Any
) -> None:
    with pytest.raises(ConfigError, match=r"HUB_LOAD_PLUGINS names nosuch, not installed"):
        make_app(HUB_LOAD_PLUGINS="fakecrm,nosuch")


def test_a_plugin_that_fails_to_import_is_named(installed: Path) -> None:
    (installed / "mycelium_fakechat" / "__init__.py").write_text("raise RuntimeError('oops')")
    with pytest.raises(ConfigError, match=r"plugin 'fakechat' failed to import"):
        Plugins()


class Named:
    def __init__(self, name: str) -> None:
        self.name = name

    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name=self.name, title=self.name))


@pytest.mark.parametrize(
    "name", ["status", "runs", "analytics", "roi", "connect", "Bad-Name", "webhooks", ""]
)
def test_plugin_names_that_would_shadow_core_routes_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        Plugins().add(Named(name), name)


def test_a_provider_must_carry_its_plugins_name() -> None:
    plugins = Plugins()
    with pytest.raises(ConfigError, match="must register a Provider named 'alpha'"):
        plugins.add(Named("beta"), "alpha")
    assert "alpha" not in plugins.names()


def test_unknown_hook_implementations_are_refused() -> None:
    class Typo:
        @hub.hookimpl
        def on_client_creatd(self, ctx: Any) -> None: ...

    with pytest.raises(ConfigError, match="typo"):
        Plugins().add(Typo(), "typo")


def test_hook_for_event_maps_types_to_hooks() -> None:
    assert hook_for_event("client.created") == "on_client_created"
    assert hook_for_event("deliverable.due_soon") == "on_deliverable_due"
    assert hook_for_event("deliverable.overdue") == "on_deliverable_overdue"
    assert hook_for_event("file.uploaded") == "on_file_uploaded"


def test_event_hooks_and_dispatch_call_one_plugin() -> None:
    calls: list[tuple[str, Any]] = []

    class Listener:
        def __init__(self, name: str) -> None:
            self.name = name

        @hub.hookimpl
        def on_client_created(self, client: Any) -> None:
            calls.append((self.name, client))

    plugins = Plugins()
    plugins.add(Listener("one"), "one")
    plugins.add(Listener("two"), "two")
    assert plugins.event_hooks("one", "client.created") == ["on_client_created"]
    assert plugins.event_hooks("one", "client.deleted") == []
    plugins.dispatch("two", "on_client_created", ctx=None, event=None, client={"id": 7})
    assert calls == [("two", {"id": 7})]
    with pytest.raises(ValueError, match="not an event hook"):
        plugins.dispatch("two", "health_check", ctx=None)


def test_facade_checks_what_plugins_return() -> None:
    class Sloppy:
        @hub.hookimpl
        def health_check(self) -> Any:
            return "fine"

        @hub.hookimpl
        def refresh_token(self) -> Any:
            return {"access_token": "x"}

    class Honest:
        @hub.hookimpl
        def health_check(self) -> Any:
            return False

    plugins = Plugins()
    plugins.add(Sloppy(), "sloppy")
    plugins.add(Honest(), "honest")
    with pytest.raises(TypeError, match="'sloppy': health_check returned str"):
        plugins.health_check("sloppy", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="refresh_token returned dict"):
        plugins.refresh_token("sloppy", None, hub.Token("a"))  # type: ignore[arg-type]
    assert plugins.health_check("honest", None) == hub.HealthResult(ok=False)  # type: ignore[arg-type]
    assert plugins.health_check("nobody", None) is None  # type: ignore[arg-type]


def test_hook_refresh_token() -> None:
    class Owner:
        @hub.hookimpl
        def refresh_token(self, token: hub.Token) -> hub.Token | None:
            return hub.Token("owned") if token.access_token == "mine" else None

    class Standard:
        @hub.hookimpl
        def refresh_token(self, token: hub.Token) -> hub.Token | None:
            return hub.Token("standard")

    plugins = Plugins()
    plugins.add(Owner(), "owner")
    plugins.add(Standard(), "standard", PluginInfo("standard", "mycelium-hub", None, True))
    plugins.add(Owner(), "bystander")
    ctx: Any = SimpleNamespace(provider=SimpleNamespace(oauth2=None))
    assert plugins.refresh_token("owner", ctx, hub.Token("mine")) == hub.Token("owned")
    assert plugins.refresh_token("owner", ctx, hub.Token("other")) == hub.Token("standard")


def test_hook_register_jobs() -> None:
    class Jobs:
        def __init__(self, cron: str) -> None:
            self.cron = cron

        @hub.hookimpl
        def register_jobs(self, register: Any) -> None:
            register("digest", self.cron, lambda: None)

    plugins = Plugins()
    plugins.add(Jobs("0 9 * * *"), "jobs")
    assert [(j.plugin, j.name, j.cron) for j in plugins.jobs() if j.plugin == "jobs"] == [
        ("jobs", "digest", "0 9 * * *")
    ]
    plugins.add(Jobs("every day"), "badjobs")
    with pytest.raises(ConfigError, match="'badjobs': job 'digest' has a bad cron"):
        plugins.jobs()


def test_hook_register_models(tmp_path: Path) -> None:
    class Tables:
        def __init__(self, path: Path) -> None:
            self.path = path

        @hub.hookimpl
        def register_models(self, register: Any) -> None:
            register(self.path)

    plugins = Plugins()
    plugins.add(Tables(tmp_path), "tables")
    assert tmp_path in plugins.migration_dirs()
    plugins.add(Tables(tmp_path / "missing"), "gone")
    with pytest.raises(ConfigError, match="'gone': migrations folder"):
        plugins.migration_dirs()


def test_hook_register_providers(app: Any, register_plugin: Any) -> None:
    class Declares:
        @hub.hookimpl
        def register_providers(self, register: Any) -> None:
            register(
                hub.Provider(
                    name="declares",
                    title="Declares",
                    config_schema=TempConfig,
                    event_types={"declares.pinged": "A ping arrived."},
                    settings=(hub.Setting("DECLARES_API_BASE", "https://api.declares.example"),),
                )
            )

    register_plugin(Declares(), "declares")
    provider = get_plugins(app).provider("declares")
    assert provider is not None and provider.title == "Declares"
    assert app.config["DECLARES_API_BASE"] == "https://api.declares.example"
    assert app.extensions["hub.event_types"]["declares.pinged"] == "A ping arrived."


def test_api_plugins_lists_metadata(installed: Path, make_app: Any, org: Any) -> None:
    app = make_app()
    response = app.test_client().get(
        "/api/plugins", headers={"Authorization": f"Bearer {org.member_key}"}
    )
    assert response.status_code == 200
    described = {p["name"]: p for p in response.json["items"]}
    crm = described["fakecrm"]
    assert crm["title"] == "Fake CRM" and crm["description"] == "A CRM for tests."
    assert (crm["version"], crm["distribution"]) == ("2.3.1", DIST)
    assert crm["hooks"] == ["on_client_created", "register_providers"]
    assert crm["auth"] == {"kind": "credentials"}
    assert crm["events"] == ["client.created"]
    assert crm["rate_limits"] == {
        "per_second": None,
        "per_minute": 60,
        "per_hour": None,
        "per_day": None,
    }
    plain = {"default": None, "enum": None, "many": False, "nullable": False, "max_length": None}
    assert crm["config"] == [
        {
            "name": "url",
            "type": "Url",
            "kind": "string",
            "required": True,
            "secret": False,
            "description": "Where the CRM lives.",
            **plain,
        },
        {
            "name": "token",
            "type": "String",
            "kind": "string",
            "required": True,
            "secret": True,
            "description": "",
            **plain,
        },
    ]
    chat = described["fakechat"]["auth"]
    assert chat["kind"] == "oauth2" and chat["scopes"] == ["chat:write"] and chat["pkce"] is False
    assert app.test_client().get("/api/plugins").status_code == 401


def test_cli_plugins_table_and_json(installed: Path, make_app: Any) -> None:
    app = make_app()
    runner = app.test_cli_runner()
    table = runner.invoke(main, ["plugins"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "DISTRIBUTION", "AUTH", "EVENTS", "HOOKS"]
    row = next(line for line in lines if line.startswith("fakecrm"))
    assert row.split()[:5] == ["fakecrm", "2.3.1", DIST, "credentials", "1"]
    assert row.endswith("on_client_created, register_providers")
    as_json = runner.invoke(main, ["plugins", "--json"])
    assert as_json.exit_code == 0
    data = {p["name"]: p for p in json.loads(as_json.output)}
    assert data["fakechat"]["auth"]["kind"] == "oauth2"


def test_hook_register_commands(app: Any, register_plugin: Any) -> None:
    @click.command("count-orgs")
    def count_orgs() -> None:
        """Print how many organizations exist."""
        from sqlalchemy import func, select

        from hub.core.models import Organization

        click.echo(str(hub.db_session().scalar(select(func.count(Organization.id)))))

    class WithCommands:
        @hub.hookimpl
        def register_providers(self, register: Any) -> None:
            register(hub.Provider(name="tools", title="Tools"))

        @hub.hookimpl
        def register_commands(self, register: Any) -> None:
            register(count_orgs)

    register_plugin(WithCommands(), "tools")
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["tools", "count-orgs"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0"
    assert "tools" in runner.invoke(main, ["--help"]).output
    assert get_plugins(app).commands("tools") == [count_orgs]


class ProviderOnly:
    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name="temp", title="Temp", config_schema=TempConfig))


class TempConfig(Schema):
    note = fields.String()


def test_register_plugin_fixture_cleans_up(app: Any, register_plugin: Any) -> None:
    register_plugin(ProviderOnly(), "temp")
    assert "temp" in get_plugins(app).names()


def test_every_description_has_the_same_shape(installed: Path) -> None:
    from hub.plugin_info import describe_all

    plugins = Plugins()
    plugins.add(HooksOnly(), "hooks_only")  # a plugin without a Provider
    shapes = {name: set(d) for name, d in zip(plugins.names(), describe_all(plugins), strict=True)}
    assert len({frozenset(keys) for keys in shapes.values()}) == 1, shapes


class HooksOnly:
    @hub.hookimpl
    def on_event(self, event: Any) -> None: ...
