"""OAuth 2.0 connections: connect, the provider's callback, and disconnect."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import marshmallow
import redis
from flask import Blueprint, current_app, redirect, request
from werkzeug.wrappers import Response

from hub.api.auth import caller
from hub.api.routing import endpoint
from hub.core.connections import connect as connections
from hub.core.connections import integrations, oauth, oauth_browser, tokens
from hub.core.connections.context import build_context
from hub.core.models import Integration
from hub.errors import Conflict, NotFound
from hub.extensions import db, get_redis
from hub.plugins import get_plugins
from hub.provider import Provider

bp = Blueprint("connections", __name__)
log = logging.getLogger(__name__)


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


class AuthorizeQuery(marshmallow.Schema):
    """The launch URL's one parameter: the state `connect` made."""

    # a launch URL without one is still a browser page: it redirects with ?error=invalid_state
    state = marshmallow.fields.String(load_default="")


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
@endpoint(
    "Start connecting: the URL to open in the admin's browser (the hub's, then the provider's)",
    response=AuthUrlSchema,
    role="admin",
)
def connect(name: str) -> dict[str, Any]:
    provider = _provider(name)
    who = caller()
    url = oauth_browser.start(
        get_redis(),
        current_app.config,
        provider,
        org_id=who.org.id,
        api_key_id=who.key.id,
        user_id=who.user.id if who.user else None,
    )
    return {"auth_url": url}


def _oauth_provider(name: str) -> Provider:
    """The installed plugin `name` that connects with OAuth 2.0; 404 for any other name
    (no hub page or provider links to one: it is a typo)."""
    provider = get_plugins().provider(name)
    if provider is None or provider.oauth2 is None:
        raise NotFound(
            f"No installed plugin named {name!r} connects with OAuth 2.0.",
            {"name": ["Not an OAuth 2.0 plugin."]},
        )
    return provider


@bp.get("/integrations/<plugin:name>/authorize")
@endpoint(
    "The auth_url: binds the flow to this browser (a cookie), then redirects to the provider",
    query=AuthorizeQuery,
    public=True,
    redirect=True,
)
def authorize(name: str, query: dict[str, Any]) -> Response:
    provider = _oauth_provider(name)
    try:
        launch = oauth_browser.launch(get_redis(), current_app.config, provider, query["state"])
    except oauth.FlowFailed as exc:
        return _back_to_client(error=exc.code)
    except redis.RedisError:
        return _back_to_client(error="temporarily_unavailable")
    response = redirect(launch.provider_url, code=302)
    response.set_cookie(
        oauth_browser.COOKIE,
        launch.state,
        max_age=launch.max_age,
        path=launch.cookie_path,
        secure=launch.secure,
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back to the callback
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/integrations/<plugin:name>/callback")
@endpoint(
    "The provider's redirect after consent (a browser; the state proves who asked)",
    query=CallbackQuery,
    public=True,
    redirect=True,
)
def callback(name: str, query: dict[str, Any]) -> Response:
    provider = _oauth_provider(name)
    args = {key: request.args.get(key, "") for key in ("state", "code", "error")}
    try:
        # before the state is used up: a forged callback leaves the real flow intact
        oauth_browser.check_browser(args["state"], request.cookies.get(oauth_browser.COOKIE))
    except oauth.FlowFailed as exc:
        return _back_to_client(error=exc.code)
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
        return _forget_flow(_back_to_client(error=exc.code), name)
    except redis.RedisError:
        return _back_to_client(error="temporarily_unavailable")
    return _forget_flow(_back_to_client(success=name), name)


def _forget_flow(response: Response, name: str) -> Response:
    """The flow's cookie has served (or failed): the browser drops it."""
    path = oauth_browser.cookie_path(name)
    response.delete_cookie(oauth_browser.COOKIE, path=path, httponly=True, samesite="Lax")
    return response


def _prepare_disconnect(name: str, row: Integration) -> None:
    """The plugin's clean-up at the provider while the tokens still work; never blocks."""
    plugins = get_plugins()
    if not tokens.is_connected(row) or not plugins.implements(name, "prepare_disconnect"):
        return
    ctx = build_context(current_app, db.session, row)
    db.session.commit()  # no transaction held while the provider answers
    try:
        plugins.prepare_disconnect(name, ctx)
        db.session.commit()  # what the plugin recorded of its clean-up
    except Exception:
        db.session.rollback()
        log.exception("%s: prepare_disconnect failed; disconnecting anyway", name)


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
    _prepare_disconnect(name, row)
    keyring = current_app.extensions["hub.keyring"]
    revoked = connections.disconnect(db.session, keyring, current_app.config, provider, row)
    return {"plugin": name, "connected": False, "revoked": revoked}
