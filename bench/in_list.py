"""An ``IN`` list of a batch's ids as a placeholder per value (SQLAlchemy's ``in_``) or as one
parameter (``hub.core.db.among``): CPU per execute of one SELECT, on SQLite and PostgreSQL.

    .venv/bin/python bench/in_list.py [--database-url postgresql://.../throwaway]
                                      [--values 64 100] [--executes 1000] [--rounds 3]

The statements select `--values` ids of a 10,000-row table (created, then dropped). The hot
paths of dispatch and of the webhook pump send several such statements per batch of 64-100.
CPU is this process's (the client side: SQLAlchemy and the driver), not the server's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Engine, MetaData, String, Table, bindparam, create_engine, select

from hub.config import database_url
from hub.core.db import among

TABLE = Table("bench_in_list", MetaData(), Column("id", String(40), primary_key=True))
ROWS = 10_000


def cpu_per_execute(engine: Engine, statement: object, ids: list[str], executes: int) -> float:
    with engine.connect() as connection:
        for _ in range(50):  # warm: compiled and driver caches
            connection.execute(statement, {"ids": ids}).all()  # type: ignore[call-overload]
        started = time.process_time()
        for _ in range(executes):
            found = connection.execute(statement, {"ids": ids}).all()  # type: ignore[call-overload]
        assert len(found) == len(ids)
        return (time.process_time() - started) / executes * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a throwaway database)")
    parser.add_argument("--values", type=int, nargs="+", default=[64, 100])
    parser.add_argument("--executes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(args.database_url or f"sqlite:///{Path(tmp) / 'in_list.db'}")
        engine = create_engine(url)
        TABLE.drop(engine, checkfirst=True)
        TABLE.create(engine)
        with engine.begin() as connection:
            connection.execute(TABLE.insert(), [{"id": f"evt_{n:020d}"} for n in range(ROWS)])
        statements = {
            "in_ (a placeholder per value)": select(TABLE.c.id).where(
                TABLE.c.id.in_(bindparam("ids", expanding=True))
            ),
            "among (one parameter)": select(TABLE.c.id).where(among(TABLE.c.id, "ids")),
        }
        print(f"{engine.dialect.name}, ms of CPU per execute, {args.rounds} rounds:")
        try:
            for count in args.values:
                ids = [f"evt_{n:020d}" for n in range(0, ROWS, ROWS // count)][:count]
                for name, statement in statements.items():
                    times = [
                        cpu_per_execute(engine, statement, ids, args.executes)
                        for _ in range(args.rounds)
                    ]
                    shown = ", ".join(f"{t:.3f}" for t in times)
                    print(f"  {count:4d} values, {name}: {shown}")
        finally:
            TABLE.drop(engine)
            engine.dispose()


if __name__ == "__main__":
    main()
