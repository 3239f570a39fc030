"""What the console's Usage page draws: calls per day, latency p50/p95 and the last 24 hours
of each integration, in `GET /api/integrations/analytics`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_analytics import health_history, integration_row, of, plugins, record

__all__ = ["plugins"]

NOON = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def test_calls_per_day_in_the_organizations_days(app, api, org, plugins, hub_clock):
    hub_clock.set(NOON - timedelta(days=2))
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    hub_clock.set(NOON - timedelta(days=1))
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    record(app, org.id, "files", "file.upload", 500, 0.1, 1)
    hub_clock.set(NOON)
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    report = api.get("/api/integrations/analytics?period=weekly").json
    assert of(report, "files")["breakdown"]["by_day"] == [
        {"date": "2026-03-08", "total": 1, "ok": 1},
        {"date": "2026-03-09", "total": 2, "ok": 1},
        {"date": "2026-03-10", "total": 1, "ok": 1},
    ]


def test_latency_percentiles_by_nearest_rank(app, api, org, plugins, hub_clock):
    hub_clock.set(NOON)
    for millis in range(1, 101):  # 1..100 ms
        record(app, org.id, "files", "file.upload", 200, millis / 1000, 1)
    record(app, org.id, "chat", "message", 200, 0.5, 1)
    report = api.get("/api/integrations/analytics?period=daily").json
    files = of(report, "files")["metrics"]
    assert (files["p50_response_ms"], files["p95_response_ms"]) == (50.0, 95.0)
    chat = of(report, "chat")["metrics"]
    assert (chat["p50_response_ms"], chat["p95_response_ms"]) == (500.0, 500.0)


def test_the_last_24_hours_hour_by_hour(app, api, org, plugins, hub_clock):
    hub_clock.set(NOON - timedelta(hours=30))  # outside the 24 hours
    record(app, org.id, "files", "file.upload", 500, 0.1, 1)
    hub_clock.set(NOON - timedelta(hours=3))
    record(app, org.id, "files", "file.upload", 500, 0.1, 1)  # all failed: down
    hub_clock.set(NOON - timedelta(hours=1))
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    record(app, org.id, "files", "file.upload", 500, 0.1, 1)  # some failed: degraded
    hub_clock.set(NOON)
    files = integration_row(app, org.id, "files")
    health_history(app, org.id, files, "files", [True])  # checked now: ok
    integration_row(app, org.id, "chat")
    report = api.get("/api/integrations/analytics?period=daily").json
    hours = of(report, "files")["last_24_hours"]
    assert len(hours) == 24 and hours[-1]["hour"] == "2026-03-10T12:00:00+00:00"
    states = [hour["state"] for hour in hours]
    assert states == ["idle"] * 20 + ["down", "idle", "degraded", "ok"]
    assert hours[-2] == {
        "hour": "2026-03-10T11:00:00+00:00",
        "calls": 2,
        "failed_calls": 1,
        "checks": 0,
        "failed_checks": 0,
        "state": "degraded",
    }
    assert hours[-1]["checks"] == 1 and hours[-1]["calls"] == 0
    assert {hour["state"] for hour in of(report, "chat")["last_24_hours"]} == {"idle"}
