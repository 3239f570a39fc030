"""What every part of the plugin needs from a context: the API client, the config, locks,
and the queue of the plugin's own jobs."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import hub
from hub import PluginContext
from mycelium_gcal.client import CalendarClient
from mycelium_gcal.provider import DEFAULT_API_BASE, config_of

ACCESS_TOKEN = "oauth.access_token"
LOCK_SECONDS = 120  # longer than a Google call with a token refresh and one retry
LOCK_WAIT_SECONDS = 30


def connected(ctx: PluginContext) -> bool:
    """Has an admin connected a Google account (the OAuth flow stored a token)?"""
    return ctx.secret(ACCESS_TOKEN) is not None


def config(ctx: PluginContext) -> dict[str, Any]:
    return config_of(ctx.config)


def calendar_client(ctx: PluginContext, timeout: float | None = None) -> CalendarClient:
    """The Calendar API with this integration's token (``ctx.http`` refreshes it on a 401);
    each call waits `timeout` seconds at most, the hub's HTTP timeout by default."""
    base = ctx.setting("GOOGLE_CALENDAR_API_BASE") or DEFAULT_API_BASE
    if timeout is None:
        timeout = float(ctx.setting("HUB_HTTP_TIMEOUT") or 10.0)
    return CalendarClient(ctx.http, str(base), ctx.access_token, timeout)


def client_url(ctx: PluginContext, path: str) -> str | None:
    """A link into the Mycelium front end, when its URL is known."""
    base = ctx.setting("HUB_CLIENT_URL") or ctx.setting("HUB_APP_URL")
    return f"{str(base).rstrip('/')}/{path}" if base else None


def locked(
    ctx: PluginContext, name: str, wait: float = LOCK_WAIT_SECONDS
) -> AbstractContextManager[bool]:
    """The organization's lock `name` across workers; yields whether it was had."""
    return ctx.lock(name, timeout=LOCK_SECONDS, wait=wait)


def enqueue_after_commit(ctx: PluginContext, job: str, *args: Any) -> None:
    """Queue one of this plugin's jobs once the current transaction commits."""
    hub.enqueue_after_commit(ctx.db, f"mycelium_gcal.jobs.{job}", *args)


def end_transaction(ctx: PluginContext) -> None:
    """Commit what is pending so no transaction (on SQLite: the write lock) is held while
    Google answers."""
    ctx.db.commit()
