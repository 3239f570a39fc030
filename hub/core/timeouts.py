"""A deadline for one hook call, enforced with SIGALRM in the worker's main thread.

Why a signal and not a watchdog thread: the signal interrupts the hook where it is (a
socket read, a sleep, a busy loop), so its own ``finally`` blocks run and its database
transaction is rolled back before the next run starts; a hook abandoned in a thread would
keep running beside the next one, holding its session (and on SQLite the write lock).
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any


class HookTimeout(BaseException):
    """A hook ran past its deadline.

    A BaseException, so a plugin's ``except Exception`` cannot swallow it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


_HAS_TIMERS = hasattr(signal, "setitimer")
REPEAT_SECONDS = 1.0  # the longest wait for the next alarm once the deadline has passed
try:
    # the C function itself: signal.signal also turns the handler it returns into an enum
    # by trying Handlers(handler), which raises and catches a ValueError for a function,
    # and two such calls were most of a deadline's cost (one per run a worker performs)
    from _signal import signal as _swap_handler
except ImportError:  # pragma: no cover - CPython always has it
    _swap_handler = signal.signal


class deadline:  # a class, for speed; written as a function is: `with deadline(seconds):`
    """Raise HookTimeout in this block after `seconds` (main thread only; elsewhere no limit).

    An alarm already set (RQ's job timeout) is suspended meanwhile and restored afterwards
    with its remaining time, so the outer limit still holds for the rest of the job.
    """

    __slots__ = ("armed", "outer", "previous", "seconds", "started")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False

    def __enter__(self) -> None:
        if not _HAS_TIMERS or threading.current_thread() is not threading.main_thread():
            return
        self.previous: Any = _swap_handler(signal.SIGALRM, self._expire)
        # and again every `again` seconds until the block is left: a HookTimeout raised
        # where Python swallows exceptions (a weakref callback or a __del__ that the
        # collector ran just then, reported as "Exception ignored in") did not end the hook
        again = min(self.seconds, REPEAT_SECONDS)
        self.outer, _ = signal.setitimer(signal.ITIMER_REAL, self.seconds, again)
        self.started, self.armed = time.monotonic(), True

    def __exit__(self, *exc: object) -> None:
        if not self.armed:
            return
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        # None: the handler was not set from Python; the default is what stood before
        previous = signal.SIG_DFL if self.previous is None else self.previous
        _swap_handler(signal.SIGALRM, previous)
        if self.outer:
            left = self.outer - (time.monotonic() - self.started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))

    def _expire(self, signum: int, frame: FrameType | None) -> None:
        raise HookTimeout(self.seconds)
