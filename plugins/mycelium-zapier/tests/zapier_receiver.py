"""A loopback stand-in for Zapier's hook URLs: records every POST, answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """``answer(path, 500, 410)``: the next POSTs to `path` get these statuses, then 200."""

    def __init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.received: list[Received] = []
        self.answers: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
        self.lock = threading.Lock()
        self.slow: dict[str, float] = {}  # path -> seconds to wait before answering

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def answer(self, path: str, *statuses: int, **headers: str) -> None:
        with self.lock:
            self.answers[path].extend((status, headers) for status in statuses)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received = Received(request.path, dict(request.headers), request.get_data())
        time.sleep(self.slow.get(request.path, 0))
        with self.lock:
            self.received.append(received)
            queued = self.answers[request.path]
            status, headers = queued.pop(0) if queued else (200, {})
        body = json.dumps({"status": "success" if status < 300 else "error"})
        response = Response(body, status, {"Content-Type": "application/json", **headers})
        return response(environ, start_response)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
