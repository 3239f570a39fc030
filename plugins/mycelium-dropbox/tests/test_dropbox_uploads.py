"""Uploads of any size: small files within the request (201), larger ones streamed to a
spool file and sent by a worker through an upload session (202), resumed from the offset
Dropbox confirmed, checked against Dropbox's content hash, recorded and announced."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from dropbox_helpers import (
    MIB,
    ROOT,
    dropbox_hash,
    events_of,
    make_client,
    make_service_type,
    sweep_uploads,
    upload,
)

from hub.testing import run_jobs


@pytest.fixture
def hub_config(hub_config):
    return {
        **hub_config,
        "DROPBOX_INLINE_UPLOAD_BYTES": str(MIB),
        "DROPBOX_CHUNK_BYTES": str(4 * MIB),
        "DROPBOX_MAX_UPLOAD_BYTES": str(24 * MIB),
    }


@pytest.fixture
def globex(app, api, connected):
    video = make_service_type(api, "Video")
    made = make_client(api, "Globex", service_type_ids=[video["id"]])
    run_jobs(app)
    return made


def spooled(app) -> list[str]:
    folder = Path(app.config["HUB_VAR_DIR"]) / "dropbox-spool"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_a_small_file_lands_within_the_request(app, api, connected, globex):
    data = os.urandom(300_000)
    response = upload(api, data, "Cut 1.mov", client_id=globex["id"], service_type="Video")
    assert response.status_code == 201, response.json
    body = response.json
    path = f"{ROOT}/Clients/Globex/Work in Progress/Video/Cut 1.mov"
    assert body["path"] == path and body["name"] == "Cut 1.mov" and body["size"] == 300_000
    assert body["content_hash"] == dropbox_hash(data) == connected.entry(path)["content_hash"]
    assert body["file_id"].startswith("id:") and body["shared_link"] is None
    assert connected.calls("files/upload")[0]["host"] == "content"
    [event] = events_of(api, "dropbox.file_uploaded")
    assert event["path"] == path and event["uploaded_by"]["name"] == "Ada Admin"
    listed = api.get(f"/api/integrations/dropbox/files?client_id={globex['id']}").json
    assert [f["file_id"] for f in listed["items"]] == [body["file_id"]]
    assert spooled(app) == []


def test_a_client_visible_file_goes_to_final_deliverables_with_a_link(app, api, globex):
    deliverable = api.post(
        "/api/deliverables",
        json={
            "client_id": globex["id"],
            "title": "Launch video",
            "client_visible": True,
            "service_type_id": globex["service_types"][0]["id"],
        },
    ).json
    response = upload(
        api, b"final cut", "final.mp4", client_id=globex["id"], deliverable_id=deliverable["id"]
    )
    assert response.status_code == 201, response.json
    assert response.json["path"] == f"{ROOT}/Clients/Globex/Final Deliverables/Video/final.mp4"
    assert response.json["shared_link"].startswith("https://www.dropbox.com/s/")
    listed = api.get(f"/api/integrations/dropbox/files?deliverable_id={deliverable['id']}").json
    assert len(listed["items"]) == 1


def test_a_member_may_upload(member_api, globex):
    response = upload(member_api, b"notes", "notes.txt", client_id=globex["id"])
    assert response.status_code == 201
    assert response.json["path"] == f"{ROOT}/Clients/Globex/Work in Progress/notes.txt"


def test_a_large_file_is_queued_and_sent_in_chunks(app, api, connected, globex):
    data = os.urandom(10 * MIB + 123)
    response = upload(api, data, "master.mov", client_id=globex["id"], client_visible=True)
    assert response.status_code == 202, response.json
    upload_id = response.json["upload_id"]
    assert response.json == {"upload_id": upload_id, "state": "queued"}
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "queued" and shown["bytes_sent"] == 0 and shown["result"] is None
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "succeeded" and shown["bytes_sent"] == len(data)
    assert shown["result"]["content_hash"] == dropbox_hash(data)
    assert shown["result"]["shared_link"]
    routes = [c["route"] for c in connected.calls() if "upload_session" in c["route"]]
    assert routes == [
        "files/upload_session/start",
        "files/upload_session/append_v2",
        "files/upload_session/finish",
    ]
    sizes = [c["size"] for c in connected.calls() if "upload_session" in c["route"]]
    assert sizes == [4 * MIB, 4 * MIB, 2 * MIB + 123]
    assert connected.entry(shown["result"]["path"])["size"] == len(data)
    assert spooled(app) == []
    assert len(events_of(api, "dropbox.file_uploaded")) == 1


def test_a_lost_answer_resumes_from_the_offset_dropbox_confirms(
    app, api, connected, globex, hub_clock
):
    data = os.urandom(14 * MIB)
    connected.fail_after("files/upload_session/append_v2")  # Dropbox took it, the answer is lost
    upload_id = upload(api, data, "big.mov", client_id=globex["id"]).json["upload_id"]
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "uploading" and shown["bytes_sent"] == 4 * MIB
    assert spooled(app)  # kept for the next try
    hub_clock.advance(seconds=6)
    assert sweep_uploads(app) == [upload_id]
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "succeeded", shown
    assert shown["result"]["content_hash"] == dropbox_hash(data)
    appends = [
        c["arg"]["cursor"]["offset"] for c in connected.calls("files/upload_session/append_v2")
    ]
    assert appends == [4 * MIB, 4 * MIB, 8 * MIB]  # the repeat learnt 8 MiB from incorrect_offset
    assert connected.entry(shown["result"]["path"])["size"] == len(data)


def test_a_failing_dropbox_is_retried_and_a_rate_limit_waits(
    app, api, connected, globex, hub_clock
):
    data = os.urandom(6 * MIB)
    connected.rate_limit_next("too_many_write_operations", retry_after=30)
    upload_id = upload(api, data, "a.mov", client_id=globex["id"]).json["upload_id"]
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "uploading" and shown["bytes_sent"] == 0
    hub_clock.advance(seconds=10)
    assert sweep_uploads(app) == []  # Retry-After not reached
    hub_clock.advance(seconds=21)
    connected.fail_next(503)
    assert sweep_uploads(app) == [upload_id]
    run_jobs(app)
    hub_clock.advance(seconds=6)
    sweep_uploads(app)
    run_jobs(app)
    assert api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json["state"] == "succeeded"


def test_a_short_rate_limit_is_waited_out_in_the_job(app, api, connected, globex):
    """A quota of a second (Dropbox's per-second burst, a short Retry-After) does not leave
    the upload to the minute's sweep: the job waits and goes on."""
    data = os.urandom(6 * MIB)
    connected.rate_limit_next("too_many_write_operations", retry_after=1)
    upload_id = upload(api, data, "a.mov", client_id=globex["id"]).json["upload_id"]
    started = time.monotonic()
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "succeeded", shown
    assert time.monotonic() - started >= 1  # Retry-After honoured
    assert connected.entry(shown["result"]["path"])["size"] == len(data)


def test_a_damaged_file_fails_the_upload(app, api, connected, globex):
    connected.corrupt_next = True
    upload_id = upload(api, os.urandom(5 * MIB), "x.bin", client_id=globex["id"]).json["upload_id"]
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "failed" and "content hash" in shown["error"]
    assert spooled(app) == []
    assert api.get("/api/integrations/dropbox/files").json["items"] == []


def test_a_small_damaged_file_is_sent_again_by_a_worker(app, api, connected, globex):
    connected.corrupt_next = True  # Dropbox refuses it: content_hash_mismatch
    response = upload(api, b"hello world", "hello.txt", client_id=globex["id"])
    assert response.status_code == 202
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{response.json['upload_id']}").json
    assert shown["state"] == "succeeded"
    assert shown["result"]["content_hash"] == dropbox_hash(b"hello world")


def test_a_full_dropbox_is_a_507_and_an_alert(app, api, connected, globex):
    connected.store.allocated = 1000
    response = upload(api, os.urandom(2000), "big.psd", client_id=globex["id"])
    assert response.status_code == 507 and response.json["error"]["code"] == "insufficient_space"
    [alert] = events_of(api, "dropbox.insufficient_space")
    assert alert["name"] == "big.psd" and alert["size"] == 2000
    assert spooled(app) == []


def test_an_expired_token_is_refreshed_and_the_upload_retried(api, connected, globex):
    connected.expire_access_tokens()
    response = upload(api, b"data", "d.txt", client_id=globex["id"])
    assert response.status_code == 201
    assert connected.oauth.counts["refresh_token"] == 1


def test_past_the_upload_limit_is_a_413_and_nothing_is_kept(app, api, globex):
    response = upload(api, os.urandom(25 * MIB), "huge.bin", client_id=globex["id"])
    assert response.status_code == 413
    assert "25165824" in str(response.json["error"]["details"])
    assert spooled(app) == []
    assert api.get("/api/integrations/dropbox/files").json["items"] == []


def chunked(api, body: bytes, content_type: str):
    """The body sent with Transfer-Encoding: chunked (no Content-Length)."""
    import io

    return api.post(
        "/api/integrations/dropbox/upload",
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_upload_is_read_to_its_end_and_held_to_the_limit(app, api, globex):
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    data = os.urandom(3 * MIB)
    boundary, body = encode_multipart(
        {"client_id": str(globex["id"]), "file": FileStorage(io.BytesIO(data), filename="c.bin")}
    )
    kind = f"multipart/form-data; boundary={boundary}"
    accepted = chunked(api, body, kind)
    assert accepted.status_code == 202, accepted.json
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{accepted.json['upload_id']}").json
    assert shown["result"]["content_hash"] == dropbox_hash(data)
    boundary, huge = encode_multipart(
        {
            "client_id": str(globex["id"]),
            "file": FileStorage(io.BytesIO(os.urandom(25 * MIB)), filename="h.bin"),
        }
    )
    refused = chunked(api, huge, f"multipart/form-data; boundary={boundary}")
    assert refused.status_code == 413
    assert spooled(app) == []


def test_the_route_is_exempt_from_the_hubs_body_limit(api, globex):
    response = upload(api, os.urandom(3 * MIB), "3mib.bin", client_id=globex["id"])
    assert response.status_code == 202  # HUB_MAX_BODY_BYTES is 1 MiB


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "client_id"),
        ({"client_id": "abc"}, "client_id"),
        ({"client_id": 999999}, "client_id"),
        ({"client_visible": "yes"}, "client_visible"),
        ({"deliverable_id": 999999}, "deliverable_id"),
        ({"colour": "red"}, "colour"),
        ({"service_type": "x" * 101}, "service_type"),
    ],
)
def test_bad_fields_are_400s_naming_them_and_change_nothing(app, api, globex, fields, field):
    fields = {"client_id": globex["id"], **fields} if field != "client_id" else fields
    response = upload(api, b"data", "d.txt", **fields)
    assert response.status_code == 400 and field in response.json["error"]["details"]
    assert spooled(app) == []
    assert api.get("/api/integrations/dropbox/files").json["items"] == []


