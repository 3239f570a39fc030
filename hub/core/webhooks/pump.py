"""The delivery pump: sends the due deliveries through a small pool of threads, fairly.

It runs in a thread of the worker beside its jobs (hub/core/background.py): the pump job
only wakes it. It claims due deliveries in batches (each organization's oldest due, in
turn), keeps them in a lane per organization, and gives a task to a thread only when one is
free: organizations take turns, and one holds at most HUB_WEBHOOK_ORG_CONCURRENCY threads,
so its slow or dead endpoints cost it alone. Results are recorded in bulk as they
complete. The database stays the truth: the pump renews the short leases of what it holds
(hub/core/webhooks/lease.py), so a pump that dies leaves leases that lapse within one lease.

A task is one endpoint's deliveries a few at a time, as many as a thread sends in about
TASK_SECONDS at the endpoint's recent response time: a slow endpoint's deliveries spread
over its organization's threads, a fast one's go a chunk per thread, since threads that
all wake at once for answers that came back at once spend more on the GIL than on HTTP.
"""

from __future__ import annotations

import logging
import queue
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hub.core import clock
from hub.core.background import Background
from hub.core.crypto import KeyRing
from hub.core.db import AnySession
from hub.core.egress_http import EgressPool
from hub.core.webhooks.delivery import (
    Claimed,
    Outcome,
    SendSettings,
    Target,
    claim,
    load_targets,
    release,
    send,
)
from hub.core.webhooks.lanes import Lanes, Task
from hub.core.webhooks.lease import Leases, lease_for
from hub.core.webhooks.models import WebhookDelivery
from hub.core.webhooks.record import record

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.1  # results wait at most this long to be recorded with others
POLL_SECONDS = 1.0  # while sending, look for newly due deliveries at least this often
TASK_SECONDS = 0.05  # what one thread's chunk of an endpoint's deliveries should take
SLOW_CHUNK_SECONDS = 1.0  # a chunk still going after this: its endpoint slowed down
SMOOTHING = 0.2  # weight of the newest response time in an endpoint's running average
MAX_REMEMBERED = 10_000  # endpoints whose response times a worker keeps


