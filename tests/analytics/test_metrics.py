"""/metrics: Prometheus text computed at scrape time from the database and Redis, so what
another process did (a worker) shows in the web process's scrape."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
import redis
from rq import Queue
from support.metrics import samples

from hub.core.connections.usage import UsageRecorder
from hub.core.ratelimit import DEFERRALS_KEY


def _calls_in_another_process(url: str, org_id: int) -> None:
    """A worker's view: provider calls recorded by this process's own recorder."""
    recorder = UsageRecorder(redis.Redis.from_url(url))
    for seconds in (0.03, 0.2, 0.2, 3.0):
        recorder(
            org_id=org_id,
            plugin="files",
            feature="file.upload",
            method="PUT",
            status=200,
            duration=seconds,
            size=10,
        )
    recorder(
        org_id=org_id,
        plugin="files",
        feature="file.upload",
        method="PUT",
        status=429,
        duration=0.01,
        size=0,
    )


def test_provider_latency_from_another_process_is_a_histogram(client, org, hub_redis_url):
    process = multiprocessing.get_context("spawn").Process(
        target=_calls_in_another_process, args=(hub_redis_url, org.id)
    )
    process.start()
    process.join(60)
    assert process.exitcode == 0
    found = samples(client)
    bucket = "hub_provider_call_duration_seconds_bucket"
    assert found[(bucket, (("le", "0.05"), ("plugin", "files")))] == 2
    assert found[(bucket, (("le", "0.25"), ("plugin", "files")))] == 4
    assert found[(bucket, (("le", "2.5"), ("plugin", "files")))] == 4
    assert found[(bucket, (("le", "+Inf"), ("plugin", "files")))] == 5
    assert found[("hub_provider_call_duration_seconds_count", (("plugin", "files"),))] == 5
    total = found[("hub_provider_call_duration_seconds_sum", (("plugin", "files"),))]
    assert total == pytest.approx(3.44, abs=0.01)
    deferrals = ("hub_rate_limit_deferrals_total", (("plugin", "files"), ("source", "provider")))
    assert found[deferrals] == 1


def test_runs_queue_depth_and_quota_deferrals(app, client, org, redis_client):
    from test_analytics import _runs, integration_row

    files = integration_row(app, org.id, "files")
    _runs(app, org.id, files, ["queued", "failed", "failed", "succeeded"])
    Queue("hub", connection=redis_client).enqueue("hub.jobs.drain_events")
    redis_client.hincrby(DEFERRALS_KEY, "files|quota", 3)
    found = samples(client)
    assert found[("hub_runs", (("plugin", "files"), ("state", "failed")))] == 2
    assert found[("hub_runs", (("plugin", "files"), ("state", "succeeded")))] == 1
    assert found[("hub_integrations", (("plugin", "files"), ("status", "enabled")))] == 1
    assert found[("hub_queue_depth", (("queue", "hub"),))] == 1
    assert (
        found[("hub_rate_limit_deferrals_total", (("plugin", "files"), ("source", "quota")))] == 3
    )


def test_runs_count_work_in_flight_and_what_finished_in_the_last_hour(app, client, org, hub_clock):
    """Finished runs older than the window leave the gauge (a scrape reads only recent
    rows), while a run queued for hours still counts: the backlog is what it is now."""
    from test_analytics import _runs, integration_row

    files = integration_row(app, org.id, "files")
    _runs(app, org.id, files, ["queued", "waiting", "failed", "failed", "succeeded"])
    found = samples(client)
    assert found[("hub_runs", (("plugin", "files"), ("state", "failed")))] == 2
    hub_clock.advance(minutes=61)
    _runs(app, org.id, files, ["failed"])
    found = samples(client)
    assert found[("hub_runs", (("plugin", "files"), ("state", "queued")))] == 1
    assert found[("hub_runs", (("plugin", "files"), ("state", "waiting")))] == 1
    assert found[("hub_runs", (("plugin", "files"), ("state", "failed")))] == 1
    assert ("hub_runs", (("plugin", "files"), ("state", "succeeded"))) not in found


class TestToken:
    @pytest.fixture
    def hub_config(self, hub_config: dict[str, Any]) -> dict[str, Any]:
        return {**hub_config, "HUB_METRICS_TOKEN": "scrape-me"}

    def test_a_metrics_token_is_required_when_set(self, client):
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert samples(client, Authorization="Bearer scrape-me")


class TestPublicBind:
    """`hub serve --host 0.0.0.0` (or any address other machines reach) without a token."""

    @pytest.fixture
    def hub_config(self, hub_config: dict[str, Any]) -> dict[str, Any]:
        return {**hub_config, "HUB_SERVE_HOST": "0.0.0.0"}

    def test_metrics_are_refused_without_a_token(self, client):
        response = client.get("/metrics")
        assert response.status_code == 403
        assert "HUB_METRICS_TOKEN" in response.get_json()["error"]["message"]

    def test_a_token_opens_them(self, make_app, hub_config):
        app = make_app(HUB_METRICS_TOKEN="scrape-me")
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        assert samples(client, Authorization="Bearer scrape-me")


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("10.1.2.3", True),
        ("hub.internal", True),
    ],
)
def test_which_binds_need_a_metrics_token(host, refused):
    from hub.api.status import open_metrics_refused

    assert open_metrics_refused({"HUB_SERVE_HOST": host}) is refused
    assert open_metrics_refused({"HUB_SERVE_HOST": host, "HUB_METRICS_TOKEN": "t"}) is False


def test_webhook_endpoints_by_state(app, client, org):
    from hub.core.webhooks.models import WebhookEndpoint
    from hub.extensions import db

    with app.app_context():
        for enabled in (True, True, False):
            db.session.add(
                WebhookEndpoint(org_id=org.id, url="https://example.com/h", enabled=enabled)
            )
        db.session.commit()
        db.session.remove()
    found = samples(client)
    assert found[("hub_webhook_endpoints", (("state", "enabled"),))] == 2
    assert found[("hub_webhook_endpoints", (("state", "disabled"),))] == 1


def test_outbox_age_is_the_oldest_undispatched_event(app, api, client, hub_clock):
    from datetime import timedelta

    from hub.testing import run_jobs

    start = hub_clock.now()
    assert samples(client)[("hub_outbox_oldest_seconds", ())] == 0
    assert api.post("/api/clients", json={"name": "Globex"}).status_code == 201
    hub_clock.set(start + timedelta(seconds=30))
    assert api.post("/api/clients", json={"name": "Initech"}).status_code == 201
    hub_clock.set(start + timedelta(seconds=90))
    assert samples(client)[("hub_outbox_oldest_seconds", ())] == 90
    run_jobs(app)  # the dispatch jobs the creates enqueued
    assert samples(client)[("hub_outbox_oldest_seconds", ())] == 0
