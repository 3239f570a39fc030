"""Retention: finished runs, events and webhook deliveries older than HUB_RETENTION_DAYS are
deleted a batch at a time; whatever is still to be worked on stays, however old."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from support.webhook_tools import LOOPBACK, deliver, emit, register, running_receiver

from hub.app import create_app
from hub.config import load_config
from hub.core import retention
from hub.core.connections import health, usage
from hub.core.connections.health import HealthCheck
from hub.core.connections.usage import UsageRecord
from hub.core.ids import new_id
from hub.core.models import Event, Integration, Run
from hub.core.runs.scheduling import Scheduler
from hub.core.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hub.errors import ConfigError
from hub.extensions import db
from hub.jobs import recurring
from hub.testing import run_jobs

SLOT = datetime(2031, 3, 14, 3, 47, tzinfo=UTC)  # a slot of the default HUB_RETENTION_CRON
KEEP = timedelta(days=30)
OLD, RECENT, ANCIENT = timedelta(days=31), timedelta(days=29), timedelta(days=400)


@dataclass
class Rows:
    """Rows written straight to the database, dated back from the test's clock."""

    app: Flask
    org_id: int
    now: datetime
    integration_ids: tuple[int, int] = (0, 0)
    endpoint_id: int = 0

    def add(self, *rows: Any) -> Any:
        with self.app.app_context():
            db.session.add_all(rows)
            db.session.commit()
            first = rows[0]
            key = first.seq if isinstance(first, Event) else first.id
            db.session.remove()
            return key

    def event(self, age: timedelta, dispatched: bool = True) -> str:
        when = self.now - age
        event_id = new_id("evt")
        self.add(
            Event(
                id=event_id,
                org_id=self.org_id,
                type="client.created",
                payload={},
                created_at=when,
                dispatched_at=when if dispatched else None,
            )
        )
        return event_id

    def run(
        self,
        state: str,
        age: timedelta,
        event_id: str | None = None,
        finished: bool = True,
        second_integration: bool = False,
        created: timedelta | None = None,
    ) -> int:
        """A run `age` old (its last change; its finish too when `finished`)."""
        when = self.now - age
        created_at = self.now - created if created else when - timedelta(minutes=1)
        return int(
            self.add(
                Run(
                    org_id=self.org_id,
                    event_id=event_id or self.event(age),
                    integration_id=self.integration_ids[second_integration],
                    plugin="alpha",
                    event_type="client.created",
                    state=state,
                    next_attempt_at=when,
                    created_at=created_at,
                    updated_at=when,
                    finished_at=when if finished else None,
                )
            )
        )

    def delivery(self, state: str, age: timedelta, tries: int, finished: bool = True) -> int:
        when = self.now - age
        delivery_id = int(
            self.add(
                WebhookDelivery(
                    org_id=self.org_id,
                    endpoint_id=self.endpoint_id,
                    event_id=new_id("evt"),
                    event_type="client.created",
                    body="{}",
                    state=state,
                    attempts=tries,
                    next_attempt_at=when,
                    created_at=when - timedelta(hours=1),
                    updated_at=when,
                    finished_at=when if finished else None,
                )
            )
        )
        for attempt in range(1, tries + 1):
            self.add(
                WebhookAttempt(
                    org_id=self.org_id,
                    delivery_id=delivery_id,
                    attempt=attempt,
                    attempted_at=when,
                    status_code=500,
                    duration_ms=12,
                )
            )
        return delivery_id


@pytest.fixture
def hub_config(request, hub_config):
    return {**hub_config, **LOOPBACK, **getattr(request, "param", {})}


@pytest.fixture
def receiver():
    yield from running_receiver()


@pytest.fixture
def rows(app, org, hub_clock):
    hub_clock.set(SLOT)
    made = Rows(app, org.id, SLOT)
    made.integration_ids = (
        made.add(Integration(org_id=org.id, plugin="alpha", enabled=True, status="enabled")),
        made.add(Integration(org_id=org.id, plugin="beta", enabled=True, status="enabled")),
    )
    made.endpoint_id = made.add(
        WebhookEndpoint(org_id=org.id, url="https://receiver.example/hook", secret="x")
    )
    return made


def prune(app: Flask, **kwargs: Any) -> dict[str, int]:
    with app.app_context():
        counts = retention.prune(db.session, SLOT, KEEP, **kwargs)
        db.session.remove()
        return counts


def remaining(app: Flask, column: Any) -> set[Any]:
    with app.app_context():
        found = set(db.session.scalars(db.select(column)))
        db.session.remove()
        return found


def attempts_left(app: Flask) -> dict[int, int]:
    """Attempts still stored, per delivery."""
    with app.app_context():
        found: dict[int, int] = {}
        for delivery_id in db.session.scalars(db.select(WebhookAttempt.delivery_id)):
            found[delivery_id] = found.get(delivery_id, 0) + 1
        db.session.remove()
        return found


