"""Recurring upkeep of connections: tokens refreshed ahead of expiry, idle ones kept alive.

The hourly slot refreshes every token that would expire before the next slot (plus the
provider's margin), so hooks rarely wait for a refresh. A connection nothing used for
``HUB_IDLE_CONNECTION_HOURS`` is refreshed, or health-checked when it has no refresh
token, so the provider does not revoke it for inactivity.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import redis
from croniter import croniter
from sqlalchemy import func, select

from hub.core import clock
from hub.core.connections import health, tokens
from hub.core.connections.context import AppLike, build_with_tokens
from hub.core.connections.usage import UsageRecord
from hub.core.db import AnySession, scope_to_org
from hub.core.models import Integration
from hub.errors import HubError

log = logging.getLogger(__name__)
TOUCHED = "hub:connections:touched:"  # + integration id: kept alive recently


def cron_period(expression: str, now: datetime) -> timedelta:
    """The time between two slots of ``expression`` around ``now``."""
    schedule = croniter(expression, now)
    first = schedule.get_next(datetime)
    return schedule.get_next(datetime) - first


def _connected(session: AnySession) -> list[Integration]:
    stmt = select(Integration).where(Integration.enabled.is_(True), Integration.status == "enabled")
    return [
        row for row in session.scalars(stmt.order_by(Integration.id)) if tokens.is_connected(row)
    ]


def _refresh_one(
    app: AppLike, session: AnySession, row: Integration, window: timedelta | None
) -> bool:
    """Refresh ``row`` (unless valid beyond ``window``); whether it worked. Never raises."""
    scope_to_org(session, row.org_id)
    try:
        tokens.refresh(build_with_tokens(app, session, row)[1], window)
        return True
    except HubError as exc:  # NeedsReauth is already recorded; others retry next slot
        log.warning("token refresh of %s for org %s: %s", row.plugin, row.org_id, exc.message)
        session.rollback()
        return False
    finally:
        scope_to_org(session, None)


def _check_one(app: AppLike, session: AnySession, row: Integration) -> bool:
    scope_to_org(session, row.org_id)
    try:
        return health.check(app, session, row) is not None
    finally:
        scope_to_org(session, None)


def refresh_expiring(app: AppLike, session: AnySession) -> int:
    """Refresh tokens that expire before the next slot; how many were refreshed."""
    now = clock.now()
    period = cron_period(str(app.config["HUB_TOKEN_REFRESH_CRON"]), now)
    done = 0
    for row in _connected(session):
        provider = app.extensions["hub.plugins"].provider(row.plugin)
        if provider is None or provider.oauth2 is None or row.token_expires_at is None:
            continue
        window = period + tokens.margin_of(provider)
        if row.token_expires_at <= now + window:
            done += _refresh_one(app, session, row, window)
    session.commit()
    return done


def _last_used(session: AnySession, row: Integration) -> datetime | None:
    stmt = select(func.max(UsageRecord.created_at)).where(
        UsageRecord.org_id == row.org_id, UsageRecord.plugin == row.plugin
    )
    moments = [session.scalar(stmt), row.last_success_at, row.connected_at]
    return max((m for m in moments if m is not None), default=None)


def keep_idle_alive(app: AppLike, session: AnySession, client: redis.Redis) -> int:
    """Refresh (or test) connections unused for ``HUB_IDLE_CONNECTION_HOURS``; how many."""
    idle = timedelta(hours=int(app.config["HUB_IDLE_CONNECTION_HOURS"]))
    cutoff = clock.now() - idle
    touched = 0
    for row in _connected(session):
        used = _last_used(session, row)
        if (used is not None and used > cutoff) or client.exists(f"{TOUCHED}{row.id}"):
            continue
        token = tokens.load_token(app.extensions["hub.keyring"], row)
        if token is not None and token.refresh_token:
            alive = _refresh_one(app, session, row, None)
        else:
            alive = _check_one(app, session, row)
        if alive:
            client.set(f"{TOUCHED}{row.id}", datetime.now(UTC).isoformat(), ex=idle)
            touched += 1
    session.commit()
    return touched
