"""OAuth 2.0 connections: connect, the provider's callback, and disconnect."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import marshmallow
import redis
from flask import Blueprint, current_app, redirect, request
from werkzeug.wrappers import Response

from hub.api.auth import caller
from hub.api.routing import endpoint
from hub.core import connections, integrations, oauth
from hub.core.db import set_read_mode
from hub.errors import Conflict, NotFound
from hub.extensions import db, get_redis
from hub.plugins import get_plugins
from hub.provider import Provider

bp = Blueprint("connections", __name__)


class AuthUrlSchema(marshmallow.Schema):
    auth_url = marshmallow.fields.String(required=True)


class CallbackQuery(marshmallow.Schema):
    """What a provider's redirect carries (RFC 6749 4.1.2); providers add more, kept aside."""

    class Meta:
        unknown = marshmallow.EXCLUDE

    state = marshmallow.fields.String()
    code = marshmallow.fields.String()
    error = marshmallow.fields.String()
    error_description = marshmallow.fields.String()


class DisconnectedSchema(marshmallow.Schema):
    plugin = marshmallow.fields.String(required=True)
    connected = marshmallow.fields.Boolean(required=True)
    revoked = marshmallow.fields.Boolean(
        required=True, metadata={"description": "Whether the provider confirmed the revocation."}
    )


def _provider(name: str) -> Provider:
    provider = get_plugins().provider(name)
    if provider is None:
        raise NotFound(f"No plugin named {name!r} is installed.", {"name": ["Unknown plugin."]})
    return provider


def _back_to_client(**params: str) -> Response:
    base = current_app.config["HUB_CLIENT_URL"].rstrip("/")
    return redirect(f"{base}/settings/integrations?{urlencode(params)}", code=302)


@bp.get("/integrations/<plugin:name>/connect")
@endpoint("Start connecting: the provider's authorize URL", response=AuthUrlSchema, role="admin")
def connect(name: str) -> dict[str, Any]:
    provider = _provider(name)
    who = caller()
    url = oauth.start(
        get_redis(),
        current_app.config,
        provider,
        org_id=who.org.id,
        api_key_id=who.key.id,
        user_id=who.user.id if who.user else None,
    )
    return {"auth_url": url}


@bp.get("/integrations/<plugin:name>/callback")
@endpoint(
    "The provider's redirect after consent (a browser; the state proves who asked)",
    query=CallbackQuery,
    public=True,
    redirect=True,
)
def callback(name: str, query: dict[str, Any]) -> Response:
    set_read_mode(False)  # this GET writes: take the SQLite write lock when it begins
    provider = get_plugins().provider(name)
    if provider is None or provider.oauth2 is None:  # no provider sends anyone here: a typo
        raise NotFound(
            f"No installed plugin named {name!r} connects with OAuth 2.0.",
            {"name": ["Not an OAuth 2.0 plugin."]},
        )
    args = {key: request.args.get(key, "") for key in ("state", "code", "error")}
    try:
        connections.complete(
            db.session,
            get_redis(),
            current_app.extensions["hub.keyring"],
            current_app.config,
            provider,
            args,
        )
    except oauth.FlowFailed as exc:
        db.session.rollback()
        return _back_to_client(error=exc.code)
    except redis.RedisError:
        return _back_to_client(error="temporarily_unavailable")
    return _back_to_client(success=name)


@bp.delete("/integrations/<plugin:name>/connection")
@endpoint(
    "Disconnect: revoke at the provider and forget the tokens",
    response=DisconnectedSchema,
    role="admin",
)
def disconnect(name: str) -> dict[str, Any]:
    provider = _provider(name)
    row = integrations.find(db.session, caller().org.id, name)
    if row is None:
        raise NotFound(f"{provider.title} is not set up for this organization.")
    if provider.oauth2 is None:
        raise Conflict(f"{provider.title} does not connect with OAuth 2.0; disable it instead.")
    keyring = current_app.extensions["hub.keyring"]
    revoked = connections.disconnect(db.session, keyring, current_app.config, provider, row)
    return {"plugin": name, "connected": False, "revoked": revoked}
