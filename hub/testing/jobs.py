"""The plugin author's kit, continued: ``run_jobs`` and the ``hub_clock`` fixture.

``run_jobs(app)`` runs what a production worker would, through a real RQ worker on the
test's real Redis: committed events are dispatched, each enabled plugin's hooks called,
events the hooks emit dispatched in turn, and runs whose retry time the test's clock
has reached performed too.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from rq.job import Job

from hub.core import clock
from hub.core.background import wait_all_idle
from hub.core.runs import recovery
from hub.extensions import db
from hub.worker import make_worker


def _queue_due_work(app: Flask) -> None:
    """Everything due by the hub's clock, queued now (what the sweepers would find)."""
    with app.app_context():
        recovery.sweep_outbox(db.session, app, everything=True)
        recovery.sweep_runs(db.session, app, requeue_after=0)
        db.session.remove()


def _failures(app: Flask) -> list[str]:
    worker_queue = make_worker(app).queues[0]
    registry = worker_queue.failed_job_registry
    found = []
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=worker_queue.connection)
        result = job.latest_result()
        found.append(f"{job.func_name}: {result.exc_string if result else '?'}")
        registry.remove(job_id, delete_job=True)
    return found


def _burst(app: Flask) -> int:
    """One burst of a real worker over `app`; the number of jobs it performed."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = make_worker(app)
    try:
        worker.work(burst=True, logging_level="WARNING")
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    wait_all_idle(app.extensions)  # what the jobs woke (the webhook pump) finishes too
    failures = _failures(app)
    if failures:
        raise AssertionError("a hub job failed:\n" + "\n".join(failures))
    return worker.performed


def run_jobs(app: Flask, max_rounds: int = 25) -> int:
    """Run every job due now through a real worker until none is left; how many jobs ran.

    Commit your session's work first: the worker uses its own session (on SQLite an
    open write transaction in the test would block it).
    """
    total = 0
    for _ in range(max_rounds):
        _queue_due_work(app)
        performed = _burst(app)
        if not performed:
            return total
        total += performed
    raise AssertionError(f"jobs kept coming after {max_rounds} rounds (hooks emitting forever?)")


class FrozenClock:
    """The hub's clock, frozen for a test: ``set(when)``, ``advance(seconds=..., hours=...)``."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def now(self) -> datetime:
        return clock.now()

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("give the test clock an aware datetime")
        clock.set_now(when)
        return clock.now()

    def advance(self, seconds: float = 0, **delta: Any) -> datetime:
        return self.set(clock.now() + timedelta(seconds=seconds, **delta))


@pytest.fixture
def hub_clock() -> Iterator[FrozenClock]:
    """The hub's clock frozen at the current time (to the second); it runs again afterwards."""
    yield FrozenClock(datetime.now(UTC).replace(microsecond=0))
    clock.set_now(None)
