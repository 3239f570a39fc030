"""What every part of the plugin needs from a context: the API client, the config, locks,
and the queue of the plugin's own jobs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hub
from hub import PluginContext
from mycelium_dropbox.client import DropboxClient, DropboxError
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


@contextmanager
def locked(ctx: PluginContext, name: str, wait: float = 0) -> Iterator[bool]:
    """A Redis lock across workers (``dropbox:lock:<org>:<name>``); yields whether it was had."""
    if ctx.redis is None:
        raise DropboxError("Redis is needed to coordinate Dropbox work.")
    lock = ctx.redis.lock(
        f"dropbox:lock:{ctx.org.id}:{name}", timeout=LOCK_SECONDS, blocking_timeout=wait or None
    )
    had = bool(lock.acquire(blocking=wait > 0))
    try:
        yield had
    finally:
        if had:
            try:
                lock.release()
            except Exception:  # expired meanwhile: nothing of ours to release
                ctx.log.warning("dropbox lock %s expired before its release", name)


def enqueue_after_commit(ctx: PluginContext, job: str, *args: Any) -> None:
    """Queue one of this plugin's jobs once the current transaction commits."""
    hub.after_commit(ctx.db, lambda: hub.enqueue(f"mycelium_dropbox.jobs.{job}", *args))