def test_no_file_is_a_400_naming_it(api, globex):
    response = api.post(
        "/api/integrations/dropbox/upload",
        data={"client_id": str(globex["id"])},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "file" in response.json["error"]["details"]
    as_json = api.post("/api/integrations/dropbox/upload", json={"client_id": globex["id"]})
    assert as_json.status_code == 400 and "file" in as_json.json["error"]["details"]


def test_another_orgs_upload_is_a_404(api, other_api, globex):
    upload_id = upload(api, os.urandom(2 * MIB), "a.bin", client_id=globex["id"]).json["upload_id"]
    assert other_api.get(f"/api/integrations/dropbox/uploads/{upload_id}").status_code == 404
    assert api.get("/api/integrations/dropbox/uploads/abc").status_code == 404


def test_an_upload_whose_worker_died_is_resumed_after_its_lease(
    app, api, org, connected, globex, hub_clock
):
    """A worker took the lease, sent two chunks (the second one unrecorded) and died."""
    from mycelium_dropbox import access, uploads

    import hub
    from hub.extensions import db

    data = os.urandom(14 * MIB)
    upload_id = upload(api, data, "died.mov", client_id=globex["id"]).json["upload_id"]
    with app.app_context():
        ctx = hub.context_for("dropbox", org.id)
        row = uploads.claim(ctx, upload_id)
        box = access.dropbox(ctx)
        with open(uploads.spool_dir(ctx) / row.spool, "rb") as source:
            uploads._step(ctx, box, row, source, 4 * MIB)  # start: 4 MiB
            ctx.db.commit()
            uploads._step(ctx, box, row, source, 4 * MIB)  # append: Dropbox has 8 MiB
        db.session.remove()  # the worker dies: its last offset never committed
    assert sweep_uploads(app) == []  # its lease still holds
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert (shown["state"], shown["bytes_sent"]) == ("uploading", 4 * MIB)
    hub_clock.advance(seconds=121)
    assert sweep_uploads(app) == [upload_id]
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "succeeded"
    assert shown["result"]["content_hash"] == dropbox_hash(data)
    assert len(connected.calls("files/upload_session/start")) == 1  # the same session


def test_a_spool_file_the_worker_cannot_see_fails_the_upload_naming_why(app, api, globex):
    upload_id = upload(api, os.urandom(2 * MIB), "lost.bin", client_id=globex["id"]).json[
        "upload_id"
    ]
    for name in spooled(app):
        (Path(app.config["HUB_VAR_DIR"]) / "dropbox-spool" / name).unlink()
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "failed" and "HUB_VAR_DIR" in shown["error"]


def test_a_refused_refresh_makes_a_queued_upload_wait_not_fail(app, api, connected, globex):
    connected.expire_access_tokens()
    connected.oauth.refresh_tokens.clear()  # invalid_grant: an admin must reconnect
    upload_id = upload(api, os.urandom(2 * MIB), "w.bin", client_id=globex["id"]).json["upload_id"]
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{upload_id}").json
    assert shown["state"] == "uploading" and shown["error"] is None
    assert spooled(app)  # kept for after the reconnect


def test_the_answers_are_what_the_openapi_document_says(client, api, globex):
    from openapi_schema_validator import OAS30Validator

    spec = client.get("/api/openapi.json").get_json()
    answers = spec["paths"]["/api/integrations/dropbox/upload"]["post"]["responses"]

    def check(response, status: int) -> None:
        assert response.status_code == status, response.json
        schema = answers[str(status)]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        OAS30Validator(schema).validate(response.json)

    check(upload(api, b"small", "s.txt", client_id=globex["id"]), 201)
    check(upload(api, os.urandom(2 * MIB), "l.bin", client_id=globex["id"]), 202)
    check(upload(api, os.urandom(25 * MIB), "h.bin", client_id=globex["id"]), 413)
    check(upload(api, b"x", "x.txt", client_id="nope"), 400)


class Arriving(io.RawIOBase):
    """A request body that arrives in pieces: past `pause_at` bytes, `on_pause()` runs once
    (and may wait on something) before the rest comes."""

    def __init__(self, body: bytes, pause_at: int, on_pause) -> None:
        self._body, self._at, self._pause_at, self._on_pause = body, 0, pause_at, on_pause

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = 0) -> int:  # the test client measures it
        self._at = {0: offset, 1: self._at + offset, 2: len(self._body) + offset}[whence]
        return self._at

    def readinto(self, buffer) -> int:
        if self._on_pause is not None and self._at >= self._pause_at:
            self._on_pause()
            self._on_pause = None
        end = min(self._at + min(len(buffer), 256 * 1024), len(self._body))
        if self._on_pause is not None:
            end = min(end, max(self._pause_at, self._at + 1))
        buffer[: end - self._at] = self._body[self._at : end]
        taken, self._at = end - self._at, end
        return taken


