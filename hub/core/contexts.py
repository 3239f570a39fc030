"""Building the PluginContext a hook receives, the same way in web requests and workers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import requests

from hub.context import PluginContext
from hub.core.db import AnySession
from hub.core.models import Integration, Organization
from hub.errors import NotFound


class AppLike(Protocol):
    """What a context needs of the app (a Flask app; the core does not import Flask)."""

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def extensions(self) -> dict[str, Any]: ...


class TimeoutSession(requests.Session):
    """A requests session whose calls time out after `timeout` seconds unless told otherwise."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def http_session(settings: Mapping[str, Any]) -> requests.Session:
    """The session behind ``ctx.http`` (timeouts from HUB_HTTP_TIMEOUT)."""
    return TimeoutSession(float(settings.get("HUB_HTTP_TIMEOUT") or 10.0))


def build_context(app: AppLike, session: AnySession, integration: Integration) -> PluginContext:
    """The context for `integration`'s plugin, for one organization."""
    provider = app.extensions["hub.plugins"].provider(integration.plugin)
    if provider is None:
        raise NotFound(f"The plugin {integration.plugin!r} is not installed.")
    org = session.get(Organization, integration.org_id)
    if org is None:
        raise NotFound(f"No organization with id {integration.org_id}.")
    return PluginContext(
        session=session,
        org=org,
        integration=integration,
        provider=provider,
        keyring=app.extensions["hub.keyring"],
        settings=app.config,
        http=http_session(app.config),
        redis=app.extensions.get("hub.redis"),
    )
