"""Deliveries over real HTTP with a real worker: subscribe, deliver signed, retry, and the
410 that unsubscribes; one organization's events never reach another's Zaps."""

from __future__ import annotations

import pytest
from mycelium_zapier import retry_due
from standardwebhooks import Webhook, WebhookVerificationError
from zapier_helpers import deliveries, hooks_of, make_client, subscribe

from hub.testing import run_jobs


def _verify(secret: str, received: object) -> dict:
    """Check a delivery's signature with the Standard Webhooks reference library."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    return Webhook(secret).verify(received.body, headers)


def test_hook_on_event(app, api, zapier, receiver):
    """The whole REST-hook cycle: subscribe, a signed delivery per event, 410 unsubscribes."""
    hook = subscribe(api, receiver.url("/hooks/standard/1/abc/"), "client.created")
    client = make_client(api, "Globex", contact_email="hank@globex.example")
    run_jobs(app)

    (first,) = receiver.at("/hooks/standard/1/abc/")
    assert _verify(hook["secret"], first)["client_id"] == client["id"]
    assert first.headers["Webhook-Id"] == first.json["id"]
    assert first.headers["X-Mycelium-Event"] == "client.created"
    assert first.json["client_name"] == "Globex"

    receiver.answer("/hooks/standard/1/abc/", 410)  # the Zap was turned off
    make_client(api, "Initech")
    run_jobs(app)
    assert len(receiver.at("/hooks/standard/1/abc/")) == 2
    assert hooks_of(api) == []

    make_client(api, "Umbrella")
    run_jobs(app)
    assert len(receiver.at("/hooks/standard/1/abc/")) == 2


def test_signature_fails_with_another_secret_or_a_changed_body(app, api, zapier, receiver):
    hook = subscribe(api, receiver.url("/z"))
    other = subscribe(api, receiver.url("/other"))
    make_client(api)
    run_jobs(app)
    (mine,) = receiver.at("/z")
    assert hook["secret"] != other["secret"]
    with pytest.raises(WebhookVerificationError):
        _verify(other["secret"], mine)
    tampered = type(mine)(mine.path, mine.headers, mine.body.replace(b"Globex", b"Globe"))
    with pytest.raises(WebhookVerificationError):
        _verify(hook["secret"], tampered)


def test_each_subscription_gets_its_event_once(app, api, zapier, receiver):
    subscribe(api, receiver.url("/created"), "client.created")
    subscribe(api, receiver.url("/created-too"), "client.created")
    subscribe(api, receiver.url("/updated"), "client.updated")
    client = make_client(api)
    run_jobs(app)
    run_jobs(app)  # nothing left to do: nothing is sent twice
    assert len(receiver.at("/created")) == len(receiver.at("/created-too")) == 1
    assert receiver.at("/updated") == []
    api.patch(f"/api/clients/{client['id']}", json={"notes": "VIP"})
    run_jobs(app)
    (updated,) = receiver.at("/updated")
    assert updated.json["client_notes"] == "VIP"


def test_a_500_is_retried_on_the_webhook_schedule(
    app, api, zapier, receiver, hub_clock, plugin_context
):
    subscribe(api, receiver.url("/flaky"))
    receiver.answer("/flaky", 500)
    make_client(api)
    run_jobs(app)
    ctx = plugin_context("zapier")
    (row,) = deliveries(ctx)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert 4 <= (row.next_attempt_at - hub_clock.now()).total_seconds() <= 6  # 5 s +-20%

    hub_clock.advance(seconds=3)
    retry_due(ctx)  # what the minute job runs for each organization
    run_jobs(app)  # waits for the sender it woke
    assert len(receiver.at("/flaky")) == 1  # not due yet

    hub_clock.advance(seconds=4)
    retry_due(ctx)
    run_jobs(app)  # waits for the sender it woke
    first, second = receiver.at("/flaky")
    assert second.body == first.body
    assert second.headers["Webhook-Id"] == first.headers["Webhook-Id"]
    (row,) = deliveries(ctx)
    assert (row.state, row.attempts, row.last_status) == ("succeeded", 2, 200)


def test_a_429_waits_at_least_a_minute_and_honours_retry_after(
    app, api, zapier, receiver, hub_clock, plugin_context
):
    subscribe(api, receiver.url("/busy"))
    receiver.answer("/busy", 429, **{"Retry-After": "90"})
    make_client(api)
    run_jobs(app)
    (row,) = deliveries(plugin_context("zapier"))
    wait = (row.next_attempt_at - hub_clock.now()).total_seconds()
    assert 90 <= wait <= 120  # the 60 s floor, Retry-After clamped to [d, 2d]


def test_deliveries_stop_when_the_schedule_is_spent(
    app, api, zapier, receiver, hub_clock, plugin_context
):
    subscribe(api, receiver.url("/down"))
    receiver.answer("/down", *[503] * 20)
    make_client(api)
    run_jobs(app)
    ctx = plugin_context("zapier")
    for _ in range(10):
        hub_clock.advance(hours=13)
        retry_due(ctx)
        run_jobs(app)  # waits for the sender it woke
    (row,) = deliveries(ctx)
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 8, None)
    assert len(receiver.at("/down")) == 8


def test_another_org_never_gets_your_events(
    app, api, other_api, zapier, enable_plugin, other_org, receiver
):
    enable_plugin("zapier", org=other_org)
    subscribe(api, receiver.url("/mine"))
    subscribe(other_api, receiver.url("/theirs"))
    make_client(api, "Acme secret client")
    run_jobs(app)
    assert len(receiver.at("/mine")) == 1
    assert receiver.at("/theirs") == []
    samples = other_api.get("/api/integrations/zapier/samples/client.created").get_json()
    assert all("Acme secret client" not in str(item) for item in samples)


def test_a_timeout_is_a_failed_attempt_retried_after_a_minute(
    api, org, zapier, receiver, hub_clock, make_app, plugin_context
):
    hasty = make_app(HUB_RUN_TIMEOUT="2")  # attempts time out after a quarter: 0.5 s
    subscribe(api, receiver.url("/slow"))
    receiver.slow["/slow"] = 1.5
    make_client(api)
    run_jobs(hasty)
    (row,) = deliveries(plugin_context("zapier"))
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, None)
    assert row.last_error.startswith("Timed out")
    assert (row.next_attempt_at - hub_clock.now()).total_seconds() >= 60


def test_deliveries_go_through_the_egress_guard_at_connect_time(
    api, zapier, receiver, make_app, plugin_context
):
    """A target allowed when subscribed but refused when sent to is never reached."""
    subscribe(api, receiver.url("/walled"))
    walled = make_app(HUB_EGRESS_ALLOWED_CIDRS="")
    make_client(api)
    run_jobs(walled)
    assert receiver.at("/walled") == []
    (row,) = deliveries(plugin_context("zapier"))
    assert (row.state, row.attempts) == ("pending", 1)
    assert "egress" in row.last_error
