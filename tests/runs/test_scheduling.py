"""The workers' scheduler: slots computed from the hub's clock, each fired once across any
number of schedulers (SET NX per slot), missed slots caught up only while recent."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from hub.core.runs.scheduling import RecurringJob, Scheduler, register_core_job, registry, slot_key
from hub.jobs import CORE_JOBS, recurring
from hub.testing import run_jobs

T0 = datetime(2030, 3, 4, 10, 0, 0, tzinfo=UTC)


def test_slots_of_intervals_and_cron_expressions():
    every5 = RecurringJob("sweep", 5, print)
    assert every5.slot(T0 + timedelta(seconds=7.5)) == T0 + timedelta(seconds=5)
    assert every5.period(T0) == 5
    quarter = RecurringJob("health", "*/15 * * * *", print)
    assert quarter.slot(T0 + timedelta(minutes=14, seconds=59)) == T0
    assert quarter.slot(T0 + timedelta(minutes=15)) == T0 + timedelta(minutes=15)
    assert quarter.period(T0) == 900


@pytest.fixture
def counted(app):
    """Only a test job in the registry; how often it ran."""
    ran: list[str] = []
    registry(app).clear()
    app.extensions["hub.recurring_built"] = True  # keep the core's jobs out of these tests
    register_core_job(app, "count", "* * * * *", lambda app: ran.append("ran"))
    return ran


def test_two_schedulers_fire_a_slot_once(app, counted, hub_clock):
    hub_clock.set(T0 + timedelta(seconds=3))
    schedulers = [Scheduler(app, app.extensions["hub.redis"]) for _ in range(2)]
    assert [s.tick() for s in schedulers] == [["count"], []]
    assert [s.tick() for s in schedulers] == [[], []]  # the same slot again: nothing
    hub_clock.advance(minutes=1)
    assert [s.tick() for s in reversed(schedulers)] == [["count"], []]
    run_jobs(app)
    assert counted == ["ran", "ran"]


def test_many_schedulers_ticking_at_once_fire_each_slot_once(app, counted, hub_clock):
    hub_clock.set(T0)
    schedulers = [Scheduler(app, app.extensions["hub.redis"]) for _ in range(8)]
    fired: list[str] = []
    for _ in range(3):
        barrier = threading.Barrier(len(schedulers))

        def tick(scheduler: Scheduler, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            fired.extend(scheduler.tick())

        threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        hub_clock.advance(minutes=1)
    assert fired == ["count"] * 3
    assert run_jobs(app) == 3 and counted == ["ran"] * 3


def test_a_recent_missed_slot_is_caught_up_an_old_one_is_skipped(app, counted, hub_clock):
    registry(app)["daily"] = RecurringJob("daily", "0 9 * * *", lambda app: counted.append("d"))
    hub_clock.set(T0.replace(hour=9, minute=3))  # 3 minutes late: within HUB_SCHEDULER_CATCHUP
    assert "daily" in Scheduler(app, app.extensions["hub.redis"]).tick()
    hub_clock.set(T0.replace(hour=14) + timedelta(days=1))  # 5 hours late: skipped
    assert "daily" not in Scheduler(app, app.extensions["hub.redis"]).tick()


def test_a_slot_claimed_before_a_restart_is_not_fired_again(app, counted, hub_clock):
    hub_clock.set(T0 + timedelta(seconds=20))
    assert Scheduler(app, app.extensions["hub.redis"]).tick() == ["count"]
    restarted = Scheduler(app, app.extensions["hub.redis"])
    assert restarted.tick() == []
    assert app.extensions["hub.redis"].ttl(slot_key("count", T0)) > 60


def test_the_core_jobs_are_the_table_in_hub_jobs_declared_by_create_app(app):
    jobs = registry(app)  # before any worker built its list: create_app declared them
    assert {name for name, _, _ in CORE_JOBS} <= set(jobs)
    for name, _, function in CORE_JOBS:
        assert jobs[name].function is function and jobs[name].plugin is None
    assert jobs["outbox_sweep"].schedule == app.config["HUB_SWEEP_SECONDS"]
    assert jobs["webhook_sweep"].schedule == app.config["HUB_SWEEP_SECONDS"]
    assert jobs["health_checks"].schedule == "*/15 * * * *"


def test_the_core_sweepers_fire_from_the_scheduler(app, hub_clock):
    hub_clock.set(T0)
    recurring(app)  # what `hub worker` declares before its scheduler starts
    fired = Scheduler(app, app.extensions["hub.redis"]).tick()
    assert {"outbox_sweep", "run_sweep", "deadline_scan"} <= set(fired)
    assert run_jobs(app) >= 3
