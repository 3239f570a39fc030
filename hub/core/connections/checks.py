"""Proving an integration works now: its health check, then its test message.

The health check's result is kept with the scheduled ones (GET /api/integrations shows the
newest) and counts toward the failure policy like them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from hub.core.connections import health
from hub.core.connections.context import AppLike, build_context
from hub.core.db import AnySession
from hub.core.models import Integration
from hub.core.runs.policy import describe
from hub.errors import HubError
from hub.provider import HealthResult

log = logging.getLogger(__name__)


def _attempt(session: AnySession, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a plugin call; its failure becomes a result an admin can read, never a 500."""
    try:
        return call()
    except HubError as exc:
        session.rollback()
        return {"ok": False, "message": exc.message, "error": exc.code}
    except Exception as exc:  # a plugin's bug must not break the admin's page
        session.rollback()
        log.exception("plugin call failed")
        return {"ok": False, "message": f"{type(exc).__name__}: {exc}", "error": "plugin_error"}


def run_checks(
    app: AppLike, session: AnySession, row: Integration, user: dict[str, Any] | None
) -> dict[str, Any]:
    """``{"health": ..., "test_message": ... | None}`` for `row`, as the plugin answers now."""
    plugins = app.extensions["hub.plugins"]
    ctx = build_context(app, session, row)

    def check() -> dict[str, Any]:
        started = time.perf_counter()
        try:
            result = plugins.health_check(row.plugin, ctx)
        except Exception as exc:  # kept in the history like a scheduled check's failure
            session.rollback()
            failed = HealthResult(ok=False, message=describe(exc))
            health.record(app, session, row, failed, started)
            raise
        if result is None:
            return {"ok": None, "message": "This plugin has no health check."}
        health.record(app, session, row, result, started)
        return {"ok": result.ok, "message": result.message, "details": result.details}

    def message() -> dict[str, Any]:
        sent = plugins.send_test_message(row.plugin, ctx, user)
        return {"ok": True, "message": sent or "Sent."}

    report: dict[str, Any] = {"health": _attempt(session, check), "test_message": None}
    if plugins.implements(row.plugin, "send_test_message"):
        report["test_message"] = _attempt(session, message)
    return report
