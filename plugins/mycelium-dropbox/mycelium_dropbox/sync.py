"""Change sync: ``files/list_folder/continue`` from the stored cursor on the tree's root.

Files under a client's folder become ``dropbox.file_added``, ``dropbox.file_changed`` or
``dropbox.file_deleted``, each once per (path, rev): a page's events, what the hub now
knows of its files, and the cursor after it are committed in one transaction, so a sync
that runs twice or a worker that dies mid-page announces nothing twice. Files the hub
uploaded itself are known already and not announced. A ``reset`` cursor lists the root
again: what changed is announced, and known files no longer listed are deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import PluginContext, now
from mycelium_dropbox import access, known
from mycelium_dropbox.client import CursorReset
from mycelium_dropbox.models import ClientFolder, SyncState

PAGES_PER_RUN = 50


def state_of(ctx: PluginContext) -> SyncState:
    row = ctx.db.scalar(select(SyncState))
    if row is None:
        row = SyncState(org_id=ctx.org.id, root=access.root_path(ctx))
        ctx.db.add(row)
    return row


def start(ctx: PluginContext) -> None:
    """A cursor from a recursive listing of the root. The organization's first one announces
    the files it finds in clients' folders: the hub made those folders moments ago (a
    client's run may do so before the set-up job lists), so a file in one was put there
    since, and its webhook may have come before there was a cursor to read from. A new
    cursor after the root changed announces nothing: what is there is known, not news."""
    state = state_of(ctx)
    first = state.cursor is None
    state.root = access.root_path(ctx)
    box, owners = access.dropbox(ctx), _owners(ctx)
    page = box.list_folder(state.root)
    while True:
        for entry in page["entries"]:
            _apply(ctx, owners, entry, announce=first)
        if not page["has_more"]:
            break
        page = box.list_folder_continue(page["cursor"])
    state.cursor, state.last_sync_at = page["cursor"], now()


def run(ctx: PluginContext) -> None:
    """Read the changes since the cursor, a page per transaction (the caller commits the
    last one)."""
    state = state_of(ctx)
    if state.cursor is None or state.root != access.root_path(ctx):
        start(ctx)
        return
    box, owners = access.dropbox(ctx), _owners(ctx)
    for _ in range(PAGES_PER_RUN):
        try:
            page = box.list_folder_continue(state.cursor)
        except CursorReset:
            relist(ctx, state)
            return
        for entry in page["entries"]:
            _apply(ctx, owners, entry, announce=True)
        state.cursor, state.last_sync_at = page["cursor"], now()
        ctx.db.commit()
        if not page["has_more"]:
            return


def relist(ctx: PluginContext, state: SyncState) -> None:
    """After ``reset``: the whole tree again, in one transaction."""
    box, owners = access.dropbox(ctx), _owners(ctx)
    seen: set[str] = set()
    page = box.list_folder(state.root)
    while True:
        for entry in page["entries"]:
            seen.add(str(entry["path_lower"]))
            _apply(ctx, owners, entry, announce=True)
        if not page["has_more"]:
            break
        page = box.list_folder_continue(page["cursor"])
    for row in known.under(ctx, state.root.lower()):
        if row.path_lower not in seen:
            _deleted(ctx, row)
    state.cursor, state.last_sync_at = page["cursor"], now()


def _owners(ctx: PluginContext) -> list[tuple[str, int]]:
    rows = ctx.db.scalars(select(ClientFolder).where(ClientFolder.archived.is_(False)))
    return [(r.path_lower + "/", r.client_id) for r in rows]


def _owner(owners: list[tuple[str, int]], path_lower: str) -> int | None:
    for prefix, client_id in owners:
        if path_lower.startswith(prefix):
            return client_id
    return None


def _apply(
    ctx: PluginContext, owners: list[tuple[str, int]], entry: dict[str, Any], announce: bool
) -> None:
    tag, path_lower = entry.get(".tag"), str(entry.get("path_lower") or "")
    if tag == "deleted":
        for row in known.under(ctx, path_lower):
            _deleted(ctx, row) if announce else None
        return
    client_id = _owner(owners, path_lower)
    if tag != "file" or client_id is None:
        return
    before = known.get(ctx, path_lower)
    if known.seen(before, str(entry["rev"])):
        return  # announced already, uploaded by the hub, or moved away by the hub
    was_there = (
        before is not None
        and before.rev is not None
        and not str(before.rev).startswith(known.MOVED)
    )
    known.remember(ctx, str(entry["path_display"]), client_id, str(entry["rev"]))
    if announce:
        kind = "dropbox.file_changed" if was_there else "dropbox.file_added"
        ctx.emit(
            kind,
            _payload(
                client_id, entry["path_display"], entry["name"], entry.get("size"), entry["rev"]
            ),
        )


def _deleted(ctx: PluginContext, row: Any) -> None:
    row.rev = None
    name = row.path.rsplit("/", 1)[-1]
    ctx.emit("dropbox.file_deleted", _payload(row.client_id, row.path, name, None, None))


def _payload(client_id: int, path: str, name: str, size: Any, rev: Any) -> dict[str, Any]:
    return {"client_id": client_id, "path": path, "name": name, "size": size, "rev": rev}
