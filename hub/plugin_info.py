"""What an installed plugin is, as data: served by ``GET /api/plugins`` and ``hub plugins``."""

from __future__ import annotations

import dataclasses
from typing import Any

import marshmallow

from hub.plugins import Plugins
from hub.provider import ConsolePage, OAuth2, Provider


def describe_all(plugins: Plugins) -> list[dict[str, Any]]:
    return [describe(plugins, name) for name in plugins.names()]


def describe(plugins: Plugins, name: str) -> dict[str, Any]:
    """What ``GET /api/plugins`` and ``hub plugins --json`` say of one plugin.

    Keys:
        name: The plugin's name (its entry point): what admins enable.
        title: What admins see.
        description: One line on what it does.
        version: The plugin's version: its Provider's, else its distribution's.
        distribution: The distribution that installed it (``mycelium-<name>``);
            ``mycelium-hub`` for built-ins, null for one from ``HUB_EXTRA_PLUGINS``.
        distribution_version: That distribution's version.
        builtin: Whether it ships with the hub.
        always_on: Whether it is enabled for every organization, never disabled.
        hooks: The hooks it implements, sorted.
        auth: ``{"kind": "none" | "credentials" | "oauth2"}``; for OAuth 2.0 also
            ``scopes``, ``pkce``, ``authorize_url_setting``, ``token_url_setting``,
            ``revoke_url_setting`` and ``extra_authorize_params``.
        events: The event types it handles (``Provider.events``).
        event_types: Its own event types, with their descriptions.
        config: Its config fields: ``name``, ``type`` (the marshmallow field),
            ``kind`` (its JSON type: ``string``, ``integer``, ``number``, ``boolean``,
            ``array`` or ``object``), ``required``, ``secret``, ``description``,
            ``default`` (null when none, or not plain JSON), ``enum`` (the allowed values
            of a one-of field, else null), ``many`` (a list of values), ``nullable`` and
            ``max_length`` (of a length-limited field, else null).
        rate_limits: Its quota per organization (``per_second`` to ``per_day``), or null.
        settings: Its settings: ``name``, ``default`` (null for a secret), ``secret``.
        console_pages: The admin console pages it adds (``register_console_pages``):
            ``name``, ``title``, ``description``, ``source`` (the API path of the table's
            GET route, or null), ``columns`` (``[{"field", "label"}]``), ``form``
            (``{"method", "path", "title"}``, or null; ``GET /api/plugins`` adds its
            ``fields``, described like ``config``), ``item`` (the API path of the GET route
            that fills the form, or null), ``preview`` (``{"method", "path"}``, or null) and
            ``key`` (the item field a ``<key>`` in those paths stands for, or null).
    """
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
        "console_pages": [_page(name, page) for page in plugins.console_pages(name)],
    }


def _page(plugin: str, page: ConsolePage) -> dict[str, Any]:
    base = f"/api/integrations/{plugin}/"
    return {
        "name": page.name,
        "title": page.title,
        "description": page.description,
        "source": base + page.source.lstrip("/") if page.source else None,
        "columns": [{"field": field, "label": label} for field, label in page.columns],
        "form": {**_route(base, page.form), "title": page.form_title} if page.form else None,
        "item": base + page.item.lstrip("/") if page.item else None,
        "preview": _route(base, page.preview) if page.preview else None,
        "key": page.key or None,
    }


def _route(base: str, declared: str) -> dict[str, str]:
    method, _, route = declared.partition(" ")
    return {"method": method, "path": base + route.lstrip("/")}


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
    """The config schema's fields, as a form is drawn from them: name, type, required,
    secret, description, default, enum, many, nullable."""
    if schema is None:
        return []
    return [
        {
            "name": name,
            "type": type(field).__name__,
            "kind": _kind(field),
            "required": field.required,
            "secret": bool(field.metadata.get("secret")),
            "description": field.metadata.get("description", ""),
            "default": _plain_default(field),
            "enum": _choices(field),
            "many": isinstance(field, marshmallow.fields.List),
            "nullable": bool(field.allow_none),
            "max_length": _max_length(field),
        }
        for name, field in schema().fields.items()
        if not field.dump_only
    ]


_KINDS: tuple[tuple[type[marshmallow.fields.Field], str], ...] = (
    (marshmallow.fields.Boolean, "boolean"),
    (marshmallow.fields.Integer, "integer"),
    (marshmallow.fields.Number, "number"),
    (marshmallow.fields.List, "array"),
    (marshmallow.fields.Tuple, "array"),
    (marshmallow.fields.Dict, "object"),
    (marshmallow.fields.Nested, "object"),
)


def _kind(field: marshmallow.fields.Field) -> str:
    """The JSON type a field takes (a subclass of Boolean takes a boolean, and so on)."""
    return next((kind for cls, kind in _KINDS if isinstance(field, cls)), "string")


def _plain_default(field: marshmallow.fields.Field) -> Any:
    """The field's load default when it is a plain JSON value (not a callable, not missing)."""
    default = field.load_default
    plain = (str, int, float, bool, list, dict)
    return default if isinstance(default, plain) and not callable(default) else None


def _max_length(field: marshmallow.fields.Field) -> int | None:
    """The longest value a length validator allows (a form draws a long text as a text area)."""
    lengths = [v.max for v in field.validators if isinstance(v, marshmallow.validate.Length)]
    return min((n for n in lengths if n is not None), default=None)


def _choices(field: marshmallow.fields.Field) -> list[Any] | None:
    """The values a one-of validator allows (of a list's items too), else None."""
    inner = field.inner if isinstance(field, marshmallow.fields.List) else field
    for validator in inner.validators:
        if isinstance(validator, marshmallow.validate.OneOf):
            return list(validator.choices)
    return None
