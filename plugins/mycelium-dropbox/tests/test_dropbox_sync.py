"""Change sync: Dropbox's webhook (challenge, signature) queues one sync per account; the
sync reads list_folder/continue from the stored cursor and announces each file change
under a client's folder once, committing each page's events with the cursor after it."""

from __future__ import annotations

import json

import pytest
from dropbox_helpers import ROOT, connect, events_of, make_client, upload
from mycelium_dropbox.emulator.oauth import ACCOUNT_ID

from hub.testing import run_jobs

HOOK = "/api/integrations/dropbox/webhook"


@pytest.fixture
def globex(app, api, connected):
    made = make_client(api, "Globex")
    run_jobs(app)
    return made


def notify(client, dropbox, accounts=(ACCOUNT_ID,)):
    body = json.dumps({"list_folder": {"accounts": list(accounts)}, "delta": {"users": [1]}})
    headers = {"X-Dropbox-Signature": dropbox.sign(body.encode())}
    return client.post(HOOK, data=body, headers=headers, content_type="application/json")


def changes(api):
    found = []
    for kind in ("dropbox.file_added", "dropbox.file_changed", "dropbox.file_deleted"):
        found += [(kind.split("_")[-1], e["path"], e["rev"]) for e in events_of(api, kind)]
    return sorted(found, key=str)


def test_the_challenge_is_echoed_as_plain_text(client):
    response = client.get(f"{HOOK}?challenge=abc123")
    assert response.status_code == 200 and response.data == b"abc123"
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(HOOK).status_code == 400


@pytest.mark.parametrize("signature", [None, "00" * 32, "not hex"])
def test_a_missing_or_wrong_signature_is_a_401_and_queues_nothing(app, client, dropbox, signature):
    body = json.dumps({"list_folder": {"accounts": [ACCOUNT_ID]}}).encode()
    headers = {"X-Dropbox-Signature": signature} if signature else {}
    response = client.post(HOOK, data=body, headers=headers, content_type="application/json")
    assert response.status_code == 401
    assert run_jobs(app) == 0


def test_a_signed_notification_for_an_unknown_account_is_accepted_and_ignored(app, client, dropbox):
    response = notify(client, dropbox, accounts=["dbid:nobody"])
    assert response.status_code == 200 and response.json["queued"] == 0


def test_changes_under_a_client_folder_are_announced_once(app, client, api, connected, globex):
    base = f"{ROOT}/Clients/Globex"
    made = connected.put_file(f"{base}/Raw Files/shot.png", b"v1")
    connected.put_file(f"{ROOT}/Templates/deck.key", b"not a client's")
    assert notify(client, connected).json["queued"] == 1
    run_jobs(app)
    [added] = events_of(api, "dropbox.file_added")
    assert added == {
        "client_id": globex["id"],
        "path": f"{base}/Raw Files/shot.png",
        "name": "shot.png",
        "size": 2,
        "rev": made["rev"],
    }
    notify(client, connected)  # nothing new: nothing announced
    run_jobs(app)
    changed = connected.put_file(f"{base}/Raw Files/shot.png", b"v2!")
    notify(client, connected)
    run_jobs(app)
    connected.delete(f"{base}/Raw Files/shot.png")
    notify(client, connected)
    run_jobs(app)
    path = f"{base}/Raw Files/shot.png"
    assert changes(api) == sorted(
        [("added", path, made["rev"]), ("changed", path, changed["rev"]), ("deleted", path, None)],
        key=str,
    )
    [deleted] = events_of(api, "dropbox.file_deleted")
    assert deleted["size"] is None and deleted["client_id"] == globex["id"]


def test_a_deleted_folder_announces_its_files(app, client, api, connected, globex):
    base = f"{ROOT}/Clients/Globex/Raw Files"
    connected.put_file(f"{base}/day1/a.png", b"a")
    connected.put_file(f"{base}/day1/b.png", b"b")
    notify(client, connected)
    run_jobs(app)
    connected.delete(f"{base}/day1")
    notify(client, connected)
    run_jobs(app)
    assert sorted(e["name"] for e in events_of(api, "dropbox.file_deleted")) == ["a.png", "b.png"]


