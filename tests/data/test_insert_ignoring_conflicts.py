"""`insert_ignoring_conflicts` on both databases: what it inserts and returns, what it skips,
and (PostgreSQL) that rows of plain columns go as one array parameter per column."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select

from hub.core.db import insert_ignoring_conflicts
from hub.core.ids import new_id
from hub.core.models import Event, Integration, Run
from hub.core.orgs import create_org
from hub.extensions import db

NOW = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _setup(plugins: list[str]) -> tuple[int, str, list[int]]:
    org = create_org(db.session, "Conflicts", "UTC")
    db.session.flush()
    event_id = new_id("evt")
    db.session.execute(
        insert(Event.__table__),
        [{"id": event_id, "org_id": org.id, "type": "client.created", "payload": {}}],
    )
    rows = [{"org_id": org.id, "plugin": p, "enabled": True, "status": "enabled"} for p in plugins]
    integration_ids = [
        db.session.execute(insert(Integration).values(**row).returning(Integration.id)).scalar_one()
        for row in rows
    ]
    db.session.commit()
    return org.id, event_id, integration_ids


def _run(org_id: int, event_id: str, integration_id: int, **more: object) -> dict:
    return {
        "org_id": org_id,
        "event_id": event_id,
        "integration_id": integration_id,
        "plugin": "p",
        "event_type": "client.created",
        "state": "running",
        "attempts": 1,
        "lease_until": NOW + timedelta(seconds=30),
        "next_attempt_at": NOW,
        "enqueued_at": None,
        "last_error": None,
        "created_at": NOW,
        "updated_at": NOW,
        **more,
    }


def test_inserts_what_is_new_skips_what_exists_and_returns_the_inserted(app):
    with app.app_context():
        org_id, event_id, (a, b, c) = _setup(["a", "b", "c"])
        first = insert_ignoring_conflicts(
            db.session, Run, [_run(org_id, event_id, a)], Run.id, Run.event_id, Run.integration_id
        )
        db.session.commit()
        assert [(r[1], r[2]) for r in first] == [(event_id, a)]
        rows = [
            _run(org_id, event_id, a, plugin="again"),  # conflicts with the first: skipped
            _run(org_id, event_id, b, event_type="t" * 100, enqueued_at=NOW),
            _run(org_id, event_id, c, lease_until=None),
        ]
        with statements() as seen:
            inserted = insert_ignoring_conflicts(
                db.session, Run, rows, Run.id, Run.event_id, Run.integration_id
            )
        db.session.commit()
        assert sorted((r[1], r[2]) for r in inserted) == [(event_id, b), (event_id, c)]
        assert len({r[0] for r in inserted} | {first[0][0]}) == 3
        unnested = any("unnest(" in s for s in seen)
        assert unnested == (db.engine.dialect.name == "postgresql")
        stored = {r.integration_id: r for r in db.session.scalars(select(Run))}
    assert stored[a].plugin == "p"  # the existing row was left as it was
    assert stored[b].event_type == "t" * 100 and stored[b].enqueued_at == NOW
    assert stored[c].lease_until is None and stored[c].next_attempt_at == NOW
    assert stored[b].lease_until == NOW + timedelta(seconds=30)
    assert stored[b].lease_until.tzinfo == UTC


def test_one_returning_column_gives_values_and_nothing_new_gives_nothing(app):
    with app.app_context():
        org_id, event_id, (a,) = _setup(["a"])
        ids = insert_ignoring_conflicts(db.session, Run, [_run(org_id, event_id, a)], Run.id)
        again = insert_ignoring_conflicts(db.session, Run, [_run(org_id, event_id, a)], Run.id)
        db.session.commit()
        assert len(ids) == 1 and isinstance(ids[0], int)
        assert again == []
        assert insert_ignoring_conflicts(db.session, Run, [], Run.id) == []


@pytest.mark.parametrize("case", ["json column", "keys differ", "default left out"])
def test_rows_the_array_form_cannot_take_go_the_general_way(app, case):
    with app.app_context():
        org_id, event_id, (a, b) = _setup(["a", "b"])
        if case == "json column":
            rows = [{"org_id": org_id, "plugin": "new", "config": {"k": [1]}, "secrets": {}}]
            with statements() as seen:
                got = insert_ignoring_conflicts(db.session, Integration, rows, Integration.id)
            db.session.commit()
            assert db.session.get(Integration, got[0]).config == {"k": [1]}
        else:
            second = _run(org_id, event_id, b)
            if case == "keys differ":
                second["finished_at"] = NOW
            else:  # created_at has a default SQLAlchemy fills in
                for row in (first := _run(org_id, event_id, a), second):
                    del row["created_at"]
            rows = [first if case != "keys differ" else _run(org_id, event_id, a), second]
            with statements() as seen:
                got = insert_ignoring_conflicts(db.session, Run, rows, Run.id)
            db.session.commit()
            assert len(got) == 2
            stored = {r.integration_id: r for r in db.session.scalars(select(Run))}
            assert all(r.created_at is not None for r in stored.values())
            if case == "keys differ":
                assert stored[b].finished_at == NOW and stored[a].finished_at is None
        assert not any("unnest(" in s for s in seen)


TRICKY = ["NULL", "", "a,b", "{x}", 'q"uote', "back\\slash", "ünï €", "line\nbreak", " pad "]


def test_strings_an_array_would_quote_read_back_as_they_were(app):
    with app.app_context():
        org_id, event_id, integration_ids = _setup([f"p{n}" for n in range(len(TRICKY))])
        rows = [
            _run(org_id, event_id, integration_id, plugin=text, event_type=text)
            for integration_id, text in zip(integration_ids, TRICKY, strict=True)
        ]
        with statements() as seen:
            insert_ignoring_conflicts(db.session, Run, rows, Run.id)
        db.session.commit()
        assert any("unnest(" in s for s in seen) == (db.engine.dialect.name == "postgresql")
        stored = {r.integration_id: r for r in db.session.scalars(select(Run))}
    for integration_id, text in zip(integration_ids, TRICKY, strict=True):
        assert stored[integration_id].plugin == text
        assert stored[integration_id].event_type == text


def test_rows_with_unbounded_text_go_the_general_way_and_rows_without_it_do_not(app):
    # psycopg quotes each string of a text array in Python: long bodies cost more that way
    with app.app_context():
        org_id, event_id, (a, b, c) = _setup(["a", "b", "c"])
        with statements() as seen:
            insert_ignoring_conflicts(
                db.session,
                Run,
                [_run(org_id, event_id, a, last_error="x" * 600), _run(org_id, event_id, b)],
            )
        assert not any("unnest(" in s for s in seen)
        with statements() as seen:
            insert_ignoring_conflicts(db.session, Run.__table__, [_run(org_id, event_id, c)])
        db.session.commit()
        assert any("unnest(" in s for s in seen) == (db.engine.dialect.name == "postgresql")
        stored = {r.integration_id: r.last_error for r in db.session.scalars(select(Run))}
        assert stored == {a: "x" * 600, b: None, c: None}
