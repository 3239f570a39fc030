"""`hub worker`: one process running RQ jobs in the app's context, plus the scheduler.

Worker model (see README, "Worker model"): RQ's non-forking SimpleWorker, because a fork
per job costs more than the work; jobs carry batches of ids (up to HUB_RUN_BATCH events
or runs), so RQ's per-job overhead is paid once per batch. Hooks are bounded by a
SIGALRM deadline in this main thread (hub/core/timeouts.py). A thread in each worker
runs the scheduler, whose slots fire once across all workers (hub/core/scheduling.py).
SIGTERM / SIGINT: the current batch stops before its next run, gives back the runs it
has not started, and the worker exits; a second signal exits at once (leases recover).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, g
from rq import Queue, SimpleWorker
from rq.job import Job

from hub.core.dispatch import QUEUE
from hub.core.scheduling import Scheduler
from hub.extensions import db
from hub.jobs import recurring

QUEUE_NAMES = (QUEUE,)
log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """Runs jobs in this process (no fork per job) inside the app's context."""

    app: Flask
    performed = 0  # jobs performed by this worker object (RQ keeps its counts in Redis)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            g.hub_worker = self
            try:
                return super().perform_job(job, queue)
            finally:
                self.performed += 1
                db.session.remove()


def queues(app: Flask) -> list[Queue]:
    connection = app.extensions["hub.redis"]
    return [Queue(name, connection=connection) for name in QUEUE_NAMES]


def make_worker(app: Flask) -> AppWorker:
    found = queues(app)
    worker = AppWorker(found, connection=found[0].connection)
    worker.app = app
    return worker


def _rq_log_level(app: Flask) -> str:
    """RQ logs a line per job; keep it quiet unless the hub logs at DEBUG."""
    return "DEBUG" if app.config["HUB_LOG_LEVEL"] == "DEBUG" else "WARNING"


def start_scheduler(app: Flask) -> tuple[threading.Event, threading.Thread]:
    recurring(app)  # declare the core's and plugins' jobs before the first tick
    stop = threading.Event()
    return stop, Scheduler(app, app.extensions["hub.redis"]).start(stop)


def run_worker(app: Flask, burst: bool = False, with_scheduler: bool = True, **kwargs: Any) -> bool:
    """Work until stopped (or, with `burst`, until the queue is empty); whether any job ran."""
    worker = make_worker(app)
    scheduler = start_scheduler(app) if with_scheduler and not burst else None
    try:
        # RQ's own scheduler (a forked process, for enqueue_at) is not used: retries are
        # timed by runs.next_attempt_at in the database and picked up by the run sweeper.
        return worker.work(burst=burst, logging_level=_rq_log_level(app), **kwargs)
    finally:
        if scheduler is not None:
            scheduler[0].set()
            scheduler[1].join(timeout=5)
