"""A background loop whose body runs in a child process of the worker, not in a thread.

The webhook pump and the worker's jobs are both CPU-bound in Python: in one interpreter they
take turns on one core however many the machine has. Forked at the worker's start, the
pump has an interpreter of its own, and the worker wakes it as it would wake its thread.

- **Waking**: a byte down a pipe; the child wakes its own :class:`Background`, which runs the
  same body as the thread would. The byte is written after the commit that made the work,
  as the thread's wake was, so the child's next look sees it.
- **Stopping**: the worker closes its end of the pipe; the child reads end-of-file, its loop
  gives back what it had not started and finishes what was in flight, and it exits. A worker
  killed with -9 closes the pipe too, so its child winds down the same way. A SIGTERM sent
  to the whole group (systemd does) does the same; SIGINT (Ctrl-C in a terminal) is left to
  the worker, which then closes the pipe.
- **A child that dies** (killed, out of memory) is noticed at the next wake. The worker
  then runs the body in a thread, as it would without a child, and says so in its log; what
  the child held comes back when its leases lapse. It does not fork again: by then it has
  threads and open connections, which a fork would copy mid-use.
- **Forking** happens once, before the worker has threads or database connections
  (``prepare`` runs in the child first, to drop any it inherited all the same).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from hub.core.background import Background

log = logging.getLogger(__name__)
IDLE_SECONDS = 5.0  # the child's `idle` callback runs at least this often
REAP_POLL = 0.05  # seconds between looks at whether the child has exited


class ProcessLoop:
    """A :class:`Background` in a forked child; wakes and stops cross a pipe."""

    def __init__(
        self,
        name: str,
        body: Callable[[Background], None],
        prepare: Callable[[], None] = lambda: None,
        idle: Callable[[], None] = lambda: None,
        stop_timeout: float = 30.0,
    ) -> None:
        self.name, self.body = name, body
        self.prepare, self.idle, self.stop_timeout = prepare, idle, stop_timeout
        self.stopping = threading.Event()
        self.pid: int | None = None
        self.exitcode: int | None = None  # the child's, once it has exited and been reaped
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._thread_loop: Background | None = None  # after the child died

    def start(self) -> None:
        """Fork the child (once)."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child; its behaviour is tested from outside)
            os.close(write)
            status = 1
            try:
                status = self._child(read)
            except BaseException:
                log.exception("%s process failed", self.name)
            finally:
                logging.shutdown()
                os._exit(status)
        os.close(read)
        os.set_blocking(write, False)
        self.pid, self._fd = pid, write
        log.info("%s runs in process %d", self.name, pid)

    @property
    def in_thread(self) -> bool:
        """Has the body moved into a thread of this process (the child died)?"""
        return self._thread_loop is not None

    def wake(self) -> None:
        """There may be new work (as :meth:`Background.wake`)."""
        if self.stopping.is_set():
            return
        with self._lock:
            if self._thread_loop is None and self._fd is not None:
                try:
                    os.write(self._fd, b"w")
                    return
                except BlockingIOError:  # wakes it has not read yet: it will look again
                    return
                except OSError as exc:  # BrokenPipeError: the child is gone
                    self._child_died(exc)
            loop = self._thread_loop
        if loop is not None:
            loop.wake()

    def _child_died(self, exc: OSError) -> None:
        pid, deadline, status = self.pid, time.monotonic() + 1.0, self._reap()
        while status is None and time.monotonic() < deadline:  # closed its pipe, exiting
            time.sleep(REAP_POLL)
            status = self._reap()
        log.error(
            "%s process %s ended (%s, exit status %s); this worker runs it in a thread from "
            "now on, and what the process held is sent again once its leases lapse",
            self.name,
            pid,
            exc.__class__.__name__,
            status,
        )
        self._close()
        self._thread_loop = Background(self.name, self.body)

    def stop(self) -> None:
        """Wind down: the child (or the thread) gives back what it had not started."""
        self.stopping.set()
        with self._lock:
            self._close()
            loop = self._thread_loop
        if loop is not None:
            loop.stop()

    def wait_idle(self, timeout: float) -> bool:
        """After :meth:`stop`: wait for the child to exit; False if it still runs."""
        if self._thread_loop is not None:
            return self._thread_loop.wait_idle(timeout)
        deadline = time.monotonic() + timeout
        while self.pid is not None:
            if self._reap() is not None or time.monotonic() >= deadline:
                break
            time.sleep(REAP_POLL)
        return self.pid is None

    def _reap(self) -> int | None:
        """The child's exit status once it has exited (and forget it), else None."""
        if self.pid is None:
            return None
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: its status is not known
            self.pid = None
            return -1
        if pid == 0:
            return None
        self.pid, self.exitcode = None, os.waitstatus_to_exitcode(status)
        return self.exitcode

    def _close(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None

    # ----- in the child -----

    def _child(self, read: int) -> int:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the worker closes the pipe
        stop_read, stop_write = os.pipe()
        os.set_blocking(stop_write, False)
        signal.set_wakeup_fd(stop_write)  # a SIGTERM ends the wait below
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        self.prepare()
        loop = Background(self.name, self.body)
        while True:
            ready, _, _ = select.select([read, stop_read], [], [], IDLE_SECONDS)
            if stop_read in ready:
                break
            if read in ready:
                if not os.read(read, 4096):  # end of file: the worker stopped or died
                    break
                loop.wake()
            self.idle()
        loop.stop()
        if not loop.wait_idle(self.stop_timeout):
            log.warning("%s still sending at exit: its leases will expire", self.name)
        return 0