def fire_retention(app: Flask, hub_clock: Any) -> None:
    """What a worker's scheduler does at the job's slot, then the worker that runs it."""
    hub_clock.set(SLOT)
    recurring(app)
    assert "retention" in Scheduler(app, app.extensions["hub.redis"]).tick()
    run_jobs(app)


def test_finished_runs_older_than_the_retention_are_deleted(app, rows):
    gone = {
        rows.run("succeeded", OLD),
        rows.run("failed", ANCIENT),
        rows.run("failed", OLD, finished=False),  # finished_at unset: its last change counts
    }
    kept = {
        rows.run("succeeded", RECENT),
        rows.run("failed", RECENT, event_id=rows.event(ANCIENT), created=ANCIENT),  # retried
    }

    counts = prune(app)

    assert remaining(app, Run.id) == kept
    assert counts["runs"] == len(gone)


def test_runs_still_to_be_worked_on_are_kept_whatever_their_age(app, rows):
    unfinished = {
        rows.run(state, ANCIENT, finished=False) for state in ("queued", "running", "waiting")
    }
    old_done = rows.run("succeeded", OLD)

    prune(app)

    assert remaining(app, Run.id) == unfinished
    assert old_done not in remaining(app, Run.id)


def test_dispatched_events_go_once_no_run_refers_to_them(app, rows):
    without_runs = rows.event(OLD)
    with_old_run = rows.event(OLD)
    rows.run("succeeded", OLD, event_id=with_old_run)
    with_queued_run = rows.event(ANCIENT)
    rows.run("succeeded", OLD, event_id=with_queued_run)
    queued = rows.run("queued", ANCIENT, event_id=with_queued_run, second_integration=True)
    undispatched = rows.event(ANCIENT, dispatched=False)
    recent = rows.event(RECENT)

    counts = prune(app)

    assert remaining(app, Event.id) == {with_queued_run, undispatched, recent}
    assert remaining(app, Run.id) == {queued}
    assert without_runs not in remaining(app, Event.id)
    assert (counts["events"], counts["runs"]) == (2, 2)


def test_finished_deliveries_go_with_their_attempts(app, rows):
    rows.delivery("succeeded", OLD, tries=2)
    rows.delivery("failed", ANCIENT, tries=3, finished=False)  # its last change counts
    recent = rows.delivery("failed", RECENT, tries=1)
    pending = rows.delivery("pending", ANCIENT, tries=2, finished=False)  # resent, due again

    counts = prune(app)

    assert remaining(app, WebhookDelivery.id) == {recent, pending}
    assert attempts_left(app) == {recent: 1, pending: 2}
    assert (counts["webhook_deliveries"], counts["webhook_attempts"]) == (2, 5)


def test_a_batch_smaller_than_the_rows_deletes_them_over_several_batches(app, rows):
    runs = sorted(rows.run("succeeded", OLD) for _ in range(10))
    answers = iter([False])  # one batch, then stop

    first = prune(app, batch=3, stop=lambda: next(answers, True))

    assert first["runs"] == 3
    assert remaining(app, Run.id) == set(runs[3:])  # the oldest first, no more than a batch
    assert len(remaining(app, Event.id)) == 10  # stopped before the events

    rest = prune(app, batch=3)

    assert (rest["runs"], rest["events"]) == (7, 10)
    assert remaining(app, Run.id) == set() and remaining(app, Event.id) == set()


def test_the_job_runs_from_the_scheduler_on_real_rows(app, api, receiver, hub_clock):
    register(api, receiver.url())
    for name, age in (("Old Ltd", OLD), ("Recent Ltd", RECENT)):
        hub_clock.set(SLOT - age)
        emit(api, name)
        deliver(app)
    assert len(receiver.received) == 2
    assert recurring(app)["retention"].schedule == "47 3 * * *"

    fire_retention(app, hub_clock)

    with app.app_context():
        events = db.session.scalars(db.select(Event).where(Event.type == "client.created"))
        (recent,) = [(e.id, e.payload["name"]) for e in events]
        runs = db.session.scalars(db.select(Run).where(Run.event_type == "client.created"))
        deliveries = db.session.scalars(db.select(WebhookDelivery))
        assert recent[1] == "Recent Ltd"
        assert [(r.event_id, r.state) for r in runs] == [(recent[0], "succeeded")]
        (delivery,) = [(d.id, d.event_id) for d in deliveries]
        assert delivery[1] == recent[0]
        db.session.remove()
    assert attempts_left(app) == {delivery[0]: 1}