def test_a_file_the_hub_uploaded_is_not_announced_again(app, client, api, connected, globex):
    assert upload(api, b"ours", "ours.txt", client_id=globex["id"]).status_code == 201
    notify(client, connected)
    run_jobs(app)
    assert len(events_of(api, "dropbox.file_uploaded")) == 1
    assert changes(api) == []


def test_many_notifications_make_one_sync(app, client, api, connected, globex):
    connected.put_file(f"{ROOT}/Clients/Globex/Raw Files/a.png", b"a")
    queued = [notify(client, connected).json["queued"] for _ in range(5)]
    assert queued == [1, 0, 0, 0, 0]
    before = len(connected.calls("files/list_folder/continue"))
    run_jobs(app)
    assert len(connected.calls("files/list_folder/continue")) == before + 1
    assert len(events_of(api, "dropbox.file_added")) == 1


def test_a_sync_that_dies_mid_way_announces_nothing_twice(app, client, api, connected, globex):
    notify(client, connected)
    run_jobs(app)  # the client's own folders, made after the first cursor, are read
    connected.store.page_size = 1
    for name in ("a", "b", "c"):
        connected.put_file(f"{ROOT}/Clients/Globex/Raw Files/{name}.png", name.encode())
    continues = len(connected.calls("files/list_folder/continue"))
    notify(client, connected)
    # the second page's read fails: the first page's events are kept with its cursor
    original = connected.store.list_continue
    calls = {"n": 0}

    def flaky(token):
        calls["n"] += 1
        if calls["n"] == 2:
            from mycelium_dropbox.emulator.errors import ApiError

            raise ApiError(500, "Internal Server Error", None)
        return original(token)

    connected.store.list_continue = flaky
    run_jobs(app)
    assert [e["name"] for e in events_of(api, "dropbox.file_added")] == ["a.png"]
    notify(client, connected)
    run_jobs(app)
    assert sorted(e["name"] for e in events_of(api, "dropbox.file_added")) == [
        "a.png",
        "b.png",
        "c.png",
    ]
    assert len(connected.calls("files/list_folder/continue")) > continues


def test_a_reset_cursor_lists_again_and_finds_what_changed(app, client, api, connected, globex):
    base = f"{ROOT}/Clients/Globex/Raw Files"
    connected.put_file(f"{base}/keep.png", b"k")
    connected.put_file(f"{base}/gone.png", b"g")
    notify(client, connected)
    run_jobs(app)
    connected.delete(f"{base}/gone.png")
    connected.put_file(f"{base}/new.png", b"n")
    connected.reset_cursors()
    notify(client, connected)
    run_jobs(app)
    names = {(k, p.rsplit("/", 1)[1]) for k, p, _ in changes(api)}
    assert names == {
        ("added", "keep.png"),
        ("added", "gone.png"),
        ("added", "new.png"),
        ("deleted", "gone.png"),
    }


def test_the_scheduled_sync_catches_a_notification_that_never_came(
    app, api, org, connected, globex
):
    from mycelium_dropbox import jobs

    import hub
    from hub.extensions import db

    connected.put_file(f"{ROOT}/Clients/Globex/Raw Files/quiet.png", b"q")
    with app.app_context():
        ctx = hub.context_for("dropbox", org.id)
        jobs.scheduled_sync(ctx)
        db.session.remove()
    run_jobs(app)
    assert [e["name"] for e in events_of(api, "dropbox.file_added")] == ["quiet.png"]


def test_a_file_put_into_a_client_folder_while_connecting_is_news(app, client, api, dropbox):
    """Someone drops a file into a client's folder the moment the set-up job makes it: the
    first cursor is older than the client folders, so the sync announces the file."""
    made = make_client(api, "Initech")
    raw = f"{ROOT}/Clients/Initech/Raw Files"
    connect(client, api, dropbox)  # its set-up job is queued, not run yet
    original = dropbox.store.make_folder

    dropped = []

    def make_folder(display, exist_ok=False):
        meta = original(display, exist_ok)
        if display == raw and not dropped:
            dropped.append(raw)  # first: putting the file makes its folder again
            dropbox.put_file(f"{raw}/early.png", b"early")
        return meta

    dropbox.store.make_folder = make_folder
    run_jobs(app)
    notify(client, dropbox)
    run_jobs(app)
    added = events_of(api, "dropbox.file_added")
    assert [(e["client_id"], e["name"]) for e in added] == [(made["id"], "early.png")]