@dataclass(frozen=True)
class PumpSettings:
    send: SendSettings
    concurrency: int = 16
    org_concurrency: int = 0  # threads one organization may hold; 0: half of them

    @property
    def per_org(self) -> int:
        return min(self.org_concurrency or max(1, self.concurrency // 2), self.concurrency)

    @property
    def claim_size(self) -> int:
        return 4 * self.concurrency

    @property
    def depth(self) -> int:
        """Deliveries of one organization the pump holds at most (claimed, not recorded):
        two claims' worth, so that its next claim is made while the last one is being sent
        (with one, its threads stood idle while the batch sent was recorded and the next
        claimed)."""
        return 2 * self.claim_size

    @property
    def lease(self) -> timedelta:
        """One send timeout and a margin: renewed while held, however long it waits."""
        return lease_for(self.send.timeout)


@dataclass
class PumpReport:
    sent: int = 0
    retries: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class _Ended:
    """A task's thread is free again; `rest` are deliveries it hands back (it slowed)."""

    task: Task
    rest: list[Claimed]


class Pump:
    """Sends due deliveries until none is left (and, in a loop, none was woken for)."""

    def __init__(
        self,
        session: AnySession,
        keyring: KeyRing,
        http: EgressPool,
        settings: PumpSettings,
        rng: random.Random | None = None,
        response_times: dict[int, float] | None = None,
    ) -> None:
        self.session, self.keyring, self.http = session, keyring, http
        self.settings, self.rng = settings, rng
        # endpoint id -> running average of its response time, in seconds (kept by the worker)
        self.response_times = {} if response_times is None else response_times
        self.targets: dict[int, Target] = {}
        self.results: queue.SimpleQueue[Outcome | _Ended] = queue.SimpleQueue()
        self.lanes = Lanes(settings.per_org)
        self.report = PumpReport()
        self.buffer: list[Outcome] = []
        self.oldest = 0.0  # when the oldest unrecorded outcome came
        self.skipped: set[int] = set()  # organizations the last claim left out (held enough)
        self.leases = Leases(settings.lease)

    def run(self, loop: Background | None = None) -> PumpReport:
        """Send until nothing is due, nothing in flight and (with `loop`) no wake came."""
        threads = self.settings.concurrency
        with ThreadPoolExecutor(threads, thread_name_prefix="webhooks") as pool:
            try:
                self._pump(pool, loop)
            finally:  # stopped by an error: what no thread took is given back at once
                self._give_back()
        return self.report

    def _pump(self, pool: ThreadPoolExecutor, loop: Background | None) -> None:
        ticket = loop.ticket() if loop else 0
        more, polled = True, time.monotonic()
        while True:
            self._renew()
            if loop is not None and loop.stopping.is_set():
                self._give_back()  # the worker stops: what no thread took goes back
                more = False
            if more:
                more, polled = self._fill(), time.monotonic()
            self._start(pool)
            self._take(self._collect())
            if self.buffer and self._flush_due():
                more = self._record() or more
            if self.lanes.busy() or self.buffer or self.lanes.waiting:
                woken = loop is not None and loop.woken_since(ticket)
                if woken:
                    ticket = loop.ticket() if loop else 0
                more = more or woken or time.monotonic() - polled >= POLL_SECONDS
                continue
            if more:
                continue
            if loop is None or loop.stopping.is_set() or loop.finish(ticket):
                return
            ticket, more = loop.ticket(), True

    def _fill(self) -> bool:
        """Claim due deliveries into the lanes; whether more may be due for an organization
        with room (an organization that came since is woken for, or found by the poll)."""
        room, depth = self.settings.claim_size, self.settings.depth
        full = self.lanes.full(depth)
        self.skipped = set(full)
        looked_at: set[int] = set()
        session = self.session
        batch = claim(
            session, room, self.settings.lease, depth, full, pending=looked_at, commit=False
        )
        wanted = {d.endpoint_id for d in batch}
        # re-read every time: an endpoint may have been disabled or deleted meanwhile; in the
        # claim's transaction, which this commits (one transaction, not two)
        fresh = load_targets(session, self.keyring, wanted, clock.now()) if wanted else {}
        if not wanted:
            session.commit()
        self.targets.update(fresh)
        by_endpoint: dict[int, list[Claimed]] = defaultdict(list)
        for delivery in batch:
            if delivery.endpoint_id in fresh:  # else deleted meanwhile, its deliveries with it
                by_endpoint[delivery.endpoint_id].append(delivery)
        for endpoint_id, deliveries in by_endpoint.items():
            self.lanes.claimed(deliveries[0].org_id, len(deliveries))
            self.leases.claimed(deliveries)
            size = self._chunk(endpoint_id)
            for start in range(0, len(deliveries), size):
                chunk = deliveries[start : start + size]
                self.lanes.add(Task(chunk[0].org_id, fresh[endpoint_id], chunk))
        if len(batch) < room:
            return False
        now_full = set(self.lanes.full(depth))
        if looked_at <= now_full:
            # each organization it found is at its depth now, so another claim would find
            # nothing (with one busy organization, that was every other claim): claim again
            # when one of them has room (_record)
            self.skipped |= now_full
            return False
        return True

    def _start(self, pool: ThreadPoolExecutor) -> None:
        """Free threads only: a task waits in its lane until its organization's turn."""
        while self.lanes.busy() < self.settings.concurrency:
            task = self.lanes.next()
            if task is None:
                return
            pool.submit(self._send_all, task)

    def _take(self, messages: list[Outcome | _Ended]) -> None:
        for message in messages:
            if isinstance(message, _Ended):
                self.lanes.ended(message.task.org_id)
                for delivery in message.rest:  # side by side now, a delivery per task
                    self.lanes.add(replace(message.task, deliveries=[delivery]))
                continue
            if not self.buffer:
                self.oldest = time.monotonic()
            self.buffer.append(message)

    def _give_back(self) -> None:
        taken = [d for task in self.lanes.take_waiting() for d in task.deliveries]
        waiting = [d for d in map(self.leases.fenced, taken) if d is not None]
        self.leases.released(taken)
        if waiting:
            try:
                release(self.session, waiting)
            except Exception:  # their leases expire instead
                log.exception("webhook pump: claimed deliveries not given back")

    def _renew(self) -> None:
        if not self.leases.due():
            return
        try:
            self.leases.renew(self.session)
        except Exception:  # tried again after another fraction of the lease
            self.session.rollback()
            log.exception("webhook pump: leases not renewed")

    def _chunk(self, endpoint_id: int) -> int:
        """How many of an endpoint's deliveries one thread sends in turn (1 until timed)."""
        seconds = self.response_times.get(endpoint_id)
        if seconds is None:
            return 1
        return max(1, min(4 * self.settings.concurrency, int(TASK_SECONDS / max(seconds, 1e-4))))

    def _send_all(self, task: Task) -> None:
        """In a pool thread: send these one after the other; if the endpoint has become slow,
        hand the rest back, a delivery per task, so they go out side by side."""
        started, rest = time.monotonic(), []
        try:
            for index, delivery in enumerate(task.deliveries):
                if index and time.monotonic() - started > SLOW_CHUNK_SECONDS:
                    rest = task.deliveries[index:]
                    return
                self._send(task.target, delivery)
        finally:
            self.results.put(_Ended(task, rest))

    def _send(self, target: Target, delivery: Claimed) -> None:
        """Send, and hand the outcome over (never raises)."""
        outcome = None
        if delivery.id in self.leases.lost:  # another worker holds it now: not sent here
            self.results.put(Outcome(delivery, clock.now(), error="Lost.", sent=False))
            return
        try:
            outcome = send(self.http, target, delivery, self.settings.send)
            self._time(target.id, outcome)
        except Exception as exc:  # a bug must not lose the batch: the attempt fails instead
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)
            outcome = Outcome(delivery, clock.now(), error=f"Internal error: {type(exc).__name__}")
        finally:  # the pump counts outcomes: one comes back for every delivery, whatever happens
            self.results.put(outcome or Outcome(delivery, clock.now(), error="Interrupted."))

    def _time(self, endpoint_id: int, outcome: Outcome) -> None:
        if not outcome.sent:
            return
        seconds = outcome.duration_ms / 1000
        known = self.response_times.get(endpoint_id)
        if known is None and len(self.response_times) >= MAX_REMEMBERED:
            self.response_times.clear()
        self.response_times[endpoint_id] = (
            seconds if known is None else known + SMOOTHING * (seconds - known)
        )

    def _collect(self) -> list[Outcome | _Ended]:
        """The messages that arrived, waiting at most FLUSH_SECONDS for the first one.

        A queue rather than waiting on futures: one wake-up per batch of results, not a
        waiter installed on every future in flight each time. With no task on a thread
        nothing can come (a task's outcomes come before its end), so it does not wait: a
        claim that found nothing would otherwise hold the next wake for FLUSH_SECONDS.
        """
        if not self.lanes.busy():
            return []
        try:
            done = [self.results.get(timeout=FLUSH_SECONDS)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self.results.get_nowait())
            except queue.Empty:
                return done

    def _flush_due(self) -> bool:
        # a claim's worth at a time: recording costs a few statements and a commit per batch
        full = len(self.buffer) >= self.settings.claim_size
        idle = not self.lanes.busy()
        return full or idle or time.monotonic() - self.oldest >= FLUSH_SECONDS

    def _record(self) -> bool:
        """Record the buffered outcomes; whether an organization left out of the last claim
        has room again (then claim: its backlog is due)."""
        outcomes, self.buffer = self.buffer, []
        held = self.leases.current(outcomes)  # under the leases renewed since; none lost
        touched = {o.delivery.endpoint_id: self.targets[o.delivery.endpoint_id] for o in held}
        retries = record(self.session, held, touched, self.settings.send, self.rng) if held else []
        self.leases.done(outcomes)
        for outcome in outcomes:
            self.lanes.recorded(outcome.delivery.org_id)
        self.report.sent += sum(1 for o in held if o.sent)
        self.report.retries.extend(retries)
        low = self.settings.depth // 2
        refill = any(self.lanes.held[org_id] <= low for org_id in self.skipped)
        if refill:
            self.skipped = set()
        return refill


def send_now(
    session: AnySession,
    keyring: KeyRing,
    http: EgressPool,
    settings: SendSettings,
    delivery: WebhookDelivery,
) -> None:
    """Send one delivery now, in this process (an admin's test), and record its attempt.

    The delivery must carry a lease so no pump sends it too; nothing is held open
    while the request is in flight.
    """
    claimed = Claimed(**{name: getattr(delivery, name) for name in Claimed.__dataclass_fields__})
    targets = load_targets(session, keyring, {delivery.endpoint_id}, clock.now())
    target = targets[delivery.endpoint_id]
    if not target.enabled:  # an admin may test an endpoint before enabling it again
        target = replace(target, enabled=True, problem=None if target.secrets else target.problem)
    outcome = send(http, target, claimed, settings)
    record(session, [outcome], targets, settings)