def upload_while_arriving(app, api, connected, client_id, data, name):
    """POST `data` as a form whose first 12 MiB arrive, then pause until the worker (run in
    this thread meanwhile) has sent an append; then the rest arrives. Answers the request's
    response and whether an append was sent while the file was still arriving."""
    import threading

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    # the fields first, as the form lists them: the upload is known before the file ends
    boundary, body = encode_multipart(
        {"client_id": str(client_id), "file": FileStorage(io.BytesIO(data), filename=name)}
    )
    paused, answers, sent_meanwhile = threading.Event(), [], []

    def wait_for_an_append() -> None:
        paused.set()  # the upload is known now: the worker may start
        deadline = time.monotonic() + 120
        while not connected.calls("files/upload_session/append_v2"):
            if time.monotonic() > deadline:
                return  # the caller's test fails: nothing was sent while the file arrived
            time.sleep(0.05)
        sent_meanwhile.append(True)

    def post() -> None:
        stream = Arriving(body, 12 * MIB, wait_for_an_append)
        answers.append(
            api.post(
                "/api/integrations/dropbox/upload",
                input_stream=stream,
                content_type=f"multipart/form-data; boundary={boundary}",
                content_length=len(body),
            )
        )

    request = threading.Thread(target=post)
    request.start()
    assert paused.wait(120)
    run_jobs(app)  # the worker, in this thread: it sends while the rest arrives
    request.join(180)
    [answer] = answers
    assert answer.status_code == 202, answer.json
    assert answer.json["state"] == "queued"
    return answer, bool(sent_meanwhile)


