"""The token vault: refresh ahead of expiry, rotation, refusal, retry, single flight."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from typing import Any

import pytest
from flask import has_app_context
from sqlalchemy import select, text
from support import oauth_plugin
from support.oauth_plugin import NAME, OAuthTestPlugin, connect, integration, oauth_config
from support.oauth_server import OAuthServer

from hub import NeedsReauth, Token
from hub.core import clock
from hub.core.connections import tokens, upkeep
from hub.core.models import Event
from hub.errors import ServiceUnavailable
from hub.extensions import db

oauth_server = oauth_plugin.oauth_server


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_config(hub_config, oauth_server)


@pytest.fixture
def connected(app, api, client, org, register_plugin, oauth_server):
    """The test provider connected for the test org; the plugin object."""
    plugin = OAuthTestPlugin()
    register_plugin(plugin, NAME)
    assert connect(api, client) == {"success": NAME}
    return plugin


@contextmanager
def reading(app) -> Iterator[None]:
    """Read in the test's app context (plugin_context pushed one) and end the transaction,
    so on SQLite no write lock is left for the hub's own sessions to wait on."""
    with nullcontext() if has_app_context() else app.app_context():
        try:
            yield
        finally:
            db.session.commit()


def expiry(app, org_id: int):
    with reading(app):
        return integration(org_id).token_expires_at


def reauth_events(app, org_id: int) -> int:
    with reading(app):
        stmt = select(Event).where(Event.org_id == org_id, Event.type == "integration.needs_reauth")
        return len(db.session.scalars(stmt).all())


def test_a_valid_token_is_returned_without_a_refresh(connected, plugin_context, oauth_server):
    token = plugin_context(NAME).access_token()
    assert token in oauth_server.access_tokens
    assert oauth_server.counts["refresh"] == 0


def test_a_token_expiring_within_the_margin_is_refreshed_first(
    app, org, connected, plugin_context, oauth_server, hub_clock
):
    old = plugin_context(NAME).access_token()
    hub_clock.set(expiry(app, org.id) - timedelta(seconds=299))
    new = plugin_context(NAME).access_token()
    assert new != old and new in oauth_server.access_tokens
    assert oauth_server.counts["refresh"] == 1
    assert expiry(app, org.id) == clock.now() + timedelta(seconds=3600)
    # the provider sent no new refresh token: the old one is kept and still works
    hub_clock.advance(hours=1)
    assert plugin_context(NAME).access_token() not in (old, new)
    assert oauth_server.counts["refresh"] == 2


def test_a_token_the_provider_rejected_is_refreshed_once(connected, plugin_context, oauth_server):
    old = plugin_context(NAME).access_token()
    new = plugin_context(NAME).access_token(rejected=old)
    assert new != old and new in oauth_server.access_tokens
    # a second caller that saw the same old token gets the replacement, no second refresh
    assert plugin_context(NAME).access_token(rejected=old) == new
    assert oauth_server.counts["refresh"] == 1


def test_a_rotated_refresh_token_replaces_the_old_one(
    app, org, connected, plugin_context, oauth_server, hub_clock
):
    oauth_server.rotate = True
    first = next(iter(oauth_server.refresh_tokens))
    hub_clock.set(expiry(app, org.id))
    plugin_context(NAME).access_token()
    assert first not in oauth_server.refresh_tokens  # the provider revoked it
    with reading(app):
        raw = db.session.execute(text("SELECT secrets FROM integrations")).scalar()
        stored = tokens.load_token(app.extensions["hub.keyring"], integration(org.id))
    assert stored.refresh_token in oauth_server.refresh_tokens
    assert stored.refresh_token not in str(raw) and stored.access_token not in str(raw)
    hub_clock.advance(hours=1)
    plugin_context(NAME).access_token()  # the rotated token works for the next refresh
    assert oauth_server.counts["refresh"] == 2


def test_invalid_grant_marks_needs_reauth_and_emits_the_event_once(
    app, org, connected, plugin_context, oauth_server, hub_clock
):
    oauth_server.refresh_tokens.clear()  # the admin revoked the app at the provider
    hub_clock.set(expiry(app, org.id))
    with pytest.raises(NeedsReauth):
        plugin_context(NAME).access_token()
    with reading(app):
        row = integration(org.id)
        assert row.status == "needs_reauth" and "invalid_grant" in row.last_error
    assert reauth_events(app, org.id) == 1
    with pytest.raises(NeedsReauth):  # no second request, no second event
        plugin_context(NAME).access_token()
    assert oauth_server.counts["refresh"] == 1
    assert reauth_events(app, org.id) == 1