@pytest.mark.parametrize("hub_config", [{"HUB_RETENTION_DAYS": "off"}], indirect=True)
def test_off_prunes_nothing(app, rows, hub_clock):
    run = rows.run("succeeded", ANCIENT)
    delivery = rows.delivery("failed", ANCIENT, tries=1)

    fire_retention(app, hub_clock)

    assert remaining(app, Run.id) == {run}
    assert len(remaining(app, Event.id)) == 1
    assert remaining(app, WebhookDelivery.id) == {delivery}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_RETENTION_DAYS", "0"),
        ("HUB_RETENTION_DAYS", "-3"),
        ("HUB_RETENTION_DAYS", "30.5"),
        ("HUB_RETENTION_DAYS", "a month"),
        ("HUB_RETENTION_CRON", "daily"),
        ("HUB_RETENTION_CRON", "47 3 * *"),
    ],
)
def test_a_malformed_setting_stops_start_up_naming_it(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app()


def test_days_default_to_30_and_off_turns_pruning_off():
    assert load_config({})["HUB_RETENTION_DAYS"] == 30
    assert load_config({"HUB_RETENTION_DAYS": " 7 "})["HUB_RETENTION_DAYS"] == 7
    assert load_config({"HUB_RETENTION_DAYS": "OFF"})["HUB_RETENTION_DAYS"] is None


def test_usage_and_health_history_is_pruned_in_batches_past_its_own_retention(
    app, rows, monkeypatch
):
    def usage_at(age: timedelta) -> int:
        when = rows.now - age
        return rows.add(
            UsageRecord(
                org_id=rows.org_id,
                uid=new_id("use"),
                plugin="alpha",
                feature="other",
                method="GET",
                status=200,
                ok=True,
                duration_ms=1.0,
                bytes=0,
                created_at=when,
                hour=int(when.timestamp() // 3600),
            )
        )

    def check_at(age: timedelta) -> int:
        return rows.add(
            HealthCheck(
                org_id=rows.org_id,
                integration_id=rows.integration_ids[0],
                plugin="alpha",
                ok=True,
                message="",
                duration_ms=1.0,
                checked_at=rows.now - age,
            )
        )

    days = 90
    old = [usage_at(timedelta(days=days + 1, minutes=n)) for n in range(5)]
    kept_usage = {usage_at(timedelta(days=days - 1))}
    old_checks = [check_at(timedelta(days=days + 2, minutes=n)) for n in range(3)]
    kept_check = {check_at(timedelta(days=1))}
    assert old and old_checks
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches, each its own transaction
    with app.app_context():
        assert usage.prune(db.session(), days) == 5
        assert health.prune(db.session, days) == 3
        db.session.remove()
    assert remaining(app, UsageRecord.id) == kept_usage
    assert remaining(app, HealthCheck.id) == kept_check


def test_plugins_history_tables_are_pruned_as_they_declare(app, rows):
    """Plugins declare `__retention__` on their models (the smtp, slack and zapier packages
    shipped here): their finished rows go with the core's, their pending ones stay."""
    from mycelium_slack.models import SlackMessage
    from mycelium_smtp.models import Email
    from mycelium_zapier.models import ZapierDelivery, ZapierHook

    def email(status: str, age: timedelta) -> int:
        when = SLOT - age
        return rows.add(
            Email(
                org_id=rows.org_id,
                template="t",
                subject="s",
                html="h",
                text="t",
                message_id=new_id("msg"),
                status=status,
                created_at=when,
                updated_at=when,
            )
        )

    def message(age: timedelta) -> int:
        return rows.add(
            SlackMessage(
                org_id=rows.org_id, event_id=new_id("evt"), channel="C1", sent_at=SLOT - age
            )
        )

    hook = rows.add(ZapierHook(org_id=rows.org_id, target_url="https://z.example/h", event="*"))

    def zap(state: str, age: timedelta, finished: bool = True) -> int:
        when = SLOT - age
        return rows.add(
            ZapierDelivery(
                org_id=rows.org_id,
                hook_id=hook,
                event_id=new_id("evt"),
                event_type="client.created",
                body="{}",
                state=state,
                created_at=when,
                finished_at=when if finished else None,
            )
        )

    old_emails = {email("sent", OLD), email("failed", ANCIENT), email("cancelled", OLD)}
    kept_emails = {email("sent", RECENT), email("pending", ANCIENT), email("sending", OLD)}
    old_message, recent_message = message(OLD), message(RECENT)
    old_zaps = {zap("succeeded", OLD), zap("failed", ANCIENT)}
    kept_zaps = {zap("succeeded", RECENT), zap("pending", ANCIENT, finished=False)}

    counts = prune(app)

    assert remaining(app, Email.id) == kept_emails
    assert remaining(app, SlackMessage.id) == {recent_message}
    assert remaining(app, ZapierDelivery.id) == kept_zaps
    assert old_message not in remaining(app, SlackMessage.id)
    assert (counts["smtp_emails"], counts["slack_messages"], counts["zapier_deliveries"]) == (
        len(old_emails),
        1,
        len(old_zaps),
    )
