"""Plugins' blueprints, mounted at /api/integrations/<name>/ behind API-key auth."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask, current_app, g, request

from hub.api.auth import authenticate, refuse_blocked_client
from hub.api.routing import EndpointDoc, check_path_ids, refuse_query
from hub.errors import ConfigError
from hub.plugins import CORE_ROUTE_NAMES, get_plugins
from hub.web import PUBLIC_MARK, ROLE_MARK, SCHEMA_MARK

ENDPOINTS = "hub.plugin_endpoints"  # app.extensions: endpoint -> plugin name


def prefix(name: str) -> str:
    return f"/api/integrations/{name}"


def mount(app: Flask, name: str) -> None:
    """Register `name`'s blueprints; a route on a core name or a variable first segment
    stops start-up naming it."""
    before = set(app.view_functions)
    for blueprint in get_plugins(app).routes(name):
        app.register_blueprint(
            blueprint, url_prefix=prefix(name), name=f"plugin_{name}__{blueprint.name}"
        )
    added = set(app.view_functions) - before
    for rule in [r for r in app.url_map.iter_rules() if r.endpoint in added]:
        _check_rule(name, rule.rule)
    for endpoint in added:
        _describe(app.view_functions[endpoint], name)
    app.extensions[ENDPOINTS].update(dict.fromkeys(added, name))


def _describe(view: Any, name: str) -> None:
    """OpenAPI metadata for a plugin view: what `api_route` declared (else its docstring),
    its role marks, tagged with the plugin's name."""
    if getattr(view, "endpoint_doc", None) is not None:
        return
    declared: EndpointDoc | None = getattr(view, SCHEMA_MARK, None)
    if declared is None:
        declared = EndpointDoc((view.__doc__ or view.__name__).strip().splitlines()[0])
    view.endpoint_doc = dataclasses.replace(
        declared,
        public=bool(getattr(view, PUBLIC_MARK, False)),
        role=getattr(view, ROLE_MARK, "member"),
        tags=[name],
    )


def _check_rule(name: str, rule: str) -> None:
    first = rule.removeprefix(prefix(name)).lstrip("/").split("/")[0]
    if first in CORE_ROUTE_NAMES or first.startswith("<"):
        raise ConfigError(
            f"plugin {name!r}: route {rule} is refused: the first segment under "
            f"{prefix(name)}/ must be fixed and not one of the core's "
            f"({', '.join(sorted(CORE_ROUTE_NAMES))})"
        )


def _guard() -> None:
    """Before a plugin's view: API-key auth and org scoping, unless the view is public."""
    name = request.endpoint and _endpoints().get(request.endpoint)
    if not name:
        return
    view = current_app.view_functions[request.endpoint or ""]
    g.hub_plugin = name
    if getattr(view, PUBLIC_MARK, False):
        refuse_blocked_client()  # the plugin verifies a signature: guessing one is limited
    else:
        authenticate(getattr(view, ROLE_MARK, None))
    check_path_ids(request.view_args or {})
    if getattr(view, SCHEMA_MARK, None) is None:  # api_route's own wrapper checks the rest
        refuse_query()


def _endpoints() -> dict[str, str]:
    return current_app.extensions[ENDPOINTS]


def init_app(app: Flask) -> None:
    app.extensions[ENDPOINTS] = {}
    app.before_request(_guard)
    for name in get_plugins(app).names():
        mount(app, name)
