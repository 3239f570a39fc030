"""Recording webhook attempts: one bulk insert, one bulk update, and the endpoints' health.

A success resets an endpoint's failure clock; an endpoint that has only failed for the
policy's ``disable_after``, or that answered 410 Gone, is disabled and admins are told.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from hub.core import clock
from hub.core.connections.usage import Usage, usage
from hub.core.db import AnySession, among, insert_rows
from hub.core.webhooks.delivery import Outcome, SendSettings, Target
from hub.core.webhooks.endpoints import TEST_EVENT, disable_endpoint
from hub.core.webhooks.models import (
    ATTEMPTS,
    DELIVERIES,
    ENDPOINTS,
    FAILED,
    MANUAL,
    PENDING,
    SCHEDULED,
    SUCCEEDED,
    WebhookEndpoint,
)
from hub.core.webhooks.policy import Policy

GONE = 410
CHANGED = (
    "state",
    "attempts",
    "next_attempt_at",
    "lease_until",
    "manual",
    "last_status",
    "last_error",
    "updated_at",
    "finished_at",
)
# Only the worker holding the lease records its attempt's result.
UPDATE_DELIVERY = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("d_id"), DELIVERIES.c.lease_until == bindparam("d_lease"))
    .values({name: bindparam(name) for name in CHANGED})
)
# The successes of one claim with one status: built once, not per record batch.
SUCCEED = (
    update(DELIVERIES)
    .where(
        among(DELIVERIES.c.id, "s_ids"),
        DELIVERIES.c.lease_until == bindparam("s_lease"),
    )
    .values(
        state=SUCCEEDED,
        next_attempt_at=None,
        lease_until=None,
        manual=False,
        last_error=None,
        attempts=DELIVERIES.c.attempts + 1,
        last_status=bindparam("s_status"),
        updated_at=bindparam("s_now"),
        finished_at=bindparam("s_now"),
    )
)
DONE = {
    "state": SUCCEEDED,
    "next_attempt_at": None,
    "lease_until": None,
    "manual": False,
    "last_error": None,
}
# last_success_at is kept to the minute: touching the endpoint row on every batch costs
HEALTHY_TOUCH = timedelta(minutes=1)


def record(
    session: AnySession,
    outcomes: list[Outcome],
    targets: dict[int, Target],
    settings: SendSettings,
    rng: random.Random | None = None,
) -> list[datetime]:
    """Store the attempts and the deliveries' new state, and commit; the retry times set.

    Every attempt made is also a usage record of the organization (one Redis round trip
    for the batch, after the commit): analytics, ROI and ``/metrics`` count deliveries.
    """
    policy = settings.policy
    try:
        retries = _record(session, outcomes, targets, policy, rng)
    except IntegrityError:  # a delivery's endpoint was deleted meanwhile: keep the others
        session.rollback()
        ids = [o.delivery.id for o in outcomes]
        alive = set(session.scalars(select(DELIVERIES.c.id).where(DELIVERIES.c.id.in_(ids))))
        kept = [o for o in outcomes if o.delivery.id in alive]
        retries = _record(session, kept, targets, policy, rng) if kept else []
    if settings.usage is not None:
        settings.usage.record_many(usage_of(outcomes, settings.plugin))
    return retries


def usage_of(outcomes: list[Outcome], plugin: str) -> list[Usage]:
    """A usage record per attempt that went out: a ``delivery`` (``test`` for a test ping)."""
    return [
        usage(
            org_id=o.delivery.org_id,
            plugin=plugin,
            feature="test" if o.delivery.event_type == TEST_EVENT else "delivery",
            method="POST",
            status=o.status or 0,
            duration=o.duration_ms / 1000,
            size=len(o.delivery.body),
            ok=o.ok,
        )
        for o in outcomes
        if o.sent
    ]


def _record(
    session: AnySession,
    outcomes: list[Outcome],
    targets: dict[int, Target],
    policy: Policy,
    rng: random.Random | None,
) -> list[datetime]:
    now = clock.now()
    disabled = update_health(session, outcomes, targets, policy, now)
    changes = []
    for outcome in outcomes:
        stopped = outcome.delivery.endpoint_id in disabled
        changes.append(
            delivery_change(outcome, None if stopped else retry_at(outcome, policy, rng), now)
        )
    attempts = [attempt_row(o) for o in outcomes if o.sent]
    if attempts:
        insert_rows(session, ATTEMPTS, attempts)
    write_changes(session, changes, now)
    session.commit()
    return [c["next_attempt_at"] for c in changes if c["next_attempt_at"] is not None]


def write_changes(session: AnySession, changes: list[dict[str, Any]], now: datetime) -> None:
    """Successes differ only by status: one UPDATE per (claim, status); the rest row by row."""
    succeeded: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    others = []
    for change in changes:
        if change["state"] == SUCCEEDED:
            succeeded[(change["d_lease"], change["last_status"])].append(change["d_id"])
        else:
            others.append(change)
    for (lease, status), ids in succeeded.items():
        if lease is not None:
            params = {"s_ids": ids, "s_lease": lease, "s_status": status, "s_now": now}
            session.execute(SUCCEED, params)
            continue
        session.execute(  # no lease (compared with IS NULL)
            update(DELIVERIES)
            .where(DELIVERIES.c.id.in_(ids), DELIVERIES.c.lease_until == lease)
            .values(DONE)
            .values(attempts=DELIVERIES.c.attempts + 1, last_status=status)
            .values(updated_at=now, finished_at=now)
        )
    if others:
        session.execute(UPDATE_DELIVERY, others)


def retry_at(outcome: Outcome, policy: Policy, rng: random.Random | None) -> datetime | None:
    """When a failed scheduled attempt is tried again (None: done, or a manual attempt)."""
    d = outcome.delivery
    if outcome.ok or d.manual or not outcome.sent:
        return None
    overloaded = outcome.status == 429 or outcome.timed_out
    delay = policy.retry_delay(
        d.attempts + 1, overloaded=overloaded, retry_after=outcome.retry_after, rng=rng
    )
    return None if delay is None else outcome.attempted_at + timedelta(seconds=delay)


def delivery_change(outcome: Outcome, retry: datetime | None, now: datetime) -> dict[str, Any]:
    d = outcome.delivery
    state = SUCCEEDED if outcome.ok else (PENDING if retry else FAILED)
    error = outcome.error or (None if outcome.ok else f"HTTP {outcome.status}")
    return {
        "d_id": d.id,
        "d_lease": d.lease_until,
        "state": state,
        "attempts": d.attempts + (1 if outcome.sent else 0),
        "next_attempt_at": retry,
        "lease_until": None,
        "manual": False,
        "last_status": outcome.status,
        "last_error": error,
        "updated_at": now,
        "finished_at": None if retry else now,
    }


def attempt_row(outcome: Outcome) -> dict[str, Any]:
    d = outcome.delivery
    return {
        "org_id": d.org_id,
        "delivery_id": d.id,
        "attempt": d.attempts + 1,
        "trigger": MANUAL if d.manual else SCHEDULED,
        "attempted_at": outcome.attempted_at,
        "status_code": outcome.status,
        "duration_ms": outcome.duration_ms,
        "response_body": outcome.response_body,
        "error": outcome.error,
    }


def update_health(
    session: AnySession,
    outcomes: list[Outcome],
    targets: dict[int, Target],
    policy: Policy,
    now: datetime,
) -> set[int]:
    """Reset or start endpoints' failure clocks, disable the hopeless; the disabled ids."""
    disabled = {eid for eid, target in targets.items() if not target.enabled}
    healthy, starting = [], []
    for eid, results in _sent_by_endpoint(outcomes).items():
        target = targets[eid]
        if any(o.status == GONE for o in results):
            _disable(session, eid, "The endpoint answered 410 Gone.", disabled)
        elif any(o.ok for o in results):
            if target.failing_since is not None or _stale(target.last_success_at, now):
                healthy.append(eid)
        elif target.failing_since is None:
            starting.append(eid)
        elif policy.should_disable(target.failing_since, now):
            _disable(session, eid, _failing_reason(policy, target.failing_since), disabled)
    _mark(session, healthy, {"failing_since": None, "last_success_at": now})
    _mark(session, starting, {"failing_since": now}, ENDPOINTS.c.failing_since.is_(None))
    return disabled


def _sent_by_endpoint(outcomes: list[Outcome]) -> dict[int, list[Outcome]]:
    grouped: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.sent:
            grouped[outcome.delivery.endpoint_id].append(outcome)
    return grouped


def _stale(when: datetime | None, now: datetime) -> bool:
    return when is None or now - when >= HEALTHY_TOUCH


def _failing_reason(policy: Policy, since: datetime) -> str:
    days = policy.disable_after / timedelta(days=1)
    return f"Every delivery failed for {days:g} days, since {since:%Y-%m-%d %H:%M} UTC."


def _mark(session: AnySession, ids: list[int], values: dict[str, Any], *where: Any) -> None:
    if ids:
        session.execute(update(ENDPOINTS).where(ENDPOINTS.c.id.in_(ids), *where).values(values))


def _disable(session: AnySession, endpoint_id: int, reason: str, disabled: set[int]) -> None:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is not None and endpoint.enabled:
        disable_endpoint(session, endpoint, reason)
    disabled.add(endpoint_id)
