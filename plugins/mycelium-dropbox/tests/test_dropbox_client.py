"""The Dropbox client alone, against canned answers (requests-mock): argument headers and
hosts, and each of Dropbox's error answers turned into the hub's."""

from __future__ import annotations

import json

import pytest
import requests
from mycelium_dropbox.client import (
    CursorReset,
    DropboxClient,
    DropboxError,
    IncorrectOffset,
    InsufficientSpace,
    RouteError,
    api_arg,
)
from mycelium_dropbox.hashing import ContentHasher

from hub import NeedsReauth, PermanentError, RateLimited

API, CONTENT = "https://api.test", "https://content.test"


@pytest.fixture
def box():
    return DropboxClient(requests.Session(), API, CONTENT, lambda: "tok", timeout=5)


def route_error(summary, error, status=409):
    return {"status_code": status, "json": {"error_summary": summary, "error": error}}


def test_rpc_posts_json_with_the_token(box, requests_mock):
    requests_mock.post(f"{API}/2/files/create_folder_v2", json={"metadata": {"id": "id:1"}})
    assert box.create_folder("/A") == {"id": "id:1"}
    sent = requests_mock.last_request
    assert sent.headers["Authorization"] == "Bearer tok"
    assert sent.headers["Content-Type"] == "application/json" and sent.json() == {"path": "/A"}


def test_content_routes_carry_their_argument_in_a_header(box, requests_mock):
    requests_mock.post(f"{CONTENT}/2/files/upload_session/append_v2", text="null")
    box.session_append("sid", 8, b"bytes")
    sent = requests_mock.last_request
    assert json.loads(sent.headers["Dropbox-API-Arg"]) == {
        "cursor": {"session_id": "sid", "offset": 8},
        "close": False,
    }
    assert sent.headers["Content-Type"] == "application/octet-stream" and sent.body == b"bytes"


def test_the_argument_header_is_ascii():
    assert api_arg({"path": "/Café\x7f"}) == '{"path": "/Caf\\u00e9\\u007f"}'


def test_an_existing_folder_is_success(box, requests_mock):
    conflict = {".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}}
    requests_mock.post(
        f"{API}/2/files/create_folder_v2", **route_error("path/conflict/folder/..", conflict)
    )
    assert box.create_folder("/A") is None


def test_a_file_in_the_way_is_a_route_error(box, requests_mock):
    conflict = {".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "file"}}}
    requests_mock.post(
        f"{API}/2/files/create_folder_v2", **route_error("path/conflict/file/..", conflict)
    )
    with pytest.raises(RouteError) as caught:
        box.create_folder("/A")
    assert caught.value.has("path/conflict/file")


def test_an_existing_shared_link_is_reused(box, requests_mock):
    existing = {".tag": "folder", "url": "https://www.dropbox.com/sh/x/A?dl=0"}
    error = {
        ".tag": "shared_link_already_exists",
        "shared_link_already_exists": {".tag": "metadata", "metadata": existing},
    }
    requests_mock.post(
        f"{API}/2/sharing/create_shared_link_with_settings",
        **route_error("shared_link_already_exists/..", error),
    )
    assert box.shared_link("/A") == existing["url"]


def test_an_existing_link_without_metadata_is_listed(box, requests_mock):
    requests_mock.post(
        f"{API}/2/sharing/create_shared_link_with_settings",
        **route_error("shared_link_already_exists/..", {".tag": "shared_link_already_exists"}),
    )
    requests_mock.post(
        f"{API}/2/sharing/list_shared_links",
        json={"links": [{"url": "https://www.dropbox.com/sh/y/A?dl=0"}], "has_more": False},
    )
    assert box.shared_link("/A") == "https://www.dropbox.com/sh/y/A?dl=0"


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        (route_error("path/insufficient_space/..", {".tag": "path"}), InsufficientSpace),
        (route_error("path/too_many_write_operations/..", {".tag": "path"}), RateLimited),
        ({"status_code": 429, "text": "too_many_requests"}, RateLimited),
        ({"status_code": 401, "json": {"error_summary": "invalid_access_token/"}}, NeedsReauth),
        ({"status_code": 400, "text": "Error in call to API function"}, PermanentError),
        ({"status_code": 503, "text": "busy"}, DropboxError),
        ({"status_code": 200, "text": "not json"}, DropboxError),
        ({"exc": requests.ConnectTimeout}, DropboxError),
    ],
)
def test_dropbox_errors_become_the_hubs(box, requests_mock, answer, raised):
    requests_mock.post(f"{CONTENT}/2/files/upload", **answer)
    with pytest.raises(raised):
        box.upload({"path": "/a"}, b"x")


def test_insufficient_space_is_a_507():
    assert InsufficientSpace.status == 507


def test_incorrect_offset_carries_the_right_one(box, requests_mock):
    error = {
        ".tag": "lookup_failed",
        "lookup_failed": {".tag": "incorrect_offset", "correct_offset": 8388608},
    }
    requests_mock.post(
        f"{CONTENT}/2/files/upload_session/finish",
        **route_error("lookup_failed/incorrect_offset/..", error),
    )
    with pytest.raises(IncorrectOffset) as caught:
        box.session_finish("sid", 4194304, {"path": "/a"}, b"")
    assert caught.value.correct_offset == 8388608


def test_a_reset_cursor(box, requests_mock):
    requests_mock.post(
        f"{API}/2/files/list_folder/continue", **route_error("reset/..", {".tag": "reset"})
    )
    with pytest.raises(CursorReset):
        box.list_folder_continue("c")


def test_the_content_hash_of_nothing_and_of_blocks():
    empty = ContentHasher()
    assert empty.hexdigest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    import hashlib

    data = bytes(range(256)) * (40 * 1024)  # 10 MiB: two full blocks and a part
    whole, pieces = ContentHasher(), ContentHasher()
    whole.update(data)
    for start in range(0, len(data), 777_777):
        pieces.update(data[start : start + 777_777])
    block = 4 * 1024 * 1024
    digests = b"".join(
        hashlib.sha256(data[i : i + block]).digest() for i in range(0, len(data), block)
    )
    assert whole.hexdigest() == pieces.hexdigest() == hashlib.sha256(digests).hexdigest()
