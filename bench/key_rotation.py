"""`hub keys rotate`: integrations re-encrypted per second, one short transaction per row.

Builds a fresh SQLite database (or ``--database-url``) with ``--orgs`` organizations, each
with one integration holding ``--secrets`` encrypted fields under the old key, then rotates
to a new key exactly as ``hub keys rotate`` does, and checks every secret reads back.

    .venv/bin/python bench/key_rotation.py [--orgs 2000] [--secrets 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.crypto import KeyRing, associated_data, generate_entry
from hub.core.keyrotation import rotate_all
from hub.core.migrations import upgrade
from hub.core.models import Integration, Organization


def populate(session: Session, ring: KeyRing, orgs: int, fields: int) -> None:
    for n in range(orgs):
        org = Organization(slug=f"org-{n}", name=f"Org {n}", timezone="UTC")
        session.add(org)
        session.flush()
        row = Integration(org_id=org.id, plugin="bench", enabled=True, status="enabled")
        row.config, row.secrets = {}, {}
        session.add(row)
        session.flush()
        row.secrets = {
            f"field{i}": ring.encrypt(
                f"secret-{n}-{i}", associated_data(org.id, row.id, f"field{i}")
            )
            for i in range(fields)
        }
    session.commit()


def check(session: Session, ring: KeyRing) -> int:
    count = 0
    for row in session.scalars(select(Integration)):
        for name, token in row.secrets.items():
            assert ring.is_current(token)
            ring.decrypt(token, associated_data(row.org_id, row.id, name))
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--secrets", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        engine = create_engine(url)
        new_session = sessionmaker(bind=engine)
        old = generate_entry()
        with new_session() as session:
            populate(session, KeyRing.parse(old), args.orgs, args.secrets)
        ring = KeyRing.parse(f"{generate_entry()},{old}")
        started = time.perf_counter()
        report = rotate_all(new_session, ring)
        elapsed = time.perf_counter() - started
        with new_session() as session:
            verified = check(session, ring)
        engine.dispose()
    print(
        f"rows: {report.rows}, secrets re-encrypted: {report.rotated}, failed: {len(report.failed)}"
    )
    print(
        f"elapsed: {elapsed:.2f} s, {report.rows / elapsed:.0f} rows/s, "
        f"{report.rotated / elapsed:.0f} secrets/s"
    )
    print(f"verified with the new key: {verified} secrets")


if __name__ == "__main__":
    main()
