"""Connections: an organization's integration of a plugin (``integrations``,
``integration_rows``), connecting it (``connect``, ``oauth``, ``oauth_browser``), its
tokens (``tokens``), the PluginContext the core builds for it (``context``), calls to the
provider (``http``) and their usage records (``usage``), and keeping it healthy (``upkeep``,
``health``, ``checks``).
"""

from __future__ import annotations

from hub.core.connections.context import AppLike
from hub.core.connections.usage import UsageRecorder
from hub.core.ratelimit import Limiter, parse_api_limit


def init_app(app: AppLike) -> None:
    """The hook points ``ctx.http`` calls (``hub.quota``: the org x provider rate limit;
    ``hub.usage``: the usage recorder) and the API's per-key limit (``hub.limiter``)."""
    limiter = Limiter(
        app.extensions["hub.redis"],
        parse_api_limit(str(app.config["HUB_API_RATE_LIMIT"])),
        parse_api_limit(str(app.config["HUB_AUTH_FAIL_LIMIT"])),
    )
    app.extensions["hub.limiter"] = limiter
    app.extensions["hub.quota"] = limiter.check_provider
    app.extensions["hub.usage"] = UsageRecorder(app.extensions["hub.redis"])
