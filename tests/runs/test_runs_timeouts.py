"""The hook deadline: interrupts what the hook is doing, cannot be swallowed by
``except Exception``, and leaves an outer alarm (RQ's job timeout) in force."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time

import pytest

from hub.core.timeouts import HookTimeout, deadline


def test_a_blocking_read_past_the_deadline_is_interrupted():
    left, right = socket.socketpair()
    try:
        with pytest.raises(HookTimeout), deadline(0.2):
            left.recv(1)  # nothing ever arrives
    finally:
        left.close()
        right.close()


def test_a_plugin_catching_every_exception_still_times_out():
    def stubborn_hook() -> None:
        while True:
            with contextlib.suppress(Exception):
                time.sleep(5)

    with pytest.raises(HookTimeout), deadline(0.2):
        stubborn_hook()


def test_a_hook_within_its_deadline_is_left_alone_and_the_alarm_cleared():
    with deadline(5):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_outer_alarm_is_restored_with_its_remaining_time():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *args: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with deadline(1):
            pass
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 28 < remaining <= 30
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_there_is_no_signal_deadline():
    outcome = []

    def work() -> None:
        with deadline(0.01):
            time.sleep(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert outcome == ["finished"]
