"""Status, analytics and ROI of an organization's integrations, from what really happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub import Provider, Work, hookimpl
from hub.core.connections.health import HealthCheck
from hub.core.ids import new_id
from hub.core.models import Event, Integration, Run
from hub.extensions import db
from hub.testing import run_jobs

WINTER = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)  # London is UTC
SUMMER = datetime(2026, 7, 15, 10, 30, tzinfo=UTC)  # London is UTC+1


class Plugin:
    """A provider the analytics can name."""

    def __init__(self, name: str) -> None:
        self.provider = Provider(name=name, title=name.title())

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(self.provider)


@pytest.fixture
def plugins(register_plugin) -> None:
    register_plugin(Plugin("files"), "files")
    register_plugin(Plugin("chat"), "chat")


def record(app, org_id: int, plugin: str, feature: str, status: int, seconds: float, size: int):
    """One provider call, told to the recorder exactly as ctx.http tells it."""
    app.extensions["hub.usage"](
        org_id=org_id,
        plugin=plugin,
        feature=feature,
        method="POST",
        status=status,
        duration=seconds,
        size=size,
    )


def integration_row(app, org_id: int, plugin: str, enabled: bool = True) -> int:
    with app.app_context():
        status = "enabled" if enabled else "disabled"
        row = Integration(org_id=org_id, plugin=plugin, enabled=enabled, status=status)
        db.session.add(row)
        db.session.commit()
        row_id = row.id
        db.session.remove()
        return row_id


def health_history(app, org_id: int, integration_id: int, plugin: str, oks: list[bool]) -> None:
    with app.app_context():
        for ok in oks:
            db.session.add(
                HealthCheck(
                    org_id=org_id,
                    integration_id=integration_id,
                    plugin=plugin,
                    ok=ok,
                    message="",
                    duration_ms=5.0,
                )
            )
        db.session.commit()
        db.session.remove()


def of(report: dict[str, Any], plugin: str) -> dict[str, Any]:
    return next(item for item in report["integrations"] if item["plugin"] == plugin)


def test_analytics_per_integration_with_breakdowns_and_a_summary(app, api, org, plugins, hub_clock):
    hub_clock.set(WINTER)
    files = integration_row(app, org.id, "files")
    integration_row(app, org.id, "chat", enabled=False)
    for _ in range(3):
        record(app, org.id, "files", "file.upload", 200, 0.1, 1000)
    record(app, org.id, "files", "file.upload", 500, 0.3, 10)
    record(app, org.id, "files", "notification.sent", 0, 0.0, 0)
    health_history(app, org.id, files, "files", [True, True, True, False])
    response = api.get("/api/integrations/analytics?period=daily")
    assert response.status_code == 200, response.json
    report = response.json
    metrics = of(report, "files")["metrics"]
    assert metrics == {
        "total_requests": 5,
        "successful_requests": 3,
        "failed_requests": 2,
        "average_response_ms": 120.0,
        "bytes_transferred": 3010,
        "error_rate": 0.4,
        "uptime": 75.0,
        "features_used": ["file.upload", "notification.sent"],
        "p50_response_ms": 100.0,  # of 0, 100, 100, 100, 300 (nearest rank)
        "p95_response_ms": 300.0,
    }
    breakdown = of(report, "files")["breakdown"]
    assert breakdown["by_feature"] == {"file.upload": 4, "notification.sent": 1}
    assert breakdown["by_status"] == {"200": 3, "500": 1, "no_response": 1}
    assert breakdown["by_hour"] == [0] * 10 + [5] + [0] * 13
    assert of(report, "chat")["metrics"]["total_requests"] == 0
    assert of(report, "chat")["metrics"]["uptime"] is None
    assert report["summary"] == {
        "total_integrations": 2,
        "active_integrations": 1,
        "total_requests": 5,
        "successful_requests": 3,
        "failed_requests": 2,
        "error_rate": 0.4,
        "average_response_ms": 120.0,
        "bytes_transferred": 3010,
        "average_uptime": 75.0,
    }


def test_hours_are_the_organizations_local_hours(app, api, org, plugins, hub_clock):
    hub_clock.set(SUMMER)
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    by_hour = of(api.get("/api/integrations/analytics").json, "files")["breakdown"]["by_hour"]
    assert by_hour.index(1) == 11 and sum(by_hour) == 1


def test_the_period_chooses_the_window(app, api, org, plugins, hub_clock):
    hub_clock.set(WINTER - timedelta(days=2))
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    hub_clock.set(WINTER - timedelta(days=20))
    record(app, org.id, "files", "file.upload", 200, 0.1, 1)
    hub_clock.set(WINTER)
    totals = {
        period: api.get(f"/api/integrations/analytics?period={period}").json["summary"]
        for period in ("daily", "weekly", "monthly")
    }
    assert [totals[p]["total_requests"] for p in ("daily", "weekly", "monthly")] == [0, 1, 2]


def test_a_bad_period_is_a_400_naming_it(api):
    for path in ("/api/integrations/analytics", "/api/integrations/roi"):
        response = api.get(f"{path}?period=yearly")
        assert response.status_code == 400
        assert "period" in response.json["error"]["details"]


def test_another_organizations_usage_is_not_counted(app, api, other_api, org, other_org, plugins):
    record(app, other_org.id, "files", "file.upload", 200, 0.1, 1)
    record(app, other_org.id, "files", "file.upload", 200, 0.1, 1)
    record(app, org.id, "files", "file.upload", 500, 0.1, 1)
    ours = api.get("/api/integrations/analytics").json
    theirs = other_api.get("/api/integrations/analytics").json
    assert (ours["summary"]["total_requests"], theirs["summary"]["total_requests"]) == (1, 2)
    assert of(ours, "files")["metrics"]["failed_requests"] == 1
    assert of(theirs, "files")["metrics"]["successful_requests"] == 2


class WorkingPlugin(Plugin):
    """Does its units of work in a real run: a file and a notice per client created, and
    a check that is no work anyone would do by hand; a client named "Broken" fails."""

    def __init__(self) -> None:
        self.provider = Provider(
            name="files",
            title="Files",
            work=(Work("file", 2.0, "A file stored."), Work("notice", 0.5, "A notice.")),
        )

    @hookimpl
    def on_client_created(self, ctx: Any, client: dict[str, Any]) -> None:
        ok = client["name"] != "Broken"
        ctx.record_usage("file", ok=ok, status=200 if ok else 500, duration=0.2, size=10)
        ctx.record_usage("notice")
        ctx.record_usage("check")


def test_roi_values_each_declared_unit_of_work_done(
    app, api, other_api, org, register_plugin, enable_plugin
):
    register_plugin(WorkingPlugin(), "files")
    enable_plugin("files")
    for name in ("Globex", "Initech", "Broken"):
        assert api.post("/api/clients", json={"name": name}).status_code == 201
    run_jobs(app)
    report = api.get("/api/integrations/roi").json
    assert report["period"] == "monthly"
    assert report["time_saved"] == {
        "files": {
            "file": {"count": 2, "seconds_each": 120.0},  # the failed one saved nothing
            "notice": {"count": 3, "seconds_each": 30.0},
        }
    }
    assert report["total_seconds_saved"] == 330  # 2 x 120 + 3 x 30; "check" is worth nothing
    assert report["hours_saved"] == 0.09
    assert report["value"] == round(330 / 3600 * 50, 2)
    assert report["subscription_price"] == 99.0
    assert report["roi_ratio"] == round(report["value"] / 99.0, 2)
    assert report["by_integration"]["files"]["count"] == 5
    assert other_api.get("/api/integrations/roi").json["total_seconds_saved"] == 0
    analytics = of(api.get("/api/integrations/analytics").json, "files")
    assert analytics["breakdown"]["by_feature"] == {"check": 3, "file": 3, "notice": 3}
    assert analytics["metrics"]["failed_requests"] == 1


def _runs(app, org_id: int, integration_id: int, states: list[str]) -> None:
    with app.app_context():
        for state in states:
            event = Event(id=new_id("evt"), org_id=org_id, type="client.created", payload={})
            db.session.add(event)
            db.session.flush()
            db.session.add(
                Run(
                    org_id=org_id,
                    event_id=event.id,
                    integration_id=integration_id,
                    plugin="files",
                    event_type=event.type,
                    state=state,
                )
            )
        db.session.commit()
        db.session.remove()


def test_status_reports_standing_health_and_runs(app, api, org, other_org, plugins, hub_clock):
    hub_clock.set(WINTER)
    files = integration_row(app, org.id, "files")
    _runs(app, org.id, files, ["queued", "queued", "failed", "succeeded", "waiting"])
    _runs(app, other_org.id, integration_row(app, other_org.id, "files"), ["failed"])
    health_history(app, org.id, files, "files", [False, True])
    with app.app_context():
        row = db.session.scalars(select(Integration).where(Integration.id == files)).one()
        row.last_error, row.consecutive_errors = "Timeout", 2
        db.session.commit()
        db.session.remove()
    items = {i["plugin"]: i for i in api.get("/api/integrations/status").json["integrations"]}
    status = items["files"]
    assert (status["enabled"], status["status"], status["connected"]) == (True, "enabled", None)
    assert status["runs"] == {"queued": 2, "running": 0, "waiting": 1, "failed": 1}
    assert status["health"]["ok"] is True  # the newest check
    assert (status["last_error"], status["consecutive_errors"]) == ("Timeout", 2)
    assert items["chat"]["enabled"] is False and items["chat"]["health"] is None
