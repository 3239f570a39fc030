"""The answers gunicorn writes itself (a request line or headers too large, a malformed
request) in the API's one error shape, as JSON, instead of gunicorn's HTML page; and
request bodies readable straight into a buffer (:mod:`hub.server_input`)."""

from __future__ import annotations

import json
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from hub.server_input import direct_input


def error_response(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer: `{"error": {"code", "message", "details"}}`, then close."""
    code = reason.lower().replace(" ", "_") or "bad_request"
    body = json.dumps(
        {"error": {"code": code, "message": message or reason, "details": {}}}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, error_response(status_int, reason, mesg))


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker whose own error answers are JSON and whose request
    bodies of known length have ``readinto``."""

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi: Any = direct_input(self.wsgi)

    def init_process(self) -> Any:
        # gunicorn writes these answers through one module function and offers no hook;
        # this process serves only the hub, so its answers are replaced here, once.
        util.write_error = write_json_error
        return super().init_process()
