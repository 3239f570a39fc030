"""Short leases on the deliveries a pump holds, renewed for as long as it holds them.

A claim leases a delivery for one send timeout plus LEASE_MARGIN (:func:`lease_for`).
While the pump holds deliveries (waiting in its lanes, being sent on a thread, or sent and
not yet recorded) it renews all of them every RENEW_FRACTION of the lease, one UPDATE per
renewal: a pump that lives keeps what it holds however long a slow endpoint makes it wait,
and a pump that died leaves leases that lapse within one lease, after which the sweeper
(every HUB_SWEEP_SECONDS) starts a pump that sends them again.

Every renewal and every result is fenced by the lease this pump set last. A row whose lease
is no longer that value was taken by another worker (this pump stalled past its lease and
the other claimed it): the row is *lost*. It is not sent if it has not started, and if it was
in flight its outcome is dropped (logged, never written over the other worker's claim).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update

from hub.core import clock
from hub.core.db import AnySession, among
from hub.core.webhooks.delivery import Claimed, Outcome
from hub.core.webhooks.models import DELIVERIES

log = logging.getLogger(__name__)
LEASE_MARGIN = 1.0  # seconds of a lease beyond one send timeout
RENEW_FRACTION = 0.25  # renew when this much of the lease has gone by since the last renewal
RENEW_CHUNK = 5_000  # ids per UPDATE (bound parameters stay under every database's limit)


def lease_for(timeout: float) -> timedelta:
    """How long a claim or a renewal holds a delivery."""
    return timedelta(seconds=timeout + LEASE_MARGIN)


class Leases:
    """The deliveries one pump holds, by id, with the lease it last set on each."""

    def __init__(self, lease: timedelta) -> None:
        self.lease = lease
        self.held: dict[int, datetime | None] = {}
        self.lost: set[int] = set()  # taken by another worker: not sent, not recorded
        self.renewed = time.monotonic()

    def claimed(self, deliveries: Iterable[Claimed]) -> None:
        if not self.held:
            self.renewed = time.monotonic()  # a fresh claim needs no renewal for a while
        for delivery in deliveries:
            self.held[delivery.id] = delivery.lease_until

    def released(self, deliveries: Iterable[Claimed]) -> None:
        for delivery in deliveries:
            self.held.pop(delivery.id, None)
            self.lost.discard(delivery.id)

    def due(self) -> bool:
        seconds = self.lease.total_seconds() * RENEW_FRACTION
        return bool(self.held) and time.monotonic() - self.renewed >= seconds

    def renew(self, session: AnySession) -> set[int]:
        """Extend every held lease to now + lease and commit; the ids found lost now."""
        self.renewed = time.monotonic()
        ids = list(self.held)
        kept: dict[int, datetime | None] = {}
        until = clock.now() + self.lease
        for start in range(0, len(ids), RENEW_CHUNK):
            kept.update(self._renew(session, ids[start : start + RENEW_CHUNK], until))
        session.commit()
        lost = set(ids) - kept.keys()
        self.held.update(kept)
        for delivery_id in lost:
            del self.held[delivery_id]
        if lost:
            log.warning(
                "webhook pump: %d deliveries no longer held under its lease (taken by "
                "another worker after it lapsed, or deleted): not sent or recorded here (%s)",
                len(lost),
                sorted(lost)[:20],
            )
        self.lost |= lost
        return lost

    def _renew(
        self, session: AnySession, ids: list[int], until: datetime
    ) -> dict[int, datetime | None]:
        by_lease: dict[datetime | None, list[int]] = {}
        for delivery_id in ids:
            by_lease.setdefault(self.held[delivery_id], []).append(delivery_id)
        fences = [
            and_(among(DELIVERIES.c.id, group), DELIVERIES.c.lease_until == lease)
            for lease, group in by_lease.items()
        ]
        stmt = (
            update(DELIVERIES)
            .where(or_(*fences))
            .values(lease_until=until)
            .returning(DELIVERIES.c.id, DELIVERIES.c.lease_until)
        )
        return {row.id: row.lease_until for row in session.execute(stmt)}

    def fenced(self, delivery: Claimed) -> Claimed | None:
        """`delivery` under the lease held on it now; None if it is lost."""
        if delivery.id in self.lost:
            return None
        lease = self.held.get(delivery.id, delivery.lease_until)
        return delivery if lease == delivery.lease_until else replace(delivery, lease_until=lease)

    def current(self, outcomes: list[Outcome]) -> list[Outcome]:
        """The outcomes to record, each under the lease held now (lost ones left out)."""
        fresh = []
        for outcome in outcomes:
            delivery = self.fenced(outcome.delivery)
            if delivery is None:
                log.warning(
                    "webhook delivery %s: no longer held by this pump; this attempt's "
                    "outcome (%s) is not recorded",
                    outcome.delivery.id,
                    outcome.status or outcome.error,
                )
            else:
                fresh.append(
                    outcome if delivery is outcome.delivery else replace(outcome, delivery=delivery)
                )
        return fresh

    def done(self, outcomes: Iterable[Outcome]) -> None:
        """Recorded (or dropped as lost): no longer held."""
        self.released(o.delivery for o in outcomes)
