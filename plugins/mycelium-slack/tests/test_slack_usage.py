"""Slack's unit of work is a message posted: analytics, ROI and /metrics count the messages
the (loopback) Slack emulator accepted, and none it refused with ``{"ok": false}``."""

from __future__ import annotations

import json
from typing import Any

from slack_helpers import ADA

from hub.testing import run_jobs


def metric(client: Any, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_each_message_posted_saves_30_seconds_and_a_refused_one_nothing(
    app, api, client, connected
):
    changed = api.patch(
        "/api/integrations/slack",
        json={
            "default_channel": "#studio",
            "channels": {"client.updated": "#archived"},  # Slack answers 200 {"ok": false}
            "notify_events": ["client.created", "client.updated"],
        },
    )
    assert changed.status_code == 200, changed.get_json()
    run_jobs(app)  # the connection's own welcome (a test message, worth nothing)
    made = api.post("/api/clients", json={"name": "Globex"}).get_json()
    api.post("/api/clients", json={"name": "Initech"})
    api.patch(f"/api/clients/{made['id']}", json={"notes": "VIP"})
    run_jobs(app)
    posted = [m["text"] for m in connected.messages if m["text"].startswith("🎉")]
    assert posted == ["🎉 New client: Globex", "🎉 New client: Initech"]

    roi = api.get("/api/integrations/roi").json
    assert roi["time_saved"] == {"slack": {"message": {"count": 2, "seconds_each": 30.0}}}
    assert roi["by_integration"]["slack"]["seconds_saved"] == 60
    labels = {"plugin": "slack", "feature": "message"}
    assert metric(client, "hub_usage_total", **labels, outcome="ok") == 2
    assert metric(client, "hub_usage_total", **labels, outcome="failed") == 1
    assert metric(client, "hub_time_saved_seconds_total", **labels) == 60
    usage = next(
        item
        for item in api.get("/api/integrations/analytics?period=daily").json["integrations"]
        if item["plugin"] == "slack"
    )
    assert usage["breakdown"]["by_feature"]["message"] == 3
    assert usage["metrics"]["failed_requests"] >= 1  # the refused post, though HTTP said 200


def test_the_new_client_message_says_who_added_it(app, api, connected):
    run_jobs(app)
    api.post("/api/clients", json={"name": "Globex"})
    run_jobs(app)
    [message] = [m for m in connected.messages if m["text"].startswith("🎉 New client")]
    blocks = json.dumps(message["blocks"])
    assert "Added by" in blocks and f"<@{ADA}>" in blocks  # the admin whose key created it
