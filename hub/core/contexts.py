"""Building the PluginContext a hook receives, the same way in web requests and workers."""

from __future__ import annotations

from typing import Any, Protocol

import requests

from hub.context import PluginContext
from hub.core import tokens
from hub.core.db import AnySession
from hub.core.http import provider_session
from hub.core.models import Integration, Organization
from hub.errors import NotFound


class AppLike(Protocol):
    """What a context needs of the app (a Flask app; the core does not import Flask)."""

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def extensions(self) -> dict[str, Any]: ...


def build_context(app: AppLike, session: AnySession, integration: Integration) -> PluginContext:
    """The context for `integration`'s plugin, for one organization."""
    provider = app.extensions["hub.plugins"].provider(integration.plugin)
    if provider is None:
        raise NotFound(f"The plugin {integration.plugin!r} is not installed.")
    org = session.get(Organization, integration.org_id)
    if org is None:
        raise NotFound(f"No organization with id {integration.org_id}.")
    org_id = org.id

    def http() -> requests.Session:
        # an OAuth provider's 401 is answered by one refresh of this integration's token
        renew = (lambda rejected: tokens.renew_rejected(ctx, rejected)) if provider.oauth2 else None
        return provider_session(app.config, app.extensions, org_id, provider, renew)

    ctx = PluginContext(
        session=session,
        org=org,
        integration=integration,
        provider=provider,
        keyring=app.extensions["hub.keyring"],
        settings=app.config,
        http=http,
        redis=app.extensions.get("hub.redis"),
        recorder=app.extensions.get("hub.usage"),
    )
    return ctx
