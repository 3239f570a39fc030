"""A real loopback webhook receiver, and helpers for the webhooks tests."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks
from flask import Flask

from hub.core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hub.core.webhooks.queue import KICK, kick_if_due
from hub.default_plugins import webhooks as plugin
from hub.extensions import db
from hub.testing import run_jobs


@dataclass(frozen=True)
class Answer:
    """What the receiver answers to one request ("drop": close without answering)."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when the request's body had arrived

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


class Receiver:
    """An HTTP/1.1 (keep-alive) server on 127.0.0.1 that records requests and answers from a
    script (then 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Answer] = deque()
        self.connections = 0
        self.in_flight = self.most_in_flight = 0  # requests being answered at once
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: with Nagle's algorithm the body would wait
            # for the client's delayed ACK, about 40 ms per request on a kept-alive connection
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                receiver.connections += 1

            def do_POST(self) -> None:
                with lock:
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                try:
                    self.answer()
                finally:
                    with lock:
                        receiver.in_flight -= 1

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                answer = receiver.script.popleft() if receiver.script else Answer()
                time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed_by(secret: str, request: Received) -> bool:
    """Does one of the request's signatures match `secret` (the reference library signs)?

    For requests timestamped by a frozen clock, where verify() would refuse the time.
    """
    stamp = datetime.fromtimestamp(int(request.header("webhook-timestamp") or 0), UTC)
    expected = standardwebhooks.Webhook(secret).sign(
        request.header("webhook-id"), stamp, request.body.decode()
    )
    return expected in (request.header("webhook-signature") or "").split(" ")


def verify(secret: str, request: Received) -> Any:
    """Verify as a receiver would, with the standardwebhooks package; the parsed body."""
    return standardwebhooks.Webhook(secret).verify(request.body, request.headers)


def deliveries(app: Flask, endpoint_id: int | None = None) -> list[WebhookDelivery]:
    with app.app_context():
        stmt = db.select(WebhookDelivery).order_by(WebhookDelivery.id)
        if endpoint_id is not None:
            stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
        found = list(db.session.scalars(stmt))
        db.session.remove()
        return found


def attempts(app: Flask, delivery_id: int) -> list[WebhookAttempt]:
    with app.app_context():
        stmt = db.select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
        found = list(db.session.scalars(stmt.order_by(WebhookAttempt.attempt)))
        db.session.remove()
        return found


def endpoint_row(app: Flask, endpoint_id: int) -> WebhookEndpoint:
    with app.app_context():
        found = db.session.get(WebhookEndpoint, endpoint_id)
        db.session.remove()
        assert found is not None
        return found


LOOPBACK = {"HUB_EGRESS_ALLOW_HTTP": "true", "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8"}


def running_receiver() -> Iterator[Receiver]:
    """A loopback receiver for a fixture: ``yield from running_receiver()``."""
    server = Receiver().start()
    yield server
    server.stop()


def register(api: Any, url: str, events: tuple[str, ...] = ("*",), **fields: Any) -> Any:
    """Register an endpoint through the API; its JSON (with the secret)."""
    response = api.post("/api/integrations/webhooks", json={"url": url, "events": events, **fields})
    assert response.status_code == 201, response.json
    return response.json


def emit(api: Any, name: str = "Globex") -> None:
    """Commit an event (client.created) through the API."""
    response = api.post("/api/clients", json={"name": name})
    assert response.status_code == 201, response.json


def dispatch_only(app: Flask) -> None:
    """Dispatch what is pending (deliveries made and committed) and send nothing: the
    worker's pump is held while the jobs run (a worker wakes its own pump after each
    batch of runs), and no pump job is queued meanwhile (the flag says one is)."""
    with app.app_context():
        client = app.extensions["hub.redis"]
        pump = plugin.pump_loop(app)
        pump.stopping.set()
        client.set(KICK, "1")
        try:
            run_jobs(app)
        finally:
            pump.stopping.clear()
            client.delete(KICK)


def deliver(app: Flask) -> int:
    """What workers do by now (the clock may be frozen): dispatch, runs, and the pump,
    started as the sweeper would for retries that came due."""
    with app.app_context():
        kick_if_due(db.session, app.extensions["hub.redis"])
        db.session.remove()
    return run_jobs(app)
