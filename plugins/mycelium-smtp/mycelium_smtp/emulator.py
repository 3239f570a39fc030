"""A loopback stand-in for the email providers' HTTP APIs (SendGrid v3, Mailgun, Postmark),
written from their public API documentation, for tests, benchmarks and demos.

One server answers all three (their paths do not overlap); ``settings()`` points the
plugin's three base URL settings at it. It keeps what it accepted (``messages``) and
answers as the providers do:

- SendGrid: ``Authorization: Bearer <key>``; ``GET /v3/scopes`` -> ``{"scopes": [...]}``;
  ``POST /v3/mail/send`` -> ``202`` with an empty body and ``X-Message-Id``; errors are
  ``{"errors": [{"message", "field", "help"}]}`` (401 for a bad key, 400 for a bad field).
- Mailgun: basic auth ``api:<key>``; ``GET /v3/domains/<domain>`` -> ``{"domain": {...}}``
  (404 ``{"message": "Domain not found"}``); ``POST /v3/<domain>/messages.mime`` (form:
  ``to`` repeated, ``message`` file) -> ``200 {"id": "<...>", "message": "Queued. Thank
  you."}``; a bad key is ``401`` with the text ``Forbidden``.
- Postmark: ``X-Postmark-Server-Token``; ``GET /server``; ``POST /email`` -> ``200
  {"To", "SubmittedAt", "MessageID", "ErrorCode": 0, "Message": "OK"}``; ``POST
  /email/batch`` (up to 500) -> one such answer per message; a bad token is ``401
  {"ErrorCode": 10, ...}``, an inactive recipient ``422 {"ErrorCode": 406, ...}``.

``faults`` answers the next requests instead (``(429, {"Retry-After": "7"})``);
``rejected`` holds recipients each provider refuses.
"""

from __future__ import annotations

import base64
import email
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

SENDGRID_BAD_KEY = "The provided authorization grant is invalid, expired, or revoked"
POSTMARK_BAD_TOKEN = "Request does not contain a valid Server token."
POSTMARK_INACTIVE = (
    "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
    "addresses: {}. Inactive recipients are ones that have generated a hard bounce, a spam "
    "complaint, or a manual suppression."
)


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class Sent:
    """One message a provider accepted."""

    provider: str
    message_id: str
    recipients: list[str]
    payload: dict[str, Any]  # SendGrid's or Postmark's JSON; Mailgun: {"to": [...]}
    mime: bytes | None = None  # Mailgun's message as sent

    def message(self) -> email.message.EmailMessage:
        assert self.mime is not None
        return email.message_from_bytes(self.mime, policy=policy.default)


