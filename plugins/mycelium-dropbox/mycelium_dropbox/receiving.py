"""The upload route's body: a multipart form streamed into a spool file (hashed on the
way, never held in memory), its fields checked, and the Dropbox path chosen by the
seed's rule: ``Final Deliverables/<service>/<name>`` when client visible, else
``Work in Progress/<service>/<name>``, under the client's stored folder."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import request
from werkzeug.wsgi import get_input_stream

import hub
from hub import (
    Caller,
    Client,
    Conflict,
    Deliverable,
    HubError,
    PermanentError,
    PluginContext,
    ValidationError,
)
from mycelium_dropbox import access, folders, multipart, names, uploads
from mycelium_dropbox.hashing import SpoolFile
from mycelium_dropbox.models import Upload

FIELDS = {"client_id", "deliverable_id", "service_type", "client_visible"}
MAX_ID = 2**31 - 1


@dataclass
class Received:
    spool: SpoolFile
    filename: str
    form: dict[str, str]
    early: Upload | None = None  # the row a worker sends from while the file arrives


def receive(ctx: PluginContext, caller: Caller, limit: int, early_after: int) -> Received:
    """Parse the form; exactly one ``file`` part, streamed to disk.

    Once more than `early_after` bytes of the file are on disk, and the fields that came
    before it make a valid upload, the upload's row is committed and a worker queued: it
    sends the file's whole chunks as they arrive, while the rest is still received. A
    form that is refused in the end, or a body that does not arrive whole, fails it."""
    made: list[SpoolFile] = []
    early: list[Upload] = []
    folder = uploads.spool_dir(ctx)

    def on_file(name: str, filename: str, form: multipart.Form) -> multipart.Sink | None:
        if name != "file" or len(made) >= 1:
            return None  # refused below; its bytes are not kept
        spool = SpoolFile(folder / f"{secrets.token_hex(16)}.part")
        made.append(spool)
        tried = False

        def sink(data: memoryview) -> None:
            nonlocal tried
            spool.write(data)
            if not tried and spool.size > early_after:
                tried = True
                row = _start_early(ctx, caller, spool, filename, form)
                early.extend([row] if row is not None else [])

        return sink

    try:
        if request.mimetype != "multipart/form-data":
            raise ValidationError("Send multipart/form-data.", {"file": ["A file is required."]})
        boundary = request.mimetype_params.get("boundary", "").encode("latin-1", "replace")
        # the body's own end (its length, or the chunked end): never read past it into a
        # kept-alive connection; a declared length past the limit is a 413 at once
        body = get_input_stream(request.environ, max_content_length=limit)
        form = multipart.FormParser(body, boundary, limit, on_file).parse()
        got = _checked(form, made)
        got.early = early[0] if early else None
        return got
    except BaseException as exc:
        if early:
            abandon(ctx, early[0], exc)
        discard(made)
        raise


def _start_early(
    ctx: PluginContext, caller: Caller, spool: SpoolFile, filename: str, form: multipart.Form
) -> Upload | None:
    """The upload's row from the fields so far, committed, and a worker queued; None when
    they do not make a valid upload yet (the whole form is judged at its end)."""
    values = {k: v[0] for k, v in form.fields.items() if k in FIELDS and len(v) == 1}
    try:
        row = new_upload(ctx, caller, Received(spool, filename, values))
    except HubError:
        ctx.db.rollback()
        return None
    row.size, row.content_hash = 0, ""  # known once the whole file is in
    ctx.db.add(row)
    ctx.db.flush()
    access.enqueue_after_commit(ctx, "send_upload", ctx.org.id, row.id)
    ctx.db.commit()
    return row


def finish_early(ctx: PluginContext, caller: Caller, got: Received) -> Upload:
    """The whole file is in: the early row gets what the whole form says (fields after
    the file too), its size and its hash; the worker then finishes the session."""
    row = got.early
    assert row is not None
    final = new_upload(ctx, caller, got)
    for name in ("client_id", "deliverable_id", "service_type", "client_visible", "name"):
        setattr(row, name, getattr(final, name))
    row.target, row.size, row.content_hash = final.target, final.size, final.content_hash
    if row.last_error == uploads.WAITING_FOR_FILE:  # its worker stopped waiting: at once
        row.next_attempt_at, row.last_error = hub.now(), None
    return row


def abandon(ctx: PluginContext, row: Upload, error: BaseException) -> None:
    """An upload started early whose body or form was refused: failed, its worker stops."""
    ctx.db.rollback()
    found = ctx.db.get(Upload, row.id)
    if found is None or found.state in ("succeeded", "failed"):
        return
    reason = error.message if isinstance(error, HubError) else type(error).__name__
    uploads.fail(ctx, found, PermanentError(f"The upload was not received whole: {reason}"))
    ctx.db.commit()


def _checked(form: multipart.Form, made: list[SpoolFile]) -> Received:
    names = set(form.fields) | {name for name, _ in form.files}
    unknown = sorted(names - FIELDS - {"file"})
    if unknown:
        raise ValidationError("Unknown fields.", {k: ["Unknown field."] for k in unknown})
    repeated = sorted(k for k, v in form.fields.items() if len(v) > 1)
    if repeated:
        raise ValidationError("Repeated fields.", {k: ["Given once."] for k in repeated})
    got = [filename for name, filename in form.files if name == "file"]
    if len(got) != 1 or not got[0] or "file" in form.fields:
        raise ValidationError("Send one file.", {"file": ["Exactly one file, with a name."]})
    spool = made[0]
    spool.flush()
    values = {k: v[0] for k, v in form.fields.items()}
    return Received(spool, got[0], values)


def discard(spools: list[SpoolFile]) -> None:
    for spool in spools:
        spool.close()
        spool.path.unlink(missing_ok=True)


def _int(form: dict[str, str], name: str) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise ValidationError("Invalid id.", {name: ["A positive integer id."]})
    return int(value)


def _bool(form: dict[str, str], name: str) -> bool | None:
    value = form.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise ValidationError("Invalid boolean.", {name: ["`true` or `false`."]})
    return value == "true"


def new_upload(ctx: PluginContext, caller: Caller, got: Received) -> Upload:
    """The upload's row from the form (not yet added): checked fields, the target path."""
    client_id = _int(got.form, "client_id")
    if client_id is None:
        raise ValidationError("client_id is required.", {"client_id": ["Required."]})
    deliverable = _deliverable(ctx, client_id, _int(got.form, "deliverable_id"))
    folder = folders.folder_of(ctx, client_id)
    if folder is None or folder.archived:
        _no_folder(ctx, client_id)
    assert folder is not None
    service = got.form.get("service_type")
    if service is None and deliverable is not None and deliverable.service_type is not None:
        service = deliverable.service_type.name
    if service is not None and not 1 <= len(service) <= 100:
        raise ValidationError("Invalid service type.", {"service_type": ["1 to 100 characters."]})
    visible = _bool(got.form, "client_visible")
    if visible is None:
        visible = bool(deliverable.client_visible) if deliverable is not None else False
    name = names.component(got.filename, fallback="file")
    place = "Final Deliverables" if visible else "Work in Progress"
    service_part = f"/{names.component(service)}" if service else ""
    user = caller.user
    return Upload(
        org_id=ctx.org.id,
        client_id=client_id,
        deliverable_id=deliverable.id if deliverable is not None else None,
        service_type=service,
        client_visible=visible,
        name=name,
        target=f"{folder.path}/{place}{service_part}/{name}",
        spool=Path(got.spool.path).name,
        size=got.spool.size,
        content_hash=got.spool.hexdigest(),
        user_id=user.id if user else None,
        user_name=user.name if user else None,
    )


def _deliverable(
    ctx: PluginContext, client_id: int, deliverable_id: int | None
) -> Deliverable | None:
    client = ctx.db.get(Client, client_id)
    if client is None or client.org_id != ctx.org.id:
        raise ValidationError("No such client.", {"client_id": ["No such client."]})
    if deliverable_id is None:
        return None
    found = ctx.db.get(Deliverable, deliverable_id)
    if found is None or found.org_id != ctx.org.id or found.client_id != client_id:
        raise ValidationError(
            "No such deliverable of this client.", {"deliverable_id": ["Not this client's."]}
        )
    return found


def _no_folder(ctx: PluginContext, client_id: int) -> None:
    hub.enqueue("mycelium_dropbox.jobs.client_tree", ctx.org.id, client_id)
    raise Conflict(
        "The client's Dropbox folder is not made yet (it is being made); try again shortly.",
        {"client_id": ["No Dropbox folder yet."]},
    )
