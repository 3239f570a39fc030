"""Waking the delivery pump: a flag in Redis and at most one queued pump job at a time.

Deliveries are committed first, then the pump is kicked (after the commit, so the job
finds them). The flag is cleared when a pump starts, so rows committed from then on get a
pump of their own. If Redis is down nothing is lost: the sweeper kicks the pump later.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

import redis
from rq import Queue

from hub.core import clock
from hub.core.db import AnySession, after_commit
from hub.core.runs.pending import QUEUE, enqueue_job
from hub.core.webhooks.delivery import next_due
from hub.core.webhooks.endpoints import Subscriptions

log = logging.getLogger(__name__)

KICK = "hub:webhooks:kick"  # set while a pump job is queued
KICK_TTL = 10  # seconds: a pump job lost with its flag is replaced after this
PUMP_JOB = "hub.jobs.deliver_webhooks"
PUMP_JOB_TIMEOUT = 300
_AFTER_COMMIT = "hub.webhooks.kick"
# a kick deferred to the end of the current job (one per thread and context)
_deferred: ContextVar[Any] = ContextVar("hub_webhooks_deferred_kick", default=None)
# endpoints read by the current job: an endpoint changed meanwhile counts from the next job
_subscriptions: ContextVar[Subscriptions | None] = ContextVar(
    "hub_webhooks_subscriptions", default=None
)


def kick(client: redis.Redis, first: bool = False) -> bool:
    """Queue a pump job unless one is queued already; never raises (the sweeper is there).

    ``first``: at the front of the queue, so deliveries a job just made go out before the
    next batch of events is dispatched (a backlog's later pumps queue at the back).
    """
    try:
        if client.set(KICK, "1", nx=True, ex=KICK_TTL):
            _enqueue_pump(client, first)
            return True
    except redis.RedisError as exc:
        log.warning("webhook pump not queued (%s); the sweeper will start it", exc)
    return False


def _enqueue_pump(client: redis.Redis, first: bool) -> None:
    if not first:
        enqueue_job(client, PUMP_JOB, timeout=PUMP_JOB_TIMEOUT)
        return
    # as pending.enqueue_job does, only at the front
    Queue(QUEUE, connection=client).enqueue(
        PUMP_JOB, job_timeout=PUMP_JOB_TIMEOUT, result_ttl=0, failure_ttl=7 * 86400, at_front=True
    )


def take_kick(client: redis.Redis) -> None:
    """A pump is starting: deliveries committed from now on queue another."""
    client.delete(KICK)


def kick_after_commit(session: AnySession, client: Any, defer: bool = False) -> None:
    """Kick the pump once `session` commits what it holds (deliveries made ready).

    ``defer``: not at once but when the current job ends (:func:`job_ended`), so
    a job that commits a hundred runs costs one Redis round trip, not a hundred.
    """
    if client is not None:
        kicker = after_commit(session, _KickAtCommit(), key=_AFTER_COMMIT)
        kicker.client, kicker.defer = client, defer


class _KickAtCommit:
    """One per transaction (``hub.after_commit`` with a key); the last caller's wins."""

    client: Any = None
    defer = False

    def __call__(self) -> None:
        if self.defer:
            _deferred.set(self.client)
        else:
            kick(self.client)


def job_subscriptions() -> Subscriptions:
    """A cache of orgs' subscriptions for the current job (:func:`job_ended` drops it)."""
    known = _subscriptions.get()
    if known is None:
        known = {}
        _subscriptions.set(known)
    return known


def deliveries_committed() -> bool:
    """Has a commit of the current job made deliveries ready (its kick deferred to the
    job's end)?"""
    return _deferred.get() is not None


def job_ended() -> None:
    """At the end of each job (or request): kick the pump if a commit deferred it, and
    forget the subscriptions read meanwhile."""
    _subscriptions.set(None)
    client = _deferred.get()
    if client is not None:
        _deferred.set(None)
        kick(client, first=True)


def kick_if_due(session: AnySession, client: redis.Redis) -> bool:
    """Kick the pump when a delivery no worker holds is due (the sweeper; a pump's end)."""
    when = next_due(session)
    return when is not None and when <= clock.now() and kick(client)
