"""What an installed plugin is, as data: served by ``GET /api/plugins`` and ``hub plugins``."""

from __future__ import annotations

import dataclasses
from typing import Any

import marshmallow

from hub.plugins import Plugins
from hub.provider import OAuth2, Provider


def describe_all(plugins: Plugins) -> list[dict[str, Any]]:
    return [describe(plugins, name) for name in plugins.names()]


def describe(plugins: Plugins, name: str) -> dict[str, Any]:
    """Name, title, version, distribution, hooks, auth, events, config fields, rate limits."""
    info = plugins.info[name]
    provider = plugins.provider(name)
    from hub import __version__

    return {
        "name": name,
        "title": provider.title if provider else name,
        "description": provider.description if provider else "",
        "version": (provider.version if provider else "") or info.version or __version__,
        "distribution": info.distribution,
        "distribution_version": info.version or (__version__ if info.builtin else None),
        "builtin": info.builtin,
        "always_on": bool(provider and provider.always_on),
        "hooks": plugins.hooks_of(name),
        **_provider_data(provider),
    }


def _provider_data(provider: Provider | None) -> dict[str, Any]:
    if provider is None:
        return {
            "auth": {"kind": "none"},
            "events": [],
            "event_types": {},
            "config": [],
            "rate_limits": None,
            "settings": [],
        }
    limits = provider.rate_limits
    return {
        "auth": _auth(provider.auth, provider.oauth2),
        "events": list(provider.events),
        "event_types": dict(provider.event_types),
        "config": config_fields(provider.config_schema),
        "rate_limits": dataclasses.asdict(limits) if limits else None,
        "settings": [
            {"name": s.name, "default": None if s.secret else s.default, "secret": s.secret}
            for s in provider.settings
        ],
    }


def _auth(kind: str, oauth2: OAuth2 | None) -> dict[str, Any]:
    if oauth2 is None:
        return {"kind": kind}
    return {
        "kind": kind,
        "scopes": list(oauth2.scopes),
        "pkce": oauth2.pkce,
        "authorize_url_setting": oauth2.authorize_url_setting,
        "token_url_setting": oauth2.token_url_setting,
        "revoke_url_setting": oauth2.revoke_url_setting,
        "extra_authorize_params": dict(oauth2.extra_authorize_params),
    }


def config_fields(schema: type[marshmallow.Schema] | None) -> list[dict[str, Any]]:
    """The config schema's fields: name, type, required, secret, description."""
    if schema is None:
        return []
    return [
        {
            "name": name,
            "type": type(field).__name__,
            "required": field.required,
            "secret": bool(field.metadata.get("secret")),
            "description": field.metadata.get("description", ""),
        }
        for name, field in schema().fields.items()
        if not field.dump_only
    ]
