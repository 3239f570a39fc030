"""The standard OAuth 2.0 refresh grant, for every provider that does not bring its own."""

from __future__ import annotations

from hub.context import PluginContext
from hub.core.connections.oauth import refresh_grant
from hub.plugins import hookimpl
from hub.provider import Token


@hookimpl(trylast=True)
def refresh_token(ctx: PluginContext, token: Token) -> Token | None:
    """POST ``grant_type=refresh_token`` to the provider's token endpoint.

    A provider plugin's own ``refresh_token`` runs first; this answers when it returns
    None. No refresh token (or no OAuth 2.0): None, so the caller keeps the token it has.
    """
    if ctx.provider.oauth2 is None or not token.refresh_token:
        return None
    # A built-in plugin: it may read the settings mapping the core gave the context.
    return refresh_grant(ctx._settings, ctx.provider, token.refresh_token)
