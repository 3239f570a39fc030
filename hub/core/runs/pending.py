"""Handing committed events to the workers: their ids go onto a Redis list and, unless one
is already pending, a drain job is enqueued; under load many commits share one job. If
Redis is down the request still succeeds: the outbox sweeper (``recovery``) finds the
undispatched events later. The database is the truth; Redis only carries ids.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis
from rq import Queue

from hub.core.connections.context import AppLike

log = logging.getLogger(__name__)

QUEUE = "hub"
PENDING = "hub:dispatch:pending"  # event ids waiting for a drain job
KICK = "hub:dispatch:kick"  # set while a drain job is pending
KICK_TTL = 10  # seconds: a drain job lost with its flag is replaced after this
# A drain job takes batch after batch while events are pending, for up to this long: a
# job costs RQ about 2 ms of CPU, as much as a few runs, so a backlog is drained in few.
DRAIN_SECONDS = 0.5


def enqueue_job(client: redis.Redis, function: str, *args: Any, timeout: float = 600) -> None:
    """Put a job on the hub's queue; jobs take ids only, results are not kept."""
    Queue(QUEUE, connection=client).enqueue(
        function, *args, job_timeout=int(timeout), result_ttl=0, failure_ttl=7 * 86400
    )


def push_events(client: redis.Redis, event_ids: list[str], job_timeout: float) -> None:
    """Hand event ids to the workers: one pipelined round trip, plus a job if none is pending."""
    pipe = client.pipeline(transaction=False)
    pipe.rpush(PENDING, *event_ids)
    pipe.set(KICK, "1", nx=True, ex=KICK_TTL)
    _, kicked = pipe.execute()
    if kicked:
        enqueue_job(client, "hub.jobs.drain_events", timeout=job_timeout)


def drain_job_timeout(config: Mapping[str, Any]) -> float:
    """RQ's outer limit for a drain job (its last batch may start just before DRAIN_SECONDS
    end); each hook has its own, shorter deadline."""
    batch = float(config["HUB_RUN_BATCH"]) * float(config["HUB_RUN_TIMEOUT"])
    return batch + DRAIN_SECONDS + 120


def on_events_committed(app: AppLike, event_ids: list[str]) -> None:
    """``hub.on_events_committed``: never fails the commit that called it."""
    try:
        push_events(app.extensions["hub.redis"], event_ids, drain_job_timeout(app.config))
    except redis.RedisError as exc:
        log.warning(
            "%d event(s) not handed to the workers (%s); the outbox sweeper will dispatch them",
            len(event_ids),
            exc,
        )


def take_pending(
    client: redis.Redis, batch: int, job_timeout: float, first: bool = True
) -> list[str]:
    """Up to `batch` pending event ids; another drain job is queued if more remain.

    A job's `first` take clears the flag of the job now running, so ids pushed from then
    on get a job of their own; its later takes leave the flag of the job it queued.
    """
    if first:
        client.delete(KICK)
    taken = client.lpop(PENDING, batch) or []
    if client.llen(PENDING) and client.set(KICK, "1", nx=True, ex=KICK_TTL):
        enqueue_job(client, "hub.jobs.drain_events", timeout=job_timeout)
    return [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in taken]
