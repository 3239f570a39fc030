"""Recurring jobs and the scheduler every worker runs: each slot fires once across workers.

A job's schedule is a five-field cron expression (UTC) or an interval in seconds. Every
second each worker's scheduler works out each job's latest slot and claims it with
``SET hub:cron:<job>:<slot> NX EX <period>``: only the worker that wins enqueues it, so
two or more schedulers never double-fire (RQ's own cron has no such lock). A slot missed
while no worker ran still fires if it is at most ``HUB_SCHEDULER_CATCHUP`` seconds old.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from croniter import croniter

from hub.core import clock
from hub.core.connections.context import AppLike
from hub.core.runs.pending import enqueue_job

log = logging.getLogger(__name__)

REGISTRY = "hub.recurring"  # app.extensions key: {name: RecurringJob}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecurringJob:
    """``function`` runs at each slot of ``schedule`` (cron string, or seconds) in one worker.

    Core jobs take the app; a plugin's job takes nothing, or ``ctx`` (then it is called
    once per enabled integration of ``plugin``).
    """

    name: str
    schedule: str | int
    function: Callable[..., Any]
    plugin: str | None = None

    def slot(self, now: datetime) -> datetime:
        """The latest slot at or before `now`."""
        if isinstance(self.schedule, int):
            seconds = int((now - EPOCH).total_seconds()) // self.schedule * self.schedule
            return EPOCH + timedelta(seconds=seconds)
        start = now + timedelta(microseconds=1)
        return croniter(self.schedule, start).get_prev(datetime).astimezone(UTC)

    def period(self, slot: datetime) -> float:
        """Seconds from `slot` to the next one."""
        if isinstance(self.schedule, int):
            return float(self.schedule)
        following = croniter(self.schedule, slot).get_next(datetime)
        return (following.astimezone(UTC) - slot).total_seconds()


def registry(app: AppLike) -> dict[str, RecurringJob]:
    jobs: dict[str, RecurringJob] = app.extensions.setdefault(REGISTRY, {})
    return jobs


def register_core_job(
    app: AppLike,
    name: str,
    schedule: str | int,
    function: Callable[..., Any],
) -> None:
    """Declare a core recurring job; ``function(app)`` runs in a worker's app context (the
    table of them is ``CORE_JOBS`` in hub/jobs.py)."""
    registry(app)[name] = RecurringJob(name, schedule, function)


def register_plugin_jobs(app: AppLike) -> None:
    """Every plugin's ``register_jobs``, named ``<plugin>:<name>``."""
    for job in app.extensions["hub.plugins"].jobs():
        name = f"{job.plugin}:{job.name}"
        registry(app)[name] = RecurringJob(name, job.cron, job.function, job.plugin)


def slot_key(name: str, slot: datetime) -> str:
    return f"hub:cron:{name}:{slot.strftime('%Y-%m-%dT%H:%M:%SZ')}"


class Scheduler:
    """Claims and enqueues due slots; `tick` once per second (`run` does, in a thread)."""

    def __init__(self, app: AppLike, client: redis.Redis) -> None:
        self.app = app
        self.client = client
        self.last: dict[str, datetime] = {}  # the slot each job last considered

    def due(self, now: datetime) -> list[tuple[RecurringJob, datetime]]:
        """Slots not yet considered by this scheduler and recent enough to fire."""
        catchup = float(self.app.config["HUB_SCHEDULER_CATCHUP"])
        found = []
        for job in list(registry(self.app).values()):
            slot = job.slot(now)
            if self.last.get(job.name) == slot:
                continue
            if (now - slot).total_seconds() <= min(catchup, job.period(slot)):
                found.append((job, slot))
            else:
                self.last[job.name] = slot
        return found

    def claim(self, job: RecurringJob, slot: datetime) -> bool:
        ttl = max(int(job.period(slot)) + 60, 60)
        return bool(self.client.set(slot_key(job.name, slot), "1", nx=True, ex=ttl))

    def tick(self, now: datetime | None = None) -> list[str]:
        """Fire every due slot this scheduler wins; the names of the jobs it enqueued."""
        fired = []
        for job, slot in self.due(now or clock.now()):
            if self.claim(job, slot):
                enqueue_job(self.client, "hub.jobs.run_recurring", job.name, slot.isoformat())
                fired.append(job.name)
            # Only now: a slot whose claim failed (Redis away) is tried again next tick.
            self.last[job.name] = slot
        return fired

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Tick until `stop` is set; a Redis outage is retried every second, logged once."""
        failing = False
        while not stop.is_set():
            try:
                if failing:
                    self.client.ping()  # a tick with nothing due would not ask Redis
                self.tick()
                if failing:
                    log.warning("scheduler: Redis answers again")
                failing = False
            except redis.RedisError as exc:
                if not failing:  # one line per outage, not one a second
                    log.warning("scheduler: %s; retrying every %g s", exc, interval)
                failing = True
            except Exception:
                log.exception("scheduler tick failed")
            stop.wait(interval)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="hub-scheduler", daemon=True)
        thread.start()
        return thread
