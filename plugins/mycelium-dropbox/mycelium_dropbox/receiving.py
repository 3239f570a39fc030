"""The upload route's body: a multipart form streamed into a spool file (hashed on the
way, never held in memory), its fields checked, and the Dropbox path chosen by the
seed's rule: ``Final Deliverables/<service>/<name>`` when client visible, else
``Work in Progress/<service>/<name>``, under the client's stored folder."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from flask import request
from werkzeug.formparser import parse_form_data
from werkzeug.wsgi import get_input_stream

import hub
from hub import Caller, Client, Conflict, Deliverable, PluginContext, ValidationError
from mycelium_dropbox import folders, names, uploads
from mycelium_dropbox.hashing import SpoolFile
from mycelium_dropbox.models import Upload

FIELDS = {"client_id", "deliverable_id", "service_type", "client_visible"}
READ_BUFFER = 1024 * 1024  # the form parser reads 64 KiB at a time: few large socket reads
MAX_ID = 2**31 - 1


@dataclass
class Received:
    spool: SpoolFile
    filename: str
    form: dict[str, str]


def receive(ctx: PluginContext, limit: int) -> Received:
    """Parse the form; exactly one ``file`` part, streamed to disk."""
    made: list[SpoolFile] = []
    folder = uploads.spool_dir(ctx)

    def factory(
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        made.append(SpoolFile(folder / f"{secrets.token_hex(16)}.part"))
        return cast(IO[bytes], made[-1])

    try:
        # the body's own end (its length, or the chunked end) under the buffer: the buffer
        # never reads past it into a kept-alive connection
        body = get_input_stream(request.environ, max_content_length=limit)
        environ = {**request.environ, "wsgi.input": _buffered(body)}
        _, form, files = parse_form_data(
            environ, stream_factory=factory, max_content_length=limit, silent=False
        )
        return _checked(form, files, made)
    except BaseException:
        discard(made)
        raise


class _Raw(io.RawIOBase):
    """The server's input stream as a raw stream, so a BufferedReader can sit on it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _buffered(stream: Any) -> io.BufferedReader:
    return io.BufferedReader(_Raw(stream), READ_BUFFER)


def _checked(form: Any, files: Any, made: list[SpoolFile]) -> Received:
    if request.mimetype != "multipart/form-data":
        raise ValidationError("Send multipart/form-data.", {"file": ["A file is required."]})
    unknown = sorted((set(form) | set(files)) - FIELDS - {"file"})
    if unknown:
        raise ValidationError("Unknown fields.", {k: ["Unknown field."] for k in unknown})
    got = files.getlist("file")
    if len(got) != 1 or not got[0].filename:
        raise ValidationError("Send one file.", {"file": ["Exactly one file, with a name."]})
    spool = got[0].stream
    assert isinstance(spool, SpoolFile)
    spool.flush()
    discard([s for s in made if s is not spool])
    values = {k: str(form[k]) for k in FIELDS if k in form}
    return Received(spool, str(got[0].filename), values)


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
        size=got.spool.hasher.size,
        content_hash=got.spool.hasher.hexdigest(),
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
