"""Jobs already queued in Redis under a renamed job's old dotted name still run (for one
release): `hub worker`'s job class resolves the names in hub.jobs.RENAMED."""

from __future__ import annotations

import pytest
from rq import Queue

from hub.core.connections.health import HealthCheck
from hub.core.models import Integration
from hub.core.runs.pending import QUEUE
from hub.core.webhooks.queue import KICK
from hub.extensions import db
from hub.jobs import RENAMED
from hub.testing import run_jobs


def test_every_new_name_resolves(app):
    from rq.utils import import_attribute

    for new in RENAMED.values():
        assert callable(import_attribute(new))


@pytest.fixture
def healthy(app, register_plugin, enable_plugin):
    from hub import HealthResult, Provider, hookimpl

    class Checked:
        @hookimpl
        def register_providers(self, register):
            register(Provider(name="checked", title="Checked"))

        @hookimpl
        def health_check(self, ctx):
            return HealthResult(ok=True, message="fine")

    register_plugin(Checked(), "checked")
    enable_plugin("checked")
    with app.app_context():
        found = db.session.scalar(db.select(Integration.id).where(Integration.plugin == "checked"))
        db.session.remove()
    assert found is not None
    return found


def test_a_health_check_job_queued_under_the_old_name_runs(app, healthy):
    client = app.extensions["hub.redis"]
    integration_id = healthy
    Queue(QUEUE, connection=client).enqueue(
        "hub.connection_jobs.check_integrations", [integration_id], result_ttl=0
    )
    run_jobs(app)  # a real worker; a job it cannot import would fail the test here
    with app.app_context():
        checks = db.session.scalars(
            db.select(HealthCheck).where(HealthCheck.integration_id == integration_id)
        ).all()
        assert [c.ok for c in checks] == [True]


def test_a_pump_job_queued_under_the_old_name_runs(app):
    client = app.extensions["hub.redis"]
    client.set(KICK, "1")
    Queue(QUEUE, connection=client).enqueue(
        "hub.default_plugins.webhooks.deliver_due", result_ttl=0
    )
    assert run_jobs(app) >= 1
    assert client.get(KICK) is None  # the pump job ran: it takes the kick first
