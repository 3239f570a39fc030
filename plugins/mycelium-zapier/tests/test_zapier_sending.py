"""The first attempt leaves on_event: the hook only queues (rows, committed with the run),
and the sender beside the worker's jobs sends once that is committed."""

from __future__ import annotations

import mycelium_zapier
from zapier_helpers import deliveries, subscribe

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
