"""The emulated Google OAuth 2.0 server: consent, the token endpoint, revocation.

As Google does: a refresh token only with ``access_type=offline`` (again only with
``prompt=consent``), PKCE checked when a challenge was sent, refreshes that answer a new
access token and no refresh token, ``invalid_grant`` for a refresh token revoked or unknown,
and a revoked refresh token taking its access tokens with it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

ACCESS_SECONDS = 3599


@dataclass
class Grant:
    scope: str
    redirect_uri: str
    challenge: str | None
    offline: bool
    consent: bool


@dataclass
class OAuthServer:
    client_id: str
    client_secret: str
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, str | None] = field(default_factory=dict)  # token -> refresh
    refresh_tokens: set[str] = field(default_factory=set)
    consented: bool = False  # the account consented once already
    authorizations: list[dict[str, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deny_next: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    def authorize(self, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """The consent page, approved at once (or denied once after ``deny_next``)."""
        self.authorizations.append(dict(params))
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request"}
        redirect = params.get("redirect_uri") or ""
        state = {"state": params["state"]} if "state" in params else {}
        if self.deny_next:
            self.deny_next = False
            return (
                302,
                {"Location": f"{redirect}?{urlencode({'error': 'access_denied', **state})}"},
                b"",
            )
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            return 400, {}, {"error": "invalid_request", "error_description": "S256 only here."}
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            scope=params.get("scope", ""),
            redirect_uri=redirect,
            challenge=params.get("code_challenge"),
            offline=params.get("access_type") == "offline",
            consent=params.get("prompt") == "consent",
        )
        query = urlencode({"code": code, "scope": params.get("scope", ""), **state})
        return 302, {"Location": f"{redirect}?{query}"}, b""

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, Any]:
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        grant = form.get("grant_type")
        self.counts[grant or "?"] = self.counts.get(grant or "?", 0) + 1
        if grant == "authorization_code":
            return self._exchange(form)
        if grant == "refresh_token":
            return self._refresh(form.get("refresh_token") or "")
        return 400, {"error": "unsupported_grant_type"}

    def _exchange(self, form: dict[str, str]) -> tuple[int, Any]:
        grant = self.codes.pop(form.get("code") or "", None)
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        if (
            grant.challenge is not None
            and _s256(form.get("code_verifier") or "") != grant.challenge
        ):
            return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        refresh = None
        if grant.offline and (grant.consent or not self.consented):
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh_tokens.add(refresh)
        self.consented = True
        body = self._access(refresh, grant.scope)
        return 200, {**body, **({"refresh_token": refresh} if refresh else {})}

    def _refresh(self, refresh: str) -> tuple[int, Any]:
        if refresh not in self.refresh_tokens:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
        return 200, self._access(refresh, "https://www.googleapis.com/auth/calendar.events")

    def _access(self, refresh: str | None, scope: str) -> dict[str, Any]:
        access = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[access] = refresh
        return {
            "access_token": access,
            "expires_in": ACCESS_SECONDS,
            "scope": scope,
            "token_type": "Bearer",
        }

    def revoke(self, token: str) -> tuple[int, Any]:
        if token in self.refresh_tokens:
            self.refresh_tokens.discard(token)
            for access in [a for a, r in self.access_tokens.items() if r == token]:
                del self.access_tokens[access]
        elif token in self.access_tokens:
            del self.access_tokens[token]
        else:
            return 400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
        self.revoked.append(token)
        return 200, {}

    def valid(self, header: str | None) -> bool:
        return bool(header) and str(header).removeprefix("Bearer ") in self.access_tokens


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
