"""`hub keys rotate`: re-encrypt every stored secret with the newest key, while the hub serves.

Deploy the new key ring (new key first, old keys kept) to every process, then rotate:
each row is re-read under its write lock and re-encrypted in its own short transaction,
so web and workers keep reading and writing meanwhile; every process decrypts both the
old and the new key throughout. Run it again at any time: current rows are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.crypto import KeyRing, associated_data
from hub.core.db import scope_to_org
from hub.core.models import Integration

log = logging.getLogger(__name__)


@dataclass
class RotationReport:
    rows: int = 0
    rotated: int = 0
    failed: list[str] = field(default_factory=list)


# Other tables with encrypted columns add a rotator: (session factory, keyring, report).
Rotator = Callable[[Callable[[], Session], KeyRing, RotationReport], None]
ROTATORS: list[Rotator] = []


def register_rotator(rotator: Rotator) -> None:
    if rotator not in ROTATORS:
        ROTATORS.append(rotator)


def _rotate_row(session: Session, keyring: KeyRing, row_id: int, report: RotationReport) -> None:
    """Re-read one integration under its write lock; re-encrypt its secrets not yet current."""
    row = session.scalar(select(Integration).where(Integration.id == row_id).with_for_update())
    if row is None:  # deleted meanwhile
        return
    secrets = dict(row.secrets or {})
    changed = 0
    for name, token in secrets.items():
        if keyring.is_current(token):
            continue
        aad = associated_data(row.org_id, row.id, name)
        secrets[name] = keyring.encrypt(keyring.decrypt(token, aad), aad)
        changed += 1
    if changed:
        row.secrets = secrets
        report.rotated += changed


def rotate_integrations(
    new_session: Callable[[], Session], keyring: KeyRing, report: RotationReport
) -> None:
    """Every integration's secrets, one row per transaction."""
    with new_session() as session:
        scope_to_org(session, None)
        ids = list(session.scalars(select(Integration.id).order_by(Integration.id)))
    for row_id in ids:
        with new_session() as session:
            try:
                with session.begin():  # SQLite: BEGIN IMMEDIATE takes the write lock
                    _rotate_row(session, keyring, row_id, report)
            except Exception as exc:  # one bad row must not stop the others
                log.warning("integration %s: secrets not rotated: %s", row_id, exc)
                report.failed.append(f"integration {row_id}: {exc}")
        report.rows += 1


def rotate_all(new_session: Callable[[], Session], keyring: KeyRing) -> RotationReport:
    """Re-encrypt every secret the hub stores with the newest key."""
    report = RotationReport()
    for rotator in [rotate_integrations, *ROTATORS]:
        rotator(new_session, keyring, report)
    return report
