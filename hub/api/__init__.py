"""The REST API: thin blueprints that parse, call the core, and render."""

from __future__ import annotations

from flask import Blueprint, Flask

from hub.api import (
    clients,
    deliverables,
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
    plugins,
    integrations,
):
    api.register_blueprint(module.bp)


def init_app(app: Flask) -> None:
    errors.init_app(app)
    app.register_blueprint(api)
    plugin_routes.init_app(app)
