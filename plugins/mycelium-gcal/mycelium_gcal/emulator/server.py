"""A loopback Google for tests, benchmarks and the sandbox: OAuth, the Calendar API v3
methods the plugin uses, and push notifications posted to the watching address.

It answers like Google (errors as ``{"error": {"errors": [...], "code", "message"}}``,
``401 authError``, ``403 usageLimits`` or ``429`` when rate limiting, ``409`` for a taken
id, ``410`` for an expired sync token or a deleted event) and records every API request.
Changes "made in Google" (``move_event``, ``cancel_event``) notify the watching channels.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import unquote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from mycelium_gcal.emulator import calendar_api, page
from mycelium_gcal.emulator.oauth import OAuthServer
from mycelium_gcal.emulator.push import Pusher
from mycelium_gcal.emulator.store import ApiError, Store, public

RATE_LIMIT_BODIES = {
    "rateLimitExceeded": (403, "usageLimits", "Rate Limit Exceeded"),
    "userRateLimitExceeded": (403, "usageLimits", "User Rate Limit Exceeded"),
    "quotaExceeded": (403, "usageLimits", "Calendar usage limits exceeded."),
    "429": (429, "usageLimits", "Rate Limit Exceeded"),
}


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # requests are recorded instead
        pass


class GoogleEmulator:
    """``GoogleEmulator().start()``; ``settings()`` points the hub's Google plugin here."""

    def __init__(self, client_id: str = "emu-client.apps.googleusercontent.com") -> None:
        self.oauth = OAuthServer(client_id, "emu-client-secret")
        self.store = Store()
        self.pusher = Pusher()
        self.requests: list[dict[str, Any]] = []
        self.sent_updates: list[tuple[str, str, str]] = []  # (method, event id, sendUpdates)
        self.faults: list[
            tuple[int, str, str, str]
        ] = []  # next answers: (status, domain, reason, msg)
        self.delays: list[float] = []  # seconds the next answers wait after doing the work
        self.url = ""
        self.lock = threading.RLock()
        self.consent = False  # the sandbox: the authorize page asks (allow / deny)

    # ----- life -----

    def start(self, host: str = "127.0.0.1", port: int = 0) -> GoogleEmulator:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the Google emulator serves loopback only")
        self._server = make_server(host, port, self._wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.pusher.start()
        return self

    def stop(self) -> None:
        self.pusher.stop()
        self._server.shutdown()
        self._server.server_close()

    def settings(self) -> dict[str, str]:
        """Hub settings that point the Google Calendar plugin here."""
        return {
            "GOOGLE_CLIENT_ID": self.oauth.client_id,
            "GOOGLE_CLIENT_SECRET": self.oauth.client_secret,
            "GOOGLE_AUTHORIZE_URL": f"{self.url}/o/oauth2/v2/auth",
            "GOOGLE_TOKEN_URL": f"{self.url}/token",
            "GOOGLE_REVOKE_URL": f"{self.url}/revoke",
            "GOOGLE_CALENDAR_API_BASE": f"{self.url}/calendar/v3",
        }

    # ----- test controls -----

    def rate_limit_next(self, kind: str = "rateLimitExceeded", count: int = 1) -> None:
        """The next `count` API requests are refused as Google refuses them (403 or 429)."""
        status, domain, message = RATE_LIMIT_BODIES[kind]
        reason = "rateLimitExceeded" if kind == "429" else kind
        self.faults += [(status, domain, reason, message)] * count

    def fail_next(self, status: int, reason: str, message: str = "", count: int = 1) -> None:
        self.faults += [(status, "global", reason, message or reason)] * count

    def slow_next(self, seconds: float, count: int = 1) -> None:
        """The next `count` API requests are carried out at once but answered `seconds`
        later, as when Google is slow: a caller that gave up may find its event made."""
        self.delays += [seconds] * count

    def expire_access_tokens(self) -> None:
        """Every access token given so far stops working (refresh tokens still do)."""
        with self.oauth.lock:
            self.oauth.access_tokens.clear()

    def expire_sync_tokens(self, calendar_id: str = "primary") -> None:
        cal = self.store.calendar(calendar_id)
        cal.oldest_token = cal.seq + 1

    def events(self, calendar_id: str = "primary", deleted: bool = False) -> list[dict[str, Any]]:
        """The calendar's events as the API shows them (live ones unless `deleted`)."""
        with self.store.lock:
            found = self.store.calendar(calendar_id).events.values()
            return [public(e) for e in found if deleted or e.get("status") != "cancelled"]

    def event(self, event_id: str, calendar_id: str = "primary") -> dict[str, Any]:
        with self.store.lock:
            return public(self.store.calendar(calendar_id).events[event_id])

    def move_event(self, event_id: str, start: str, end: str, calendar_id: str = "primary") -> None:
        """Someone moves the event in Google Calendar (``dateTime`` values with offsets)."""
        self.edit_event(event_id, calendar_id, start={"dateTime": start}, end={"dateTime": end})

    def edit_event(self, event_id: str, calendar_id: str = "primary", **fields: Any) -> None:
        with self.store.lock:
            cal = self.store.calendar(calendar_id)
            self.store.patch(cal, event_id, fields, conference=False)
        self.pusher.changed(calendar_id)

    def cancel_event(self, event_id: str, calendar_id: str = "primary") -> None:
        """Someone deletes the event in Google Calendar."""
        with self.store.lock:
            self.store.delete(self.store.calendar(calendar_id), event_id)
        self.pusher.changed(calendar_id)

    def calls(
        self, method: str | None = None, contains: str = "", path: str | None = None
    ) -> list[dict[str, Any]]:
        """Calendar API requests received, by HTTP method, path fragment or exact path."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r["method"] == method)
                and contains in r["path"]
                and path in (None, r["path"])
            ]

    # ----- WSGI -----

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except ApiError as exc:
            response = _json(exc.status, exc.body())
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/sandbox"):
            return page.handle(self, request)
        if path == "/o/oauth2/v2/auth":
            params = request.args.to_dict()
            decision = params.pop("decision", None)
            if self.consent and decision is None:
                return page.consent(request)
            if decision == "deny":
                return page.denied(params)
            status, headers, body = self.oauth.authorize(params)
            return (
                _json(status, body, headers)
                if status != 302
                else Response(status=302, headers=headers)
            )
        if path == "/token":
            auth = request.authorization
            basic = (auth.username, auth.password) if auth and auth.type == "basic" else None
            with self.oauth.lock:
                return _json(*self.oauth.token(request.form.to_dict(), basic))  # type: ignore[arg-type]
        if path == "/revoke":
            token = request.form.get("token") or request.args.get("token") or ""
            with self.oauth.lock:
                return _json(*self.oauth.revoke(token))
        if path.startswith("/calendar/v3/"):
            return self._api(request, unquote(path.removeprefix("/calendar/v3/")))
        return _json(404, ApiError(404, "notFound", "Not Found").body())

    def _api(self, request: Request, path: str) -> Response:
        body = request.get_json(silent=True) if request.data else None
        record = {"method": request.method, "path": path, "query": request.args.to_dict()}
        with self.lock:
            self.requests.append({**record, "body": body})
        if not self.oauth.valid(request.headers.get("Authorization")):
            raise ApiError(401, "authError", "Invalid Credentials")
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            raise ApiError(fault[0], fault[2], fault[3], fault[1])
        answer = calendar_api.handle(self, request, path, body)
        with self.lock:
            delay = self.delays.pop(0) if self.delays else 0.0
        time.sleep(delay)
        return Response(status=204) if answer is None else _json(200, answer)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        headers=headers,
        content_type="application/json; charset=UTF-8",
    )
