"""`hub worker`: one process running RQ jobs in the app's context, plus the scheduler.

Worker model (see README, "Worker model"): RQ's non-forking SimpleWorker, because a fork
per job costs more than the work; jobs carry batches of ids (up to HUB_RUN_BATCH events
or runs), so RQ's per-job overhead is paid once per batch. Hooks are bounded by a
SIGALRM deadline in this main thread (hub/core/timeouts.py). A thread in each worker
runs the scheduler, whose slots fire once across all workers (hub/core/runs/scheduling.py).
SIGTERM / SIGINT: the current batch stops before its next run, gives back the runs it
has not started, and the worker exits; a second signal exits at once (leases recover).

Webhook pump: forked into a child process before the worker starts any thread
(HUB_WEBHOOK_PUMP_PROCESS, hub/core/background_process.py), so sending and dispatch each have
an interpreter; the jobs wake it down a pipe, and the worker's exit (or death) closes the
pipe, which stops it. `--burst` keeps it in a thread.

Redis outages: RQ quits its work loop when Redis fails under its bookkeeping (the
heartbeat after a job, registering the worker). Here a lost Redis ends RQ's loop quietly
instead, the process waits for Redis with doubling pauses (hub/worker_redis.py) and starts
a new loop; what the lost job did is in the database, and the sweepers recover the rest.

Memory: after a job, at most every TRIM_SECONDS, the worker hands the C heap's free pages
back to the system (glibc's malloc_trim). Its Python objects and SQLite's caches stay
level under a steady flow of events, but glibc keeps what the job and the pump's threads
freed, scattered over its arenas, and without the trim the worker's RSS crept up by about
1 MB per 10,000 events (README, "Memory of a web process and a worker"). Its threads also
share two arenas instead of glibc's 8 per core (as MALLOC_ARENA_MAX=2 would; the
environment's own setting wins), so the free space is in fewer places.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import redis
from flask import Flask, g
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job

from hub.core import schema_version
from hub.core.background import stop_all
from hub.core.runs.pending import QUEUE
from hub.core.runs.scheduling import Scheduler
from hub.default_plugins import webhooks as webhooks_plugin
from hub.extensions import connect_redis, db
from hub.jobs import HubJob, recurring
from hub.plugins import get_plugins
from hub.worker_redis import OUTAGE, StopSignals, wait_for_redis

QUEUE_NAMES = (QUEUE,)
TRIM_SECONDS = 5.0  # free C heap pages go back to the system at most this often
log = logging.getLogger(__name__)


def _find_malloc_trim() -> Any:
    """glibc's malloc_trim, or None (another C library: nothing to trim)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()
M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2  # arenas the worker's threads share (glibc's default: 8 per core)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Have the worker's threads share `arenas` glibc heaps, as MALLOC_ARENA_MAX would
    (unless the environment sets it); whether it was applied."""
    if _MALLOC_TRIM is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


class HeapTrimmer:
    """Returns the C heap's free pages to the system, at most every `seconds`."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = TRIM_SECONDS if seconds is None else seconds
        self.last = time.monotonic()

    def maybe(self) -> None:
        if _MALLOC_TRIM is None or time.monotonic() - self.last < self.seconds:
            return
        _MALLOC_TRIM(0)  # every arena, not only the main heap's top
        self.last = time.monotonic()


class AppWorker(SimpleWorker):
    """Runs jobs in this process (no fork per job) inside the app's context."""

    app: Flask
    job_class = HubJob  # jobs queued under a renamed job's old name still run
    performed = 0  # jobs performed by this worker object (RQ keeps its counts in Redis)
    redis_lost: Exception | None = None  # why the work loop ended early, if Redis went away
    heap: HeapTrimmer

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            g.hub_worker = self
            try:
                return super().perform_job(job, queue)
            finally:
                self.performed += 1
                db.session.remove()
                self.heap.maybe()

    @contextmanager
    def _ending_loop_on_outage(self) -> Iterator[None]:
        """A lost Redis ends RQ's work loop as a stop would (RQ would log "quitting" and
        the process exit); `run_worker` then waits for Redis and starts a new loop."""
        try:
            yield
        except OUTAGE as exc:
            self.redis_lost = exc
            raise StopRequested() from exc

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self._ending_loop_on_outage():
            super().execute_job(job, queue)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        with self._ending_loop_on_outage():
            super().heartbeat(timeout, pipeline)

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, *args: Any) -> Any:
        # RQ retries a refused connection here itself, but quits on a timed-out one
        with self._ending_loop_on_outage():
            return super().dequeue_job_and_maintain_ttl(timeout, *args)

    def check_for_suspension(self, burst: bool) -> None:
        with self._ending_loop_on_outage():
            super().check_for_suspension(burst)

    def run_maintenance_tasks(self) -> None:
        with self._ending_loop_on_outage():
            super().run_maintenance_tasks()

    def set_shutdown_requested_date(self) -> None:
        # Runs inside the SIGTERM handler: with Redis gone it would raise into the job.
        with suppress(*OUTAGE):
            super().set_shutdown_requested_date()

    def teardown(self) -> None:
        try:
            super().teardown()
        except OUTAGE:  # RQ's record of this worker expires with its keys
            if self.pubsub_thread is not None:
                self.pubsub_thread.stop()  # else it retries Redis (and logs) every 2 s
            if self.pubsub is not None:
                with suppress(*OUTAGE):
                    self.pubsub.close()

    @property
    def stop_signalled(self) -> bool:
        return self._shutdown_requested_date is not None


