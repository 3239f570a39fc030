"""Outgoing webhooks end to end: events through a real worker to a real loopback receiver."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.webhook_tools import (
    LOOPBACK,
    Answer,
    attempts,
    deliver,
    deliveries,
    emit,
    endpoint_row,
    register,
    running_receiver,
    signed_by,
    verify,
)

from hub import EventInfo, __version__
from hub.core import clock
from hub.core.webhooks.models import WebhookDelivery
from hub.core.webhooks.queue import KICK, job_ended
from hub.default_plugins import webhooks as plugin
from hub.extensions import db
from hub.jobs import recurring
from hub.testing import run_jobs


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, **LOOPBACK}


@pytest.fixture
def receiver():
    yield from running_receiver()


def test_hook_on_event(app, api, receiver, plugin_context, redis_client):
    every = register(api, receiver.url("/all"))
    only_deliverables = register(api, receiver.url("/d"), ("deliverable.created",))
    off = register(api, receiver.url("/off"))
    api.patch(f"/api/integrations/webhooks/{off['id']}", json={"enabled": False})
    ctx = plugin_context("webhooks")
    event = EventInfo("evt_test1", "client.created", ctx.org.id, clock.now(), {"name": "Globex"})

    plugin.on_event(ctx, event)
    plugin.on_event(ctx, event)  # a run may execute twice: still one delivery per endpoint
    ctx.db.commit()
    assert redis_client.get(KICK) is None  # not per run: once, when the job ends
    job_ended()
    assert redis_client.get(KICK)  # the pump is asked for

    made = deliveries(app)
    assert [(d.endpoint_id, d.event_id, d.state) for d in made] == [
        (every["id"], "evt_test1", "pending")
    ]
    assert only_deliverables["id"] not in {d.endpoint_id for d in made}


def test_fanned_out_deliveries_are_written_at_commit_and_dropped_by_a_rollback(
    app, api, receiver, plugin_context
):
    register(api, receiver.url())
    ctx = plugin_context("webhooks")
    first = EventInfo("evt_rolled_back", "client.created", ctx.org.id, clock.now(), {})
    second = EventInfo("evt_kept", "client.created", ctx.org.id, clock.now(), {})

    assert plugin.on_event(ctx, first) is None
    assert ctx.db().in_transaction()  # the caller sees work to commit or roll back
    ctx.db.rollback()
    plugin.on_event(ctx, second)
    assert ctx.db.scalars(db.select(WebhookDelivery)).all() == []  # not before the commit
    ctx.db.commit()  # one statement for every event fanned out in the transaction
    assert [d.event_id for d in deliveries(app)] == ["evt_kept"]


def test_an_event_reaches_its_endpoints_signed_as_standard_webhooks(app, api, receiver, org):
    star = register(api, receiver.url("/all"))
    register(api, receiver.url("/other"), ("deliverable.created",))
    emit(api, "Globex")
    deliver(app)

    assert [r.path for r in receiver.received] == ["/all"]
    request = receiver.received[0]
    body = verify(star["secret"], request)  # the reference library accepts it
    assert body["type"] == "client.created"
    assert body["organization_id"] == org.id
    assert body["data"]["name"] == "Globex"
    assert body["timestamp"].endswith("+00:00")  # the one offset style of the API
    assert request.header("webhook-id") == body["id"] and body["id"].startswith("evt_")
    assert request.header("X-Mycelium-Event") == "client.created"
    assert request.header("User-Agent") == f"Mycelium-Webhooks/{__version__}"
    assert request.header("Content-Type") == "application/json"
    [delivery] = deliveries(app, star["id"])
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("succeeded", 1, 200)
    [attempt] = attempts(app, delivery.id)
    assert (attempt.status_code, attempt.response_body, attempt.trigger) == (200, "ok", "scheduled")
    assert request.body.decode() == delivery.body  # signed and sent as stored


def test_many_events_share_keep_alive_connections(app, api, receiver):
    register(api, receiver.url())
    for number in range(30):
        emit(api, f"Client {number}")
    deliver(app)
    assert len(receiver.received) == 30
    assert len({r.header("webhook-id") for r in receiver.received}) == 30
    assert receiver.connections <= 16  # reused, not one connection per delivery


def test_a_slow_endpoint_gets_deliveries_side_by_side_a_fast_one_in_turn(app, api, receiver):
    slow = register(api, receiver.url("/slow"))
    receiver.answer(*[Answer(delay=0.3)] * 6)
    for number in range(6):
        emit(api, f"Client {number}")
    deliver(app)
    assert len(receiver.received) == 6
    assert receiver.most_in_flight >= 3  # not one after the other: 6 x 0.3 s

    api.patch(f"/api/integrations/webhooks/{slow['id']}", json={"enabled": False})
    fast = register(api, receiver.url("/fast"))
    # as a worker knows it after its first deliveries: answers in a millisecond
    app.extensions.setdefault("hub.webhooks.response_times", {})[fast["id"]] = 0.001
    receiver.most_in_flight = 0
    for number in range(30):
        emit(api, f"Fast client {number}")
    deliver(app)
    assert [r.path for r in receiver.received[6:]] == ["/fast"] * 30
    assert receiver.most_in_flight == 1  # one thread sent them all on one connection


def test_a_fast_endpoint_that_slows_down_gets_the_rest_side_by_side(app, api, receiver):
    endpoint = register(api, receiver.url())
    app.extensions.setdefault("hub.webhooks.response_times", {})[endpoint["id"]] = 0.001
    receiver.answer(*[Answer(delay=0.3)] * 10)  # known as fast, but now each answer takes 0.3 s
    for number in range(10):
        emit(api, f"Client {number}")
    deliver(app)
    assert len(receiver.received) == 10
    assert receiver.most_in_flight >= 3  # not ten in turn on the one thread that had them


def test_a_500_is_retried_on_schedule_with_the_same_id(app, api, receiver, hub_clock):
    endpoint = register(api, receiver.url())
    receiver.answer(Answer(500, b"boom"))
    emit(api)
    deliver(app)
    [delivery] = deliveries(app)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    wait = (delivery.next_attempt_at - hub_clock.now()).total_seconds()
    assert 4 <= wait <= 6  # 5 s +-20%

    deliver(app)  # not due yet: nothing is sent
    assert len(receiver.received) == 1
    hub_clock.advance(seconds=6)
    deliver(app)

    first, second = receiver.received
    assert first.header("webhook-id") == second.header("webhook-id")
    assert int(second.header("webhook-timestamp")) - int(first.header("webhook-timestamp")) == 6
    assert signed_by(endpoint["secret"], second)
    [delivery] = deliveries(app)
    assert (delivery.state, delivery.attempts) == ("succeeded", 2)
    log = attempts(app, delivery.id)
    assert [(a.attempt, a.status_code, a.response_body) for a in log] == [
        (1, 500, "boom"),
        (2, 200, "ok"),
    ]


def test_a_dropped_connection_is_a_failed_attempt_and_retried(app, api, receiver, hub_clock):
    register(api, receiver.url())
    receiver.answer(Answer(drop=True))
    emit(api)
    deliver(app)
    [delivery] = deliveries(app)
    [attempt] = attempts(app, delivery.id)
    assert attempt.status_code is None and "Connection failed" in attempt.error
    assert delivery.state == "pending"
    hub_clock.advance(seconds=7)
    deliver(app)
    assert deliveries(app)[0].state == "succeeded"
    assert len(receiver.received) == 2


@pytest.mark.parametrize(("retry_after", "wait"), [("90", 90), ("1000", 120), ("1", 60)])
def test_a_429_waits_a_minute_and_retry_after_is_clamped(
    app, api, receiver, hub_clock, retry_after, wait
):
    register(api, receiver.url())
    receiver.answer(Answer(429, headers={"Retry-After": retry_after}))
    emit(api)
    deliver(app)
    [delivery] = deliveries(app)
    [attempt] = attempts(app, delivery.id)
    assert (delivery.state, attempt.status_code) == ("pending", 429)
    # the 5 s delay is raised to 60 s for a 429; Retry-After is clamped to [60, 120]
    assert delivery.next_attempt_at - attempt.attempted_at == timedelta(seconds=wait)


def test_a_timeout_waits_at_least_a_minute(app, api, receiver, hub_clock):
    app.config["HUB_WEBHOOK_TIMEOUT"] = 0.3
    register(api, receiver.url())
    receiver.answer(Answer(delay=1.0))
    emit(api)
    deliver(app)
    [delivery] = deliveries(app)
    [attempt] = attempts(app, delivery.id)
    assert attempt.status_code is None and attempt.error.startswith("Timed out")
    assert delivery.next_attempt_at - attempt.attempted_at >= timedelta(seconds=60)


def test_a_redirect_is_a_failure_and_is_not_followed(app, api, receiver, hub_clock):
    register(api, receiver.url("/hook"))
    receiver.answer(Answer(302, headers={"Location": receiver.url("/elsewhere")}))
    receiver.answer(Answer(307, headers={"Location": "http://169.254.169.254/latest/"}))
    emit(api)
    deliver(app)
    hub_clock.advance(seconds=7)
    deliver(app)
    assert [r.path for r in receiver.received] == ["/hook", "/hook"]
    [delivery] = deliveries(app)
    assert [a.status_code for a in attempts(app, delivery.id)] == [302, 307]
    assert delivery.state == "pending"


def test_a_410_disables_the_endpoint_at_once_and_admins_hear_of_it(app, api, receiver, org):
    gone = register(api, receiver.url("/gone"), ("client.created",))
    watcher = register(api, receiver.url("/watch"), ("webhook.endpoint_disabled",))
    receiver.answer(Answer(410))
    emit(api, "First")
    deliver(app)

    row = endpoint_row(app, gone["id"])
    assert not row.enabled and "410" in row.disabled_reason
    events = api.get("/api/events?type=webhook.endpoint_disabled").json["items"]
    assert [e["data"]["endpoint"]["id"] for e in events] == [gone["id"]]
    # the admins' own endpoint for such news was told, signed
    notice = [r for r in receiver.received if r.path == "/watch"]
    assert verify(watcher["secret"], notice[0])["data"]["endpoint"]["id"] == gone["id"]
    assert deliveries(app, gone["id"])[0].state == "failed"

    emit(api, "Second")  # nothing more goes to a disabled endpoint
    deliver(app)
    assert [r.path for r in receiver.received].count("/gone") == 1
    assert len(deliveries(app, gone["id"])) == 1


def test_five_days_of_failures_disable_an_endpoint_and_a_success_resets_the_clock(
    app, api, receiver, hub_clock
):
    app.config["HUB_WEBHOOK_RETRY_SCHEDULE"] = (0,)  # one attempt per event: easier to follow
    endpoint = register(api, receiver.url())
    start = hub_clock.now()

    def event_answered(status: int) -> None:
        receiver.answer(Answer(status))
        emit(api, f"Client {len(receiver.received)}")
        deliver(app)

    event_answered(500)
    assert endpoint_row(app, endpoint["id"]).failing_since == start
    hub_clock.advance(days=4)
    event_answered(200)  # a success resets the clock
    row = endpoint_row(app, endpoint["id"])
    assert row.failing_since is None and row.last_success_at == hub_clock.now()
    hub_clock.advance(hours=1)
    restart = hub_clock.now()
    event_answered(500)
    hub_clock.advance(days=4, hours=23)
    event_answered(500)
    row = endpoint_row(app, endpoint["id"])
    assert row.enabled and row.failing_since == restart
    hub_clock.advance(hours=1)  # five days of nothing but failures
    event_answered(500)
    row = endpoint_row(app, endpoint["id"])
    assert not row.enabled and "5 days" in row.disabled_reason


def test_a_rotated_secret_signs_beside_the_new_one_during_the_grace(app, api, receiver, hub_clock):
    endpoint = register(api, receiver.url())
    old = endpoint["secret"]
    rotated = api.post(f"/api/integrations/webhooks/{endpoint['id']}/rotate-secret", json={})
    assert rotated.status_code == 200, rotated.json
    new = rotated.json["secret"]
    assert new != old and new.startswith("whsec_")

    emit(api, "During")
    deliver(app)
    during = receiver.received[-1]
    assert len(during.header("webhook-signature").split(" ")) == 2
    assert signed_by(old, during) and signed_by(new, during)

    hub_clock.advance(hours=24, seconds=1)
    emit(api, "After")
    deliver(app)
    after = receiver.received[-1]
    assert signed_by(new, after) and not signed_by(old, after)
    assert len(after.header("webhook-signature").split(" ")) == 1


def test_resend_and_recover_send_failed_deliveries_once_more(app, api, receiver, hub_clock):
    app.config["HUB_WEBHOOK_RETRY_SCHEDULE"] = (0,)
    endpoint = register(api, receiver.url())
    base = f"/api/integrations/webhooks/{endpoint['id']}"
    receiver.answer(*[Answer(503)] * 3)
    for name in ("A", "B", "C"):
        emit(api, name)
    deliver(app)
    failed = deliveries(app)
    assert [d.state for d in failed] == ["failed"] * 3

    resent = api.post(f"/api/integrations/webhooks/deliveries/{failed[0].id}/resend")
    assert resent.status_code == 202, resent.json
    deliver(app)
    assert deliveries(app)[0].state == "succeeded"
    assert [a.trigger for a in attempts(app, failed[0].id)] == ["scheduled", "manual"]

    receiver.answer(Answer(500))  # a recovered delivery that fails is not retried again
    since = (hub_clock.now() - timedelta(minutes=1)).isoformat()
    recovered = api.post(f"{base}/recover", query_string={"since": since})
    assert recovered.status_code == 202 and recovered.json == {"recovered": 2}
    deliver(app)
    states = sorted(d.state for d in deliveries(app))
    assert states == ["failed", "succeeded", "succeeded"]
    hub_clock.advance(hours=1)
    deliver(app)
    assert len(receiver.received) == 3 + 1 + 2


def test_the_test_endpoint_sends_now_and_returns_the_attempt(app, api, receiver):
    endpoint = register(api, receiver.url(), ("deliverable.created",))
    response = api.post(f"/api/integrations/webhooks/{endpoint['id']}/test")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["event_type"], body["state"]) == ("webhook.test", "succeeded")
    [attempt] = body["attempt_log"]
    assert (attempt["status_code"], attempt["trigger"], attempt["response_body"]) == (
        200,
        "manual",
        "ok",
    )
    [request] = receiver.received
    assert verify(endpoint["secret"], request)["data"]["endpoint_id"] == endpoint["id"]


def test_a_failing_test_shows_the_error_and_is_not_retried(app, api, receiver, hub_clock):
    endpoint = register(api, receiver.url())
    receiver.answer(Answer(500, b"x" * 30_000))
    body = api.post(f"/api/integrations/webhooks/{endpoint['id']}/test").json
    assert (body["state"], body["last_status"]) == ("failed", 500)
    assert len(body["attempt_log"][0]["response_body"]) == 20_000  # stored truncated
    hub_clock.advance(hours=1)
    deliver(app)
    assert len(receiver.received) == 1


def test_disabling_an_endpoint_fails_its_pending_deliveries(app, api, receiver, hub_clock):
    endpoint = register(api, receiver.url())
    receiver.answer(Answer(500))
    emit(api)
    deliver(app)
    patched = api.patch(f"/api/integrations/webhooks/{endpoint['id']}", json={"enabled": False})
    assert patched.json["enabled"] is False
    [delivery] = deliveries(app)
    assert (delivery.state, delivery.last_error) == ("failed", "The endpoint is disabled.")
    hub_clock.advance(minutes=10)
    deliver(app)
    assert len(receiver.received) == 1
    events = api.get("/api/events?type=webhook.endpoint_disabled").json["items"]
    assert events == []  # the admin did it: no notice


def test_the_egress_guard_refuses_at_delivery_time_too(app, api, receiver, hub_clock):
    register(api, f"http://localhost:{receiver.port}/hook")
    app.config["HUB_EGRESS_ALLOWED_CIDRS"] = ()  # localhost resolves to loopback: refused now
    emit(api)
    deliver(app)
    assert receiver.received == []
    [delivery] = deliveries(app)
    [attempt] = attempts(app, delivery.id)
    assert "egress" in attempt.error and "loopback" in attempt.error
    assert delivery.state == "pending"


def test_http_refused_at_delivery_once_no_longer_allowed(app, api, receiver, hub_clock):
    register(api, receiver.url())
    app.config["HUB_EGRESS_ALLOW_HTTP"] = False
    emit(api)
    deliver(app)
    assert receiver.received == []
    [attempt] = attempts(app, deliveries(app)[0].id)
    assert "https" in attempt.error


def test_the_sweeper_starts_the_pump_for_due_retries(app, api, receiver, hub_clock):
    job = recurring(app)["webhook_sweep"]
    assert job.schedule == app.config["HUB_SWEEP_SECONDS"] == 5
    register(api, receiver.url())
    receiver.answer(Answer(500))
    emit(api)
    deliver(app)
    hub_clock.advance(seconds=7)
    run_jobs(app)  # no job is waiting for the retry: the database holds it
    assert len(receiver.received) == 1
    with app.app_context():
        job.function(app)  # what the scheduler runs
        db.session.remove()
    run_jobs(app)
    assert len(receiver.received) == 2
    assert deliveries(app)[0].state == "succeeded"
