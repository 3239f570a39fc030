"""Waiting for Redis: a worker that starts before Redis, or loses it, waits with doubling
pauses and says so in its log, and a SIGTERM / SIGINT meanwhile stops it at once."""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

import redis

log = logging.getLogger("hub.worker")

# What an unreachable Redis raises (a refused or dropped connection, a server still
# loading its data, a command that timed out); other Redis errors are bugs, not outages.
OUTAGE: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 10.0  # also the longest a worker takes to notice that Redis is back


def describe(client: redis.Redis) -> str:
    """Where `client` connects (no password, unlike its URL)."""
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


class StopSignals:
    """SIGTERM and SIGINT set `event` (for the time no RQ work loop has handlers of its own)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker stopping (%s)", signal.Signals(signum).name)
        self.event.set()


def wait_for_redis(
    client: redis.Redis,
    stop: threading.Event,
    first: float = FIRST_PAUSE,
    longest: float = LONGEST_PAUSE,
) -> bool:
    """Return once Redis answers PING (True), or when `stop` is set first (False)."""
    pause, since, failures = first, time.monotonic(), 0
    while not stop.is_set():
        try:
            client.ping()
        except OUTAGE as exc:
            failures += 1
            what = "waiting for Redis" if failures == 1 else "still waiting"
            log.warning(
                "Redis is unreachable at %s (%s); %s, next try in %g s",
                describe(client),
                exc,
                what,
                pause,
            )
            stop.wait(pause)
            pause = min(pause * 2, longest)
            continue
        if failures:
            log.warning(
                "Redis is back at %s after %.0f s", describe(client), time.monotonic() - since
            )
        return True
    return False
