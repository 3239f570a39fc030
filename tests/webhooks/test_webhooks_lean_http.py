"""The pump's lean HTTP path sends and reads exactly what urllib3 and http.client would."""

from __future__ import annotations

import http.client
import io
import socket
import threading

import pytest

from hub.core.egress import EgressPolicy
from hub.core.egress_http import EgressPoolManager, HeaderBlock, parse_headers

HEADER_BLOCKS = [
    b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n",
    b"X-A:no-space\r\nX-B:  \t spaced  \r\nX-A: again\r\nEmpty:\r\n\r\n",
    b"Folded: first\r\n  second line\r\nNext: 1\r\n\r\n",
    b"Space Before : colon\r\nOk: 1\r\n\r\n",
    b"no colon at all\r\nOk: 1\r\n\r\n",
    b"Lone: a\rb\r\n\r\n",
    b"Bare-LF: 1\nOther: 2\n\n",
    b"Latin: caf\xe9\r\n\r\n",
    b"Unterminated: 1\r\n",
]


@pytest.mark.parametrize("raw", HEADER_BLOCKS)
def test_parse_headers_gives_the_message_http_client_gives(raw):
    ours, theirs = parse_headers(io.BytesIO(raw)), http.client.parse_headers(io.BytesIO(raw))
    assert ours.items() == theirs.items()
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]
    assert (ours.get_payload() or "") == (theirs.get_payload() or "")


def _capture_two_requests() -> tuple[list[bytes], int, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))
    port, seen = server.getsockname()[1], []

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            for _ in range(2):
                data = b""
                while b"\r\n\r\n" not in data or not data.endswith(b"{}"):
                    data += conn.recv(65536)
                seen.append(data)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Reply: yes\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return seen, port, thread


def test_a_header_block_goes_out_as_urllib3_would_send_the_same_headers():
    seen, port, thread = _capture_two_requests()
    policy = EgressPolicy.from_settings(
        {"HUB_EGRESS_ALLOW_HTTP": True, "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8"}
    )
    http = EgressPoolManager(policy, 5.0, num_pools=2, maxsize=1)
    headers = {"Content-Type": "application/json", "User-Agent": "t/1", "webhook-id": "evt_1"}
    url = f"http://127.0.0.1:{port}/hook?x=1"
    answers = [
        http.urlopen("POST", url, body=b"{}", headers=h) for h in (headers, HeaderBlock(headers))
    ]
    thread.join(5)
    assert seen[0] == seen[1]
    assert seen[1].startswith(b"POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert [(a.status, a.data, a.headers["X-Reply"]) for a in answers] == [(200, b"ok", "yes")] * 2


def test_a_header_block_refuses_what_putheader_refuses():
    with pytest.raises(ValueError):
        HeaderBlock({"X-Event": "a\r\nInjected: 1"})
    with pytest.raises(ValueError):
        HeaderBlock({"Bad:Name": "1"})
    with pytest.raises(UnicodeEncodeError):
        HeaderBlock({"X-Event": "\u2603"})
    block = HeaderBlock({"A": "1"})
    block["B"] = "2"
    assert block.copy().block == b"A: 1\r\nB: 2"
