"""A loopback Dropbox for tests, benchmarks and the sandbox: OAuth, the RPC routes on an
API host, uploads and upload sessions on a content host, longpoll on a notify host, and
webhooks signed with the app secret.

It answers as Dropbox does: route errors as ``409 {"error_summary", "error"}`` with
``.tag`` unions (``path/conflict/folder/..``, ``incorrect_offset`` with its
``correct_offset``, ``reset``), ``401`` auth errors, ``429`` with ``Retry-After``, plain
text ``400`` for bad input, content routes only on the content host with their argument
in ``Dropbox-API-Arg``, and ``Content-Type: application/json`` exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from mycelium_dropbox.emulator import page, routes
from mycelium_dropbox.emulator.errors import ApiError, auth_error, rate_limited
from mycelium_dropbox.emulator.oauth import OAuthServer
from mycelium_dropbox.emulator.store import Store

HOSTS = ("api", "content", "notify")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # requests are recorded instead
        pass


class DropboxEmulator:
    """``DropboxEmulator().start()``; ``settings()`` points the hub's Dropbox plugin here."""

    def __init__(self, client_id: str = "emu-app-key", client_secret: str = "emu-app-secret"):
        self.oauth = OAuthServer(client_id, client_secret)
        self.store = Store()
        self.requests: list[dict[str, Any]] = []
        self.faults: list[ApiError] = []  # answers instead of the next API requests
        self.after_work: list[tuple[str, int]] = []  # (route, status): do it, then answer this
        self.urls: dict[str, str] = {}
        self.corrupt_next = False  # the next upload request's first byte arrives flipped
        self.longpoll_cap = 2.0  # seconds a longpoll waits here at most (tests)
        self.lock = threading.RLock()
        self._servers: list[Any] = []
        self.consent = False  # the sandbox: the authorize page asks (allow / cancel)
        self.hub_url = ""  # the sandbox: where its page's uploads send the webhook
        self.notices: list[str] = []  # the sandbox page's log: what was uploaded, what answered

    # ----- life -----

    def start(self, host: str = "127.0.0.1") -> DropboxEmulator:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the Dropbox emulator serves loopback only")
        for kind in HOSTS:
            server = make_server(host, 0, self._app(kind), threaded=True, request_handler=_Quiet)
            self._servers.append(server)
            self.urls[kind] = f"http://{host}:{server.server_port}"
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return self.urls["api"]

    def settings(self) -> dict[str, str]:
        """The three settings (and the app's key and secret) that point the plugin here."""
        return {
            "DROPBOX_CLIENT_ID": self.oauth.client_id,
            "DROPBOX_CLIENT_SECRET": self.oauth.client_secret,
            "DROPBOX_API_BASE": self.urls["api"],
            "DROPBOX_CONTENT_BASE": self.urls["content"],
            "DROPBOX_AUTHORIZE_URL": f"{self.urls['api']}/oauth2/authorize",
        }

    # ----- test controls -----

    def rate_limit_next(
        self, reason: str = "too_many_requests", retry_after: int = 5, count: int = 1
    ) -> None:
        """The next `count` API requests get a 429 (``too_many_requests`` or
        ``too_many_write_operations``) with ``Retry-After``."""
        self.faults += [rate_limited(reason, retry_after)] * count

    def fail_next(self, status: int = 500, count: int = 1) -> None:
        """The next `count` API requests fail with `status` before doing anything."""
        self.faults += [ApiError(status, "Internal Server Error", None)] * count

    def fail_after(self, route: str, status: int = 500) -> None:
        """The next call of `route` is carried out, then answered `status` (the answer is
        lost, as when a connection drops after Dropbox took the bytes)."""
        self.after_work.append((route, status))

    def expire_access_tokens(self) -> None:
        with self.oauth.lock:
            self.oauth.expire_all()

    def reset_cursors(self) -> None:
        """Every list_folder cursor given so far answers ``reset``."""
        with self.store.lock:
            self.store.generation += 1

    def calls(self, route: str | None = None) -> list[dict[str, Any]]:
        """API requests received (``files/upload_session/append_v2``), oldest first."""
        with self.lock:
            return [r for r in self.requests if route in (None, r["route"])]

    def entry(self, path: str) -> dict[str, Any] | None:
        with self.store.lock:
            found = self.store.entries.get(path.lower())
            return dict(found) if found else None

    def paths(self, tag: str | None = None) -> list[str]:
        """Every path in the account (of files or folders only, by `tag`), displayed."""
        with self.store.lock:
            entries = self.store.entries.values()
            return sorted(e["path_display"] for e in entries if tag in (None, e[".tag"]))

    def put_file(self, path: str, data: bytes) -> dict[str, Any]:
        """Someone adds or replaces a file in Dropbox (not through the hub)."""
        from mycelium_dropbox.emulator.store import ContentHasher

        hasher = ContentHasher()
        hasher.update(data)
        with self.store.lock:
            return self.store.commit({"path": path, "mode": "overwrite"}, hasher)

    def delete(self, path: str) -> None:
        """Someone deletes a file or folder in Dropbox."""
        with self.store.lock:
            self.store.delete(path)

    def sign(self, body: bytes) -> str:
        """``X-Dropbox-Signature``: hex HMAC-SHA256 of the body with the app secret."""
        return hmac.new(self.oauth.client_secret.encode(), body, hashlib.sha256).hexdigest()

    def notify(self, url: str, accounts: list[str] | None = None) -> requests.Response:
        """Post a webhook notification as Dropbox does (signed, ``list_folder.accounts``)."""
        accounts = accounts if accounts is not None else [self.oauth.account_id]
        body = json.dumps({"list_folder": {"accounts": accounts}, "delta": {"users": [12345]}})
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "DropboxWebhooks/1.0",
            "X-Dropbox-Signature": self.sign(body.encode()),
        }
        return requests.post(url, data=body.encode(), headers=headers, timeout=10)

    # ----- WSGI -----

    def _app(self, kind: str) -> Callable[..., Any]:
        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            request = Request(environ)
            try:
                response = self._route(kind, request)
            except ApiError as exc:
                response = _error(exc)
            return response(environ, start_response)

        return wsgi

    def _route(self, kind: str, request: Request) -> Response:
        path = request.path
        if kind == "api" and path.startswith("/sandbox"):
            return page.handle(self, request)
        if kind == "api" and path == "/oauth2/authorize":
            params = request.args.to_dict()
            decision = params.pop("decision", None)
            if self.consent and decision is None:
                return page.consent(self, request)
            if decision == "deny":
                return page.denied(params)
            status, headers, body = self.oauth.authorize(params)
            if status == 302:
                return Response(status=302, headers=headers)
            return Response(body, status=status, content_type="text/plain")
        if kind == "api" and path == "/oauth2/token" and request.method == "POST":
            auth = request.authorization
            basic = None
            if auth and auth.type == "basic" and auth.username and auth.password:
                basic = (auth.username, auth.password)
            with self.oauth.lock:
                status, body = self.oauth.token(request.form.to_dict(), basic)
            return _json(status, body)
        if request.method != "POST" or not path.startswith("/2/"):
            return Response("Not Found", status=404, content_type="text/plain")
        return self._api(kind, request, path.removeprefix("/2/"))

    def _api(self, kind: str, request: Request, route: str) -> Response:
        handler = routes.find(kind, route)
        with self.lock:
            self.requests.append(
                {
                    "route": route,
                    "host": kind,
                    "arg": _peek_arg(request),
                    "size": request.content_length,
                }
            )
        if handler is None:
            raise ApiError(400, f"Unknown API function: {route!r} on the {kind} host", None)
        if handler.auth:
            refused = self.oauth.check(request.headers.get("Authorization"))
            if refused:
                raise auth_error(refused)
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
            after = next((a for a in self.after_work if a[0] == route), None)
            if after is not None:
                self.after_work.remove(after)
        if fault is not None:
            raise fault
        answer = handler(self, request)
        if after is not None:
            return Response("Internal Server Error", status=after[1], content_type="text/plain")
        return _json(200, answer)


def _peek_arg(request: Request) -> Any:
    header = request.headers.get("Dropbox-API-Arg")
    if header is not None:
        try:
            return json.loads(header)
        except ValueError:
            return header
    if request.mimetype == "application/json":
        return request.get_json(silent=True)
    return None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def _error(exc: ApiError) -> Response:
    if exc.status == 400 or exc.error is None:
        return Response(exc.summary, status=exc.status, content_type="text/plain; charset=utf-8")
    return _json(exc.status, exc.body(), exc.headers)


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)
