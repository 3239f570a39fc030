"""Deliveries: one row per (event x subscription), claimed with a lease, sent, recorded.

The row is the truth (state, attempts, next attempt, lease), so a worker that dies leaves
a lease that expires and a run that executes twice inserts nothing new. Claims are one
``UPDATE ... RETURNING`` on the due rows; a result is written only by the lease holder.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm.exc import ObjectDeletedError

from hub import EventInfo, PluginContext, now, row_check
from mycelium_zapier import subscriptions
from mycelium_zapier.health import record_health
from mycelium_zapier.models import ATTEMPTS, DELIVERIES, FAILED, PENDING, SUCCEEDED, ZapierHook
from mycelium_zapier.provider import DELIVERY
from mycelium_zapier.retry import Policy
from mycelium_zapier.sender import Message, Outcome, pooled_http, send
from mycelium_zapier.store import insert_ignoring_conflicts

log = logging.getLogger(__name__)
BATCH = 20
COLUMNS = ("id", "hook_id", "event_id", "event_type", "body", "attempts", "lease_until")
C = DELIVERIES.c
DISABLED = "The subscription is disabled."


@dataclass(frozen=True)
class Claimed:
    id: int
    hook_id: int
    event_id: str
    event_type: str
    body: str
    attempts: int
    lease_until: datetime


@dataclass(frozen=True)
class Budget:
    """How long one call may send, each attempt's timeout, and the lease that covers both."""

    seconds: float
    timeout: float  # one attempt in all, connect to last byte
    connect: float

    @classmethod
    def of(cls, ctx: PluginContext) -> Budget:
        # a sender thread of the organization's own; it yields to the next organization
        # after this long (the last attempt may start at the end and take its timeout)
        seconds = float(ctx.setting("HUB_RUN_TIMEOUT") or 30.0) / 4
        timeout = float(ctx.setting("HUB_WEBHOOK_TIMEOUT") or 15.0)
        connect = float(ctx.setting("HUB_WEBHOOK_CONNECT_TIMEOUT") or 3.0)
        return cls(seconds, min(timeout, seconds), min(connect, timeout, seconds))

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.seconds + self.timeout + 60)


