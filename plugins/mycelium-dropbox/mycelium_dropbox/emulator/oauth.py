"""The emulated Dropbox OAuth 2: consent, ``/oauth2/token`` and ``/2/auth/token/revoke``.

As Dropbox does: a refresh token only with ``token_access_type=offline``; PKCE checked
when a challenge was sent (the secret may then be left out); access tokens that live four
hours (``expires_in: 14400``) and name the account (``account_id``, ``uid``); refreshes that
answer an access token and no new refresh token; ``invalid_grant`` for a refresh token
revoked or unknown; revocation by the access token as a Bearer header.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

ACCESS_SECONDS = 14400
ACCOUNT_ID = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"
UID = "12345"


@dataclass
class Grant:
    scope: str
    redirect_uri: str
    challenge: str | None
    offline: bool


@dataclass
class OAuthServer:
    client_id: str
    client_secret: str
    account_id: str = ACCOUNT_ID
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, str | None] = field(default_factory=dict)  # token -> refresh
    expired: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    authorizations: list[dict[str, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def authorize(self, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """The consent page, approved at once."""
        self.authorizations.append(dict(params))
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return 400, {}, "Invalid client_id or response_type."
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            return 400, {}, "code_challenge_method must be S256 here."
        redirect = params.get("redirect_uri") or ""
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            scope=params.get("scope", ""),
            redirect_uri=redirect,
            challenge=params.get("code_challenge"),
            offline=params.get("token_access_type") == "offline",
        )
        state = {"state": params["state"]} if "state" in params else {}
        return 302, {"Location": f"{redirect}?{urlencode({'code': code, **state})}"}, b""

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, Any]:
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        grant = form.get("grant_type") or "?"
        self.counts[grant] = self.counts.get(grant, 0) + 1
        if client_id != self.client_id or (secret is not None and secret != self.client_secret):
            return 400, {
                "error": "invalid_client",
                "error_description": "Invalid client_id or secret",
            }
        if grant == "authorization_code":
            return self._exchange(form, secret is not None)
        if grant == "refresh_token":
            if secret is None:
                return 400, {"error": "invalid_request", "error_description": "No client secret"}
            return self._refresh(form.get("refresh_token") or "")
        return 400, {"error": "unsupported_grant_type"}

    def _exchange(self, form: dict[str, str], has_secret: bool) -> tuple[int, Any]:
        grant = self.codes.pop(form.get("code") or "", None)
        if grant is None or grant.redirect_uri != (form.get("redirect_uri") or ""):
            return 400, {
                "error": "invalid_grant",
                "error_description": "code doesn't exist or has expired",
            }
        if grant.challenge is not None:
            if _s256(form.get("code_verifier") or "") != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "invalid code verifier"}
        elif not has_secret:
            return 400, {"error": "invalid_request", "error_description": "No auth provided"}
        refresh = None
        if grant.offline:
            refresh = secrets.token_urlsafe(48)
            self.refresh_tokens.add(refresh)
        body = self._access(refresh, grant.scope)
        body.update(account_id=self.account_id, uid=UID)
        return 200, {**body, **({"refresh_token": refresh} if refresh else {})}

    def _refresh(self, refresh: str) -> tuple[int, Any]:
        if refresh not in self.refresh_tokens:
            return 400, {
                "error": "invalid_grant",
                "error_description": "refresh token is invalid or revoked",
            }
        return 200, self._access(refresh, None)

    def _access(self, refresh: str | None, scope: str | None) -> dict[str, Any]:
        access = "sl.u." + secrets.token_urlsafe(48)
        self.access_tokens[access] = refresh
        body: dict[str, Any] = {"access_token": access, "expires_in": ACCESS_SECONDS}
        body["token_type"] = "bearer"
        if scope is not None:
            body["scope"] = scope
        return body

    def check(self, header: str | None) -> str | None:
        """The AuthError tag refusing this ``Authorization`` header; None when it is valid."""
        token = str(header or "").removeprefix("Bearer ").strip()
        if token in self.expired:
            return "expired_access_token"
        return None if token in self.access_tokens else "invalid_access_token"

    def revoke(self, header: str | None) -> None:
        token = str(header or "").removeprefix("Bearer ").strip()
        refresh = self.access_tokens.pop(token, None)
        if refresh is not None:
            self.refresh_tokens.discard(refresh)
            for access in [a for a, r in self.access_tokens.items() if r == refresh]:
                del self.access_tokens[access]
        self.revoked.append(token)

    def expire_all(self) -> None:
        """Every access token given so far expires (refresh tokens still work)."""
        self.expired.update(self.access_tokens)
        self.access_tokens.clear()


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
