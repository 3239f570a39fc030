"""Health checks: the hook every 15 minutes, history, and the failure policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from support import oauth_plugin
from support.oauth_plugin import NAME, PROVIDER, OAuthTestPlugin, connect, integration, oauth_config
from support.oauth_server import OAuthServer

from hub import HealthResult, RateLimited
from hub.core.connections import health
from hub.core.connections.health import HealthCheck
from hub.core.models import Event
from hub.extensions import db
from hub.jobs import health_checks
from hub.testing import run_jobs

oauth_server = oauth_plugin.oauth_server


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return {**oauth_config(hub_config, oauth_server), "HUB_MAX_CONSECUTIVE_ERRORS": 3}


@pytest.fixture
def plugin(app, api, client, register_plugin) -> OAuthTestPlugin:
    # no quota: a refused check makes two calls (the 401, the retry after a refresh)
    registered = OAuthTestPlugin(replace(PROVIDER, rate_limits=None))
    register_plugin(registered, NAME)
    assert connect(api, client) == {"success": NAME}
    return registered


def check_now(app, org_id: int) -> HealthCheck | None:
    with app.app_context():
        found = health.check(app, db.session, integration(org_id))
        db.session.remove()
        return found


def history(app, org_id: int) -> list[tuple[bool, str]]:
    with app.app_context():
        stmt = select(HealthCheck).where(HealthCheck.org_id == org_id).order_by(HealthCheck.id)
        rows = [(c.ok, c.message) for c in db.session.scalars(stmt)]
        db.session.remove()
        return rows


def events_of(app, type_: str) -> int:
    with app.app_context():
        found = len(db.session.scalars(select(Event).where(Event.type == type_)).all())
        db.session.remove()
        return found


def test_hook_health_check(app, api, org, plugin, oauth_server):
    """The plugin's ``health_check`` answers for its integration; the hub keeps the answer."""
    check = check_now(app, org.id)
    assert check is not None and check.ok and check.message == "userinfo answered 200"
    assert oauth_server.counts["userinfo"] == 1
    status = api.get("/api/integrations/status").json["integrations"]
    mine = next(item for item in status if item["plugin"] == NAME)
    assert mine["health"]["ok"] is True
    assert mine["health"]["message"] == "userinfo answered 200"
    assert mine["health"]["checked_at"] is not None


def test_the_recurring_job_checks_every_enabled_integration_in_a_worker(
    app, api, other_api, client, org, other_org, plugin, oauth_server
):
    oauth_server.account = "acct-43"  # an account belongs to one organization
    assert connect(other_api, client) == {"success": NAME}
    with app.app_context():
        health_checks(app)
        db.session.remove()
    run_jobs(app)
    assert len(history(app, org.id)) == 1 and len(history(app, other_org.id)) == 1
    assert oauth_server.counts["userinfo"] == 2


def test_repeated_failures_disable_the_integration_once_and_a_pass_resets(
    app, org, plugin, oauth_server
):
    oauth_server.refuse_userinfo = True  # every call is refused with 401, even refreshed
    check_now(app, org.id)
    with app.app_context():
        assert integration(org.id).consecutive_errors == 1
    oauth_server.refuse_userinfo = False
    assert check_now(app, org.id).ok
    with app.app_context():
        assert integration(org.id).consecutive_errors == 0
    oauth_server.refuse_userinfo = True
    for _ in range(3):
        check_now(app, org.id)
    with app.app_context():
        row = integration(org.id)
        assert (row.enabled, row.status) == (False, "disabled")
        assert "Health check failed" in row.disabled_reason
    assert events_of(app, "integration.disabled") == 1
    assert [ok for ok, _ in history(app, org.id)] == [False, True, False, False, False]


def test_a_check_that_raises_is_a_failure_with_its_message(app, org, plugin):
    def broken(ctx: Any) -> HealthResult:
        raise RuntimeError("socket closed")

    plugin.health = broken
    check = check_now(app, org.id)
    assert check is not None and not check.ok
    assert "RuntimeError: socket closed" in check.message


def test_a_rate_limited_check_is_not_a_failure(app, org, plugin):
    def busy(ctx: Any) -> HealthResult:
        raise RateLimited(30)

    plugin.health = busy
    assert check_now(app, org.id) is None
    assert history(app, org.id) == []
    with app.app_context():
        assert integration(org.id).consecutive_errors == 0


def test_a_refused_token_during_a_check_means_needs_reauth(
    app, org, plugin, oauth_server, hub_clock
):
    oauth_server.refresh_tokens.clear()
    with app.app_context():
        hub_clock.set(integration(org.id).token_expires_at + timedelta(seconds=1))
        db.session.remove()
    check = check_now(app, org.id)
    assert check is not None and not check.ok and "NeedsReauth" in check.message
    with app.app_context():
        assert integration(org.id).status == "needs_reauth"
    assert events_of(app, "integration.needs_reauth") == 1
    assert events_of(app, "integration.disabled") == 0
