"""Two workers syncing the same window at once create no duplicate event."""

from __future__ import annotations

import threading

from gcal_helpers import in_days, live_deadlines, make_client
from mycelium_gcal import window

from hub import context_for
from hub.testing import run_jobs


def test_two_workers_sweeping_the_same_window_make_each_event_once(
    app, api, org, connected, make_app
):
    globex = make_client(api)
    for number in range(12):  # recorded, not yet dispatched: the sweeps find them first
        body = {
            "client_id": globex["id"],
            "title": f"Task {number}",
            "due_at": in_days(1 + number).isoformat(),
        }
        assert api.post("/api/deliverables", json=body).status_code == 201
    apps = [make_app(), make_app()]
    start, reports, errors = threading.Barrier(2), [], []

    def worker(each_app):
        try:
            with each_app.app_context():
                ctx = context_for("gcal", org.id)
                ctx.db.commit()  # on SQLite an open transaction holds the write lock
                start.wait(timeout=10)
                reports.append(window.sweep(ctx))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    run_jobs(app)  # the deliverables' own runs now find nothing to do
    events = live_deadlines(connected)
    assert len(events) == 12 and len({e["id"] for e in events}) == 12
    inserts = sum(r.actions.get("insert", 0) for r in reports)
    assert inserts == 12  # each deliverable once, whichever worker got to it
