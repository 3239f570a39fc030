"""The first attempt leaves on_event: the hook only queues (rows, committed with the run),
and the sender beside the worker's jobs sends once that is committed."""

from __future__ import annotations

import mycelium_zapier
from mycelium_zapier import retry_due
from zapier_helpers import deliveries, make_client, subscribe

from hub import EventInfo, now
from hub.testing import run_jobs


def test_on_event_queues_and_the_sender_sends_after_the_commit(
    app, api, zapier, receiver, plugin_context
):
    subscribe(api, receiver.url("/queued"))
    ctx = plugin_context("zapier")
    event = EventInfo(
        "evt_01queuedonly0000000000000", "client.created", ctx.org.id, now(), {"id": 7}
    )
    mycelium_zapier.on_event(ctx, event)
    (row,) = deliveries(ctx)
    assert (row.state, row.attempts) == ("pending", 0)  # nothing sent inside the hook
    assert receiver.at("/queued") == []

    ctx.db.commit()  # as the run's commit: the sender is woken
    run_jobs(app)  # waits for it
    (sent,) = receiver.at("/queued")
    assert sent.headers["Webhook-Id"] == event.id
    (row,) = deliveries(ctx)
    assert (row.state, row.attempts) == ("succeeded", 1)


def test_attempts_are_logged_and_a_delivery_can_be_resent(
    app, api, member_api, zapier, receiver, plugin_context, hub_clock
):
    hook = subscribe(api, receiver.url("/log"))
    receiver.answer("/log", 500)
    make_client(api)
    run_jobs(app)
    listed = api.get(f"/api/integrations/zapier/hooks/{hook['id']}/deliveries")
    assert listed.status_code == 200, listed.get_json()
    (first,) = listed.get_json()["items"]
    assert (first["state"], first["attempts"]) == ("pending", 1)
    (attempt,) = first["attempt_log"]
    assert (attempt["attempt"], attempt["status_code"]) == (1, 500)
    assert attempt["error"].startswith("HTTP 500") and attempt["duration_ms"] >= 0

    resend = f"/api/integrations/zapier/deliveries/{first['id']}/resend"
    assert api.post(resend).status_code == 409  # pending: it is retried on its schedule
    hub_clock.advance(seconds=10)  # the retry, answered: the delivery is done
    ctx = plugin_context("zapier")  # its app context is the API client's from now on
    retry_due(ctx)
    run_jobs(app)
    assert member_api.post(resend).status_code == 403  # admins only
    answer = api.post(resend)
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["state"] == "pending"
    run_jobs(app)  # the job it queued wakes the sender
    ctx.db.commit()  # the shared session's SQLite snapshot predates the sender's commit

    (again,) = api.get(f"/api/integrations/zapier/hooks/{hook['id']}/deliveries").get_json()[
        "items"
    ]
    assert again["state"] == "succeeded"
    assert [a["status_code"] for a in again["attempt_log"]] == [500, 200, 200]
    first_id = {r.headers["Webhook-Id"] for r in receiver.at("/log")}
    assert len(receiver.at("/log")) == 3 and len(first_id) == 1  # the same event each time
