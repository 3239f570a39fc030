"""The webhook pump's HTTP (EgressPool) against real loopback servers: the bytes it sends
are urllib3's, its connections are reused, reconnected and dropped when they must be,
answers are read and cut as the attempt needs, TLS is verified, the egress guard holds."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3
from support.certs import self_signed

from hub.core.egress import EgressPolicy
from hub.core.egress_http import EgressPool, HeaderBlock
from hub.errors import EgressRefused

LOOPBACK = EgressPolicy(allow_http=True, allowed_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
HEADERS = {"Content-Type": "application/json", "User-Agent": "t/1", "webhook-id": "evt_1"}
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
Answer = Callable[[int], bytes]  # the n-th request's answer (n counts from 0)


class Server:
    """Accepts connections one after the other; reads Content-Length requests and answers
    each with `answer(n)`; records (connection number, raw request). An answer of b"" closes
    the connection without a reply; `close_after` closes it after that many answers."""

    def __init__(
        self, answer: Answer = lambda n: OK, close_after: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.answer, self.close_after, self.tls = answer, close_after, tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list[tuple[int, bytes]] = []
        self.errors: list[Exception] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                with conn:
                    self._answer(conn, number)
            except (OSError, ssl.SSLError) as exc:
                self.errors.append(exc)
            number += 1

    def _answer(self, conn: socket.socket, number: int) -> None:
        data, answered = b"", 0
        while True:
            while (end := data.find(b"\r\n\r\n")) < 0 or len(data) < end + 4 + _length(data):
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            size = end + 4 + _length(data)
            request, data = data[:size], data[size:]
            reply = self.answer(len(self.seen))
            self.seen.append((number, request))
            if not reply:
                return
            conn.sendall(reply)
            answered += 1
            if answered == self.close_after:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing does not)
        self.listener.close()
        self.thread.join(5)
        assert not self.thread.is_alive()


def _length(data: bytes) -> int:
    head = data[: data.find(b"\r\n\r\n")].lower()
    at = head.find(b"content-length:")
    return int(head[at + 15 :].split(b"\r\n")[0]) if at >= 0 else 0


@pytest.fixture
def serve():
    servers: list[Server] = []

    def start(*args, **kwargs) -> Server:
        servers.append(Server(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def make_pool():
    """A factory of pools whose idle connections are closed after the test."""
    pools: list[EgressPool] = []

    def make(policy: EgressPolicy = LOOPBACK, maxsize: int = 1, **kwargs) -> EgressPool:
        pools.append(EgressPool(policy, maxsize=maxsize, **kwargs))
        return pools[-1]

    yield make
    for made in pools:
        made.clear()


def post(pool: EgressPool, url: str, body: bytes = b"{}", limit: int = 80_000, timeout=5.0):
    deadline = time.monotonic() + timeout
    return pool.post(url, body, HeaderBlock(HEADERS), timeout, timeout, deadline, limit)


def test_the_request_is_the_bytes_urllib3_sends(serve, make_pool):
    server = serve()
    url = server.url("/hook?x=1&y=%20z")
    with urllib3.PoolManager(retries=False) as theirs:
        theirs.urlopen("POST", url, body=b'{"a":1}', headers=HEADERS)
    post(make_pool(), url, b'{"a":1}')
    [(_, theirs), (_, ours)] = server.seen
    assert ours == theirs
    assert ours.startswith(b"POST /hook?x=1&y=%20z HTTP/1.1\r\nHost: 127.0.0.1:")


@pytest.mark.parametrize(
    ("url", "head"),
    [
        ("https://example.com/a?b=1", b"POST /a?b=1 HTTP/1.1\r\nHost: example.com\r\n"),
        ("https://example.com:8443", b"POST / HTTP/1.1\r\nHost: example.com:8443\r\n"),
        ("http://example.com./x", b"POST /x HTTP/1.1\r\nHost: example.com\r\n"),
        ("https://[2001:db8::1]/x", b"POST /x HTTP/1.1\r\nHost: [2001:db8::1]\r\n"),
    ],
)
def test_the_host_header_is_the_one_urllib3_writes(url, head, make_pool):
    pool = make_pool(EgressPolicy(allow_http=True))
    route = pool._route(url)  # nothing is resolved or sent: the request's first lines
    assert route.head == head + b"Accept-Encoding: identity\r\n"


def test_a_kept_alive_connection_carries_the_next_request(serve, make_pool):
    server = serve()
    pool = make_pool()
    replies = [post(pool, server.url()) for _ in range(3)]
    assert [(r.status, r.body, r.whole) for r in replies] == [(200, b"ok", True)] * 3
    assert [number for number, _ in server.seen] == [0, 0, 0]


def test_a_connection_the_server_closed_is_not_reused(serve, make_pool):
    server = serve(close_after=1)  # answers one request per connection, then hangs up
    pool = make_pool()
    for _ in range(3):
        assert post(pool, server.url()).status == 200
        time.sleep(0.05)  # the close reaches the client before its next request
    assert [number for number, _ in server.seen] == [0, 1, 2]


def test_connection_close_in_the_answer_is_honoured(serve, make_pool):
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    server = serve(lambda n: closing)
    pool = make_pool()
    assert [post(pool, server.url()).body for _ in range(2)] == [b"ok", b"ok"]
    assert [number for number, _ in server.seen] == [0, 1]


def test_a_chunked_answer_is_read_whole_and_the_connection_reused(serve, make_pool):
    chunked = (
        b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n"
        b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    server = serve(lambda n: chunked)
    pool = make_pool()
    replies = [post(pool, server.url()) for _ in range(2)]
    assert [(r.status, r.body, r.whole) for r in replies] == [(503, b"hello world", True)] * 2
    assert replies[0].headers["Retry-After"] == "7"
    assert [number for number, _ in server.seen] == [0, 0]


def test_a_long_answer_is_cut_at_the_limit_and_its_connection_dropped(serve, make_pool):
    big = b"x" * 200_000
    server = serve(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big))
    pool = make_pool()
    first = post(pool, server.url(), limit=1000)
    assert (first.status, len(first.body), first.whole) == (200, 1000, False)
    assert post(pool, server.url(), limit=1000).status == 200
    assert [number for number, _ in server.seen] == [0, 1]  # the cut one was not reused


def test_an_answer_shorter_than_its_length_is_an_error(serve, make_pool):
    server = serve(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", close_after=1)
    with pytest.raises(Exception) as raised:
        post(make_pool(), server.url())
    assert "IncompleteRead" in type(raised.value).__name__


def test_a_server_that_hangs_up_without_answering_is_an_error(serve, make_pool):
    server = serve(lambda n: b"")
    with pytest.raises(OSError):  # http.client's RemoteDisconnected is a ConnectionResetError
        post(make_pool(), server.url())


def test_no_more_idle_connections_than_maxsize_are_kept(serve, make_pool):
    server = serve()
    pool = make_pool(maxsize=2)
    conns = [pool._take(("http", "127.0.0.1", server.port)) for _ in range(3)]
    for conn in conns:
        pool._connect(conn, pool._route(server.url()), 5.0)
    for conn in conns:
        pool._give(("http", "127.0.0.1", server.port), conn)
    assert len(pool._idle[("http", "127.0.0.1", server.port)]) == 2
    assert sum(conn.sock is None for conn in conns) == 1  # the third was closed
    pool.clear()
    assert all(conn.sock is None for conn in conns)


def test_the_egress_guard_refuses_before_connecting(serve, make_pool):
    server = serve()
    with pytest.raises(EgressRefused, match="loopback"):
        post(make_pool(EgressPolicy(allow_http=True)), server.url())
    with pytest.raises(EgressRefused, match="https"):
        post(make_pool(EgressPolicy()), server.url())
    assert server.seen == []


def _tls_server(serve, folder: Path, name: str) -> tuple[Server, Path]:
    cert, key = self_signed(folder, name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return serve(tls=context), cert


def test_tls_is_verified_by_default(serve, tmp_path, make_pool):
    server, _ = _tls_server(serve, tmp_path, "127.0.0.1")
    pool = make_pool()
    with pytest.raises(ssl.SSLCertVerificationError):
        post(pool, server.url(scheme="https"))
    assert server.seen == []


def test_tls_to_a_trusted_certificate_carries_the_request(serve, tmp_path, make_pool):
    server, cert = _tls_server(serve, tmp_path, "127.0.0.1")
    trusting = ssl.create_default_context(cafile=str(cert))
    pool = make_pool(tls=trusting)
    replies = [post(pool, server.url(scheme="https")) for _ in range(2)]
    assert [(r.status, r.body) for r in replies] == [(200, b"ok")] * 2
    assert [number for number, _ in server.seen] == [0, 0]  # kept alive over TLS too


def test_tls_refuses_a_certificate_for_another_name(serve, tmp_path, make_pool):
    server, cert = _tls_server(serve, tmp_path, "127.0.0.2")
    trusting = ssl.create_default_context(cafile=str(cert))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"127\.0\.0\.1"):
        post(make_pool(tls=trusting), server.url(scheme="https"))