@pytest.mark.parametrize("fault", ["503", "unreachable"])
def test_a_provider_fault_is_retried_later_and_changes_nothing(
    app, org, connected, plugin_context, oauth_server, hub_clock, fault
):
    old = plugin_context(NAME).access_token()
    hub_clock.set(expiry(app, org.id))
    if fault == "503":
        oauth_server.fail_token = (503, {"error": "temporarily_unavailable"})
    else:
        oauth_server.stop()
    with pytest.raises(ServiceUnavailable):
        plugin_context(NAME).access_token()
    if fault == "unreachable":
        oauth_server.start()
        with reading(app):  # the port changed: point the provider at it again
            app.config.update(oauth_server.settings())
    with reading(app):
        row = integration(org.id)
        assert (row.status, row.enabled) == ("enabled", True)
        assert tokens.load_token(app.extensions["hub.keyring"], row).access_token == old
    oauth_server.fail_token = None
    assert plugin_context(NAME).access_token() != old


def test_an_expired_token_without_a_refresh_token_needs_reauth(
    app, org, register_plugin, api, client, plugin_context, oauth_server, hub_clock
):
    register_plugin(OAuthTestPlugin(), NAME)
    oauth_server.refresh_tokens.clear()
    original = oauth_server._issue
    oauth_server._issue = lambda account, refresh: original(account, None)  # no refresh token
    assert connect(api, client) == {"success": NAME}
    hub_clock.set(expiry(app, org.id) + timedelta(seconds=1))
    with pytest.raises(NeedsReauth):
        plugin_context(NAME).access_token()
    assert reauth_events(app, org.id) == 1


def userinfo(ctx, server: OAuthServer, token: str | None = None):
    """A provider call through ctx.http, as a plugin makes it."""
    bearer = token or ctx.access_token()
    return ctx.http.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {bearer}"})


def test_a_401_mid_run_is_answered_by_one_refresh_and_one_retry(
    app, org, connected, plugin_context, oauth_server
):
    ctx = plugin_context(NAME)
    old = ctx.access_token()
    oauth_server.access_tokens.clear()  # the provider dropped the token before its expiry
    response = userinfo(ctx, oauth_server, old)
    assert response.status_code == 200 and response.json() == {"account_id": "acct-42"}
    assert (oauth_server.counts["refresh"], oauth_server.counts["userinfo"]) == (1, 2)
    with reading(app):
        stored = tokens.load_token(app.extensions["hub.keyring"], integration(org.id))
    assert stored.access_token != old and stored.access_token in oauth_server.access_tokens


def test_a_second_401_is_the_answer_after_one_refresh(connected, plugin_context, oauth_server):
    oauth_server.refuse_userinfo = True
    response = userinfo(plugin_context(NAME), oauth_server)
    assert response.status_code == 401
    assert (oauth_server.counts["refresh"], oauth_server.counts["userinfo"]) == (1, 2)


def test_a_401_to_a_token_refreshed_elsewhere_retries_with_it_without_refreshing(
    connected, plugin_context, oauth_server
):
    ctx = plugin_context(NAME)
    old = ctx.access_token()
    oauth_server.access_tokens.clear()
    assert userinfo(ctx, oauth_server, old).status_code == 200  # refreshed once here
    late = plugin_context(NAME)  # a run that still holds the old token (another process)
    assert userinfo(late, oauth_server, old).status_code == 200
    assert (oauth_server.counts["refresh"], oauth_server.counts["userinfo"]) == (1, 4)


def test_a_401_without_a_token_in_the_request_is_not_retried(
    connected, plugin_context, oauth_server
):
    response = plugin_context(NAME).http.get(f"{oauth_server.url}/userinfo")
    assert response.status_code == 401
    assert (oauth_server.counts["refresh"], oauth_server.counts["userinfo"]) == (0, 1)


def test_a_401_whose_refresh_is_refused_needs_reauth(
    app, org, connected, plugin_context, oauth_server
):
    oauth_server.access_tokens.clear()
    oauth_server.refresh_tokens.clear()  # the admin revoked the app at the provider
    with pytest.raises(NeedsReauth):
        userinfo(plugin_context(NAME), oauth_server)
    with reading(app):
        assert integration(org.id).status == "needs_reauth"
    assert reauth_events(app, org.id) == 1


