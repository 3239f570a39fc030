"""Sending Zapier deliveries beside the worker's jobs, organizations taking turns.

``on_event`` and the minute job only queue deliveries (rows) and wake the sender: a
thread of the worker process (``hub.run_in_background``) that gives each organization with
due deliveries a thread of a small pool, one at a time per organization, in turn. One
organization's Zaps that never answer hold its own thread, never the worker that dispatches
every organization's events, nor another organization's deliveries.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from hub import context_for, db_session, now, run_in_background
from mycelium_zapier import delivery
from mycelium_zapier.models import DELIVERIES

log = logging.getLogger(__name__)
NAME = "mycelium-zapier-sender"
THREADS = 8  # organizations sending at once, per worker process
ROUND_SECONDS = 0.5  # while some organization sends, look for other due ones this often
_STATE = "mycelium_zapier.sending"  # app.extensions: the pool and who is sending
C = DELIVERIES.c


@dataclass
class _Senders:
    pool: ThreadPoolExecutor
    sending: dict[int, Future[Any]] = field(default_factory=dict)  # org id -> its task
    turn: list[int] = field(default_factory=list)  # organizations served, least recent first


def wake() -> None:
    """Send what is due, in the background (after the rows are committed)."""
    run_in_background(NAME, send_round)


def due_orgs(session: Any) -> list[int]:
    """Organizations with a delivery due that no worker holds."""
    at = now()
    free = C.lease_until.is_(None) | (C.lease_until < at)
    stmt = select(C.org_id).where(C.state == "pending", C.next_attempt_at <= at, free).distinct()
    found = list(session.scalars(stmt))
    session.commit()
    return found


def send_round() -> bool:
    """Start a sender for each organization with due deliveries and none running, in turn,
    while a thread is free; whether anything is still being sent."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    senders = _senders(app)
    for org_id in _in_turn(senders, due_orgs(db_session())):
        if len(senders.sending) >= THREADS:
            break
        senders.sending[org_id] = senders.pool.submit(_send_org, app, org_id)
    if not senders.sending:
        return False
    done, _ = wait(list(senders.sending.values()), ROUND_SECONDS, FIRST_COMPLETED)
    for org_id, future in list(senders.sending.items()):
        if future in done:
            del senders.sending[org_id]
    return True


def _senders(app: Flask) -> _Senders:
    senders: _Senders | None = app.extensions.get(_STATE)
    if senders is None:
        senders = _Senders(ThreadPoolExecutor(THREADS, thread_name_prefix="zapier"))
        app.extensions[_STATE] = senders
    return senders


def _in_turn(senders: _Senders, due: list[int]) -> list[int]:
    """The due organizations not sending now, the least recently served first."""
    waiting = [org_id for org_id in due if org_id not in senders.sending]
    rank = {org_id: index for index, org_id in enumerate(senders.turn)}
    waiting.sort(key=lambda org_id: rank.get(org_id, -1))
    for org_id in waiting:
        if org_id in rank:
            senders.turn.remove(org_id)
        senders.turn.append(org_id)
    return waiting


def _send_org(app: Flask, org_id: int) -> int:
    """In a pool thread: send the organization's due deliveries within one budget."""
    with app.app_context():  # a session of its own, removed when the context ends
        try:
            ctx = context_for("zapier", org_id)
            return 0 if ctx is None else delivery.deliver_due(ctx)
        except Exception:  # the rows keep their leases, which expire: nothing is lost
            log.exception("zapier: sending for organization %s failed", org_id)
            return 0
