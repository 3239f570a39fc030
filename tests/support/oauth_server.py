"""A loopback OAuth 2.0 authorization server for end-to-end tests, over real HTTP.

Implements the authorize redirect, the token endpoint (authorization_code with PKCE S256
verification, refresh_token with optional rotation, invalid_grant), revocation, and a
protected ``/userinfo``; counts every request so tests can assert what the hub sent.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.serving import make_server

CLIENT_ID = "hub-test-client"
CLIENT_SECRET = "hub-test-secret"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Grant:
    account: str
    redirect_uri: str
    challenge: str | None
    scope: str


@dataclass
class OAuthServer:
    """Run with ``start()``; change the knobs below between requests."""

    expires_in: int = 3600
    rotate: bool = False  # a refresh returns a new refresh token and revokes the old one
    refresh_delay: float = 0.0  # seconds the refresh grant takes (widens races)
    fail_token: tuple[int, dict[str, Any]] | None = None  # answer every token request so
    body_error: dict[str, Any] | None = None  # a 200 body for the code exchange (Slack-style)
    account: str = "acct-42"
    refuse_userinfo: bool = False  # answer /userinfo 401 whatever the token
    counts: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> account
    access_tokens: set[str] = field(default_factory=set)  # valid now
    issued: set[str] = field(default_factory=set)  # every access token ever issued
    revoked: list[str] = field(default_factory=list)
    authorize_params: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.app = self._build()

    # ----- lifecycle -----

    def start(self) -> OAuthServer:
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def settings(self, prefix: str = "TESTOAUTH") -> dict[str, str]:
        """The hub settings that point a provider at this server."""
        return {
            f"{prefix}_AUTHORIZE_URL": f"{self.url}/authorize",
            f"{prefix}_TOKEN_URL": f"{self.url}/token",
            f"{prefix}_REVOKE_URL": f"{self.url}/revoke",
            f"{prefix}_API_BASE": self.url,
            f"{prefix}_CLIENT_ID": CLIENT_ID,
            f"{prefix}_CLIENT_SECRET": CLIENT_SECRET,
        }

    # ----- endpoints -----

    def _build(self) -> Flask:
        app = Flask("oauth_server")
        app.add_url_rule("/authorize", view_func=self.authorize)
        app.add_url_rule("/token", view_func=self.token, methods=["POST"])
        app.add_url_rule("/revoke", view_func=self.revoke, methods=["POST"])
        app.add_url_rule("/userinfo", view_func=self.userinfo)
        return app

    def authorize(self) -> Response:
        params = request.args.to_dict()
        with self.lock:
            self.counts["authorize"] += 1
            self.authorize_params.append(params)
        target = params["redirect_uri"]
        if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
            return redirect(f"{target}?{urlencode({'error': 'unauthorized_client'})}")
        if params.get("deny"):
            query = {"error": "access_denied", "state": params.get("state", "")}
            return redirect(f"{target}?{urlencode(query)}")
        code = secrets.token_urlsafe(16)
        challenge = params.get("code_challenge")
        grant = Grant(self.account, target, challenge, params.get("scope", ""))
        with self.lock:
            self.codes[code] = grant
        return redirect(f"{target}?{urlencode({'code': code, 'state': params.get('state', '')})}")

    def _client_ok(self, form: dict[str, str]) -> bool:
        auth = request.authorization
        if auth is not None:
            return auth.username == CLIENT_ID and auth.password == CLIENT_SECRET
        return form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET

    def token(self) -> Any:
        form = request.form.to_dict()
        with self.lock:
            self.counts["token"] += 1
            self.counts[f"token:{form.get('grant_type')}"] += 1
            basic = request.authorization is not None
            self.token_requests.append({**form, "basic_auth": basic})
        if self.fail_token is not None:
            status, body = self.fail_token
            return jsonify(body), status
        if not self._client_ok(form):
            return jsonify({"error": "invalid_client"}), 401
        if form.get("grant_type") == "authorization_code":
            return self._code_grant(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh_grant(form)
        return jsonify({"error": "unsupported_grant_type"}), 400

    def _issue(self, account: str, refresh: str | None) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(12)
        with self.lock:
            self.access_tokens.add(access)
            self.issued.add(access)
            if refresh is not None:
                self.refresh_tokens[refresh] = account
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "account_id": account,
            "scope": "files.read files.write",
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    def _code_grant(self, form: dict[str, str]) -> Any:
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return jsonify({"error": "invalid_grant"}), 400
        if grant.challenge is not None and s256(form.get("code_verifier", "")) != grant.challenge:
            return jsonify({"error": "invalid_grant", "error_description": "PKCE"}), 400
        if self.body_error is not None:
            return jsonify(self.body_error), 200
        return jsonify(self._issue(grant.account, "rt-" + secrets.token_urlsafe(12)))

    def _refresh_grant(self, form: dict[str, str]) -> Any:
        time.sleep(self.refresh_delay)
        old = form.get("refresh_token", "")
        with self.lock:
            self.counts["refresh"] += 1
            account = self.refresh_tokens.get(old)
            if account is not None and self.rotate:
                del self.refresh_tokens[old]
        if account is None:
            return jsonify({"error": "invalid_grant"}), 400
        new = "rt-" + secrets.token_urlsafe(12) if self.rotate else None
        return jsonify(self._issue(account, new))

    def revoke(self) -> Any:
        form = request.form.to_dict()
        with self.lock:
            self.counts["revoke"] += 1
            if not self._client_ok(form):
                return jsonify({"error": "invalid_client"}), 401
            token = form.get("token", "")
            self.revoked.append(token)
            self.refresh_tokens.pop(token, None)
            self.access_tokens.discard(token)
        return "", 200

    def userinfo(self) -> Any:
        header = request.headers.get("Authorization", "")
        with self.lock:
            self.counts["userinfo"] += 1
            valid = header.removeprefix("Bearer ") in self.access_tokens
            valid = valid and not self.refuse_userinfo
        if not valid:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify({"account_id": self.account})