def test_hook_refresh_token(
    app, org, register_plugin, api, client, plugin_context, oauth_server, hub_clock
):
    """A provider's own ``refresh_token`` wins over the standard grant; None defers to it."""
    own = Token(access_token="from-the-plugin", expires_in=600, extra={"team": "T1"})
    plugin = OAuthTestPlugin(own_refresh=own)
    register_plugin(plugin, NAME)
    assert connect(api, client) == {"success": NAME}
    hub_clock.set(expiry(app, org.id))
    ctx = plugin_context(NAME)
    assert ctx.access_token() == "from-the-plugin"
    assert plugin.refresh_calls == 1 and oauth_server.counts["refresh"] == 0
    assert ctx.secret("oauth.team") == "T1" and ctx.secret("oauth.account_id") == "acct-42"
    assert expiry(app, org.id) == clock.now() + timedelta(seconds=600)
    plugin.own_refresh = None  # defers: the built-in standard grant answers
    hub_clock.advance(seconds=600)
    assert plugin_context(NAME).access_token() in oauth_server.access_tokens
    assert plugin.refresh_calls == 2 and oauth_server.counts["refresh"] == 1


@pytest.mark.postgresql_race
def test_twenty_callers_in_two_processes_cause_one_refresh(
    app, org, connected, hub_config, oauth_server
):
    """Only meaningful on PostgreSQL: SQLite's write lock serialises the racers, so a refresh
    without the single-flight lock passes there too; CI runs this on PostgreSQL as well."""
    with reading(app):
        row = integration(org.id)
        row.token_expires_at = clock.now() + timedelta(seconds=10)  # inside the margin
        db.session.commit()
    oauth_server.refresh_delay = 0.5  # the first refresh is still running when the rest arrive
    start_at = time.time() + 4
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(2) as pool:
        results = pool.starmap(
            oauth_plugin.access_tokens_in_process,
            [(hub_config, org.id, start_at, 10), (hub_config, org.id, start_at, 10)],
        )
    seen = {token for batch in results for token in batch}
    assert sum(len(batch) for batch in results) == 20
    assert oauth_server.counts["refresh"] == 1
    assert len(seen) == 1 and seen <= oauth_server.access_tokens


def test_the_hourly_job_refreshes_tokens_expiring_before_the_next_slot(
    app, org, other_org, other_api, connected, client, oauth_server, hub_clock
):
    oauth_server.account = "acct-43"  # an account belongs to one organization
    assert connect(other_api, client) == {"success": NAME}
    with reading(app):
        later = integration(other_org.id)
        later.token_expires_at = clock.now() + timedelta(hours=3)
        db.session.commit()
    hub_clock.set(expiry(app, org.id) - timedelta(minutes=50))
    with reading(app):
        assert upkeep.refresh_expiring(app, db.session) == 1
    assert oauth_server.counts["refresh"] == 1
    assert expiry(app, org.id) > clock.now() + timedelta(minutes=59)


def test_an_idle_connection_is_refreshed_once_per_idle_period(
    app, org, connected, oauth_server, hub_clock, redis_client
):
    with reading(app):
        assert upkeep.keep_idle_alive(app, db.session, redis_client) == 0  # just connected
    hub_clock.advance(hours=25)
    with reading(app):
        assert upkeep.keep_idle_alive(app, db.session, redis_client) == 1
        assert upkeep.keep_idle_alive(app, db.session, redis_client) == 0
    assert oauth_server.counts["refresh"] == 1


def test_failed_refreshes_are_counted_for_metrics(
    app, org, client, connected, plugin_context, oauth_server, hub_clock
):
    from support.metrics import samples

    hub_clock.set(expiry(app, org.id))
    oauth_server.fail_token = (503, {"error": "temporarily_unavailable"})
    with pytest.raises(ServiceUnavailable):
        plugin_context(NAME).access_token()
    oauth_server.fail_token = None
    oauth_server.refresh_tokens.clear()  # the admin revoked the app at the provider
    with pytest.raises(NeedsReauth):
        plugin_context(NAME).access_token()
    found = samples(client)
    family = "hub_token_refresh_failures_total"
    assert found[(family, (("plugin", NAME), ("reason", "unavailable")))] == 1
    assert found[(family, (("plugin", NAME), ("reason", "refused")))] == 1
