"""``/metrics`` in Prometheus' text format, computed at scrape time.

Web and workers are separate processes, so nothing is counted in process memory: runs
and integrations come from the database, the provider-call latency histogram and the
rate-limit deferrals from Redis counters the recorder and the limiter keep, the queue
depth from RQ. Every scrape builds its own registry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from rq import Queue
from sqlalchemy import func, select

from hub.core import clock
from hub.core.connections.tokens import REFRESH_FAILURES_KEY
from hub.core.connections.usage import COUNTS_KEY, LATENCY_BUCKETS, LATENCY_KEY, PENDING_KEY
from hub.core.db import AnySession
from hub.core.models import Event, Integration, Run
from hub.core.ratelimit import DEFERRALS_KEY
from hub.core.webhooks.models import WebhookEndpoint
from hub.provider import Provider

QUEUES = ("hub",)


def _hash(client: redis.Redis, key: str) -> dict[str, str]:
    raw: dict[Any, Any] = client.hgetall(key)
    return {k.decode(): v.decode() for k, v in raw.items()}


def _latency(client: redis.Redis) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "hub_provider_call_duration_seconds",
        "Duration of provider calls made through ctx.http and of recorded units of work.",
        labels=["plugin"],
    )
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    for field, value in _hash(client, LATENCY_KEY).items():
        plugin, _, bucket = field.rpartition("|")
        counts[plugin][bucket] = float(value)
    for plugin, buckets in sorted(counts.items()):
        running, cumulative = 0.0, []
        for bound in [*(str(b) for b in LATENCY_BUCKETS), "+Inf"]:
            running += buckets.get(bound, 0.0)
            cumulative.append((bound, running))
        family.add_metric([plugin], cumulative, sum_value=buckets.get("sum", 0.0))
    return family


def _deferrals(client: redis.Redis) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "hub_rate_limit_deferrals",
        "Provider calls deferred by a rate limit: our quota, or the provider's 429.",
        labels=["plugin", "source"],
    )
    for field, value in sorted(_hash(client, DEFERRALS_KEY).items()):
        plugin, _, source = field.rpartition("|")
        family.add_metric([plugin, source], float(value))
    return family


def _refresh_failures(client: redis.Redis) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "hub_token_refresh_failures",
        "OAuth token refreshes that failed: refused (needs_reauth), unavailable, rate_limited.",
        labels=["plugin", "reason"],
    )
    for field, value in sorted(_hash(client, REFRESH_FAILURES_KEY).items()):
        plugin, _, reason = field.rpartition("|")
        family.add_metric([plugin, reason], float(value))
    return family


def _usage_counts(client: redis.Redis) -> list[tuple[str, str, str, float]]:
    found = []
    for name, value in _hash(client, COUNTS_KEY).items():
        rest, _, outcome = name.rpartition("|")
        plugin, _, feature = rest.partition("|")
        found.append((plugin, feature, outcome, float(value)))
    return sorted(found)


def _usage(counts: list[tuple[str, str, str, float]]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "hub_usage",
        "Usage records: provider calls and units of work, by feature and outcome.",
        labels=["plugin", "feature", "outcome"],
    )
    for plugin, feature, outcome, value in counts:
        family.add_metric([plugin, feature, outcome], value)
    return family


def _time_saved(
    counts: list[tuple[str, str, str, float]], providers: Mapping[str, Provider]
) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "hub_time_saved_seconds",
        "Manual work the successful units of work saved, at each plugin's declared worth.",
        labels=["plugin", "feature"],
    )
    worth = {name: provider.seconds_saved() for name, provider in providers.items()}
    for plugin, feature, outcome, value in counts:
        seconds = worth.get(plugin, {}).get(feature)
        if outcome == "ok" and seconds:
            family.add_metric([plugin, feature], value * seconds)
    return family


def _queues(client: redis.Redis) -> GaugeMetricFamily:
    family = GaugeMetricFamily("hub_queue_depth", "Jobs and items waiting.", labels=["queue"])
    for name in QUEUES:
        family.add_metric([name], float(Queue(name, connection=client).count))
    family.add_metric(["usage_pending"], float(client.llen(PENDING_KEY)))
    return family


# Runs still being worked on: few at any size (the backlog), each counted where it is.
IN_FLIGHT = ("queued", "running", "waiting")
# Finished runs are counted over this window only: counting every run kept would read the
# whole table on every scrape (its size grows with organizations times retention days).
FINISHED_WINDOW = timedelta(hours=1)


def _runs(session: AnySession) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "hub_runs",
        "Runs by plugin and state: queued, running and waiting now; succeeded and failed "
        "in the last hour.",
        labels=["plugin", "state"],
    )
    counted = (Run.plugin, Run.state, func.count())
    in_flight = select(*counted).where(Run.state.in_(IN_FLIGHT))
    finished_at = func.coalesce(Run.finished_at, Run.updated_at)
    recent = select(*counted).where(
        finished_at >= clock.now() - FINISHED_WINDOW, Run.state.not_in(IN_FLIGHT)
    )
    rows = [
        *session.execute(in_flight.group_by(Run.plugin, Run.state)),
        *session.execute(recent.group_by(Run.plugin, Run.state)),
    ]
    for plugin, state, count in sorted(rows):
        family.add_metric([plugin, state], float(count))
    return family


def _integrations(session: AnySession) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "hub_integrations", "Integrations by plugin and status.", labels=["plugin", "status"]
    )
    stmt = select(Integration.plugin, Integration.status, func.count()).group_by(
        Integration.plugin, Integration.status
    )
    for plugin, status, count in sorted(session.execute(stmt)):
        family.add_metric([plugin, status], float(count))
    return family


def _webhook_endpoints(session: AnySession) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "hub_webhook_endpoints", "Outgoing webhook endpoints by state.", labels=["state"]
    )
    stmt = select(WebhookEndpoint.enabled, func.count()).group_by(WebhookEndpoint.enabled)
    counts = {bool(enabled): count for enabled, count in session.execute(stmt)}
    for enabled, state in ((True, "enabled"), (False, "disabled")):
        family.add_metric([state], float(counts.get(enabled, 0)))
    return family


def _outbox_age(session: AnySession) -> GaugeMetricFamily:
    """How long the oldest event has waited for dispatch (0 when none waits)."""
    stmt = select(Event.created_at).where(Event.dispatched_at.is_(None)).order_by(Event.seq)
    oldest = session.scalar(stmt.limit(1))
    age = max((clock.now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return GaugeMetricFamily(
        "hub_outbox_oldest_seconds",
        "Age of the oldest event not yet dispatched (the outbox sweeper's backlog).",
        value=age,
    )


class ScrapeCollector(Collector):
    """Reads everything once per scrape."""

    def __init__(
        self, session: AnySession, client: redis.Redis, providers: Mapping[str, Provider]
    ) -> None:
        self.session = session
        self.client = client
        self.providers = providers

    def collect(self) -> Iterator[Metric]:
        yield _runs(self.session)
        yield _integrations(self.session)
        yield _webhook_endpoints(self.session)
        yield _outbox_age(self.session)
        yield _latency(self.client)
        counts = _usage_counts(self.client)
        yield _usage(counts)
        yield _time_saved(counts, self.providers)
        yield _deferrals(self.client)
        yield _refresh_failures(self.client)
        yield _queues(self.client)


def render(
    session: AnySession, client: redis.Redis, providers: Mapping[str, Provider] | None = None
) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ScrapeCollector(session, client, providers or {}))
    return generate_latest(registry)
