"""The plugin as the hub sees it: installed, registered, migrated; its deliveries idempotent,
leased, disabled after days of failures; its secrets derived from the integration's."""

from __future__ import annotations

from datetime import timedelta
from importlib import metadata

import mycelium_zapier
from croniter import croniter
from mycelium_zapier import delivery, subscriptions
from sqlalchemy import inspect
from standardwebhooks import Webhook
from zapier_helpers import deliveries, hooks_of, make_client, subscribe

from hub import EventInfo, now
from hub.testing import run_jobs


def test_the_entry_point_is_installed():
    (entry,) = [ep for ep in metadata.entry_points(group="mycelium") if ep.name == "zapier"]
    assert entry.value == "mycelium_zapier"
    assert entry.dist is not None and entry.dist.name == "mycelium-zapier"


def test_hook_register_providers(api, zapier):
    plugins = {p["name"]: p for p in api.get("/api/plugins").get_json()["items"]}
    assert plugins["zapier"]["title"] == "Zapier"
    assert zapier["config"] == {"signing_secret": {"set": True}}  # generated, never shown
    types = {t["type"] for t in api.get("/api/events/types").get_json()["items"]}
    assert "zapier.hook_disabled" in types


def test_hook_register_routes(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {
        "/api/integrations/zapier/hooks",
        "/api/integrations/zapier/hooks/<int:hook_id>",
        "/api/integrations/zapier/samples/<event>",
    } <= rules


def test_hook_register_models(app, plugin_context, zapier):
    ctx = plugin_context("zapier")
    tables = set(inspect(ctx.db.get_bind()).get_table_names())
    assert {"zapier_hooks", "zapier_deliveries", "zapier_recent_events"} <= tables
    registered = []
    mycelium_zapier.register_models(register=registered.append)
    assert registered == [mycelium_zapier.MIGRATIONS]  # a Path, as the shipped plugins pass it


def test_hook_register_jobs():
    registered = []
    mycelium_zapier.register_jobs(register=lambda *job: registered.append(job))
    ((name, cron, function),) = registered
    assert name == "zapier_retries" and croniter.is_valid(cron)
    assert function is mycelium_zapier.retry_due  # tested in test_zapier_delivery.py


def test_a_run_executed_twice_delivers_once(app, api, zapier, receiver, plugin_context):
    subscribe(api, receiver.url("/once"))
    make_client(api)
    run_jobs(app)
    ctx = plugin_context("zapier")
    (row,) = deliveries(ctx)
    event = EventInfo(row.event_id, "client.created", ctx.org.id, now(), {"id": 1})
    mycelium_zapier.on_event(ctx, event)  # the same event again: a duplicated run
    assert len(deliveries(ctx)) == 1
    assert len(receiver.at("/once")) == 1


def test_a_leased_delivery_is_not_claimed_twice(app, api, zapier, receiver, plugin_context):
    subscribe(api, receiver.url("/lease"))
    receiver.answer("/lease", 500)
    make_client(api)
    run_jobs(app)
    ctx = plugin_context("zapier")
    later = timedelta(minutes=1)
    ctx.db.execute(delivery.DELIVERIES.update().values(next_attempt_at=now() - later))
    ctx.db.commit()
    first = delivery.claim(ctx.db, ctx.org.id, 10, later)
    assert len(first) == 1
    assert delivery.claim(ctx.db, ctx.org.id, 10, later) == []  # another worker finds nothing
    delivery.release(ctx.db, first)
    assert len(delivery.claim(ctx.db, ctx.org.id, 10, later)) == 1


def test_days_of_failures_disable_the_subscription(
    app, api, zapier, receiver, hub_clock, plugin_context
):
    hook = subscribe(api, receiver.url("/dead"))
    receiver.answer("/dead", *[500] * 30)
    make_client(api, "First")
    run_jobs(app)
    hub_clock.advance(days=5, minutes=1)
    make_client(api, "Second")
    run_jobs(app)
    (listed,) = hooks_of(api)
    assert listed["status"] == "disabled" and "5 days" in listed["disabled_reason"]
    assert all(d.state == "failed" for d in deliveries(plugin_context("zapier")))
    (event,) = api.get("/api/events?type=zapier.hook_disabled").get_json()["items"]
    assert event["data"]["id"] == hook["id"]
    assert "target_url" not in event["data"]
    sent = len(receiver.at("/dead"))
    make_client(api, "Third")
    run_jobs(app)
    assert len(receiver.at("/dead")) == sent


def test_a_success_resets_the_failure_clock(app, api, zapier, receiver, hub_clock):
    subscribe(api, receiver.url("/shaky"))
    receiver.answer("/shaky", 500)
    make_client(api, "First")
    run_jobs(app)
    assert hooks_of(api)[0]["failing_since"] is not None
    make_client(api, "Second")
    run_jobs(app)
    (listed,) = hooks_of(api)
    assert listed["failing_since"] is None and listed["last_success_at"] is not None


def test_a_new_master_secret_changes_every_subscription_secret(
    app, api, zapier, receiver, plugin_context
):
    hook = subscribe(api, receiver.url("/rotated"))
    new_master = "whsec_" + "QUJD" * 8
    response = api.patch("/api/integrations/zapier", json={"signing_secret": new_master})
    assert response.status_code == 200, response.get_json()
    make_client(api)
    run_jobs(app)
    (received,) = receiver.at("/rotated")
    headers = {k.lower(): v for k, v in received.headers.items()}
    secret = subscriptions.derive_secret(new_master, hook["id"])
    assert secret != hook["secret"]
    assert Webhook(secret).verify(received.body, headers)["client_name"] == "Globex"


def test_a_bad_master_secret_is_refused(api, zapier):
    response = api.patch("/api/integrations/zapier", json={"signing_secret": "whsec_short"})
    assert response.status_code == 400
    assert "signing_secret" in response.get_json()["error"]["details"]
