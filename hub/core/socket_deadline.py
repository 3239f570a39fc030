"""A total deadline per outbound attempt, enforced on the socket itself.

Socket timeouts bound each ``recv``, not the attempt: a receiver sending one byte a second
never trips them, and an attempt's response headers or body could drip for minutes. Inside
:func:`attempt_deadline`, every request an egress connection sends registers its connection
with one watchdog thread per process, which shuts the socket down when the deadline comes
(a blocked read then returns at once, in this thread's request); leaving the block
forgets the registration. Costs a heap push and pop per request, no thread per attempt.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# the deadline (time.monotonic()) of the attempt running in this thread, if any
_current: ContextVar[_Attempt | None] = ContextVar("hub_attempt_deadline", default=None)


@dataclass
class _Attempt:
    deadline: float
    connections: list[Any] = field(default_factory=list)
    expired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Watchdog:
    """One daemon thread that shuts down the sockets of attempts past their deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Attempt]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, attempt: _Attempt) -> None:
        with self._wake:
            heapq.heappush(self._heap, (attempt.deadline, next(self._order), attempt))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="hub-attempt-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is attempt:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                due = self._due()
                if not due:
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(wait)
                    continue
            for attempt in due:
                _shut(attempt)

    def _due(self) -> list[_Attempt]:
        now, due = time.monotonic(), []
        while self._heap and (self._heap[0][0] <= now or not self._heap[0][2].connections):
            _, _, attempt = heapq.heappop(self._heap)
            if attempt.connections:
                due.append(attempt)
        return due


def _shut(attempt: _Attempt) -> None:
    # under the attempt's lock: a connection handed back to the pool is never shut down
    with attempt.lock:
        attempt.expired = bool(attempt.connections)
        for connection in attempt.connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # closed meanwhile: nothing to stop
                    sock.shutdown(socket.SHUT_RDWR)


_watchdog = _Watchdog()


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[_Attempt]:
    """Requests sent in this block (through the egress connections) end at the latest
    `seconds` from now; ``.expired`` tells afterwards whether the deadline cut one short."""
    attempt = _Attempt(time.monotonic() + seconds)
    token = _current.set(attempt)
    try:
        yield attempt
    finally:
        _current.reset(token)
        with attempt.lock:
            attempt.connections.clear()  # the watchdog drops it when it next looks


def remaining() -> float | None:
    """Seconds left to the current attempt's deadline (None outside an attempt)."""
    attempt = _current.get()
    return None if attempt is None else max(attempt.deadline - time.monotonic(), 0.0)


def guard(connection: Any) -> None:
    """`connection` is about to send a request: shut it down at the attempt's deadline."""
    attempt = _current.get()
    if attempt is None:
        return
    with attempt.lock:
        first = not attempt.connections
        if connection not in attempt.connections:
            attempt.connections.append(connection)
    if first:
        _watchdog.watch(attempt)
