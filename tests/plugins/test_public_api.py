"""The public API a plugin uses outside hooks: transaction callbacks, contexts for jobs,
the job queue, the event catalogue and the conflict-tolerant insert."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import hub
from hub.core.deadlines import DeadlineNotice
from hub.core.models import Client, Deliverable
from hub.extensions import db
from hub.testing import run_jobs

RAN: list[tuple[str, Any]] = []


def record_job(org_id: int, plugin: str) -> None:
    """A job put on the queue by the tests below: it sees the app and a context."""
    ctx = hub.context_for(plugin, org_id)
    RAN.append(("job", None if ctx is None else ctx.org.id))


class Plain:
    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name="plain", title="Plain", event_types={"plain.done": "Done."}))


@pytest.fixture
def plain(register_plugin: Any) -> None:
    register_plugin(Plain(), "plain")


def _new_client(org: Any, name: str) -> Client:
    client = Client(org_id=org.id, name=name)
    db.session.add(client)
    return client


def test_after_commit_runs_once_the_change_is_kept(app: Flask, org: Any) -> None:
    seen: list[str] = []
    with app.app_context():
        _new_client(org, "Kept")
        hub.after_commit(db.session, lambda: seen.append("kept"))
        assert seen == []
        db.session.commit()
        assert seen == ["kept"]
        db.session.commit()  # registered for one transaction only
        assert seen == ["kept"]


def test_after_commit_forgets_its_callback_on_rollback(app: Flask, org: Any) -> None:
    seen: list[str] = []
    with app.app_context():
        _new_client(org, "Dropped")
        hub.after_commit(db.session, lambda: seen.append("dropped"))
        db.session.rollback()
        _new_client(org, "Next")
        db.session.commit()
        assert seen == []


class Batch:
    def __init__(self, seen: list[list[int]]) -> None:
        self.ids: list[int] = []
        self.seen = seen

    def __call__(self) -> None:
        self.seen.append(self.ids)


def test_a_keyed_after_commit_gathers_one_transactions_work_into_one_call(
    app: Flask, org: Any
) -> None:
    seen: list[list[int]] = []
    with app.app_context():
        for number in (1, 2, 3):
            hub.after_commit(db.session, Batch(seen), key="batch").ids.append(number)
        _new_client(org, "Batched")
        db.session.commit()
        _new_client(org, "Rolled back")
        hub.after_commit(db.session, Batch(seen), key="batch").ids.append(4)
        db.session.flush()
        db.session.rollback()  # gone with its transaction, key and all
        hub.after_commit(db.session, Batch(seen), key="batch").ids.append(5)
        _new_client(org, "Next")
        db.session.commit()
    assert seen == [[1, 2, 3], [5]]


def test_a_savepoint_rolled_back_keeps_the_callbacks_of_the_transaction_around_it(
    app: Flask, org: Any
) -> None:
    seen: list[str] = []
    with app.app_context():
        _new_client(org, "Outer")
        hub.after_commit(db.session, lambda: seen.append("after"))
        hub.before_commit(db.session, lambda: seen.append("before"))
        with pytest.raises(RuntimeError), db.session.begin_nested():
            _new_client(org, "Inner")
            raise RuntimeError("the savepoint is rolled back")
        db.session.commit()
        assert [c.name for c in db.session.scalars(select(Client))] == ["Outer"]
    assert seen == ["before", "after"]


def test_a_failing_after_commit_callback_does_not_undo_the_commit(
    app: Flask, org: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    with app.app_context():
        _new_client(org, "Still here")
        hub.after_commit(db.session, boom)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Client)) == 1
    assert "after-commit callback failed" in caplog.text


def test_before_commit_writes_in_the_same_transaction(app: Flask, org: Any) -> None:
    with app.app_context():
        _new_client(org, "First")
        hub.before_commit(db.session, lambda: _new_client(org, "Added at commit"))
        db.session.commit()
        names = set(db.session.scalars(select(Client.name)))
        assert names == {"First", "Added at commit"}


def test_before_commit_can_abort_the_commit(app: Flask, org: Any) -> None:
    def refuse() -> None:
        raise ValueError("refused")

    with app.app_context():
        _new_client(org, "Never")
        hub.before_commit(db.session, refuse)
        with pytest.raises(ValueError, match="refused"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_context_for_answers_only_for_an_enabled_plugin(
    app: Flask, org: Any, plain: None, enable_plugin: Any
) -> None:
    with app.app_context():
        assert hub.context_for("plain", org.id) is None
    enable_plugin("plain", {})
    with app.app_context():
        ctx = hub.context_for("plain", org.id)
        assert ctx is not None
        assert (ctx.org.id, ctx.integration.plugin) == (org.id, "plain")


def test_enqueue_runs_a_job_inside_the_app(
    app: Flask, org: Any, plain: None, enable_plugin: Any
) -> None:
    enable_plugin("plain", {})
    RAN.clear()
    with app.app_context():
        hub.enqueue(f"{__name__}.record_job", org.id, "plain")
        hub.enqueue(record_job, org.id, "missing")
    run_jobs(app)
    assert sorted(RAN, key=str) == sorted([("job", org.id), ("job", None)], key=str)


def test_enqueue_after_commit_queues_only_what_a_commit_kept(
    app: Flask, org: Any, plain: None, enable_plugin: Any
) -> None:
    enable_plugin("plain", {})
    RAN.clear()
    with app.app_context():
        hub.enqueue_after_commit(db.session, record_job, org.id, "plain")
        db.session.rollback()
        hub.enqueue_after_commit(db.session, f"{__name__}.record_job", org.id, "missing")
        run_jobs(app)
        assert RAN == []  # nothing committed yet: nothing queued
        db.session.commit()
    run_jobs(app)
    assert RAN == [("job", None)]


def test_a_context_lock_is_one_organizations_across_processes(
    app: Flask, org: Any, other_org: Any, plain: None, enable_plugin: Any
) -> None:
    enable_plugin("plain", {})
    enable_plugin("plain", {}, org=other_org)
    with app.app_context():
        ctx, other = hub.context_for("plain", org.id), hub.context_for("plain", other_org.id)
        assert ctx is not None and other is not None
        with ctx.lock("sync", timeout=5) as had:
            assert had
            with ctx.lock("sync", timeout=5) as again, ctx.lock("other", timeout=5) as name:
                assert (again, name) == (False, True)
            with other.lock("sync", timeout=5) as theirs:
                assert theirs  # another organization's lock of the same name
        with ctx.lock("sync", timeout=5) as after:
            assert after  # released on leaving
        with ctx.lock("lapsing", timeout=0.2) as first:
            assert first
            with ctx.lock("lapsing", timeout=5, wait=3) as waited:
                assert waited  # the first one lapsed within its timeout: a dead worker's lock


def test_event_types_include_the_core_and_the_plugins(app: Flask, plain: None) -> None:
    with app.app_context():
        types = hub.event_types()
    assert "client.created" in types
    assert types["plain.done"] == "Done."


def test_insert_ignoring_conflicts_skips_what_exists(app: Flask, org: Any) -> None:
    with app.app_context():
        client = _new_client(org, "Due")
        db.session.flush()
        deliverable = Deliverable(org_id=org.id, client_id=client.id, title="Logo")
        db.session.add(deliverable)
        db.session.commit()
        row = {
            "org_id": org.id,
            "deliverable_id": deliverable.id,
            "kind": "overdue",
            "created_at": hub.now(),
        }
        first = hub.insert_ignoring_conflicts(db.session, DeadlineNotice, [row], DeadlineNotice.id)
        again = hub.insert_ignoring_conflicts(db.session, DeadlineNotice, [row], DeadlineNotice.id)
        db.session.commit()
        assert len(first) == 1 and again == []