def make_worker(app: Flask, connection: redis.Redis | None = None) -> AppWorker:
    """A worker on the app's Redis client, or on `connection`."""
    connection = connection or app.extensions["hub.redis"]
    found = [Queue(name, connection=connection) for name in QUEUE_NAMES]
    worker = AppWorker(found, connection=connection)
    worker.app = app
    worker.heap = HeapTrimmer()
    return worker


def schema_problem(app: Flask) -> str | None:
    """Why this worker must not start: a schema older than its code (None: it may start).
    Raises SQLAlchemyError when the database cannot be read."""
    with app.app_context():
        try:
            applied = schema_version.database_heads(db.session.connection())
        finally:
            db.session.remove()
    code = schema_version.code_revisions(get_plugins(app).migration_dirs())
    state = schema_version.compare(code, applied)
    if state.unknown:
        log.warning("database schema is %s; this worker's code is older", state.describe())
    return state.describe() if state.behind else None


def _rq_log_level(app: Flask) -> str:
    """RQ logs a line per job; keep it quiet unless the hub logs at DEBUG."""
    return "DEBUG" if app.config["HUB_LOG_LEVEL"] == "DEBUG" else "WARNING"


def start_scheduler(app: Flask) -> tuple[threading.Event, threading.Thread]:
    recurring(app)  # declare the core's and plugins' jobs before the first tick
    stop = threading.Event()
    return stop, Scheduler(app, app.extensions["hub.redis"]).start(stop)


def _work_once(
    app: Flask, connection: redis.Redis, burst: bool, **kwargs: Any
) -> tuple[bool, bool]:
    """One RQ work loop: (whether a job ran, whether it ended because Redis went away)."""
    worker: AppWorker | None = None
    try:
        worker = make_worker(app, connection)
        log.info("worker started: %s, queue %s", worker.name, ", ".join(QUEUE_NAMES))
        # RQ's own scheduler (a forked process, for enqueue_at) is not used: retries are
        # timed by runs.next_attempt_at in the database and picked up by the run sweeper.
        worked = worker.work(burst=burst, logging_level=_rq_log_level(app), **kwargs)
    except OUTAGE as exc:  # Redis failed while the loop started or ended
        if worker is not None:
            worker.teardown()
        log.warning("worker lost Redis (%s); it works again once Redis answers", exc)
        return False, True
    if worker.redis_lost is None or worker.stop_signalled:
        return worked, False
    log.warning("worker lost Redis (%s); it works again once Redis answers", worker.redis_lost)
    return worked, True


def run_worker(app: Flask, burst: bool = False, with_scheduler: bool = True, **kwargs: Any) -> bool:
    """Work until stopped (or, with `burst`, until the queue is empty), waiting out Redis
    outages; whether any job ran."""
    # RQ's own connection: RQ raises its socket timeout above its blocking dequeue (minutes),
    # which jobs and the scheduler, on the app's client, must not inherit.
    limit_malloc_arenas()  # before the scheduler's and the pump's threads exist
    if app.config["HUB_WEBHOOK_PUMP_PROCESS"] and not burst:  # before any thread, too
        webhooks_plugin.start_pump_process(app, idle=HeapTrimmer().maybe)
    connection = connect_redis(app.config["REDIS_URL"])
    signals = StopSignals()
    scheduler = start_scheduler(app) if with_scheduler and not burst else None
    worked = False
    try:
        while True:
            signals.install()  # RQ's loop installs its own; between loops these hold
            if not wait_for_redis(app.extensions["hub.redis"], signals.event):
                return worked
            ran, lost = _work_once(app, connection, burst, **kwargs)
            worked = worked or ran
            if not lost:
                return worked
    finally:
        if scheduler is not None:
            scheduler[0].set()
            scheduler[1].join(timeout=5)
        # the senders give back what they had not started and finish what is in flight
        stop_all(app.extensions, float(app.config["HUB_WEBHOOK_TIMEOUT"]) + 5)
        connection.close()
        log.info("worker stopped")
