"""Webhook deliveries are usage: analytics, ROI and /metrics count what really went out.

Real flows only: events through the API, the pump, a loopback receiver.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.metrics import samples
from support.webhook_tools import LOOPBACK, Answer, deliver, emit, register, running_receiver


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, **LOOPBACK}


@pytest.fixture
def receiver():
    yield from running_receiver()


def webhooks_of(report: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in report["integrations"] if item["plugin"] == "webhooks")


def test_every_attempt_is_usage_and_each_delivered_event_saves_a_notification(
    app, api, receiver, hub_clock
):
    register(api, receiver.url())
    receiver.answer(Answer(200), Answer(500, b"boom"))
    emit(api, "Globex")
    emit(api, "Initech")
    deliver(app)  # one delivered, one failed once
    hub_clock.advance(seconds=10)
    deliver(app)  # the retry succeeds
    assert len(receiver.received) == 3

    usage = webhooks_of(api.get("/api/integrations/analytics?period=daily").json)
    assert usage["metrics"]["total_requests"] == 3
    assert usage["metrics"]["failed_requests"] == 1
    assert usage["breakdown"]["by_feature"] == {"delivery": 3}
    assert usage["breakdown"]["by_status"] == {"200": 2, "500": 1}
    assert usage["metrics"]["bytes_transferred"] > 0

    roi = api.get("/api/integrations/roi").json
    assert roi["time_saved"] == {"webhooks": {"delivery": {"count": 2, "seconds_each": 30.0}}}
    assert roi["total_seconds_saved"] == 60
    assert roi["by_integration"]["webhooks"] == {"count": 2, "seconds_saved": 60, "value": 0.83}
    assert roi["value"] == 0.83


def test_metrics_count_deliveries_by_outcome_and_the_time_they_saved(
    app, api, client, receiver, hub_clock
):
    register(api, receiver.url())
    receiver.answer(Answer(500))
    emit(api)
    deliver(app)
    hub_clock.advance(seconds=10)
    deliver(app)
    found = samples(client)
    usage = (("feature", "delivery"), ("outcome", "ok"), ("plugin", "webhooks"))
    failed = (("feature", "delivery"), ("outcome", "failed"), ("plugin", "webhooks"))
    assert found[("hub_usage_total", usage)] == 1
    assert found[("hub_usage_total", failed)] == 1
    saved = (("feature", "delivery"), ("plugin", "webhooks"))
    assert found[("hub_time_saved_seconds_total", saved)] == 30


def test_a_test_ping_is_usage_but_saves_no_time(app, api, receiver):
    endpoint = register(api, receiver.url())
    assert api.post(f"/api/integrations/webhooks/{endpoint['id']}/test").status_code == 200
    usage = webhooks_of(api.get("/api/integrations/analytics?period=daily").json)
    assert usage["breakdown"]["by_feature"] == {"test": 1}
    assert api.get("/api/integrations/roi").json["total_seconds_saved"] == 0


def test_deliveries_count_for_their_own_organization_only(app, api, other_api, receiver, hub_clock):
    register(api, receiver.url("/ours"))
    register(other_api, receiver.url("/theirs"))
    emit(api)
    emit(other_api)
    emit(other_api, "Initech")
    deliver(app)
    ours = webhooks_of(api.get("/api/integrations/analytics?period=daily").json)
    theirs = webhooks_of(other_api.get("/api/integrations/analytics?period=daily").json)
    assert (ours["metrics"]["total_requests"], theirs["metrics"]["total_requests"]) == (1, 2)
    assert api.get("/api/integrations/roi").json["total_seconds_saved"] == 30
    assert other_api.get("/api/integrations/roi").json["total_seconds_saved"] == 60
