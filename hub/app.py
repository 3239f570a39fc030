"""The application factory."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from hub import api, console, jobs
from hub.config import load_config
from hub.core import connections, runs, webhooks
from hub.core.crypto import KeyRing
from hub.core.events import CORE_EVENT_TYPES
from hub.core.keyfiles import read_or_create
from hub.extensions import init_db, init_redis
from hub.plugins import Plugins
from hub.provider import Provider


def configure_logging(level: str) -> None:
    """Structured-ish logs on stderr, so stdout is left to what commands print."""
    root = logging.getLogger()
    if not any(getattr(h, "_hub", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s level=%(levelname)s logger=%(name)s pid=%(process)d %(message)s"
            )
        )
        handler._hub = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)


class LazyBuilderRule(Rule):
    """A URL rule whose URL builders are compiled when a URL is first built from it.

    Werkzeug compiles two builder functions (Python source made from an AST) for every rule
    as it is added: two thirds of ``create_app``'s time for the hub's hundred-odd rules,
    paid again by every CLI command and test app, though most rules never build a URL
    (``url_for``). Matching requests is unchanged; a builder, compiled on first use,
    replaces its stand-in on the rule.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        name = "_build_unknown" if append_unknown else "_build"

        def build(rule: Rule, *args: Any, **values: Any) -> Any:
            real = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, name, real)
            return real(*args, **values)

        return build


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A hub app; `config` overrides settings from the environment (tests pass theirs)."""
    settings = load_config(overrides=config)
    configure_logging(settings["HUB_LOG_LEVEL"])
    app = Flask(__name__)
    app.url_rule_class = LazyBuilderRule
    app.config.update(settings)
    var = Path(settings["HUB_VAR_DIR"])
    app.config["SECRET_KEY"] = settings["HUB_SECRET_KEY"] or read_or_create(
        var / "secret_key", lambda: secrets.token_urlsafe(48)
    )
    app.config["MAX_CONTENT_LENGTH"] = settings["HUB_MAX_BODY_BYTES"]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings["HUB_DATABASE_URL"].startswith("sqlite:///"):
        Path(settings["HUB_DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    init_db(app)
    init_redis(app)
    app.extensions["hub.keyring"] = KeyRing.from_settings(settings["HUB_ENCRYPTION_KEYS"], var)
    init_plugins(app)
    connections.init_app(app)  # rate limits and usage records for ctx.http and the API
    runs.init_app(app)  # committed events handed to the workers
    webhooks.init_app(app)  # the pump kicked when an app context ends
    jobs.init_app(app)  # the core's recurring jobs (hub/jobs.py's table)
    api.init_app(app)
    console.init_app(app)
    return app


def init_plugins(app: Flask) -> None:
    """Load plugins; add their settings (env or default) and event types to the app."""
    plugins = Plugins(app.config["HUB_LOAD_PLUGINS"], app.config.get("HUB_EXTRA_PLUGINS", ()))
    app.extensions["hub.plugins"] = plugins
    app.extensions["hub.event_types"] = dict(CORE_EVENT_TYPES)
    for provider in plugins.providers.values():
        apply_provider(app, provider)


def apply_provider(app: Flask, provider: Provider) -> None:
    """A provider's event types and settings (environment, else its default) join the app's."""
    app.extensions["hub.event_types"].update(provider.event_types)
    derived = []
    for setting in provider.settings:
        if setting.name in app.config:
            continue
        if setting.name not in os.environ and "{" in (setting.default or ""):
            derived.append(setting)
        app.config[setting.name] = os.environ.get(setting.name, setting.default)
    for setting in derived:  # a default built on other settings, once those are known
        app.config[setting.name] = str(setting.default).format_map(app.config)
