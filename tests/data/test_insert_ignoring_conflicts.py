"""`insert_ignoring_conflicts` and `insert_rows` on both databases: what they insert and
return, what is skipped, and (PostgreSQL) that rows of plain columns go as one JSON parameter
(``json_to_recordset``) and read back exactly as they were given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    Table,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DataError, IntegrityError

from hub.core.db import insert_ignoring_conflicts, insert_rows
from hub.core.ids import new_id
from hub.core.models import Event, Integration, Run
from hub.core.orgs import create_org
from hub.extensions import db

NOW = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
JSON_WAY = "json_to_recordset("


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
        as_json = any(JSON_WAY in s for s in seen)
        assert as_json == (db.engine.dialect.name == "postgresql")
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
def test_rows_the_json_form_cannot_take_go_the_general_way(app, case):
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
        assert not any(JSON_WAY in s for s in seen)


TRICKY = [
    "NULL",
    "",
    "a,b",
    "{x}",
    'q"uote',
    "back\\slash",
    "ünï €",
    "line\nbreak",
    " pad ",
    "tab\tand\x01control",
    "\u2028 and \U0001f344",
    '{"json": "inside"}',
]


def test_strings_json_escapes_read_back_as_they_were(app):
    with app.app_context():
        org_id, event_id, integration_ids = _setup([f"p{n}" for n in range(len(TRICKY))])
        rows = [
            _run(org_id, event_id, integration_id, plugin=given, event_type=given)
            for integration_id, given in zip(integration_ids, TRICKY, strict=True)
        ]
        with statements() as seen:
            insert_ignoring_conflicts(db.session, Run, rows, Run.id)
        db.session.commit()
        assert any(JSON_WAY in s for s in seen) == (db.engine.dialect.name == "postgresql")
        stored = {r.integration_id: r for r in db.session.scalars(select(Run))}
    for integration_id, given in zip(integration_ids, TRICKY, strict=True):
        assert stored[integration_id].plugin == given
        assert stored[integration_id].event_type == given


def test_long_text_goes_as_json_and_reads_back_whole(app):
    with app.app_context():
        org_id, event_id, (a, b) = _setup(["a", "b"])
        body = '{"notes": "' + 'x\\"y' * 2000 + '"}'
        with statements() as seen:
            insert_ignoring_conflicts(
                db.session,
                Run,
                [_run(org_id, event_id, a, last_error=body), _run(org_id, event_id, b)],
            )
        db.session.commit()
        assert any(JSON_WAY in s for s in seen) == (db.engine.dialect.name == "postgresql")
        stored = {r.integration_id: r.last_error for r in db.session.scalars(select(Run))}
        assert stored == {a: body, b: None}


def test_a_string_longer_than_its_column_is_refused_not_cut(app):
    # a cast to VARCHAR(n) would cut it without a word; the insert's assignment refuses it
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite does not enforce a VARCHAR's length")
        org_id, event_id, (a, b) = _setup(["a", "b"])
        rows = [_run(org_id, event_id, a), _run(org_id, event_id, b, plugin="p" * 65)]
        with pytest.raises(DataError, match="too long"):
            insert_ignoring_conflicts(db.session, Run, rows, Run.id)
        db.session.rollback()
        assert db.session.scalars(select(Run)).all() == []


NAIVE = Table(
    "test_naive_times",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", DateTime),
    Column("n", Integer),
    Column("x", Float),
)


@pytest.fixture
def naive_table(app):
    with app.app_context():
        NAIVE.create(db.engine)
        try:
            yield NAIVE
        finally:
            db.session.rollback()
            NAIVE.drop(db.engine)


def test_values_json_cannot_carry_as_the_column_would_go_the_general_way(app, naive_table):
    # an aware time in a column without a zone (PostgreSQL would drop its offset), and a
    # value the JSON encoder does not know (a Decimal): each batch goes SQLAlchemy's way
    aware = datetime(2031, 5, 6, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    naive = datetime(2031, 5, 6, 7, 0)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        cases = [
            ([{"at": naive, "n": 1}, {"at": naive, "n": 2}], True),
            ([{"at": naive, "n": 3}, {"at": aware, "n": 4}], False),
        ]
        if postgres:  # sqlite3 takes no Decimal
            cases.append(([{"at": naive, "n": 5}, {"at": None, "n": Decimal(6)}], False))
        for rows, as_json in cases:
            with statements() as seen:
                insert_rows(db.session, naive_table, rows)
            used = any(JSON_WAY in s for s in seen)
            assert used == (as_json and postgres), rows
        db.session.commit()
        stored = dict(db.session.execute(select(naive_table.c.n, naive_table.c.at)).all())
        if postgres:
            zone = ZoneInfo(db.session.execute(text("SHOW timezone")).scalar_one())
    assert stored[1] == stored[2] == stored[3] == naive
    if postgres:  # the aware time converted to the session's zone, not cut to its clock
        assert stored[4] == aware.astimezone(zone).replace(tzinfo=None)
        assert stored[5] == naive and stored[6] is None


def test_floats_read_back_as_the_same_doubles(app, naive_table):
    values = [0.1, 1 / 3, 1e-300, 123456.789, -2.5e17, 0.0]
    with app.app_context():
        rows = [{"n": n, "x": x} for n, x in enumerate(values)]
        with statements() as seen:
            insert_rows(db.session, naive_table, rows)
        assert any(JSON_WAY in s for s in seen) == (db.engine.dialect.name == "postgresql")
        with statements() as seen:  # not a number: JSON has none, so SQLAlchemy's way
            insert_rows(db.session, naive_table, [{"n": 10, "x": float("inf")}])
        assert not any(JSON_WAY in s for s in seen)
        db.session.commit()
        stored = dict(db.session.execute(select(naive_table.c.n, naive_table.c.x)).all())
    assert [stored[n] for n in range(len(values))] == values
    assert stored[10] == float("inf")


def test_insert_rows_inserts_every_row_and_a_conflict_is_an_error(app):
    with app.app_context():
        org_id, event_id, (a, b) = _setup(["a", "b"])
        insert_rows(db.session, Run.__table__, [_run(org_id, event_id, a)])
        insert_rows(db.session, Run.__table__, [])
        db.session.commit()
        with pytest.raises(IntegrityError):
            insert_rows(
                db.session, Run.__table__, [_run(org_id, event_id, b), _run(org_id, event_id, a)]
            )
        db.session.rollback()
        assert [r.integration_id for r in db.session.scalars(select(Run))] == [a]
