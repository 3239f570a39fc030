"""An attempt's time is bounded as a whole: a short connect timeout, and a total deadline
kept on the socket, however slowly a receiver answers."""

from __future__ import annotations

import pytest
from support.slow_servers import BlackHole, Trickle
from support.webhook_tools import LOOPBACK, attempts, deliver, deliveries, emit, register


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, **LOOPBACK, "HUB_WEBHOOK_TIMEOUT": "1"}


def only_attempt(app):
    [delivery] = deliveries(app)
    [attempt] = attempts(app, delivery.id)
    return delivery, attempt


@pytest.mark.parametrize("headers", [True, False], ids=["headers", "body"])
def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_at_the_deadline(app, api, headers):
    # one byte every 0.3 s: the socket's read timeout (1 s) never trips, the whole answer
    # would take 12 s (the body) or 25 s (status line, headers and body)
    trickle = Trickle(interval=0.3, size=40, headers=headers)
    try:
        register(api, trickle.url())
        emit(api)
        deliver(app)
    finally:
        trickle.close()
    delivery, attempt = only_attempt(app)
    assert attempt.duration_ms < 2500
    if headers:  # no status came: a timeout, retried no sooner than a minute
        assert (attempt.status_code, attempt.error) == (None, "Timed out after 1 s.")
        assert delivery.state == "pending"
    else:  # the receiver said 200: that is its answer, its body cut short
        assert (attempt.status_code, delivery.state) == (200, "succeeded")
        assert len(attempt.response_body) < 40  # cut short


def test_a_destination_that_drops_connections_costs_the_connect_timeout(app, api):
    app.config.update(HUB_WEBHOOK_TIMEOUT=10.0, HUB_WEBHOOK_CONNECT_TIMEOUT=0.5)
    hole = BlackHole()
    try:
        register(api, hole.url())
        emit(api)
        deliver(app)
    finally:
        hole.close()
    _, attempt = only_attempt(app)
    assert attempt.status_code is None and attempt.error.startswith("Timed out")
    assert attempt.duration_ms < 2000  # not HUB_WEBHOOK_TIMEOUT's 10 s
