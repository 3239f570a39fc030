"""What the hub knows of each file under a client's folder: its last rev (None: deleted).

An upload records its file here, so the sync does not announce it again; the sync
records every file it announces, so each (path, rev) is announced once.

When the hub moves a folder, what it knows there moves along, and each old path keeps a
mark (``moved:<rev>``): a sync still behind the move reads the file's old path in its
history, and is not to announce it as added, nor then deleted.
"""

from __future__ import annotations

from sqlalchemy import select

from hub import PluginContext, now
from mycelium_dropbox.models import KnownFile

MOVED = "moved:"


def get(ctx: PluginContext, path_lower: str) -> KnownFile | None:
    return ctx.db.scalar(select(KnownFile).where(KnownFile.path_lower == path_lower))


def remember(ctx: PluginContext, path: str, client_id: int, rev: str | None) -> KnownFile:
    """Record `path` (as Dropbox displays it) at `rev` (None: deleted)."""
    row = get(ctx, path.lower())
    if row is None:
        row = KnownFile(org_id=ctx.org.id, path_lower=path.lower(), client_id=client_id)
        ctx.db.add(row)
    row.path, row.client_id, row.rev, row.seen_at = path, client_id, rev, now()
    ctx.db.flush()
    return row


def under(ctx: PluginContext, folder_lower: str) -> list[KnownFile]:
    """Known live files at or under `folder_lower`."""
    stmt = select(KnownFile).where(
        KnownFile.rev.is_not(None),
        ~KnownFile.rev.startswith(MOVED),
        (KnownFile.path_lower == folder_lower)
        | KnownFile.path_lower.startswith(folder_lower + "/", autoescape=True),
    )
    return list(ctx.db.scalars(stmt))


def seen(row: KnownFile | None, rev: str) -> bool:
    """Is `rev` of this path known: the file there now, or one the hub moved away?"""
    return row is not None and row.rev in (rev, MOVED + rev)


def move(ctx: PluginContext, old_lower: str, new_path: str) -> None:
    """The hub moved a folder: what it knows under it moves along (no announcement), and
    each old path is marked as moved away at its rev."""
    for row in under(ctx, old_lower):
        old_path, rev = row.path, str(row.rev)
        target = new_path + row.path[len(old_lower) :]
        there = get(ctx, target.lower())
        if there is not None and there is not row:
            ctx.db.delete(there)
            ctx.db.flush()
        row.path, row.path_lower = target, target.lower()
        ctx.db.flush()
        mark = KnownFile(org_id=ctx.org.id, path_lower=old_path.lower(), client_id=row.client_id)
        mark.path, mark.rev, mark.seen_at = old_path, MOVED + rev, now()
        ctx.db.add(mark)
        ctx.db.flush()
