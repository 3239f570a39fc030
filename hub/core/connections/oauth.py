"""OAuth 2.0 authorization-code flow, the same for every provider that declares one.

Provider quirks are data on :class:`hub.OAuth2` (scope separator, extra authorize
parameters, client authentication, a token response parser, the revoke style), never
branches here. State lives in Redis: 256 random bits, single use (GETDEL), ten minutes,
bound to the organization, API key and user that asked; the PKCE verifier stays with it.
Starting a flow and binding it to the admin's browser: :mod:`hub.core.connections.oauth_browser`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import redis
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from hub.core import clock
from hub.errors import Conflict, NeedsReauth, PermanentError, RateLimited, ServiceUnavailable
from hub.provider import OAuth2, Provider, Token

log = logging.getLogger(__name__)

STATE_PREFIX = "hub:oauth:state:"
STATE_TTL_SECONDS = 600
STANDARD_FIELDS = ("access_token", "refresh_token", "expires_in", "scope", "token_type")


class TokenRefused(PermanentError):
    """The provider's token endpoint refused the request; ``error`` is its OAuth code."""

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(message or f"The provider refused the token request: {error}.")
        self.error = error


class FlowFailed(Exception):
    """The callback cannot complete; ``code`` goes back to the front end as ``?error=``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class FlowState:
    """Who started a connect flow, kept in Redis under the state value."""

    plugin: str
    org_id: int
    api_key_id: int
    user_id: int | None
    code_verifier: str | None
    created_at: float


def error_code(value: Any, default: str = "token_exchange_failed") -> str:
    """A provider's error as a safe query value (letters, digits, ``_ . -``)."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", value):
        return value
    return default


def oauth2_of(provider: Provider) -> OAuth2:
    if provider.oauth2 is None:
        raise Conflict(f"{provider.title} does not connect with OAuth 2.0.")
    return provider.oauth2


def client_credentials(settings: Mapping[str, Any], oauth: OAuth2) -> tuple[str, str | None]:
    client_id = settings.get(oauth.client_id_setting)
    if not client_id:
        raise Conflict(
            f"{oauth.client_id_setting} is not set: the hub has no OAuth app for this provider.",
            {"setting": [oauth.client_id_setting]},
        )
    return str(client_id), settings.get(oauth.client_secret_setting) or None


def redirect_uri(settings: Mapping[str, Any], plugin: str) -> str:
    return f"{str(settings['HUB_APP_URL']).rstrip('/')}/api/integrations/{plugin}/callback"


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def authorize_url(
    settings: Mapping[str, Any], provider: Provider, state: str, verifier: str | None
) -> str:
    """The provider's authorize URL for a flow (its PKCE challenge made from `verifier`)."""
    oauth = oauth2_of(provider)
    client_id, _ = client_credentials(settings, oauth)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri(settings, provider.name),
        "state": state,
    }
    if oauth.scopes:
        params["scope"] = oauth.scope_separator.join(oauth.scopes)
    if verifier is not None:
        params["code_challenge"] = create_s256_code_challenge(verifier)
        params["code_challenge_method"] = "S256"
    params.update(oauth.extra_authorize_params)
    return _with_query(str(settings[oauth.authorize_url_setting]), params)


def take_state(client: redis.Redis, state: str | None, plugin: str) -> FlowState:
    """The flow a state names, consumed: unknown, reused, expired or another plugin's fail."""
    if not state or len(state) > 128:
        raise FlowFailed("invalid_state")
    return _valid_flow(client.getdel(STATE_PREFIX + state), plugin)


def peek_state(client: redis.Redis, state: str | None, plugin: str) -> FlowState:
    """The flow a state names, left in place; FlowFailed as for :func:`take_state`."""
    if not state or len(state) > 128:
        raise FlowFailed("invalid_state")
    return _valid_flow(client.get(STATE_PREFIX + state), plugin)


def _valid_flow(raw: Any, plugin: str) -> FlowState:
    if raw is None:
        raise FlowFailed("invalid_state")
    flow = FlowState(**json.loads(raw))
    age = clock.now().timestamp() - flow.created_at
    if flow.plugin != plugin or not 0 <= age <= STATE_TTL_SECONDS:
        raise FlowFailed("invalid_state")
    return flow


def _client_auth(
    settings: Mapping[str, Any], oauth: OAuth2, form: dict[str, str]
) -> tuple[str, str] | None:
    """Add the client's credentials to ``form`` or return them for HTTP Basic."""
    client_id, secret = client_credentials(settings, oauth)
    if oauth.token_endpoint_auth == "client_secret_basic" and secret:
        return (client_id, secret)
    form["client_id"] = client_id
    if secret:
        form["client_secret"] = secret
    return None


