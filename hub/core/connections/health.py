"""Health checks: each enabled integration's ``health_check`` hook, kept with its history.

A failed check counts as a consecutive error of the integration, like a failed run
(docs/architecture.md, Failure policies): at ``HUB_MAX_CONSECUTIVE_ERRORS`` it is disabled with a
reason and an ``integration.disabled`` event; a passing check resets the count.
A provider's rate limit is not a failure (the check is skipped), and a refused token
marks the integration ``needs_reauth`` instead.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from hub.core import clock, retention
from hub.core.connections import tokens
from hub.core.connections.context import AppLike, build_context
from hub.core.connections.integrations import count_consecutive_error
from hub.core.db import AnySession
from hub.core.models import Base, Integration, OrgScoped
from hub.core.runs.policy import describe
from hub.core.timeouts import HookTimeout, deadline
from hub.errors import NeedsReauth, RateLimited
from hub.provider import HealthResult

log = logging.getLogger(__name__)
MAX_MESSAGE = 2000


class HealthCheck(OrgScoped, Base):
    """One health check of one integration."""

    __tablename__ = "health_checks"
    __table_args__ = (
        Index("ix_health_checks_integration_at", "integration_id", "checked_at"),
        Index("ix_health_checks_org_at", "org_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    plugin: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool]
    message: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float] = mapped_column(Float)
    checked_at: Mapped[datetime] = mapped_column(default=clock.now)


def _ask(app: AppLike, session: AnySession, row: Integration) -> HealthResult | None:
    """The plugin's answer; its exceptions become a failed result (None: nothing to record)."""
    plugins = app.extensions["hub.plugins"]
    try:
        with deadline(float(app.config["HUB_RUN_TIMEOUT"])):
            return plugins.health_check(row.plugin, build_context(app, session, row))
    except RateLimited:
        return None  # the provider is busy, not broken: the next slot checks again
    except NeedsReauth as exc:
        session.rollback()  # re-reads the row: the token vault may have marked it already
        tokens.mark_needs_reauth(session, row, exc.message)
        return HealthResult(ok=False, message=describe(exc))
    except (Exception, HookTimeout) as exc:
        session.rollback()
        log.info("health check of %s for org %s failed: %s", row.plugin, row.org_id, exc)
        return HealthResult(ok=False, message=describe(exc))


def check(app: AppLike, session: AnySession, row: Integration) -> HealthCheck | None:
    """Run ``row``'s health check now, record it, apply the failure policy, and commit."""
    if not app.extensions["hub.plugins"].implements(row.plugin, "health_check"):
        return None
    started = time.perf_counter()
    result = _ask(app, session, row)
    if result is None:
        session.rollback()
        return None
    return record(app, session, row, result, started)


def record(
    app: AppLike, session: AnySession, row: Integration, result: HealthResult, started: float
) -> HealthCheck | None:
    """Keep a check's result (begun at perf_counter `started`), apply the failure policy,
    and commit; None if the integration was deleted meanwhile."""
    fresh = session.get(Integration, row.id, populate_existing=True, with_for_update=True)
    if fresh is None:  # deleted meanwhile
        session.rollback()
        return None
    record = HealthCheck(
        org_id=fresh.org_id,
        integration_id=fresh.id,
        plugin=fresh.plugin,
        ok=bool(result.ok),
        message=(result.message or "")[:MAX_MESSAGE],
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    session.add(record)
    _apply_policy(app, session, fresh, record)
    session.commit()
    return record


def _apply_policy(app: AppLike, session: AnySession, row: Integration, record: HealthCheck) -> None:
    if record.ok:
        row.consecutive_errors, row.last_success_at = 0, record.checked_at or clock.now()
        return
    provider = app.extensions["hub.plugins"].provider(row.plugin)
    limit = int(app.config["HUB_MAX_CONSECUTIVE_ERRORS"])
    message = f"Health check failed: {record.message}"
    count_consecutive_error(session, row, message, limit, bool(provider and provider.always_on))


def render(check: HealthCheck | None) -> dict[str, Any] | None:
    """The newest check as the API shows it (None: never checked)."""
    if check is None:
        return None
    return {"ok": check.ok, "message": check.message, "checked_at": check.checked_at.isoformat()}


def due_for_checks(session: AnySession, plugin_names: list[str]) -> list[int]:
    """Ids of the enabled, working integrations of plugins that have a health check."""
    stmt = select(Integration.id).where(
        Integration.enabled.is_(True),
        Integration.status == "enabled",
        Integration.plugin.in_(plugin_names),
    )
    return list(session.scalars(stmt.order_by(Integration.id)))


def latest(session: AnySession, integration_ids: list[int]) -> dict[int, HealthCheck]:
    """The newest check of each integration."""
    if not integration_ids:
        return {}
    newest = (
        select(func.max(HealthCheck.id).label("id"))
        .where(HealthCheck.integration_id.in_(integration_ids))
        .group_by(HealthCheck.integration_id)
        .subquery()
    )
    rows = session.scalars(select(HealthCheck).join(newest, HealthCheck.id == newest.c.id))
    return {row.integration_id: row for row in rows}


def prune(session: AnySession, days: int) -> int:
    """Forget checks older than the retention period, a batch per short transaction."""
    cutoff = clock.now() - timedelta(days=days)
    return retention.delete_older(
        session, HealthCheck, HealthCheck.id, HealthCheck.checked_at, cutoff
    )