def test_a_worker_sends_a_large_file_while_the_rest_still_arrives(app, api, connected, globex):
    data = os.urandom(20 * MIB)
    answer, sent_meanwhile = upload_while_arriving(app, api, connected, globex["id"], data, "v.mov")
    assert sent_meanwhile, "nothing was sent while the file arrived"
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{answer.json['upload_id']}").json
    assert shown["state"] == "succeeded", shown
    assert shown["result"]["content_hash"] == dropbox_hash(data) and shown["size"] == len(data)
    assert connected.entry(shown["result"]["path"])["size"] == len(data)
    # sent while arriving: whole 4 MiB chunks, then the rest with the finish
    assert next(c for c in connected.calls() if "upload_session" in c["route"])["route"] == (
        "files/upload_session/start"
    )
    assert spooled(app) == []


def test_a_file_of_whole_chunks_sent_while_arriving_ends_with_its_last_chunk(
    app, api, connected, globex
):
    """The last whole chunk waits for the end and goes with the finish: no extra call of
    an empty finish (each call is one of the quota's)."""
    data = os.urandom(16 * MIB)  # four whole chunks
    answer, sent_meanwhile = upload_while_arriving(app, api, connected, globex["id"], data, "w.mov")
    assert sent_meanwhile
    run_jobs(app)
    shown = api.get(f"/api/integrations/dropbox/uploads/{answer.json['upload_id']}").json
    assert shown["state"] == "succeeded", shown
    assert shown["result"]["content_hash"] == dropbox_hash(data)
    calls = [c for c in connected.calls() if "upload_session" in c["route"]]
    assert [c["size"] for c in calls] == [4 * MIB] * 4
    assert calls[-1]["route"] == "files/upload_session/finish"
    assert spooled(app) == []


