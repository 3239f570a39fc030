"""The scheduler and a Redis outage: a slot whose claim failed is claimed once Redis is back,
and the outage is logged once, not every second."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis

from hub.core.runs.scheduling import Scheduler, register_core_job, registry

T0 = datetime(2030, 3, 4, 10, 0, 0, tzinfo=UTC)


def unreachable_redis() -> redis.Redis:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=None)


@pytest.fixture
def daily(app):
    """Only a daily job in the registry."""
    registry(app).clear()
    app.extensions["hub.recurring_built"] = True
    register_core_job(app, "daily", "47 3 * * *", lambda app: None)


def test_a_slot_whose_claim_failed_is_claimed_when_redis_is_back(app, daily):
    scheduler = Scheduler(app, unreachable_redis())
    at = T0.replace(hour=3, minute=47, second=1)
    with pytest.raises(redis.ConnectionError):
        scheduler.tick(at)
    scheduler.client = app.extensions["hub.redis"]
    assert scheduler.tick(at + timedelta(seconds=5)) == ["daily"]
    assert scheduler.tick(at + timedelta(seconds=6)) == []


def test_an_outage_is_logged_once(app, daily, caplog):
    register_core_job(app, "every_second", 1, lambda app: None)
    scheduler = Scheduler(app, unreachable_redis())
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop, 0.05))
    with caplog.at_level(logging.WARNING, logger="hub.core.runs.scheduling"):
        thread.start()
        stop.wait(2.5)  # some 50 ticks, two or three new slots
        stop.set()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.core.runs.scheduling"]
    assert len(lines) == 1 and "retrying every 0.05 s" in lines[0], lines
    assert not [line for line in lines if "answers again" in line]
