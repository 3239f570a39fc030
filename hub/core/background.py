"""A loop that runs in a thread of its own while it has work, woken by jobs.

The outbound senders (the webhook pump) run beside a worker's jobs, not inside them: a job
only wakes the loop and returns, so a slow destination holds a sender thread of its
organization, never the worker that dispatches every organization's events. The loop
exits once idle; the next wake starts it again. Wakes are numbered, so a loop that has
done a round since the last wake can tell it has seen everything committed before it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)
REGISTRY = "hub.background"  # app.extensions: name -> Loop


class Loop(Protocol):
    """What a job may do with a loop, whether it runs in a thread or in a process."""

    name: str
    stopping: threading.Event

    def wake(self) -> None: ...

    def stop(self) -> None: ...

    def wait_idle(self, timeout: float) -> bool: ...


class Background:
    """One thread at most running ``body(loop)``; ``body`` returns when ``loop.finish`` says so."""

    def __init__(self, name: str, body: Callable[[Background], None]) -> None:
        self.name, self.body = name, body
        self._cond = threading.Condition()
        self._wakes = 0
        self._thread: threading.Thread | None = None
        self._active = 0  # bodies running (one winding down after `finish`, one started)
        self.stopping = threading.Event()  # the process is stopping: wind down, take no more

    def wake(self) -> None:
        """There may be new work: start the loop, or have the running one look again."""
        if self.stopping.is_set():
            return  # what is due waits for another worker (or this one's return)
        with self._cond:
            self._wakes += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._active += 1
                self._thread.start()

    def stop(self) -> None:
        """The process is stopping: the running loop winds down, and wakes start none."""
        self.stopping.set()

    def ticket(self) -> int:
        """The wakes so far: take it before looking for work."""
        with self._cond:
            return self._wakes

    def woken_since(self, ticket: int) -> bool:
        with self._cond:
            return self._wakes != ticket

    def finish(self, ticket: int) -> bool:
        """The loop found no work after `ticket`: True if it must end (no wake since)."""
        with self._cond:
            if self._wakes != ticket:
                return False
            self._thread = None
            return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no loop runs (everything woken for is done); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._active, timeout)

    def _run(self) -> None:
        try:
            self.body(self)
        except Exception:  # the next wake starts another loop; what it held has leases
            log.exception("%s stopped unexpectedly", self.name)
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()


def loop_for(extensions: dict[str, Any], name: str, body: Callable[[Background], None]) -> Loop:
    """The app's loop called `name`: a thread's, made on first use, unless one was put there
    (`install`)."""
    loops: dict[str, Loop] = extensions.setdefault(REGISTRY, {})
    if name not in loops:
        loops[name] = Background(name, body)
    return loops[name]


def install(extensions: dict[str, Any], name: str, loop: Loop) -> None:
    """Make `loop` the app's loop called `name` (a process's, for example)."""
    extensions.setdefault(REGISTRY, {})[name] = loop


def stop_all(extensions: dict[str, Any], timeout: float) -> None:
    """The process stops: every loop winds down (gives back what it had not started and
    finishes what it had), waited for up to `timeout` seconds in all."""
    loops = list(extensions.get(REGISTRY, {}).values())
    for loop in loops:
        loop.stop()
    for loop in loops:
        if not loop.wait_idle(timeout):
            log.warning("%s still sending at exit: its leases will expire", loop.name)


def wait_all_idle(extensions: dict[str, Any], timeout: float = 120.0) -> None:
    """Until every loop of the app is idle (tests: ``run_jobs`` waits for what jobs woke)."""
    for loop in list(extensions.get(REGISTRY, {}).values()):
        if not loop.wait_idle(timeout):
            raise TimeoutError(f"{loop.name} still busy after {timeout:g} s")