@dataclass
class MailApiEmulator:
    """``MailApiEmulator().start()``: SendGrid, Mailgun and Postmark on one loopback port."""

    sendgrid_keys: set[str] = field(default_factory=lambda: {"SG.emulator-key"})
    mailgun_keys: set[str] = field(default_factory=lambda: {"key-emulator"})
    mailgun_domains: set[str] = field(default_factory=lambda: {"mg.acme.example"})
    postmark_tokens: set[str] = field(default_factory=lambda: {"postmark-emulator-token"})
    messages: list[Sent] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None

    def start(self, host: str = "127.0.0.1") -> MailApiEmulator:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the email API emulator serves loopback only")
        self._server = make_server(host, 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def settings(self) -> dict[str, str]:
        return {
            "SENDGRID_API_BASE": self.url,
            "MAILGUN_API_BASE": self.url,
            "POSTMARK_API_BASE": self.url,
        }

    # ----- dispatch -----

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path))
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            status, headers = fault
            body = json.dumps({"errors": [{"message": f"emulated {status}"}]})
            response = Response(body, status, headers, content_type="application/json")
        else:
            try:
                response = self._route(request)
            finally:
                request.close()  # an upload's spooled file
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path.startswith("/v3/scopes") or path == "/v3/mail/send":
            return self._sendgrid(request)
        if path.startswith("/v3/"):
            return self._mailgun(request)
        if path in ("/server", "/email", "/email/batch"):
            return self._postmark(request)
        return _json({"message": f"No route {method} {path}"}, 404)

    # ----- SendGrid -----

    def _sendgrid(self, request: Request) -> Response:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or key not in self.sendgrid_keys:
            return _json({"errors": [{"field": None, "message": SENDGRID_BAD_KEY}]}, 401)
        if request.path == "/v3/scopes":
            return _json({"scopes": ["mail.send", "user.profile.read"]}, 200)
        data = request.get_json(silent=True) or {}
        problem = _sendgrid_problem(data, self.rejected)
        if problem:
            return _json({"errors": [problem]}, 400)
        everyone = [
            p["email"]
            for group in data["personalizations"]
            for kind in ("to", "cc", "bcc")
            for p in group.get(kind, [])
        ]
        message_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        with self.lock:
            self.messages.append(Sent("sendgrid", message_id, everyone, data))
        return Response("", 202, {"X-Message-Id": message_id})

    # ----- Mailgun -----

    def _mailgun(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or auth.username != "api" or auth.password not in self.mailgun_keys:
            return Response("Forbidden", 401, content_type="text/plain")
        parts = request.path.strip("/").split("/")  # v3 domains <d> | v3 <d> messages.mime
        if len(parts) == 3 and parts[1] == "domains":
            if parts[2] not in self.mailgun_domains:
                return _json({"message": "Domain not found"}, 404)
            return _json({"domain": {"name": parts[2], "state": "active"}}, 200)
        if len(parts) != 3 or parts[2] != "messages.mime" or request.method != "POST":
            return _json({"message": "Not found"}, 404)
        if parts[1] not in self.mailgun_domains:
            return _json({"message": "Domain not found"}, 404)
        to, upload = request.form.getlist("to"), request.files.get("message")
        if not to or upload is None:
            return _json({"message": "'to' parameter is missing"}, 400)
        if any(a in self.rejected for a in to):
            return _json({"message": "to parameter is not a valid address."}, 400)
        message_id = f"<{uuid.uuid4().hex}@{parts[1]}>"
        sent = Sent(
            "mailgun", message_id.strip("<>"), to, dict(request.form.lists()), upload.read()
        )
        with self.lock:
            self.messages.append(sent)
        return _json({"id": message_id, "message": "Queued. Thank you."}, 200)

    # ----- Postmark -----

    def _postmark(self, request: Request) -> Response:
        if request.headers.get("X-Postmark-Server-Token") not in self.postmark_tokens:
            return _json({"ErrorCode": 10, "Message": POSTMARK_BAD_TOKEN}, 401)
        if request.path == "/server":
            return _json({"ID": 1, "Name": "Emulator", "ApiTokens": ["(hidden)"]}, 200)
        data = request.get_json(silent=True)
        if request.path == "/email/batch":
            if not isinstance(data, list) or not 0 < len(data) <= 500:
                return _json({"ErrorCode": 300, "Message": "Between 1 and 500 messages."}, 422)
            return _json([self._postmark_one(m)[0] for m in data], 200)
        answer, status = self._postmark_one(data if isinstance(data, dict) else {})
        return _json(answer, status)

    def _postmark_one(self, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
        everyone = [
            email.utils.parseaddr(a)[1]
            for name in ("To", "Cc", "Bcc")
            for a in str(data.get(name) or "").split(",")
            if a.strip()
        ]
        if not everyone or not data.get("From"):
            return {"ErrorCode": 300, "Message": "Invalid 'To' address: ''."}, 422
        inactive = [a for a in everyone if a in self.rejected]
        if inactive:
            said = POSTMARK_INACTIVE.format(", ".join(inactive))
            return {"ErrorCode": 406, "Message": said}, 422
        message_id = str(uuid.uuid4())
        with self.lock:
            self.messages.append(Sent("postmark", message_id, everyone, data))
        answer = {
            "To": data.get("To"),
            "SubmittedAt": "2026-12-05T12:00:00.0000000-05:00",
            "MessageID": message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }
        return answer, 200


def _sendgrid_problem(data: dict[str, Any], rejected: set[str]) -> dict[str, Any] | None:
    groups = data.get("personalizations")
    if not isinstance(groups, list) or not groups:
        return _sg("The personalizations field is required.", "personalizations")
    for g, group in enumerate(groups):
        for kind in ("to", "cc", "bcc"):
            for n, person in enumerate(group.get(kind, [])):
                address = str(person.get("email") or "")
                if "@" not in address or address in rejected:
                    where = f"personalizations.{g}.{kind}.{n}.email"
                    return _sg("Does not contain a valid address.", where)
    if not (data.get("from") or {}).get("email"):
        return _sg("The from object must be provided for every email send.", "from")
    if not data.get("subject"):
        return _sg("The subject is required.", "subject")
    if not data.get("content"):
        return _sg("Unless a valid template_id is provided, content is required.", "content")
    return None


def _sg(message: str, where: str) -> dict[str, Any]:
    return {"message": message, "field": where, "help": None}


def _json(data: Any, status: int) -> Response:
    return Response(json.dumps(data), status, content_type="application/json")
