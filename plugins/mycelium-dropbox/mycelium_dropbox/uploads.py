"""Uploads of any size: received as a stream into a spool file (hashed on the way), sent
within the request when small, else by a worker through an upload session in chunks,
resuming from the offset Dropbox confirmed after any fault.

An upload's row is the truth: its state, the session and the bytes Dropbox confirmed.
A large upload's row is made while the web process still receives it (its
``content_hash`` empty until the whole file is in): a worker sends each whole chunk as it
reaches the spool file, and finishes the session once the hash is known.
A worker holds a lease on it while sending; a worker that dies leaves the lease to expire
and the minute's sweep queues it again; an ``incorrect_offset`` answer (Dropbox took bytes
whose confirmation was lost) carries the offset to go on from.
"""

from __future__ import annotations

import mmap
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, update

from hub import HubError, NeedsReauth, PermanentError, PluginContext, RateLimited, now
from mycelium_dropbox import access, known
from mycelium_dropbox.client import DropboxClient, IncorrectOffset, InsufficientSpace, RouteError
from mycelium_dropbox.hashing import BLOCK
from mycelium_dropbox.models import Upload
from mycelium_dropbox.provider import FILE_UPLOAD

LEASE = timedelta(seconds=120)
BUDGET_SECONDS = 450.0  # within the job's 600 s; a longer upload goes on in a new job
MAX_ATTEMPTS = 8
PROGRESS_SECONDS = 1.0
REAUTH_WAIT_SECONDS = 900.0
RECEIVING_POLL_SECONDS = 0.01  # a look at the spool file while the web process writes it
RECEIVING_CHECK_SECONDS = 0.25  # a look at the row at least this often (the lease renewed)
RECEIVING_STALL_SECONDS = 60.0  # the spool has not grown: this job lets the upload wait
RECEIVING_WAIT_SECONDS = 30.0
# a quota or Retry-After this short is waited out in the job: the next pickup of an upload
# that waits is the minute's sweep, which would add up to a minute to a burst of chunks
SHORT_WAIT_SECONDS = 5.0
WAITING_FOR_FILE = "waiting for the file to be received"
NOT_RECEIVED_SECONDS = 3600.0  # the sweep fails an upload whose spool stopped this long ago
# the columns the web process sets once it has the whole file
RECEIVED = ("size", "content_hash", "target", "name", "client_id", "deliverable_id")
BACKOFF = (5, 30, 120, 300, 900, 1800, 3600)


def receiving(row: Upload) -> bool:
    """Is the web process still receiving the file (its hash not known yet)?"""
    return not row.content_hash


