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


def test_a_timeout_swallowed_where_it_landed_comes_again():
    """The first HookTimeout raised inside a weakref callback or a __del__ run by the
    collector is lost ("Exception ignored in"); here it is caught instead, by the same
    code that runs a hook, and the alarm comes again until the block is left."""
    swallowed = []
    started = time.monotonic()
    with pytest.raises(HookTimeout), deadline(0.1):
        try:
            time.sleep(5)
        except HookTimeout as lost:
            swallowed.append(lost)
        time.sleep(5)
    assert len(swallowed) == 1
    assert time.monotonic() - started < 1
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_hook_within_its_deadline_is_left_alone_and_the_alarm_cleared():
    with deadline(5):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_outer_alarm_is_restored_with_its_remaining_time():
    fired = []

    def outer(*args: object) -> None:
        fired.append(True)

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with deadline(1):
            pass
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 28 < remaining <= 30
        assert signal.getsignal(signal.SIGALRM) is outer and not fired
        # and it still fires, through its own handler, once its time has come
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with deadline(5):
            time.sleep(0.05)
        time.sleep(0.5)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_default_handler_is_put_back_when_no_handler_was_set():
    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        with deadline(5):
            assert signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    finally:
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
