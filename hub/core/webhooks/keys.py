"""``hub keys rotate`` for webhook endpoints: their current and previous secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.crypto import KeyRing
from hub.core.db import scope_to_org
from hub.core.keyrotation import RotationReport, register_rotator
from hub.core.webhooks.endpoints import secret_aad
from hub.core.webhooks.models import WebhookEndpoint

log = logging.getLogger(__name__)


def _fresh(keyring: KeyRing, token: str, aad: bytes) -> str | None:
    """`token` under the newest key, or None when it already is."""
    return None if keyring.is_current(token) else keyring.encrypt(keyring.decrypt(token, aad), aad)


def _rotate_row(session: Session, keyring: KeyRing, endpoint_id: int) -> int:
    """Re-read one endpoint under its write lock and re-encrypt; how many secrets changed."""
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
    row = session.scalar(stmt)
    if row is None:
        return 0
    aad = secret_aad(row.org_id, row.id)
    changed = 0
    if (current := _fresh(keyring, row.secret, aad)) is not None:
        row.secret, changed = current, 1
    previous: list[dict[str, Any]] = []
    for entry in row.previous_secrets:
        fresh = _fresh(keyring, entry["secret"], aad)
        previous.append({**entry, "secret": fresh} if fresh else entry)
        changed += fresh is not None
    if changed:
        row.previous_secrets = previous
    return changed


def rotate_endpoint_secrets(
    new_session: Callable[[], Session], keyring: KeyRing, report: RotationReport
) -> None:
    """Every endpoint's secrets, one row per short transaction (the hub keeps serving)."""
    with new_session() as session:
        scope_to_org(session, None)
        ids = list(session.scalars(select(WebhookEndpoint.id).order_by(WebhookEndpoint.id)))
    for endpoint_id in ids:
        with new_session() as session:
            try:
                with session.begin():
                    report.rotated += _rotate_row(session, keyring, endpoint_id)
            except Exception as exc:  # one bad row must not stop the others
                log.warning("webhook endpoint %s: secrets not rotated: %s", endpoint_id, exc)
                report.failed.append(f"webhook endpoint {endpoint_id}: {exc}")
        report.rows += 1


register_rotator(rotate_endpoint_secrets)
