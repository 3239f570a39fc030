"""The REST API: thin blueprints that parse, call the core, and render."""

from __future__ import annotations

from flask import Blueprint, Flask

from hub.api import (
    clients,
    connections,
    deliverables,
    encoding,
    errors,
    events,
    health,
    integrations,
    keycache,
    keys,
    limits,
    me,
    openapi,
    org,
    plugin_routes,
    plugins,
    routing,
    runs,
    session,
    status,
    users,
    webhooks,
)

api = Blueprint("api", __name__, url_prefix="/api")

# /integrations/<plugin:name> never matches the core's own names (runs, webhooks, status...).
for module in (
    runs,
    webhooks,
    me,
    session,
    keys,
    org,
    users,
    clients,
    deliverables,
    events,
    health,
    openapi,
    connections,
    status,
    plugins,
    integrations,
):
    api.register_blueprint(module.bp)


def init_app(app: Flask) -> None:
    app.url_map.converters["plugin"] = routing.PluginNameConverter
    app.extensions["hub.keycache"] = keycache.KeyCache()
    app.json = encoding.HubJSONProvider(app)
    app.after_request(encoding.no_content_no_type)
    app.before_request(limits.refuse_oversized_chunked_body)
    errors.init_app(app)
    app.register_blueprint(api)
    app.register_blueprint(status.metrics_bp)
    plugin_routes.init_app(app)
