"""Every delivery attempt to a Zap is a usage record of the unit ``delivery``; the ROI
report counts the ones a (loopback) Zap accepted."""

from __future__ import annotations

from typing import Any

from zapier_helpers import make_client, subscribe

from hub.testing import run_jobs


def zapier_of(report: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in report["integrations"] if item["plugin"] == "zapier")


def test_each_event_a_zap_accepted_saves_a_notification(app, api, zapier, receiver):
    subscribe(api, receiver.url("/ok"), "client.created")
    subscribe(api, receiver.url("/broken"), "client.created")
    receiver.answer("/broken", 500, 500)  # both first attempts fail; retries are not due yet
    make_client(api, "Globex")
    make_client(api, "Initech")
    run_jobs(app)
    assert (len(receiver.at("/ok")), len(receiver.at("/broken"))) == (2, 2)

    usage = zapier_of(api.get("/api/integrations/analytics?period=daily").json)
    assert usage["breakdown"]["by_feature"] == {"delivery": 4}
    assert usage["breakdown"]["by_status"] == {"200": 2, "500": 2}
    roi = api.get("/api/integrations/roi").json
    assert roi["time_saved"]["zapier"] == {"delivery": {"count": 2, "seconds_each": 30.0}}
    assert roi["by_integration"]["zapier"]["seconds_saved"] == 60
