"""A loopback Slack for tests and the sandbox: OAuth v2, the Web API methods the plugin
uses, incoming webhooks, response URLs, and signed slash commands sent to the hub.

It answers like Slack does (errors as HTTP 200 ``{"ok": false}``, 429 with Retry-After,
webhooks answering plain ``ok``) and records every request it gets.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from requests import Response as HTTPResponse  # the class's `requests` field shadows the module
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from mycelium_slack.emulator import page

TEAM = {"id": "T0EMULATE", "name": "Emulated Agency"}
BOT_USER = "U0BOT"
CHANNELS = {"#general": "C0GENERAL", "#studio": "C0STUDIO", "#archived": "C0ARCHIVE"}
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # requests are recorded instead
        pass


@dataclass
class Member:
    id: str
    email: str | None
    name: str
    deleted: bool = False
    is_bot: bool = False

    def as_slack(self) -> dict[str, Any]:
        profile = {"real_name": self.name, **({"email": self.email} if self.email else {})}
        return {
            "id": self.id,
            "team_id": TEAM["id"],
            "name": self.name.lower().replace(" ", "."),
            "real_name": self.name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "profile": profile,
        }


@dataclass
class SlackEmulator:
    client_id: str = "emu-client-id"
    client_secret: str = "emu-client-secret"
    signing_secret: str = "emu-signing-secret-0123456789abcdef"
    page_size: int = 2
    members: list[Member] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    rate_limited: dict[str, float] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)
    rotation: bool = False  # token rotation on: 12-hour tokens and refresh tokens
    refresh_tokens: set[str] = field(default_factory=set)
    url: str = ""
    team: dict[str, str] = field(default_factory=lambda: dict(TEAM))  # who installs next
    token_teams: dict[str, dict[str, str]] = field(default_factory=dict)
    consent: bool = False  # the sandbox: the authorize page asks (approve / deny)
    hub_url: str = ""  # the sandbox: where its page sends slash commands
    commands: list[dict[str, Any]] = field(default_factory=list)  # sent from its page

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    # ----- test controls -----

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackEmulator:
        if host not in LOOPBACK:
            raise ValueError("the Slack emulator serves loopback only")
        self._server = make_server(host, port, self._wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def api_base(self) -> str:
        return f"{self.url}/api"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/services/{self.team['id']}/B0HOOK/emulated"

    def settings(self) -> dict[str, str]:
        """Hub settings that point the Slack plugin here."""
        return {
            "SLACK_CLIENT_ID": self.client_id,
            "SLACK_CLIENT_SECRET": self.client_secret,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_BASE": self.api_base,
            "SLACK_AUTHORIZE_URL": f"{self.url}/oauth/v2/authorize",
            "SLACK_TOKEN_URL": f"{self.api_base}/oauth.v2.access",
            "SLACK_REVOKE_URL": f"{self.api_base}/auth.revoke",
            # response URLs point here: the guard lets this loopback host through
            "SLACK_RESPONSE_URL_HOSTS": "127.0.0.1",
            "HUB_EGRESS_ALLOW_HTTP": "true",
            "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.1/32",
        }

    def rate_limit_next(self, path: str, retry_after: float = 3) -> None:
        """The next request to ``path`` (``chat.postMessage``, ``services``) gets a 429."""
        self.rate_limited[path] = retry_after

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/" + method)]

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        base = f"v0:{stamp}:".encode() + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        signature = f"v0={digest}"
        return {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def slash_command(
        self,
        hub_url: str,
        command: str,
        text: str,
        user_id: str,
        team_id: str = TEAM["id"],
        timestamp: int | None = None,
        response_url: str | None = None,
    ) -> HTTPResponse:
        """Send a signed slash command to the hub, as Slack does."""
        count = next(self._counter)
        response_url = response_url or f"{self.url}/commands/{TEAM['id']}/{count}/reply"
        form = {
            "token": "deprecated",
            "team_id": team_id,
            "team_domain": "emulated",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "api_app_id": "A0EMU",
        }
        body = urlencode(form).encode()
        return requests.post(
            f"{hub_url}/api/integrations/slack/commands",
            data=body,
            headers=self.sign(body, timestamp),
            timeout=10,
        )

    # ----- the WSGI app -----

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            self.requests.append(
                {
                    "path": request.path,
                    "method": request.method,
                    "args": dict(request.args),
                    "body": body,
                    "headers": dict(request.headers),
                }
            )
        response = self._route(request, body)
        return response(environ, start_response)

    def _limited(self, request: Request) -> Response | None:
        for path, retry_after in list(self.rate_limited.items()):
            if path in request.path:
                del self.rate_limited[path]
                return self._json(
                    {"ok": False, "error": "ratelimited"},
                    429,
                    {"Retry-After": str(int(retry_after))},
                )
        return None

    def _route(self, request: Request, body: bytes) -> Response:
        limited = self._limited(request)
        if limited is not None:
            return limited
        path = request.path
        if path == "/sandbox" and request.method == "GET":
            return page.render(self)
        if path == "/sandbox/command" and request.method == "POST":
            return self._sandbox_command(request)
        if path == "/oauth/v2/authorize":
            return self._authorize(request)
        if path.startswith("/services/"):
            return self._webhook(body)
        if path.startswith("/commands/"):
            self.responses.append(json.loads(body))
            return Response("ok", content_type="text/plain")
        method = path.removeprefix("/api/")
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return self._json({"ok": False, "error": "unknown_method"})
        if method != "oauth.v2.access" and not self._authorized(request):
            return self._json({"ok": False, "error": "invalid_auth"})
        return handler(request, body)

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(data), status, headers, content_type="application/json")

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") in self.valid_tokens

    def _authorize(self, request: Request) -> Response:
        if request.args.get("client_id") != self.client_id:
            return Response("invalid_client_id", 400)
        decision = request.args.get("decision")
        if self.consent and decision is None:
            return page.consent(self, request)
        if decision == "deny":
            refused = {"error": "access_denied", "state": request.args.get("state", "")}
            return Response(
                "", 302, {"Location": f"{request.args['redirect_uri']}?{urlencode(refused)}"}
            )
        code = f"code-{next(self._counter)}"
        self.codes[code] = request.args.get("redirect_uri", "")
        target = (
            request.args["redirect_uri"]
            + "?"
            + urlencode({"code": code, "state": request.args.get("state", "")})
        )
        return Response("", 302, {"Location": target})

    def _oauth_v2_access(self, request: Request, body: bytes) -> Response:
        form = request.form
        auth = request.authorization  # Slack takes HTTP Basic (slack_sdk's way) or the form
        basic = (auth.username, auth.password) if auth and auth.type == "basic" else None
        if (basic or (form.get("client_id"), form.get("client_secret"))) != (
            self.client_id,
            self.client_secret,
        ):
            return self._json({"ok": False, "error": "invalid_client_id"})
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return self._json({"ok": False, "error": "invalid_refresh_token"})
            self.refresh_tokens.discard(form["refresh_token"])  # rotation: single use
            return self._json(self._token_answer(install=False))
        if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
            return self._json({"ok": False, "error": "invalid_code"})
        return self._json(self._token_answer(install=True))

    def _token_answer(self, install: bool) -> dict[str, Any]:
        n = next(self._counter)
        token = f"xoxe.xoxb-emulated-{n}" if self.rotation else f"xoxb-emulated-{n}"
        self.valid_tokens.add(token)
        self.token_teams[token] = dict(self.team)
        answer: dict[str, Any] = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": "chat:write,commands",
            "bot_user_id": BOT_USER,
            "app_id": "A0EMU",
            "team": dict(self.team),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if self.rotation:
            answer.update(refresh_token=f"xoxe-1-refresh-{n}", expires_in=43200)
            self.refresh_tokens.add(answer["refresh_token"])
        if install:
            answer["authed_user"] = {"id": "U0ADMIN"}
            answer["incoming_webhook"] = {
                "channel": "#general",
                "channel_id": CHANNELS["#general"],
                "configuration_url": f"{self.url}/config",
                "url": self.webhook_url,
            }
        return answer

    def _webhook(self, body: bytes) -> Response:
        payload = json.loads(body)
        self.messages.append({"via": "webhook", "channel": "#general", **payload})
        return Response("ok", content_type="text/plain")

    def _chat_postMessage(self, request: Request, body: bytes) -> Response:
        payload = json.loads(body)
        channel = payload.get("channel", "")
        if channel == "#archived":
            return self._json({"ok": False, "error": "is_archived"})
        channel_id = CHANNELS.get(channel, channel if channel in CHANNELS.values() else None)
        if channel_id is None:
            return self._json({"ok": False, "error": "channel_not_found"})
        ts = f"{time.time():.6f}"
        self.messages.append({"via": "chat.postMessage", **payload, "channel": channel})
        return self._json(
            {
                "ok": True,
                "channel": channel_id,
                "ts": ts,
                "message": {"text": payload.get("text"), "ts": ts},
            }
        )

    def _auth_test(self, request: Request, body: bytes) -> Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        team = self.token_teams.get(token, self.team)
        return self._json(
            {
                "ok": True,
                "url": "https://emulated.slack.test/",
                "team": team["name"],
                "user": "mycelium",
                "team_id": team["id"],
                "user_id": BOT_USER,
            }
        )

    def _auth_revoke(self, request: Request, body: bytes) -> Response:
        self.valid_tokens.discard(request.headers["Authorization"].removeprefix("Bearer "))
        return self._json({"ok": True, "revoked": True})

    def _users_list(self, request: Request, body: bytes) -> Response:
        start = int(request.values.get("cursor") or 0)
        size = min(int(request.values.get("limit") or 100), self.page_size)
        page = self.members[start : start + size]
        following = str(start + size) if start + size < len(self.members) else ""
        return self._json(
            {
                "ok": True,
                "members": [m.as_slack() for m in page],
                "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": following},
            }
        )

    def _users_lookupByEmail(self, request: Request, body: bytes) -> Response:
        email = (request.values.get("email") or "").lower()  # query or form, as at Slack
        found = [m for m in self.members if m.email and m.email.lower() == email]
        if not found or found[0].deleted:
            return self._json({"ok": False, "error": "users_not_found"})
        return self._json({"ok": True, "user": found[0].as_slack()})

    # ----- the sandbox page's actions -----

    def member_name(self, member_id: str) -> str:
        found = next((m for m in self.members if m.id == member_id), None)
        return found.name if found else member_id

    def _sandbox_command(self, request: Request) -> Response:
        """The page's command box: ``/mycelium-tasks`` typed as one of the members, signed
        and posted to the hub as Slack posts it; the reply is kept for the page."""
        line = (request.form.get("command") or "").strip()
        user_id = request.form.get("user_id") or (self.members[0].id if self.members else "")
        if not line.startswith("/"):
            why = "command: a slash command starts with '/', as in /mycelium-tasks"
            return page.render(self, error=why)
        command, _, text = line.partition(" ")
        entry: dict[str, Any] = {"command": command, "text": text, "user_id": user_id}
        try:
            answer = self.slash_command(self.hub_url, command, text.strip(), user_id)
            entry["status"] = answer.status_code
            try:
                entry["reply"] = answer.json()
            except ValueError:
                entry["reply"] = {"text": answer.text}
        except requests.RequestException as exc:
            entry.update(status=None, reply={"text": f"The hub did not answer: {exc}"})
        with self._lock:
            self.commands.append(entry)
        return Response("", 303, {"Location": "/sandbox#commands"})