def fan_out(session: Any, event: EventInfo, body: str) -> int:
    """One pending delivery per enabled subscription to the event (none twice); how many
    subscriptions the event is for."""
    hook_ids = session.scalars(
        select(ZapierHook.id).where(
            ZapierHook.org_id == event.org_id,
            ZapierHook.event == event.type,
            ZapierHook.enabled.is_(True),
        )
    ).all()
    at = now()
    rows = [
        {
            "org_id": event.org_id,
            "hook_id": hook_id,
            "event_id": event.id,
            "event_type": event.type,
            "body": body,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for hook_id in hook_ids
    ]
    insert_ignoring_conflicts(session, DELIVERIES, rows)
    return len(rows)


def _due(org_id: int, at: datetime) -> Any:
    free = C.lease_until.is_(None) | (C.lease_until < at)
    return (C.org_id == org_id) & (C.state == PENDING) & (C.next_attempt_at <= at) & free


def claim_statement(
    org_id: int, limit: int, lease: timedelta, at: datetime, check: Any = row_check
) -> Any:
    """The claim's ``UPDATE``: up to `limit` of the org's due deliveries, oldest due first.

    The rows the subquery picked are checked again with `check`: as a plain condition,
    PostgreSQL joined the ids to every due delivery of the organization (50,010 rows read
    to lease 8 with 5,000 due, 12 ms), so it is a `row_check`.
    """
    due = select(C.id).where(_due(org_id, at)).order_by(C.next_attempt_at, C.id).limit(limit)
    return (
        update(DELIVERIES)
        .where(C.id.in_(due.scalar_subquery()), check(_due(org_id, at)))
        .values(lease_until=at + lease)
        .returning(*(C[name] for name in COLUMNS))
    )


def claim(session: Any, org_id: int, limit: int, lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` of the org's due deliveries, oldest due first, and commit."""
    stmt = claim_statement(org_id, limit, lease, now())
    rows = list(session.execute(stmt).mappings())
    session.commit()
    return sorted((Claimed(**row) for row in rows), key=lambda d: d.id)


def _finish(session: Any, claimed: Claimed, values: dict[str, Any]) -> None:
    """Write a delivery's new state, only if this worker still holds its lease."""
    session.execute(
        update(DELIVERIES)
        .where(C.id == claimed.id, C.lease_until == claimed.lease_until)
        .values(lease_until=None, **values)
    )


def release(session: Any, claimed: list[Claimed]) -> None:
    """Give back deliveries not attempted (the budget ran out): due again at once."""
    for item in claimed:
        _finish(session, item, {})
    session.commit()


def retry_at(claimed: Claimed, outcome: Outcome, policy: Policy) -> datetime | None:
    overloaded = outcome.status == 429 or outcome.timed_out
    delay = policy.retry_delay(
        claimed.attempts + 1, overloaded=overloaded, retry_after=outcome.retry_after
    )
    return None if delay is None else outcome.attempted_at + timedelta(seconds=delay)


def result_values(claimed: Claimed, outcome: Outcome, policy: Policy) -> dict[str, Any]:
    retry = None if outcome.ok else retry_at(claimed, outcome, policy)
    return {
        "state": SUCCEEDED if outcome.ok else (PENDING if retry else FAILED),
        "attempts": claimed.attempts + 1,
        "next_attempt_at": retry,
        "last_status": outcome.status,
        "last_error": outcome.error,
        "finished_at": None if retry else now(),
    }


def record(
    ctx: PluginContext, claimed: Claimed, hook: ZapierHook, outcome: Outcome, policy: Policy
) -> None:
    """Store one attempt (the delivery's log), its result and the subscription's health;
    410 unsubscribes."""
    took = outcome.duration_ms / 1000
    status, size = outcome.status or 0, len(claimed.body)
    ctx.record_usage(DELIVERY, ok=outcome.ok, status=status, duration=took, size=size)
    ctx.db.execute(ATTEMPTS.insert().values(attempt_row(ctx.org.id, claimed, outcome)))
    if outcome.gone:
        log.info("zapier hook %s answered 410 Gone: unsubscribed", hook.id)
        subscriptions.remove(ctx.db, hook)
    else:
        _finish(ctx.db, claimed, result_values(claimed, outcome, policy))
        record_health(ctx, hook, outcome, policy)
    ctx.db.commit()


def attempt_row(org_id: int, claimed: Claimed, outcome: Outcome) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "delivery_id": claimed.id,
        "attempt": claimed.attempts + 1,
        "attempted_at": outcome.attempted_at,
        "status_code": outcome.status,
        "duration_ms": outcome.duration_ms,
        "response_body": outcome.response_body,
        "error": outcome.error,
    }


class Sender:
    """Sends one organization's due deliveries until none is left or the budget is spent."""

    def __init__(self, ctx: PluginContext, budget: Budget) -> None:
        self.ctx, self.budget = ctx, budget
        self.policy = Policy.from_settings(ctx.setting)
        self.deadline = time.monotonic() + budget.seconds
        self.attempts = 0

    @cached_property
    def master(self) -> str:
        """Decrypted only when something is to be sent."""
        return subscriptions.master_secret(self.ctx)

    @cached_property
    def http(self) -> requests.Session:
        return pooled_http(self.budget.timeout)

    def run(self) -> int:
        while time.monotonic() < self.deadline:
            batch = claim(self.ctx.db, self.ctx.org.id, BATCH, self.budget.lease)
            if batch:
                self._send_batch(batch)
            if len(batch) < BATCH:  # that was all that is due
                break
        return self.attempts

    def _hooks(self, batch: list[Claimed]) -> dict[int, ZapierHook]:
        ids = {item.hook_id for item in batch}
        stmt = select(ZapierHook).where(
            ZapierHook.org_id == self.ctx.org.id, ZapierHook.id.in_(ids)
        )
        return {hook.id: hook for hook in self.ctx.db.scalars(stmt)}

    def _send_batch(self, batch: list[Claimed]) -> None:
        hooks = self._hooks(batch)
        for index, item in enumerate(batch):
            if time.monotonic() >= self.deadline:
                release(self.ctx.db, batch[index:])
                return
            hook = hooks.get(item.hook_id)
            if hook is None or hook not in self.ctx.db:  # unsubscribed meanwhile
                continue
            try:
                self._attempt(item, hook)
            except ObjectDeletedError:  # unsubscribed by another request meanwhile
                self.ctx.db.rollback()

    def _attempt(self, item: Claimed, hook: ZapierHook) -> None:
        if not hook.enabled:  # disabled after this batch was claimed
            stop = {"state": FAILED, "next_attempt_at": None, "last_error": DISABLED}
            _finish(self.ctx.db, item, {**stop, "finished_at": now()})
            self.ctx.db.commit()
            return
        secret = subscriptions.derive_secret(self.master, hook.id)
        message = Message(hook.target_url, secret, item.event_id, item.event_type, item.body)
        outcome = send(self.http, message, self.budget.timeout, self.budget.connect)
        self.attempts += 1
        record(self.ctx, item, hook, outcome, self.policy)


def deliver_due(ctx: PluginContext) -> int:
    """Send the organization's due deliveries within the budget; how many attempts."""
    return Sender(ctx, Budget.of(ctx)).run()
