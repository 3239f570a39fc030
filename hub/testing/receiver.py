"""A loopback HTTP receiver, part of the ``hub.testing`` kit: it stands in for whatever a
provider, or an emulator of one, posts to (the hub's webhook or notification route), keeps
every request and answers what the test says."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class Received:
    """One request the receiver got (``headers`` are read in any case)."""

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # kept in `received` instead
        pass


class LoopbackReceiver:
    """``with LoopbackReceiver() as receiver:`` serves on 127.0.0.1 (a free port) until the
    block ends. ``url`` is where it listens, ``received`` every request in order,
    ``wait_for(count)`` waits for that many. ``answer(request)`` (a werkzeug ``Request``)
    makes each reply; without it every request gets ``200`` and an empty body."""

    def __init__(self, answer: Callable[[Request], Response] | None = None) -> None:
        self.received: list[Received] = []
        self._answer = answer or (lambda request: Response(""))
        self._lock = threading.Lock()
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        got = Received(
            request.method,
            request.path,
            request.query_string.decode("latin-1"),
            Headers(request.headers),
            request.get_data(),
        )
        with self._lock:
            self.received.append(got)
        return self._answer(request)(environ, start_response)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` requests, once they have come; ``AssertionError`` after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.received) >= count:
                    return self.received[:count]
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} requests came, not {count}")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
