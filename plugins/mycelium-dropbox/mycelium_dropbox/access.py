"""What every part of the plugin needs from a context: the API client, the config, locks,
and the queue of the plugin's own jobs."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

import hub
from hub import PluginContext
from mycelium_dropbox.client import DropboxClient
from mycelium_dropbox.provider import DEFAULT_API_BASE, DEFAULT_CONTENT_BASE, config_of

ACCESS_TOKEN = "oauth.access_token"
LOCK_SECONDS = 300


def connected(ctx: PluginContext) -> bool:
    """Has an admin connected a Dropbox account (the OAuth flow stored a token)?"""
    return ctx.secret(ACCESS_TOKEN) is not None


def config(ctx: PluginContext) -> dict[str, Any]:
    return config_of(ctx.config)


def dropbox(ctx: PluginContext, timeout: float | None = None) -> DropboxClient:
    """Dropbox with this integration's token (``ctx.http`` refreshes it on a 401)."""
    api = ctx.setting("DROPBOX_API_BASE") or DEFAULT_API_BASE
    content = ctx.setting("DROPBOX_CONTENT_BASE") or DEFAULT_CONTENT_BASE
    if timeout is None:
        timeout = float(ctx.setting("HUB_HTTP_TIMEOUT") or 10.0)
    return DropboxClient(ctx.http, str(api), str(content), ctx.access_token, timeout)


def setting_int(ctx: PluginContext, name: str) -> int:
    return int(ctx.setting(name))


def root_path(ctx: PluginContext) -> str:
    """The tree's root: config ``root_path``, else ``/MyceliumOS-<organization name>``."""
    configured = config(ctx).get("root_path")
    if configured:
        return str(configured).rstrip("/")
    return "/MyceliumOS-" + re.sub(r"[^A-Za-z0-9]", "", ctx.org.name)


def locked(ctx: PluginContext, name: str, wait: float = 0) -> AbstractContextManager[bool]:
    """The organization's lock `name` across workers; yields whether it was had."""
    return ctx.lock(name, timeout=LOCK_SECONDS, wait=wait)


def enqueue_after_commit(ctx: PluginContext, job: str, *args: Any) -> None:
    """Queue one of this plugin's jobs once the current transaction commits."""
    hub.enqueue_after_commit(ctx.db, f"mycelium_dropbox.jobs.{job}", *args)