def test_a_chunk_sent_from_an_offset_off_a_page_is_the_files_bytes(tmp_path):
    """A chunk is mapped from the spool file: an offset Dropbox confirmed need not be on a
    page boundary, and the file's end shortens the last one."""
    from mycelium_dropbox.uploads import _piece

    data = os.urandom(3 * 4096 + 77)
    path = tmp_path / "spool.part"
    path.write_bytes(data)
    with path.open("rb") as source:
        assert bytes(_piece(source, 5000, 4096)) == data[5000:9096]
        assert bytes(_piece(source, 0, len(data))) == data
        assert bytes(_piece(source, 8192, 1 << 20)) == data[8192:]
        assert _piece(source, len(data), 4096) == b""


def test_an_upload_started_early_fails_when_its_form_is_refused_at_the_end(
    app, api, connected, globex
):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    data = os.urandom(3 * MIB)
    boundary, body = encode_multipart(
        {
            "client_id": str(globex["id"]),
            "file": FileStorage(io.BytesIO(data), filename="v.mov"),
            "colour": "red",  # after the file: the upload was started, then refused
        }
    )
    answer = api.post(
        "/api/integrations/dropbox/upload",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert answer.status_code == 400 and "colour" in answer.json["error"]["details"]
    run_jobs(app)
    assert spooled(app) == []
    assert connected.calls("files/upload_session/finish") == []
    assert api.get("/api/integrations/dropbox/files").json["items"] == []
