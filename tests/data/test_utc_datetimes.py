"""Datetime columns store UTC and read back aware on every database; the bind processing
remembers its last value (a batch's rows repeat one `now`) without ever mixing two up."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from hub.core.ids import new_id
from hub.core.models import Event, UTCDateTime
from hub.core.orgs import create_org
from hub.extensions import db

EVENTS = Event.__table__


def _row(org_id: int, created: datetime, dispatched: datetime | None) -> dict:
    return {
        "id": new_id("evt"),
        "org_id": org_id,
        "type": "client.created",
        "payload": {},
        "created_at": created,
        "dispatched_at": dispatched,
    }


def test_rows_sharing_one_now_and_rows_that_do_not_read_back_as_written(app):
    now = datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    east = timezone(timedelta(hours=5, minutes=30))
    with app.app_context():
        org = create_org(db.session, "Dates", "UTC")
        db.session.commit()
        rows = [
            _row(org.id, now, now),  # the same object twice in a row
            _row(org.id, now, now + timedelta(microseconds=1)),
            _row(org.id, now.astimezone(east), None),  # the same instant, another zone
            _row(org.id, now - timedelta(days=400), now),
        ]
        db.session.execute(insert(EVENTS), rows)
        db.session.commit()
        stored = db.session.execute(
            select(EVENTS.c.id, EVENTS.c.created_at, EVENTS.c.dispatched_at)
        ).all()
    got = {row.id: (row.created_at, row.dispatched_at) for row in stored}
    for row in rows:
        created, dispatched = got[row["id"]]
        assert created == row["created_at"] and created.tzinfo == UTC
        assert dispatched == row["dispatched_at"]
    assert got[rows[2]["id"]][0] == now  # stored as UTC


def test_a_naive_datetime_is_refused_even_right_after_an_equal_aware_one(app):
    now = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.app_context():
        org = create_org(db.session, "Naive", "UTC")
        db.session.commit()
        db.session.execute(insert(EVENTS), [_row(org.id, now, None)])
        with pytest.raises(StatementError, match="naive datetime"):
            db.session.execute(insert(EVENTS), [_row(org.id, now.replace(tzinfo=None), None)])
        db.session.rollback()


@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql"])
def test_threads_binding_different_datetimes_never_get_each_others(dialect_name):
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[dialect_name]
    column = UTCDateTime()
    process = column.bind_processor(dialect)
    assert process is not None

    def plain(value: datetime) -> object:  # what SQLAlchemy's own chain gives, unremembered
        inner = column.impl_instance.bind_processor(dialect)
        converted = column.process_bind_param(value, dialect)
        return inner(converted) if inner is not None else converted

    # shared objects, each thread repeating them in runs of its own length: the
    # remembered values are hit often, and (more of them than are kept) forgotten by the
    # other threads in between
    shared = [datetime(2031, 1, 1, tzinfo=UTC) + timedelta(seconds=n) for n in range(12)]
    expected = {id(value): plain(value) for value in shared}
    wrong: list[tuple[datetime, object]] = []

    def bind(run: int) -> None:
        for n in range(20_000):
            value = shared[(n // run) % len(shared)]
            got = process(value)
            if got != expected[id(value)]:
                wrong.append((value, got))

    threads = [threading.Thread(target=bind, args=(run,)) for run in (1, 2, 3, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
