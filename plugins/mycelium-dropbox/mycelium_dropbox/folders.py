"""The organization's folder tree and each client's, as the seed lays them out.

Every step is idempotent: a folder that exists is success, so a retried run or a
reconnect never fails or duplicates. The stored client folder path is the truth: a
renamed client's folder is moved, a deleted client's is moved under ``Archive/``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from hub import Client, PluginContext, ServiceType
from mycelium_dropbox import access, known, names
from mycelium_dropbox.client import DropboxClient, RouteError
from mycelium_dropbox.models import ClientFolder, Upload
from mycelium_dropbox.provider import CLIENT_FOLDERS

ORG_FOLDERS = ("Clients", "Team Resources", "Templates", "Archive")
PER_SERVICE_ORG = ("Team Resources", "Templates")
CLIENT_SUBFOLDERS = (
    "Final Deliverables",
    "Work in Progress",
    "Raw Files",
    "Archive",
    "Client Resources",
)
PER_SERVICE_CLIENT = ("Final Deliverables", "Work in Progress")


def service_type_names(ctx: PluginContext) -> list[str]:
    stmt = select(ServiceType.name).where(ServiceType.org_id == ctx.org.id).order_by(ServiceType.id)
    return list(ctx.db.scalars(stmt))


def make_org_tree(ctx: PluginContext, box: DropboxClient | None = None) -> str:
    """The root, its four folders and a folder per service type; the root's path."""
    box = box or access.dropbox(ctx)
    root = access.root_path(ctx)
    for path in [root] + [f"{root}/{name}" for name in ORG_FOLDERS]:
        box.create_folder(path)
    for service in service_type_names(ctx):
        add_service_type(ctx, service, box)
    return root


def add_service_type(ctx: PluginContext, service: str, box: DropboxClient | None = None) -> None:
    """A service type's folders under Team Resources and Templates, and under each client's
    Final Deliverables and Work in Progress when the client offers it."""
    box = box or access.dropbox(ctx)
    root, part = access.root_path(ctx), names.component(service)
    for folder in PER_SERVICE_ORG:
        box.create_folder(f"{root}/{folder}/{part}")


def rename_service_type(ctx: PluginContext, previous: str, name: str) -> None:
    """A renamed service type's folders follow its name: under Team Resources and
    Templates, and under each client's Final Deliverables and Work in Progress
    (``files/move_v2``). Idempotent: a folder already moved (or never made) is made under
    the new name if missing; a folder of the new name that exists already is left as it
    is, beside the old one (two folders are not merged)."""
    old, new = names.component(previous), names.component(name)
    if old == new:
        return
    box, root = access.dropbox(ctx), access.root_path(ctx)
    parents = [f"{root}/{folder}" for folder in PER_SERVICE_ORG]
    rows = ctx.db.scalars(select(ClientFolder).where(ClientFolder.archived.is_(False)))
    for row in rows:
        parents += [f"{row.path}/{sub}" for sub in PER_SERVICE_CLIENT]
    for parent in parents:
        _move_service_folder(ctx, box, f"{parent}/{old}", f"{parent}/{new}")


def _move_service_folder(ctx: PluginContext, box: DropboxClient, source: str, target: str) -> None:
    try:
        moved = box.move(source, target, autorename=False)
    except RouteError as exc:
        if exc.has("from_lookup/not_found"):  # moved by an earlier try, or never made
            box.create_folder(target)
            return
        if exc.has("to/conflict"):  # a folder of the new name exists: both are kept
            ctx.log.warning("dropbox: %s exists; %s left where it is", target, source)
            return
        raise
    moved_under(ctx, source.lower(), str(moved["path_display"]))


def moved_under(ctx: PluginContext, old_lower: str, new_path: str) -> None:
    """The hub moved a folder: the paths it stores under it follow (the files the sync
    knows, the files uploaded, the uploads still on their way)."""
    known.move(ctx, old_lower, new_path)
    inside = or_(
        func.lower(Upload.path).startswith(old_lower + "/", autoescape=True),
        func.lower(Upload.target).startswith(old_lower + "/", autoescape=True),
    )
    for row in ctx.db.scalars(select(Upload).where(inside)):
        if row.path and row.path.lower().startswith(old_lower + "/"):
            row.path = new_path + row.path[len(old_lower) :]
        if row.target.lower().startswith(old_lower + "/"):
            row.target = new_path + row.target[len(old_lower) :]


