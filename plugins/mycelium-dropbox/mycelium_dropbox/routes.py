"""Routes under ``/api/integrations/dropbox/``: uploads and files, client folders, and
Dropbox's webhook."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

import hub
from hub import (
    HubError,
    NeedsReauth,
    NotFound,
    PermanentError,
    api_route,
    current_caller,
    current_context,
    own_body_limit,
    public_route,
)
from mycelium_dropbox import access, folders, jobs, receiving, schemas, uploads, webhook
from mycelium_dropbox.client import RouteError
from mycelium_dropbox.models import Upload

bp = Blueprint("dropbox", __name__)
NOTIFIED = {"type": "object"}
INLINE_CAP = 150 * 1024 * 1024  # files/upload takes no more; the request holds it in memory


def _id(value: str, what: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= schemas.MAX_ID:
        raise NotFound(f"No such {what} in this organization.")
    return int(value)


@bp.post("/upload")
@own_body_limit("DROPBOX_MAX_UPLOAD_BYTES")
@api_route(
    response=schemas.FileOut,
    status=201,
    form=schemas.UPLOAD_FORM,
    responses=schemas.UPLOAD_ANSWERS,
)
def upload() -> Any:
    """Upload a file into a client's folder: 201 with the file, or 202 queued for a worker.

    ``multipart/form-data``: ``file``, ``client_id``, ``deliverable_id``, ``service_type``,
    ``client_visible``. Small files are sent within the request (201 with the file), larger
    ones answer 202 with an ``upload_id`` a worker sends."""
    ctx, caller = current_context(), current_caller()
    inline = min(access.setting_int(ctx, "DROPBOX_INLINE_UPLOAD_BYTES"), INLINE_CAP)
    limit = access.setting_int(ctx, "DROPBOX_MAX_UPLOAD_BYTES")
    got = receiving.receive(ctx, caller, limit, early_after=inline)
    try:
        if got.early is not None:  # a worker is sending it already
            row = receiving.finish_early(ctx, caller, got)
        else:
            row = receiving.new_upload(ctx, caller, got)
    except BaseException as exc:
        if got.early is not None:
            receiving.abandon(ctx, got.early, exc)
        receiving.discard([got.spool])
        raise
    got.spool.close()
    if got.early is not None:
        return _queued(ctx, row)
    ctx.db.add(row)
    ctx.db.flush()
    if row.size <= inline:
        return _inline(ctx, row, got)
    return _queued(ctx, row)


def _inline(ctx: Any, row: Upload, got: receiving.Received) -> Any:
    try:
        uploads.send_inline(ctx, row, got.spool.path)
    except (PermanentError, NeedsReauth, RouteError) as exc:
        uploads.fail(ctx, row, exc)
        ctx.db.commit()
        raise
    except HubError as exc:  # rate limited, Dropbox failing: a worker sends it later
        ctx.log.info("dropbox upload %s queued: %s", row.id, exc.message)
        row.last_error = exc.message
        return _queued(ctx, row)
    ctx.db.commit()
    response = jsonify(uploads.file_view(row))
    response.status_code = 201
    return response


def _queued(ctx: Any, row: Upload) -> Any:
    access.enqueue_after_commit(ctx, "send_upload", ctx.org.id, row.id)
    ctx.db.commit()
    response = jsonify({"upload_id": row.id, "state": "queued"})
    response.status_code = 202
    response.headers["Location"] = f"{request.path.rsplit('/', 1)[0]}/uploads/{row.id}"
    return response


@bp.get("/uploads/<upload_id>")
@api_route(response=schemas.UploadOut)
def get_upload(upload_id: str) -> Any:
    """An upload's state, bytes sent, and its file once it succeeded."""
    ctx = current_context()
    row = ctx.db.get(Upload, _id(upload_id, "upload"))
    if row is None or row.org_id != ctx.org.id:
        raise NotFound("No such upload in this organization.")
    return jsonify(uploads.upload_view(row))


@bp.get("/files")
@api_route(query=schemas.FileQuery, response=schemas.FileOut, many=True)
def list_files(query: dict[str, Any]) -> Any:
    """Files uploaded through the hub, newest first, of a client or a deliverable."""
    ctx = current_context()
    stmt = select(Upload).where(Upload.org_id == ctx.org.id, Upload.state == "succeeded")
    for name in ("client_id", "deliverable_id"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(Upload, name) == query[name])
    rows = ctx.db.scalars(stmt.order_by(Upload.id.desc()).limit(query["limit"]))
    return jsonify({"items": [uploads.file_view(r) for r in rows], "next_cursor": None})


@bp.get("/clients/<client_id>")
@api_route(response=schemas.ClientFolderOut)
def client_folder(client_id: str) -> Any:
    """A client's Dropbox folder and its team link."""
    ctx = current_context()
    row = folders.folder_of(ctx, _id(client_id, "client folder"))
    if row is None:
        raise NotFound("This client has no Dropbox folder.")
    return jsonify(folders.render(row))


@bp.get("/webhook")
@public_route
@api_route(query=schemas.ChallengeQuery, media_type="text/plain")
def webhook_challenge(query: dict[str, Any]) -> Any:
    """Dropbox's verification: the challenge echoed as text."""
    response = Response(query["challenge"], content_type="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/webhook")
@public_route
@api_route(response=NOTIFIED)
def webhook_notification() -> Any:
    """Dropbox's notification: the signature checked on the raw body before anything else
    (401), then one coalesced sync queued per listed account."""
    body = request.get_data(cache=True)
    webhook.verify(body, request.headers.get("X-Dropbox-Signature"))
    queued = 0
    for account in webhook.accounts(body):
        ctx = hub.find_integration("dropbox", account)
        if ctx is not None and access.connected(ctx):
            queued += jobs.queue_sync(ctx)
    hub.db_session().commit()
    return jsonify({"ok": True, "queued": queued})