def _post(
    settings: Mapping[str, Any], url: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    """A short request to a provider's OAuth endpoint; unreachable means retry later."""
    timeout = float(settings.get("HUB_HTTP_TIMEOUT") or 10)
    headers = {"Accept": "application/json", **(headers or {})}
    try:
        return requests.post(url, timeout=timeout, allow_redirects=False, headers=headers, **kwargs)
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"The provider's OAuth endpoint is unreachable: {exc}") from exc


def _retry_after(response: requests.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "60")))
    except ValueError:
        return 60.0


def request_token(settings: Mapping[str, Any], provider: Provider, form: dict[str, str]) -> Token:
    """POST to the token endpoint and parse the answer into a :class:`Token`."""
    oauth = oauth2_of(provider)
    auth = _client_auth(settings, oauth, form)
    response = _post(settings, str(settings[oauth.token_url_setting]), data=form, auth=auth)
    if response.status_code == 429:
        raise RateLimited(_retry_after(response), "The provider's token endpoint is busy.")
    if response.status_code >= 500:
        raise ServiceUnavailable(f"The provider's token endpoint answered {response.status_code}.")
    try:
        data = response.json()
    except ValueError:
        raise TokenRefused("invalid_token_response") from None
    if not isinstance(data, dict):
        raise TokenRefused("invalid_token_response")
    if response.status_code >= 400 or ("error" in data and oauth.parse_token_response is None):
        raise TokenRefused(error_code(data.get("error"), "invalid_request"))
    return with_expiry(parse_token(oauth, data))


def parse_token(oauth: OAuth2, data: dict[str, Any]) -> Token:
    """The provider's parser when it has one (errors in a 200 body), else RFC 6749."""
    if oauth.parse_token_response is None:
        return standard_token(oauth, data)
    try:
        return oauth.parse_token_response(data)
    except NeedsReauth:
        raise
    except Exception as exc:
        log.info("token response refused by the provider's parser: %s", exc)
        raise TokenRefused(error_code(data.get("error"), "invalid_token_response")) from exc


def standard_token(oauth: OAuth2, data: dict[str, Any]) -> Token:
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenRefused("invalid_token_response")
    account = data.get(oauth.account_id_field) if oauth.account_id_field else None
    expires_in = data.get("expires_in")
    return Token(
        access_token=access,
        refresh_token=data.get("refresh_token") or None,
        scope=data.get("scope"),
        token_type=str(data.get("token_type") or "bearer"),
        external_account_id=str(account) if account is not None else None,
        extra={f: data[f] for f in oauth.keep_fields if data.get(f) is not None},
        expires_in=int(expires_in) if isinstance(expires_in, (int, float, str)) else None,
    )


def with_expiry(token: Token) -> Token:
    """Turn a relative ``expires_in`` into ``expires_at`` on the hub's clock."""
    if token.expires_at is None and token.expires_in:
        return replace(token, expires_at=clock.now() + timedelta(seconds=int(token.expires_in)))
    return token


def exchange_code(
    settings: Mapping[str, Any], provider: Provider, code: str, verifier: str | None
) -> Token:
    """Trade the authorization code (and PKCE verifier) for tokens."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings, provider.name),
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    return request_token(settings, provider, form)


def refresh_grant(settings: Mapping[str, Any], provider: Provider, refresh_token: str) -> Token:
    """The standard refresh grant (RFC 6749 section 6)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return request_token(settings, provider, form)


def revoke(settings: Mapping[str, Any], provider: Provider, token: Token) -> bool:
    """Revoke at the provider where it has a revoke URL; whether it said yes."""
    oauth = oauth2_of(provider)
    url = settings.get(oauth.revoke_url_setting) if oauth.revoke_url_setting else None
    if not url:
        return False
    try:
        response = _revoke_request(settings, oauth, str(url), token)
    except ServiceUnavailable as exc:
        log.warning("revoking a %s token failed: %s", provider.name, exc)
        return False
    return response.status_code < 400


def _revoke_request(
    settings: Mapping[str, Any], oauth: OAuth2, url: str, token: Token
) -> requests.Response:
    if oauth.revoke_style == "bearer":
        return _post(settings, url, headers={"Authorization": f"Bearer {token.access_token}"})
    hint = "refresh_token" if token.refresh_token else "access_token"
    form = {"token": token.refresh_token or token.access_token, "token_type_hint": hint}
    auth = _client_auth(settings, oauth, form)
    return _post(settings, url, data=form, auth=auth)