def folder_of(ctx: PluginContext, client_id: int) -> ClientFolder | None:
    return ctx.db.scalar(select(ClientFolder).where(ClientFolder.client_id == client_id))


def make_client_tree(ctx: PluginContext, client_id: int) -> ClientFolder | None:
    """The client's folder, its sub-folders and its team link; the row (None: no client).

    ``dropbox.client_folder_created`` is emitted when the row is first made.
    """
    client = ctx.db.get(Client, client_id)
    row = folder_of(ctx, client_id)
    if client is None and row is None:
        return None
    box = access.dropbox(ctx)
    made = row is None
    if row is None:
        assert client is not None
        path = _free_client_path(ctx, client)
        row = ClientFolder(
            org_id=ctx.org.id, client_id=client_id, path=path, path_lower=path.lower()
        )
    box.create_folder(row.path)
    for sub in CLIENT_SUBFOLDERS:
        box.create_folder(f"{row.path}/{sub}")
    for service in [st.name for st in client.service_types] if client else []:
        for sub in PER_SERVICE_CLIENT:
            box.create_folder(f"{row.path}/{sub}/{names.component(service)}")
    with ctx.calls_for(CLIENT_FOLDERS):  # one unit of work per tree: its last call
        row.shared_link = box.shared_link(row.path)
    if made:
        ctx.db.add(row)
        ctx.db.flush()
        ctx.emit(
            "dropbox.client_folder_created",
            {"client_id": client_id, "path": row.path, "shared_link": row.shared_link},
        )
    return row


def _free_client_path(ctx: PluginContext, client: Client) -> str:
    """``<root>/Clients/<name>``; another client's folder there: `` (<client id>)`` added."""
    base = f"{access.root_path(ctx)}/Clients/"
    part = names.component(client.name, fallback=f"Client {client.id}")
    if _taken(ctx, base + part):
        part = names.with_suffix(part, str(client.id))
    return base + part


def _taken(ctx: PluginContext, path: str) -> bool:
    stmt = (
        select(func.count())
        .select_from(ClientFolder)
        .where(ClientFolder.path_lower == path.lower())
    )
    return bool(ctx.db.scalar(stmt))


def rename_client(ctx: PluginContext, client: dict[str, Any]) -> None:
    """A renamed client's folder follows its name (``files/move_v2``)."""
    row = folder_of(ctx, int(client["id"]))
    if row is None or row.archived:
        return
    parent = row.path.rsplit("/", 1)[0]
    wanted = names.component(str(client["name"]), fallback=f"Client {client['id']}")
    if row.path.rsplit("/", 1)[1].lower() in (
        wanted.lower(),
        names.with_suffix(wanted, str(client["id"])).lower(),
    ):
        return
    target = f"{parent}/{wanted}"
    if _taken(ctx, target):
        target = f"{parent}/{names.with_suffix(wanted, str(client['id']))}"
    _move(ctx, row, target)


def add_client_services(ctx: PluginContext, client: dict[str, Any]) -> None:
    """A client's service types now: each has its folders under Final Deliverables and
    Work in Progress (those that exist are left as they are)."""
    row = folder_of(ctx, int(client["id"]))
    if row is None or row.archived:
        return
    box = access.dropbox(ctx)
    for service in client.get("service_types") or []:
        for sub in PER_SERVICE_CLIENT:
            box.create_folder(f"{row.path}/{sub}/{names.component(str(service['name']))}")


def archive_client(ctx: PluginContext, client_id: int) -> None:
    """A deleted client's folder goes under ``Archive/`` (the hub never deletes in Dropbox)."""
    row = folder_of(ctx, client_id)
    if row is None or row.archived:
        return
    _move(ctx, row, f"{access.root_path(ctx)}/Archive/{row.path.rsplit('/', 1)[1]}")
    row.archived = True


def _move(ctx: PluginContext, row: ClientFolder, target: str) -> None:
    box = access.dropbox(ctx)
    try:
        moved = box.move(row.path, target)
    except RouteError as exc:
        # a try whose move was done but not recorded: the folder is at the target already
        found = box.metadata(target) if "not_found" in exc.summary else None
        if found is None:
            raise
        moved = found
    moved_under(ctx, row.path_lower, str(moved["path_display"]))
    row.path = str(moved["path_display"])
    row.path_lower = str(moved["path_lower"])


def render(row: ClientFolder) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "path": row.path,
        "shared_link": row.shared_link,
        "created_at": row.created_at,
    }
