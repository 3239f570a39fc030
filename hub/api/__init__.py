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
    me,
    openapi,
    org,
    plugin_routes,
    plugins,
    runs,
    status,
    users,
    webhooks,
)

api = Blueprint("api", __name__, url_prefix="/api")

# runs and webhooks before any /integrations/<name> route: those names are the core's.
for module in (
    runs,
    webhooks,
    me,
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
    app.json = encoding.HubJSONProvider(app)
    errors.init_app(app)
    app.register_blueprint(api)
    app.register_blueprint(status.metrics_bp)
    plugin_routes.init_app(app)
