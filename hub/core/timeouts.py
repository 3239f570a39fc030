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
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class HookTimeout(BaseException):
    """A hook ran past its deadline.

    A BaseException, so a plugin's ``except Exception`` cannot swallow it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")
        self.seconds = seconds


def _can_use_signals() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise HookTimeout in this block after `seconds` (main thread only; elsewhere no limit).

    An alarm already set (RQ's job timeout) is suspended meanwhile and restored afterwards
    with its remaining time, so the outer limit still holds for the rest of the job.
    """
    if not _can_use_signals():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise HookTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            left = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
