"""`among(column, values)`: an IN list sent as one array parameter on PostgreSQL and as
SQLAlchemy's IN list on SQLite, with the statement cache in between (the values of one execute
never leak into another)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, event, insert, select, update

from hub.core.db import among
from hub.core.ids import new_id
from hub.core.models import Event
from hub.core.orgs import create_org
from hub.extensions import db

EVENTS = Event.__table__
NOW = datetime(2031, 1, 1, tzinfo=UTC)


def _events(count: int) -> tuple[int, list[str]]:
    org = create_org(db.session, "Among", "UTC")
    db.session.flush()
    ids = [new_id("evt") for _ in range(count)]
    rows = [{"id": i, "org_id": org.id, "type": "t", "payload": {}} for i in ids]
    db.session.execute(insert(EVENTS), rows)
    db.session.commit()
    return org.id, ids


def _found(statement, **params) -> set[str]:  # type: ignore[no-untyped-def]
    return set(db.session.scalars(statement, params))


def test_values_given_with_the_statement_select_those_rows_each_time(app):
    with app.app_context():
        _, ids = _events(120)
        seen: list[str] = []

        def listen(*args) -> None:  # type: ignore[no-untyped-def]
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            for chosen in (ids[:3], ids[50:], [ids[7]], [], [*ids[:3], "evt_missing"]):
                found = _found(select(EVENTS.c.id).where(among(EVENTS.c.id, chosen)))
                assert found == set(chosen) - {"evt_missing"}
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        selects = [s for s in seen if s.startswith("SELECT")]
        if db.engine.dialect.name == "postgresql":
            # the text sent is the same for 3, 70, 1 or no values
            assert len(set(selects)) == 1 and "= ANY" in selects[0]
        else:  # SQLite keeps its IN list, which its planner reads through the key
            assert all(" IN (" in s and "json_each" not in s for s in selects)


def test_a_named_parameter_and_orm_attributes_and_integers(app):
    with app.app_context():
        org_id, ids = _events(5)
        named = select(Event.id).where(among(Event.id, "wanted"), Event.org_id == org_id)
        assert _found(named, wanted=ids[:2]) == set(ids[:2])
        assert _found(named, wanted=ids[3:]) == set(ids[3:])
        by_org = select(EVENTS.c.id).where(among(EVENTS.c.org_id, [org_id, org_id + 1000]))
        assert _found(by_org) == set(ids)
        stamp = (
            update(EVENTS)
            .where(among(EVENTS.c.id, bindparam("u_ids").key))
            .values(dispatched_at=NOW)
        )
        assert db.session.execute(stamp, {"u_ids": ids[:4]}).rowcount == 4
        db.session.commit()
        stamped = select(EVENTS.c.id).where(EVENTS.c.dispatched_at.is_not(None))
        assert _found(stamped) == set(ids[:4])
