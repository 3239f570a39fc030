"""A batch's statements, written two ways: CPU per execute on SQLite and PostgreSQL.

    .venv/bin/python bench/batch_sql.py [--database-url postgresql://.../throwaway]
                                        [--executes 300] [--rounds 3]

- ``IN`` lists of 64 and 100 ids: SQLAlchemy's ``in_`` (a placeholder per value) against
  ``hub.core.db.among`` (one ``= ANY(array)`` parameter on PostgreSQL; on SQLite it is
  SQLAlchemy's ``IN`` list, so the two figures should match);
- 100 rows inserted ``ON CONFLICT DO NOTHING RETURNING id``, like dispatch's runs:
  SQLAlchemy's batched ``VALUES`` against ``hub.core.db.insert_ignoring_conflicts``;
- 100 rows with a 600-byte JSON body each, like the webhook fan-out's deliveries and the
  pump's attempts: SQLAlchemy's executemany against ``hub.core.db.insert_rows``.

On SQLite both functions take SQLAlchemy's own way (the figures should match); on
PostgreSQL they send the rows as one JSON parameter (``json_to_recordset``). Beside the CPU
of this process (SQLAlchemy and the driver), the PostgreSQL server's CPU per execute is
printed (its processes' user and system time, read from ``/proc``). The tables are created, then
dropped. Each execute of an insert is committed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.config import database_url
from hub.core.db import among, insert_ignoring_conflicts, insert_rows
from hub.core.models import UTCDateTime

META = MetaData()
IDS = Table("bench_batch_ids", META, Column("id", String(40), primary_key=True))
RUNS = Table(
    "bench_batch_runs",
    META,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), unique=True, nullable=False),
    Column("org_id", Integer, nullable=False),
    Column("plugin", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
)
BODIES = Table(
    "bench_batch_bodies",
    META,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
ROWS = 10_000
NOW = datetime(2031, 1, 1, tzinfo=UTC)
serial = itertools.count()


def run_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "key": f"k{next(serial)}",
            "org_id": 1,
            "plugin": "webhooks",
            "state": "running",
            "attempts": 1,
            "created_at": NOW,
            "lease_until": NOW,
            "last_error": None,
        }
        for _ in range(count)
    ]


def body_rows(count: int) -> list[dict[str, Any]]:
    data = {"client": {"id": 1, "name": 'Client "quoted"', "notes": "x" * 480}}
    body = json.dumps({"id": "evt_1", "type": "client.created", "data": data})
    return [{"org_id": 1, "body": body, "created_at": NOW} for _ in range(count)]


def server_seconds() -> float:
    """User and system CPU of this machine's PostgreSQL processes so far (0 when none)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(") ")
        except OSError:  # ended meanwhile
            continue
        if name.endswith("(postgres"):
            total += sum(int(field) for field in rest.split()[11:13])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_ms(
    session: Session, action: Callable[[], Any], executes: int, commit: bool
) -> tuple[float, float]:
    """This process's and the PostgreSQL server's CPU per execute, in ms."""
    for _ in range(20):  # warm: compiled and driver caches
        action()
    session.commit()
    started, server = time.process_time(), server_seconds()
    for _ in range(executes):
        action()
        if commit:
            session.commit()
    session.commit()
    spent = time.process_time() - started, server_seconds() - server
    return spent[0] / executes * 1000, spent[1] / executes * 1000


def _selecting(session: Session, statement: Any, ids: list[str]) -> Callable[[], None]:
    def select_ids() -> None:
        assert len(session.execute(statement, {"ids": ids}).all()) == len(ids)

    return select_ids


def cases(session: Session) -> dict[str, tuple[Callable[[], Any], bool]]:
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    plain_in = select(IDS.c.id).where(IDS.c.id.in_(bindparam("ids", expanding=True)))
    one_param = select(IDS.c.id).where(among(IDS.c.id, "ids"))
    found: dict[str, tuple[Callable[[], Any], bool]] = {}
    for count in (64, 100):
        ids = [f"evt_{n:020d}" for n in range(0, ROWS, ROWS // count)][:count]
        found[f"SELECT {count} ids, in_"] = (_selecting(session, plain_in, ids), False)
        found[f"SELECT {count} ids, among"] = (_selecting(session, one_param, ids), False)
    returning = upsert(RUNS).on_conflict_do_nothing().returning(RUNS.c.id)
    found["INSERT 100 RETURNING, SQLAlchemy VALUES"] = (
        lambda: list(session.scalars(returning, run_rows(100))),
        True,
    )
    found["INSERT 100 RETURNING, insert_ignoring_conflicts"] = (
        lambda: insert_ignoring_conflicts(session, RUNS, run_rows(100), RUNS.c.id),
        True,
    )
    bodies = body_rows(100)
    found["INSERT 100 with bodies, SQLAlchemy executemany"] = (
        lambda: session.execute(insert(BODIES), bodies),
        True,
    )
    found["INSERT 100 with bodies, insert_rows"] = (
        lambda: insert_rows(session, BODIES, bodies),
        True,
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a throwaway database)")
    parser.add_argument("--executes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(args.database_url or f"sqlite:///{Path(tmp) / 'batch.db'}")
        engine = create_engine(url)
        META.drop_all(engine, checkfirst=True)
        META.create_all(engine)
        with engine.begin() as connection:
            connection.execute(IDS.insert(), [{"id": f"evt_{n:020d}"} for n in range(ROWS)])
        postgres = engine.dialect.name == "postgresql"
        print(
            f"{engine.dialect.name}, ms of CPU per execute, {args.rounds} rounds"
            + (" (this process / the server):" if postgres else ":")
        )
        try:
            with Session(engine) as session:
                for name, (action, commit) in cases(session).items():
                    times = [
                        cpu_ms(session, action, args.executes, commit) for _ in range(args.rounds)
                    ]
                    shown = [f"{c:.3f} / {s:.3f}" if postgres else f"{c:.3f}" for c, s in times]
                    print(f"  {name}: {', '.join(shown)}")
        finally:
            META.drop_all(engine)
            engine.dispose()


if __name__ == "__main__":
    main()