def spool_dir(ctx: PluginContext) -> Path:
    folder = Path(str(ctx.setting("HUB_VAR_DIR"))) / "dropbox-spool"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chunk_bytes(ctx: PluginContext) -> int:
    """DROPBOX_CHUNK_BYTES as a multiple of 4 MiB, within 4 and 148 MiB."""
    wanted = access.setting_int(ctx, "DROPBOX_CHUNK_BYTES")
    return min(max(wanted // BLOCK, 1), 37) * BLOCK


def commit_info(row: Upload) -> dict[str, Any]:
    return {"path": row.target, "mode": "add", "autorename": True, "mute": False}


# ----- within the request -----


def send_inline(ctx: PluginContext, row: Upload, spool: Path) -> None:
    """A small file: one ``files/upload`` call; the row ends succeeded or failed."""
    data = spool.read_bytes()  # at most DROPBOX_INLINE_UPLOAD_BYTES
    box = access.dropbox(ctx)
    with ctx.calls_for(FILE_UPLOAD):
        meta = box.upload({**commit_info(row), "content_hash": row.content_hash}, data)
    complete(ctx, row, meta, box)


# ----- in a worker -----


def claim(ctx: PluginContext, upload_id: int) -> Upload | None:
    """Take the lease on an upload that waits; None when another worker has it or it ended."""
    moment = now()
    stmt = (
        update(Upload)
        .where(
            Upload.org_id == ctx.org.id,
            Upload.id == upload_id,
            Upload.state.in_(("queued", "uploading")),
            or_(Upload.lease_until.is_(None), Upload.lease_until < moment),
            # a job queued twice does not cut a wait short (a retry's back-off)
            or_(Upload.next_attempt_at.is_(None), Upload.next_attempt_at <= moment),
        )
        .values(state="uploading", lease_until=moment + LEASE)
        .execution_options(synchronize_session=False)
    )
    claimed = ctx.db.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    ctx.db.commit()
    if not claimed:
        return None
    row = ctx.db.get(Upload, upload_id)
    if row is not None:
        ctx.db.refresh(row)
    return row


def send(ctx: PluginContext, upload_id: int) -> None:
    """Send an upload through its session until done, out of budget, or a fault."""
    row = claim(ctx, upload_id)
    if row is None:
        return
    try:
        _send(ctx, row, time.monotonic() + BUDGET_SECONDS)
    except RateLimited as exc:
        ctx.db.rollback()
        _wait(row, exc.retry_after, exc.message)
    except NeedsReauth as exc:  # waits for an admin to reconnect, counting no attempt
        ctx.db.rollback()
        _wait(row, REAUTH_WAIT_SECONDS, exc.message)
    except (PermanentError, RouteError) as exc:
        ctx.db.rollback()
        fail(ctx, row, exc)
    except HubError as exc:
        ctx.db.rollback()
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            fail(ctx, row, exc)
        else:
            _wait(row, BACKOFF[min(row.attempts, len(BACKOFF)) - 1], exc.message)
    ctx.db.commit()


def _wait(row: Upload, seconds: float, reason: str) -> None:
    row.lease_until = None
    row.next_attempt_at = now() + timedelta(seconds=seconds)
    row.last_error = reason


def _send(ctx: PluginContext, row: Upload, deadline: float) -> None:
    box, chunk = access.dropbox(ctx), chunk_bytes(ctx)
    spool = spool_dir(ctx) / str(row.spool)
    committed = time.monotonic()
    if not spool.is_file():
        raise PermanentError(
            f"The upload's spool file {spool} is gone: the web process and the workers must "
            "share HUB_VAR_DIR."
        )
    if receiving(row) and time.time() - spool.stat().st_mtime > NOT_RECEIVED_SECONDS:
        raise PermanentError("The file was never received whole (the web process stopped).")
    with open(spool, "rb") as source:
        watch = _Watch(source)
        while row.state == "uploading":
            if time.monotonic() > deadline:
                _wait(row, 0, "continued in a new job")
                access.enqueue_after_commit(ctx, "send_upload", ctx.org.id, row.id)
                ctx.db.commit()
                return
            if receiving(row) and not _whole_chunk(source, row, chunk):
                if not _received(ctx, row, watch, chunk) and (
                    time.monotonic() - watch.grown > RECEIVING_STALL_SECONDS
                ):
                    _wait(row, RECEIVING_WAIT_SECONDS, WAITING_FOR_FILE)
                    ctx.db.commit()
                    return
                committed = time.monotonic()
                continue
            session = row.session_id
            try:
                _step(ctx, box, row, source, chunk)
            except RateLimited as exc:
                if not _short_wait(exc, deadline):
                    raise
                time.sleep(exc.retry_after)  # nothing was sent: the same step again
                continue
            except IncorrectOffset as exc:
                too_many = not receiving(row) and exc.correct_offset > row.size
                if exc.correct_offset < 0 or too_many:
                    raise PermanentError("Dropbox holds more bytes than the file has.") from None
                row.bytes_sent = exc.correct_offset
            except RouteError as exc:
                if "not_found" not in exc.summary:
                    raise
                row.session_id, row.bytes_sent = None, 0  # the session expired: start again
            # progress is kept at most once a second (a new session at once): a try after a
            # fault learns the rest from Dropbox's incorrect_offset
            if row.session_id != session or time.monotonic() - committed >= PROGRESS_SECONDS:
                row.lease_until = now() + LEASE
                ctx.db.commit()
                committed = time.monotonic()


def _short_wait(exc: RateLimited, deadline: float) -> bool:
    """Is the wait `exc` asks for short enough to spend in this job (the lease holds)?"""
    wait = exc.retry_after
    return 0 <= wait <= SHORT_WAIT_SECONDS and time.monotonic() + wait < deadline


def _whole_chunk(source: Any, row: Upload, chunk: int) -> bool:
    """Is a whole chunk past what Dropbox has on disk already, and more after it (the file
    still arriving)? The last whole chunk waits for the end: it goes with the finish, so a
    file of whole chunks takes no extra call of an empty finish (of the quota's 50 a
    second)."""
    return os.fstat(source.fileno()).st_size - row.bytes_sent > chunk


class _Watch:
    """The spool file while the web process writes it: its size, when it last grew, and
    when the row was last looked at (and the lease renewed)."""

    def __init__(self, source: Any) -> None:
        self.source, self.size = source, -1
        self.grown = self.looked = self.renewed = time.monotonic()
        self.pause = RECEIVING_POLL_SECONDS  # before the next look at the row while still

    def grew(self) -> bool:
        size = os.fstat(self.source.fileno()).st_size
        if size == self.size:
            return False
        self.size, self.grown, self.pause = size, time.monotonic(), RECEIVING_POLL_SECONDS
        return True


def _received(ctx: PluginContext, row: Upload, watch: _Watch, chunk: int) -> bool:
    """Wait for the web process: the spool file looked at every few milliseconds, the row
    when the file stops growing (the web process may have it all: its end is seen within
    moments; a pause of the sender's is looked at less often the longer it lasts) and at
    least every RECEIVING_CHECK_SECONDS (committing the progress, renewing the lease).
    True when it moved on: a whole chunk is there, the whole file is received, or the
    upload ended."""
    while True:
        time.sleep(RECEIVING_POLL_SECONDS)
        if _whole_chunk(watch.source, row, chunk):
            return True
        grew, since = watch.grew(), time.monotonic() - watch.looked
        if since >= RECEIVING_CHECK_SECONDS or (not grew and since >= watch.pause):
            break
    watch.looked, watch.pause = time.monotonic(), min(watch.pause * 2, RECEIVING_CHECK_SECONDS)
    if watch.looked - watch.renewed >= RECEIVING_CHECK_SECONDS:
        row.lease_until, watch.renewed = now() + LEASE, watch.looked
    ctx.db.commit()  # what the web process committed since is seen (and the progress kept)
    ctx.db.expire(row, [*RECEIVED, "state"])
    return not receiving(row) or row.state != "uploading"


def _step(ctx: PluginContext, box: DropboxClient, row: Upload, source: Any, chunk: int) -> None:
    """One request of the session: start, append or finish (a file still arriving: a
    whole chunk, never the finish)."""
    if receiving(row):
        data = _piece(source, row.bytes_sent, chunk)
        if row.session_id is None:
            row.session_id, row.bytes_sent = box.session_start(data), len(data)
        else:
            box.session_append(row.session_id, row.bytes_sent, data)
            row.bytes_sent += len(data)
        return
    remaining = row.size - row.bytes_sent
    if row.session_id is None:
        data = _piece(source, 0, min(chunk, row.size))
        row.session_id, row.bytes_sent = box.session_start(data), len(data)
        return
    if remaining > chunk:
        data = _piece(source, row.bytes_sent, chunk)
        box.session_append(row.session_id, row.bytes_sent, data)
        row.bytes_sent += len(data)
        return
    data = _piece(source, row.bytes_sent, remaining)
    with ctx.calls_for(FILE_UPLOAD):
        meta = box.session_finish(row.session_id, row.bytes_sent, commit_info(row), data)
    row.bytes_sent = row.size
    complete(ctx, row, meta, box)


def _piece(source: Any, offset: int, size: int) -> memoryview | bytes:
    """Up to `size` bytes of the spool file from `offset` (fewer at its end), mapped, not
    read: the socket takes them from the page cache, with no copy in this process (a read
    copies the whole file once more: 0.17 s of CPU a GiB, the worker's largest part).
    The mapping ends with the last view of it (the call's)."""
    size = min(size, os.fstat(source.fileno()).st_size - offset)
    if size <= 0:
        return b""
    start = offset - offset % mmap.ALLOCATIONGRANULARITY  # a mapping starts on a page
    mapped = mmap.mmap(
        source.fileno(), offset + size - start, offset=start, access=mmap.ACCESS_READ
    )
    return memoryview(mapped)[offset - start :]


# ----- the end -----


def complete(ctx: PluginContext, row: Upload, meta: dict[str, Any], box: DropboxClient) -> None:
    """Dropbox has the file: check its hash, share it when client visible, record it."""
    if meta.get("content_hash") != row.content_hash:
        raise PermanentError(
            f"Dropbox's content hash {meta.get('content_hash')} is not the file's "
            f"{row.content_hash}: the file was damaged on the way."
        )
    row.file_id, row.rev = str(meta["id"]), str(meta.get("rev") or "")
    row.path, row.name = str(meta["path_display"]), str(meta["name"])
    if row.client_visible:
        row.shared_link = box.shared_link(row.path)
    row.state, row.finished_at, row.lease_until, row.last_error = "succeeded", now(), None, None
    known.remember(ctx, row.path, row.client_id, row.rev)
    ctx.emit("dropbox.file_uploaded", {**file_view(row), "uploaded_by": _uploader(row)})
    _remove_spool(ctx, row)


def fail(ctx: PluginContext, row: Upload, error: HubError) -> None:
    row.state, row.finished_at, row.lease_until = "failed", now(), None
    row.last_error = error.message
    if isinstance(error, InsufficientSpace):
        ctx.log.error("dropbox is full: upload %s of %s bytes refused", row.id, row.size)
        ctx.emit(
            "dropbox.insufficient_space",
            {"upload_id": row.id, "client_id": row.client_id, "name": row.name, "size": row.size},
        )
    _remove_spool(ctx, row)


def _remove_spool(ctx: PluginContext, row: Upload) -> None:
    if row.spool:
        (spool_dir(ctx) / row.spool).unlink(missing_ok=True)
        row.spool = None


def _uploader(row: Upload) -> dict[str, Any] | None:
    return {"id": row.user_id, "name": row.user_name} if row.user_id else None


def file_view(row: Upload) -> dict[str, Any]:
    """A finished upload as the API and the event show it."""
    return {
        "file_id": row.file_id,
        "client_id": row.client_id,
        "deliverable_id": row.deliverable_id,
        "path": row.path,
        "name": row.name,
        "size": row.size,
        "content_hash": row.content_hash,
        "shared_link": row.shared_link,
    }


def upload_view(row: Upload) -> dict[str, Any]:
    """An upload's progress (``GET uploads/<id>``)."""
    return {
        "upload_id": row.id,
        "state": row.state,
        "name": row.name,
        "size": row.size,
        "bytes_sent": row.bytes_sent,
        "client_id": row.client_id,
        "deliverable_id": row.deliverable_id,
        "error": row.last_error if row.state == "failed" else None,
        "result": file_view(row) if row.state == "succeeded" else None,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
    }
