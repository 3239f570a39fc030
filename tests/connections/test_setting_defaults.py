"""A setting's default may be built on other settings (``{NAME}``): the environment still
wins, and pointing the base elsewhere moves what hangs off it."""

from __future__ import annotations

from flask import Flask

from hub.app import apply_provider
from hub.provider import Provider, Setting

PROVIDER = Provider(
    name="derived",
    title="Derived",
    settings=(
        Setting("DERIVED_API_BASE", "https://api.example.com", "Base."),
        Setting("DERIVED_TOKEN_URL", "{DERIVED_API_BASE}/oauth2/token", "Token endpoint."),
    ),
)


def _app(config: dict[str, str]) -> Flask:
    app = Flask(__name__)
    app.extensions["hub.event_types"] = {}
    app.config.update(config)
    apply_provider(app, PROVIDER)
    return app


def test_a_default_is_built_from_the_settings_it_names(monkeypatch):
    monkeypatch.delenv("DERIVED_API_BASE", raising=False)
    monkeypatch.delenv("DERIVED_TOKEN_URL", raising=False)
    assert _app({}).config["DERIVED_TOKEN_URL"] == "https://api.example.com/oauth2/token"
    moved = _app({"DERIVED_API_BASE": "http://127.0.0.1:5000"})
    assert moved.config["DERIVED_TOKEN_URL"] == "http://127.0.0.1:5000/oauth2/token"
    monkeypatch.setenv("DERIVED_API_BASE", "http://127.0.0.1:6000")
    assert _app({}).config["DERIVED_TOKEN_URL"] == "http://127.0.0.1:6000/oauth2/token"


def test_the_environment_or_the_config_still_wins(monkeypatch):
    monkeypatch.setenv("DERIVED_TOKEN_URL", "https://tokens.example.com/t")
    assert _app({}).config["DERIVED_TOKEN_URL"] == "https://tokens.example.com/t"
    configured = _app({"DERIVED_TOKEN_URL": "http://x.test/t"})
    assert configured.config["DERIVED_TOKEN_URL"] == "http://x.test/t"
