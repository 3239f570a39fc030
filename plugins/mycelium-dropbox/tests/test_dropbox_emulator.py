"""The emulator against Dropbox's official Python SDK (``dropbox``), an independent client
pointed at it: its requests are sent to the emulator's hosts (only the transport is
redirected), and its strict parsers read every answer. Then what the SDK does not show:
the hosts each route lives on and the exact error bodies."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import dropbox as sdk
import pytest
import requests
from dropbox import exceptions, files, sharing
from mycelium_dropbox.emulator import DropboxEmulator
from requests.adapters import HTTPAdapter

HOSTS = {
    "api.dropboxapi.com": "api",
    "content.dropboxapi.com": "content",
    "notify.dropboxapi.com": "notify",
}


class ToEmulator(HTTPAdapter):
    """Sends the SDK's https://*.dropboxapi.com requests to the emulator's hosts."""

    def __init__(self, emulator: DropboxEmulator) -> None:
        super().__init__()
        self.emulator = emulator

    def send(self, request, **kwargs):  # type: ignore[override]
        parts = urlsplit(request.url)
        base = self.emulator.urls[HOSTS[parts.hostname]]
        request.url = base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


@pytest.fixture
def emulator():
    found = DropboxEmulator().start()
    yield found
    found.stop()


def tokens(emulator: DropboxEmulator) -> dict:
    """The OAuth flow with PKCE and offline access, as a browser and the app do it."""
    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    consent = requests.get(
        f"{emulator.url}/oauth2/authorize",
        params={
            "client_id": emulator.oauth.client_id,
            "response_type": "code",
            "redirect_uri": "https://hub.test/cb",
            "token_access_type": "offline",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s1",
        },
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    answer = requests.post(
        f"{emulator.url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": emulator.oauth.client_id,
            "code_verifier": verifier,
            "redirect_uri": "https://hub.test/cb",
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def client(emulator: DropboxEmulator, **kwargs) -> sdk.Dropbox:
    session = requests.Session()
    session.mount("https://", ToEmulator(emulator))
    got = tokens(emulator)
    return sdk.Dropbox(
        oauth2_access_token=got["access_token"],
        session=session,
        max_retries_on_error=0,
        max_retries_on_rate_limit=0,
        **kwargs,
    )


def test_the_token_answer_has_what_the_sdk_reads(emulator):
    got = tokens(emulator)
    assert got["expires_in"] == 14400 and got["token_type"] == "bearer"
    assert got["account_id"].startswith("dbid:") and got["uid"] and got["refresh_token"]


def test_the_sdk_reads_the_account_and_the_space(emulator):
    dbx = client(emulator)
    account = dbx.users_get_current_account()
    assert account.email == "avery@agency.test" and account.name.display_name == "Avery Agency"
    assert dbx.users_get_space_usage().allocation.get_individual().allocated > 0


def test_the_sdk_refreshes_with_the_refresh_token(emulator):
    session = requests.Session()
    session.mount("https://", ToEmulator(emulator))
    got = tokens(emulator)
    dbx = sdk.Dropbox(
        oauth2_refresh_token=got["refresh_token"],
        app_key=emulator.oauth.client_id,
        app_secret=emulator.oauth.client_secret,
        session=session,
    )
    assert dbx.users_get_current_account().account_id == got["account_id"]
    assert emulator.oauth.counts["refresh_token"] == 1


def test_folders_conflicts_and_links_through_the_sdk(emulator):
    dbx = client(emulator)
    made = dbx.files_create_folder_v2("/Clients/Globex").metadata
    assert isinstance(made, files.FolderMetadata) and made.path_display == "/Clients/Globex"
    with pytest.raises(exceptions.ApiError) as caught:
        dbx.files_create_folder_v2("/Clients/Globex")
    assert caught.value.error.get_path().get_conflict().is_folder()
    link = dbx.sharing_create_shared_link_with_settings("/Clients/Globex")
    assert isinstance(link, sharing.FolderLinkMetadata) and link.url.startswith("https://")
    with pytest.raises(exceptions.ApiError) as again:
        dbx.sharing_create_shared_link_with_settings("/Clients/Globex")
    assert again.value.error.is_shared_link_already_exists()
    assert again.value.error.get_shared_link_already_exists().get_metadata().url == link.url


def test_uploads_sessions_and_offsets_through_the_sdk(emulator):
    dbx = client(emulator)
    small = dbx.files_upload(b"hello", "/a/hello.txt", mode=files.WriteMode.add, autorename=True)
    assert small.size == 5 and small.content_hash  # the SDK sent its own content_hash
    again = dbx.files_upload(b"other", "/a/hello.txt", mode=files.WriteMode.add, autorename=True)
    assert again.path_display == "/a/hello (1).txt"
    block = b"x" * (4 * 1024 * 1024)
    started = dbx.files_upload_session_start(block)
    cursor = files.UploadSessionCursor(started.session_id, offset=0)
    with pytest.raises(exceptions.ApiError) as caught:
        dbx.files_upload_session_append_v2(block, cursor)
    assert caught.value.error.get_incorrect_offset().correct_offset == len(block)
    cursor.offset = len(block)
    dbx.files_upload_session_append_v2(block, cursor)
    cursor.offset = 2 * len(block)
    done = dbx.files_upload_session_finish(b"end", cursor, files.CommitInfo("/a/big.bin"))
    assert done.size == 2 * len(block) + 3


def test_list_folder_cursors_and_reset_through_the_sdk(emulator):
    dbx = client(emulator)
    emulator.store.page_size = 2
    for name in ("a", "b", "c"):
        dbx.files_upload(name.encode(), f"/r/{name}.txt")
    first = dbx.files_list_folder("/r", recursive=True)
    assert first.has_more and len(first.entries) == 2
    rest = dbx.files_list_folder_continue(first.cursor)
    assert not rest.has_more and [e.name for e in rest.entries] == ["c.txt"]
    assert dbx.files_list_folder_continue(first.cursor).entries[0].name == "c.txt"  # replayable
    emulator.delete("/r/a.txt")  # someone deletes it in Dropbox
    changed = dbx.files_list_folder_continue(rest.cursor)
    assert [type(e).__name__ for e in changed.entries] == ["DeletedMetadata"]
    emulator.reset_cursors()
    with pytest.raises(exceptions.ApiError) as caught:
        dbx.files_list_folder_continue(changed.cursor)
    assert caught.value.error.is_reset()


def test_a_rate_limit_through_the_sdk(emulator):
    dbx = client(emulator)
    emulator.rate_limit_next("too_many_requests", retry_after=7)
    with pytest.raises(exceptions.RateLimitError) as caught:
        dbx.users_get_current_account()
    assert caught.value.backoff == 7 and caught.value.error.reason.is_too_many_requests()


def test_content_routes_live_on_the_content_host_only(emulator):
    got = tokens(emulator)
    headers = {
        "Authorization": f"Bearer {got['access_token']}",
        "Content-Type": "application/octet-stream",
        "Dropbox-API-Arg": json.dumps({"path": "/x.txt"}),
    }
    wrong = requests.post(f"{emulator.url}/2/files/upload", data=b"x", headers=headers, timeout=10)
    assert wrong.status_code == 400 and wrong.headers["Content-Type"].startswith("text/plain")
    right = requests.post(
        f"{emulator.urls['content']}/2/files/upload", data=b"x", headers=headers, timeout=10
    )
    assert right.status_code == 200 and right.headers["Content-Type"] == "application/json"


def test_error_bodies_have_dropboxs_shape(emulator):
    got = tokens(emulator)
    headers = {"Authorization": f"Bearer {got['access_token']}"}
    post = lambda route, arg: requests.post(  # noqa: E731
        f"{emulator.url}/2/{route}", json=arg, headers=headers, timeout=10
    )
    post("files/create_folder_v2", {"path": "/A"})
    conflict = post("files/create_folder_v2", {"path": "/A"})
    assert conflict.status_code == 409
    assert conflict.json() == {
        "error_summary": "path/conflict/folder/..",
        "error": {".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}},
    }
    emulator.rate_limit_next(retry_after=3)
    limited = post("files/create_folder_v2", {"path": "/B"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json()["error"] == {"reason": {".tag": "too_many_requests"}, "retry_after": 3}
    emulator.expire_access_tokens()
    expired = post("files/create_folder_v2", {"path": "/C"})
    assert expired.status_code == 401 and expired.json()["error"] == {
        ".tag": "expired_access_token"
    }


def test_webhooks_are_signed_with_the_app_secret(emulator):
    body = b'{"delta": {"users": [12345]}}'
    signer = DropboxEmulator(client_secret="ABC123")
    # the reference's vector (computed with Dropbox's documented algorithm)
    assert signer.sign(body) == "03e2b10a8ae0c663539b8fa2a30e2163eec28f656b1391b9498d12c266324190"
