"""The plugin's jobs: the tree on connect, client folders, uploads, the change sync.

Jobs take ids (``hub.enqueue``) and ask the hub for the context; the state they resume
from is in the plugin's tables (an upload's confirmed offset, the sync cursor), so a job
lost with Redis is made good by the minute's upload sweep or the 15-minute sync.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select

import hub
from hub import HubError, PluginContext, RateLimited, now
from mycelium_dropbox import access, folders, sync, uploads
from mycelium_dropbox.models import Upload

log = logging.getLogger(__name__)
PLUGIN = "dropbox"


def _context(org_id: int) -> PluginContext | None:
    ctx = hub.context_for(PLUGIN, org_id)
    return ctx if ctx is not None and access.connected(ctx) else None


def _step(ctx: PluginContext, name: str, work: Callable[[], Any]) -> bool:
    """Run one step and commit; a failure is logged and rolled back. False: it failed."""
    try:
        work()
        ctx.db.commit()
    except HubError as exc:
        ctx.db.rollback()
        level = logging.INFO if isinstance(exc, RateLimited) else logging.WARNING
        ctx.log.log(level, "dropbox %s: %s", name, exc.message)
        return False
    return True


def setup(org_id: int) -> None:
    """Just connected: the organization's tree, the existing clients' trees, the cursor."""
    ctx = _context(org_id)
    if ctx is None:
        return
    if not _step(ctx, "tree", lambda: folders.make_org_tree(ctx)):
        return
    for client_id in list(ctx.db.scalars(select(hub.Client.id).order_by(hub.Client.id))):
        _step(ctx, "client tree", functools.partial(folders.make_client_tree, ctx, client_id))
    _step(ctx, "cursor", lambda: sync.start(ctx))


def client_tree(org_id: int, client_id: int) -> None:
    """A client's tree outside its event's run (an upload found none)."""
    ctx = _context(org_id)
    if ctx is not None:
        _step(ctx, "client tree", lambda: folders.make_client_tree(ctx, client_id))


def send_upload(org_id: int, upload_id: int) -> None:
    """Send one queued upload through an upload session (resuming where Dropbox is)."""
    ctx = _context(org_id)
    if ctx is not None:
        uploads.send(ctx, upload_id)


def due_uploads() -> list[int]:
    """Every minute: a job for each upload that waits (a retry, a worker that died)."""
    session = hub.db_session()
    moment = now()
    stmt = select(Upload.org_id, Upload.id).where(
        Upload.state.in_(("queued", "uploading")),
        Upload.next_attempt_at <= moment,
        or_(Upload.lease_until.is_(None), Upload.lease_until < moment),
    )
    found = list(session.execute(stmt))
    session.commit()
    for org_id, upload_id in found:
        hub.enqueue("mycelium_dropbox.jobs.send_upload", org_id, upload_id)
    return [upload_id for _, upload_id in found]


def queue_sync(ctx: PluginContext) -> bool:
    """Queue a sync unless one is queued already; whether this queued it."""
    if ctx.redis is None or ctx.redis.set(
        f"dropbox:sync-queued:{ctx.org.id}", "1", nx=True, ex=600
    ):
        hub.enqueue("mycelium_dropbox.jobs.sync_changes", ctx.org.id)
        return True
    return False


def sync_changes(org_id: int) -> None:
    """Read the account's changes from the stored cursor; a notification while it runs
    makes it read again."""
    ctx = _context(org_id)
    if ctx is None:
        return
    if ctx.redis is not None:
        ctx.redis.delete(f"dropbox:sync-queued:{org_id}")
    with access.locked(ctx, "sync") as had:
        if not had:  # another worker syncs: it reads again when done
            if ctx.redis is not None:
                ctx.redis.set(f"dropbox:sync-again:{org_id}", "1", ex=600)
            return
        for _ in range(5):
            if not _step(ctx, "sync", lambda: sync.run(ctx)):
                return
            if ctx.redis is None or not ctx.redis.delete(f"dropbox:sync-again:{org_id}"):
                return


def scheduled_sync(ctx: PluginContext) -> None:
    """Every 15 minutes (the seed's ``sync-dropbox-changes``): catch missed notifications."""
    if access.connected(ctx):
        queue_sync(ctx)
