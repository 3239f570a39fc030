"""Proving an integration works now: its health check, then its test message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hub.core.contexts import AppLike, build_context
from hub.core.db import AnySession
from hub.core.models import Integration
from hub.errors import HubError

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

    def health() -> dict[str, Any]:
        result = plugins.health_check(row.plugin, ctx)
        if result is None:
            return {"ok": None, "message": "This plugin has no health check."}
        return {"ok": result.ok, "message": result.message, "details": result.details}

    def message() -> dict[str, Any]:
        sent = plugins.send_test_message(row.plugin, ctx, user)
        return {"ok": True, "message": sent or "Sent."}

    report: dict[str, Any] = {"health": _attempt(session, health), "test_message": None}
    if plugins.implements(row.plugin, "send_test_message"):
        report["test_message"] = _attempt(session, message)
    return report
