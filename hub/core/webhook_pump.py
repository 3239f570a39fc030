"""The delivery pump: one job sends the due deliveries through a small pool of threads.

A job per delivery costs more than the POST itself, so one job claims due deliveries in
batches, keeps up to a few batches in flight on reused keep-alive connections, and
records results in bulk as they complete (a slow endpoint holds one thread, not the
batch). The database stays the truth: a pump that dies leaves leases that expire.

A thread takes one endpoint's deliveries a few at a time, as many as it can send in about
TASK_SECONDS at the endpoint's recent response time: a slow endpoint's deliveries spread
over all the threads, a fast one's go a chunk per thread, since threads that all wake
at once for answers that came back at once spend more on the GIL than on HTTP.
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
from hub.core.crypto import KeyRing
from hub.core.db import AnySession
from hub.core.egress_http import EgressPoolManager
from hub.core.webhook_delivery import (
    Claimed,
    Outcome,
    SendSettings,
    Target,
    claim,
    load_targets,
    send,
)
from hub.core.webhook_models import WebhookDelivery
from hub.core.webhook_record import record

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.1  # results wait at most this long to be recorded with others
TASK_SECONDS = 0.05  # what one thread's chunk of an endpoint's deliveries should take
SLOW_CHUNK_SECONDS = 1.0  # a chunk still going after this: its endpoint slowed down
SMOOTHING = 0.2  # weight of the newest response time in an endpoint's running average
MAX_REMEMBERED = 10_000  # endpoints whose response times a worker keeps


@dataclass(frozen=True)
class PumpSettings:
    send: SendSettings
    concurrency: int = 16
    budget_seconds: float = 5.0  # then the pump yields the worker to other jobs

    @property
    def lease(self) -> timedelta:
        """Longer than the worst case of one claimed batch: every request timing out."""
        rounds = 4  # claims fill up to 4x concurrency
        return timedelta(seconds=self.budget_seconds + rounds * 2 * self.send.timeout + 60)


@dataclass
class PumpReport:
    sent: int = 0
    retries: list[datetime] = field(default_factory=list)


class Pump:
    """Sends due deliveries until none is left or the time budget is spent."""

    def __init__(
        self,
        session: AnySession,
        keyring: KeyRing,
        http: EgressPoolManager,
        settings: PumpSettings,
        rng: random.Random | None = None,
        response_times: dict[int, float] | None = None,
    ) -> None:
        self.session, self.keyring, self.http = session, keyring, http
        self.settings, self.rng = settings, rng
        # endpoint id -> running average of its response time, in seconds (kept by the worker)
        self.response_times = {} if response_times is None else response_times
        self.targets: dict[int, Target] = {}
        self.results: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self.report = PumpReport()

    def run(self) -> PumpReport:
        deadline = time.monotonic() + self.settings.budget_seconds
        low = self.settings.concurrency
        buffer: list[Outcome] = []
        inflight, oldest, more = 0, 0.0, True
        with ThreadPoolExecutor(low, thread_name_prefix="webhooks") as pool:
            while True:
                if more and inflight <= low and time.monotonic() < deadline:
                    submitted, more = self._fill(pool, 4 * low - inflight)
                    inflight += submitted
                if not inflight:
                    break
                done = self._collect()
                inflight -= len(done)
                if done and not buffer:
                    oldest = time.monotonic()
                buffer.extend(done)
                if buffer and self._flush_due(len(buffer), inflight, oldest):
                    self._record(buffer)
                    buffer = []
            self._record(buffer)
        return self.report

    def _fill(self, pool: ThreadPoolExecutor, room: int) -> tuple[int, bool]:
        """Claim and submit up to `room` deliveries: (how many, whether more may be due)."""
        batch = claim(self.session, room, self.settings.lease)
        wanted = {d.endpoint_id for d in batch}
        # re-read every time: an endpoint may have been disabled or deleted meanwhile
        fresh = load_targets(self.session, self.keyring, wanted, clock.now()) if wanted else {}
        self.targets.update(fresh)
        by_endpoint: dict[int, list[Claimed]] = defaultdict(list)
        for delivery in batch:
            if delivery.endpoint_id in fresh:  # else deleted meanwhile, its deliveries with it
                by_endpoint[delivery.endpoint_id].append(delivery)
        for endpoint_id, deliveries in by_endpoint.items():
            size = self._chunk(endpoint_id)
            for start in range(0, len(deliveries), size):
                chunk = deliveries[start : start + size]
                pool.submit(self._send_all, pool, fresh[endpoint_id], chunk)
        return sum(map(len, by_endpoint.values())), len(batch) == room

    def _chunk(self, endpoint_id: int) -> int:
        """How many of an endpoint's deliveries one thread sends in turn (1 until timed)."""
        seconds = self.response_times.get(endpoint_id)
        if seconds is None:
            return 1
        return max(1, min(4 * self.settings.concurrency, int(TASK_SECONDS / max(seconds, 1e-4))))

    def _send_all(
        self, pool: ThreadPoolExecutor, target: Target, deliveries: list[Claimed]
    ) -> None:
        """In a pool thread: send these one after the other; if the endpoint has become slow,
        hand the rest back to the pool, a delivery per task, so they go out side by side."""
        started = time.monotonic()
        for index, delivery in enumerate(deliveries):
            if index and time.monotonic() - started > SLOW_CHUNK_SECONDS:
                for rest in deliveries[index:]:
                    pool.submit(self._send, target, rest)
                return
            self._send(target, delivery)

    def _send(self, target: Target, delivery: Claimed) -> None:
        """Send, and hand the outcome over (never raises)."""
        outcome = None
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

    def _collect(self) -> list[Outcome]:
        """The outcomes that arrived, waiting at most FLUSH_SECONDS for the first one.

        A queue rather than waiting on futures: one wake-up per batch of results, not a
        waiter installed on every future in flight each time.
        """
        try:
            done = [self.results.get(timeout=FLUSH_SECONDS)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self.results.get_nowait())
            except queue.Empty:
                return done

    def _flush_due(self, buffered: int, inflight: int, oldest: float) -> bool:
        full = buffered >= 2 * self.settings.concurrency
        return full or not inflight or time.monotonic() - oldest >= FLUSH_SECONDS

    def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        touched = {o.delivery.endpoint_id: self.targets[o.delivery.endpoint_id] for o in outcomes}
        retries = record(self.session, outcomes, touched, self.settings.send, self.rng)
        self.report.sent += sum(1 for o in outcomes if o.sent)
        self.report.retries.extend(retries)


def send_now(
    session: AnySession,
    keyring: KeyRing,
    http: EgressPoolManager,
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
