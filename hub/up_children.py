"""`hub up`'s children (web, worker, embedded Redis): restarted when one dies, stopped in order.

Children run in a session of their own, so the terminal's signals (Ctrl-C's SIGINT, the
SIGHUP of a closed window, which gunicorn would take as "reload") reach `hub up` alone,
and it stops them in order: web and worker first (a stopping worker gives back the runs
it has not started, through Redis), Redis last.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

import click

from hub.up_record import UpRecord

STEADY_SECONDS = 30.0  # a child that ran this long before dying was not crash-looping
MAX_QUICK_DEATHS = 5  # quick deaths in a row after which `hub up` gives up
FIRST_PAUSE = 1.0  # seconds before the first restart; doubled per quick death in a row
STOP_GRACE = 20.0  # seconds a child may take to stop before it is killed

Launch = Callable[[], "subprocess.Popen[bytes]"]


def say(message: str) -> None:
    """A line on stderr; a terminal that was closed (SIGHUP) must not stop the shutdown."""
    with contextlib.suppress(OSError):
        click.echo(message, err=True)


def exit_status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """SIGINT, SIGTERM or SIGHUP reached `hub up`."""


class GiveUp(Exception):
    """A child keeps dying right after it starts: restarting it again would not help."""


class Signals:
    """The first SIGINT / SIGTERM / SIGHUP raises StopRequested; another one while stopping
    makes the stop kill at once (`hurry`)."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._holding = False

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    @property
    def hurry(self) -> bool:
        return self.received == "again"

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """A stop signal waits until the block is done. (Not by blocking the signals: a
        child started meanwhile would inherit the mask and never see its SIGTERM.)"""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self.received is not None:
            raise StopRequested(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            self.received = "again"
            return
        self.received = signal.Signals(signum).name
        if not self._holding:
            raise StopRequested(self.received)


@dataclass
class Child:
    name: str
    launch: Launch
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Children:
    """The processes `hub up` started, in start order, each noted in its record."""

    def __init__(self, record: UpRecord, signals: Signals) -> None:
        self.record = record
        self.signals = signals
        self.children: list[Child] = []

    def start(self, name: str, launch: Launch) -> Child:
        child = Child(name, launch)
        self.children.append(child)
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        child.restart_at, child.started = None, time.monotonic()
        with self.signals.held():  # a Ctrl-C now would leave a child out of the record
            child.process = child.launch()
            self.record.note(child.name, child.process.pid)

    def watch(self, interval: float = 0.5) -> None:
        """Restart children that die, until a signal (StopRequested) or GiveUp."""
        while True:
            for child in self.children:
                self._tend(child)
            time.sleep(interval)

    def _tend(self, child: Child) -> None:
        if child.restart_at is not None:
            if time.monotonic() >= child.restart_at:
                self._restart(child)
            return
        code = child.process.poll() if child.process is not None else None
        if code is not None:
            self._died(child, exit_status(code))

    def _restart(self, child: Child) -> None:
        try:
            self._launch(child)
        except Exception as exc:  # e.g. the embedded Redis did not come up
            self._died(child, f"could not start: {exc}")
            return
        assert child.process is not None
        say(f"restarted the {child.name} process (pid {child.process.pid})")

    def _died(self, child: Child, why: str) -> None:
        lived = time.monotonic() - child.started
        child.quick_deaths = child.quick_deaths + 1 if lived < STEADY_SECONDS else 1
        if child.quick_deaths >= MAX_QUICK_DEATHS:
            raise GiveUp(
                f"the {child.name} process keeps stopping ({why}, {child.quick_deaths} times "
                f"in a row within {STEADY_SECONDS:g} s of starting); see its log above"
            )
        pause = FIRST_PAUSE * 2 ** (child.quick_deaths - 1)  # 1, 2, 4, 8 s
        say(f"the {child.name} process stopped ({why}); restarting it in {pause:g} s")
        child.restart_at = time.monotonic() + pause

    def stop(self) -> None:
        """Web and worker first, then Redis; SIGKILL for what outlives STOP_GRACE (or at
        once after a second signal)."""
        first = [c for c in self.children if c.name != "redis"]
        for group in (first, [c for c in self.children if c.name == "redis"]):
            self._stop_group(group)

    def _stop_group(self, group: list[Child]) -> None:
        running = [c.process for c in group if c.process is not None and c.running()]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while any(p.poll() is None for p in running):
            if self.signals.hurry or time.monotonic() > deadline:
                for process in running:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            time.sleep(0.05)
