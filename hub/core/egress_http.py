"""HTTP clients for org-supplied URLs: every connection re-checks the resolved address.

The connection classes resolve the host themselves, check every address against the
:class:`EgressPolicy`, then connect to a vetted address while TLS (SNI, certificate) and
the Host header keep the hostname. Redirects are never followed; proxies are never used.
Plugins get a requests session (:func:`egress_session`); the webhook pump, whose every
delivery is one POST, uses :class:`EgressPool`: keep-alive sockets it opens the same way,
with http.client's response parsing and none of requests' or urllib3's per-request layers.
"""

from __future__ import annotations

import contextlib
import email.parser
import http.client
import re
import select
import socket
import ssl
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool, port_by_scheme
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.url import parse_url

from hub.core import socket_deadline
from hub.core.egress import EgressPolicy, connect_vetted

MAX_PASSED = 10_000  # URLs an EgressPool remembers as checked
# http.client's own checks of a header's name and value (putheader), made once per header
_LEGAL_NAME = re.compile(rb"[^:\s][^:\r\n]*").fullmatch
_ILLEGAL_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search


class HeaderBlock(dict[str, str]):
    """Request headers with their lines encoded and checked once, as http.client's
    ``putheader`` would: :meth:`EgressPool.post` sends the block as it is, after the request
    line, Host, Accept-Encoding and Content-Length (the lines http.client writes first).
    Still a mapping for anything else that reads it; a change re-encodes it."""

    def __init__(self, headers: Mapping[str, str], block: bytes | None = None) -> None:
        super().__init__(headers)
        self.block = _encoded(self) if block is None else block

    def copy(self) -> HeaderBlock:
        return HeaderBlock(self, self.block)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.block = _encoded(self)

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name, value)
        self.block = _encoded(self)

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        self.block = _encoded(self)


def _encoded(headers: Mapping[str, str]) -> bytes:
    lines = []
    for name, value in headers.items():
        raw_name, raw = name.encode("ascii"), value.encode("latin-1")
        if not _LEGAL_NAME(raw_name):
            raise ValueError(f"Invalid header name {raw_name!r}")
        if _ILLEGAL_VALUE(raw):
            raise ValueError(f"Invalid header value {raw!r}")
        lines.append(raw_name + b": " + raw)
    return b"\r\n".join(lines)


# a header line as the email parser reads it (name, colon, value) with nothing unusual:
# no folding, no stray CR, no space before the colon
_PLAIN_HEADER = re.compile(rb"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n").fullmatch


def parse_headers(fp: Any) -> http.client.HTTPMessage:
    """http.client's ``parse_headers``, without the email parser when every line is a plain
    ``Name: value``: the same message (names, values, order), a fifth of the CPU. Anything
    else (folded lines, defects) goes through the email parser as before."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]  # its limits too
    pairs = []
    for line in lines[:-1]:  # the last one ends the headers (blank, or end of stream)
        match = _PLAIN_HEADER(line)
        if match is None:
            text = b"".join(lines).decode("iso-8859-1")
            message: http.client.HTTPMessage
            message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
            return message
        pairs.append((match[1].decode("iso-8859-1"), match[2].decode("iso-8859-1")))
    message = http.client.HTTPMessage()
    message._headers = pairs  # type: ignore[attr-defined]  # as the parser would set them
    return message


class LeanResponse(http.client.HTTPResponse):
    """http.client's response, reading its headers with :func:`parse_headers`.

    ``begin`` is http.client's own (Python 3.11), but for that one call.
    """

    def begin(self) -> None:  # kept as close to http.client's as it can be
        if self.headers is not None:
            return
        while True:  # read until a non-100 response
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            http.client._read_headers(self.fp)
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = parse_headers(self.fp)
        transfer = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer and transfer.lower() == "chunked")
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        fixed = status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
        if fixed or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


class _GuardedConnection:
    """Mixin replacing urllib3's `_new_conn`: resolve, check, connect to the vetted address."""

    egress_policy: EgressPolicy
    _dns_host: str
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    response_class: type[http.client.HTTPResponse] = LeanResponse

    def _new_conn(self) -> socket.socket:
        addresses = self.egress_policy.resolve(self._dns_host, self.port, "url")
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
        try:
            return connect_vetted(addresses, timeout, self.source_address, self.socket_options)
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            conn: Any = self
            raise NewConnectionError(conn, f"Failed to establish a connection: {exc}") from exc

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        # inside an attempt's deadline, the watchdog shuts this socket down when it comes
        socket_deadline.guard(self)
        super().request(method, url, *args, **kwargs)  # type: ignore[misc]


class GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


def _pool_classes(policy: EgressPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections carry `policy` (urllib3 keys pools by URL only)."""
    plain = type("EgressHTTPConnection", (GuardedHTTPConnection,), {"egress_policy": policy})
    tls = type("EgressHTTPSConnection", (GuardedHTTPSConnection,), {"egress_policy": policy})
    return {
        "http": type("EgressHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("EgressHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }


class EgressAdapter(HTTPAdapter):
    """An adapter whose pools connect only to addresses the policy allows."""

    def __init__(self, policy: EgressPolicy, **kwargs: Any) -> None:
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise requests.exceptions.InvalidURL("The egress guard never uses a proxy.")


class EgressSession(requests.Session):
    """Checks the URL's scheme and host per request, never follows redirects, has a timeout."""

    def __init__(self, policy: EgressPolicy, timeout: float) -> None:
        super().__init__()
        self.policy = policy
        self.timeout = timeout
        self.trust_env = False  # no proxies or netrc from the environment
        self.max_redirects = 0
        adapter = EgressAdapter(policy)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        # the addresses are checked when each connection is made (after resolving again)
        self.policy.split_url(url.decode() if isinstance(url, bytes) else url)
        kwargs.setdefault("timeout", self.timeout)
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None  # a 3xx is returned as it is


def egress_session(policy: EgressPolicy, timeout: float = 10.0) -> requests.Session:
    """A requests session for destinations an organization supplied."""
    return EgressSession(policy, timeout)


@dataclass(frozen=True)
class Reply:
    """A response to :meth:`EgressPool.post`, its body read (at most the limit)."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes
    whole: bool  # False: cut short (too long, or still coming at the deadline)


class _Connection:
    """One keep-alive socket: what the attempt deadline's watchdog shuts down."""

    __slots__ = ("sock",)

    def __init__(self) -> None:
        self.sock: socket.socket | None = None

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


@dataclass(frozen=True)
class _Route:
    # scheme, host (resolved, and for TLS the name the certificate must carry), port:
    # the connections it may reuse
    key: tuple[str, str, int]
    head: bytes  # the request line, Host and Accept-Encoding, as http.client writes them


class EgressPool:
    """Keep-alive connections to org-supplied URLs, for senders that POST one body at a time.

    The webhook pump's HTTP: http.client's response parsing (:class:`LeanResponse`) on
    sockets this pool opens itself, a request written with one ``sendall``, and none of
    urllib3's per-request layers (its pool, retries, response wrapper: about 0.13 ms of CPU
    per POST, more than the rest of the request). What the guard promises is unchanged:
    each URL's scheme and host are checked by the policy (and remembered as checked), each
    new connection resolves the host again and connects only to vetted addresses; TLS
    verifies the certificate and its host name; no redirects, no proxies, no retries. An
    idle connection is reused only if the server has not closed it; at most `maxsize` idle
    connections are kept per host, for the `num_hosts` hosts used last.
    """

    def __init__(
        self,
        policy: EgressPolicy,
        maxsize: int,
        num_hosts: int = 64,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy, self.maxsize, self.num_hosts = policy, maxsize, num_hosts
        self._tls = tls
        self._idle: OrderedDict[tuple[str, str, int], list[_Connection]] = OrderedDict()
        self._lock = threading.Lock()
        # a pool dropped without clear() still closes its idle connections
        weakref.finalize(self, _close_idle, self._idle, self._lock)
        # URLs whose scheme and host passed the policy (fixed for the pool's life)
        self._routes: dict[str, _Route] = {}

    def post(
        self,
        url: str,
        body: bytes,
        headers: HeaderBlock,
        connect_timeout: float,
        timeout: float,
        deadline: float,
        limit: int,
    ) -> Reply:
        """POST `body`; the reply with at most `limit` bytes of its body.

        Raises EgressRefused (the URL or an address it resolves to), TimeoutError, or
        OSError / http.client.HTTPException (the connection failed or broke mid-answer);
        a body still arriving at `deadline` (time.monotonic()) is cut short instead.
        """
        route = self._route(url)
        conn = self._take(route.key)
        socket_deadline.guard(conn)  # inside an attempt: shut down at its deadline
        try:
            if conn.sock is None:
                self._connect(conn, route, connect_timeout)
            sock: Any = conn.sock
            sock.settimeout(timeout)
            length = b"Content-Length: %d" % len(body)
            block = b"\r\n" + headers.block if headers.block else b""
            sock.sendall(b"".join((route.head, length, block, b"\r\n\r\n", body)))
            response = LeanResponse(sock, method="POST")
            try:
                response.begin()
                read, whole = _read_limited(response, deadline, limit)
            finally:
                response.close()  # its file on the socket, not the socket
        except BaseException:
            conn.close()
            raise
        if whole and not response.will_close:
            self._give(route.key, conn)
        else:  # cut short, or the server said it closes: not reused
            conn.close()
        return Reply(response.status, response.headers, read, whole)

    def __enter__(self) -> EgressPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def clear(self) -> None:
        """Close every idle connection."""
        _close_idle(self._idle, self._lock)

    def _route(self, url: str) -> _Route:
        route = self._routes.get(url)
        if route is not None:
            return route
        self.policy.split_url(url)  # the scheme and the host, before anything else
        parts = parse_url(url.strip())
        scheme = (parts.scheme or "http").lower()
        host = (parts.host or "").strip("[]")  # an IPv6 literal, as a socket takes it
        port = parts.port or port_by_scheme.get(scheme, 80)
        # the head http.client would write (its checks of the path included); the Host
        # header without a trailing dot, as urllib3 sends it
        writer = http.client.HTTPConnection(host.rstrip("."), port)
        writer.default_port = port_by_scheme.get(scheme, 80)  # Host: without it if default
        writer.putrequest("POST", parts.request_uri)
        head = b"\r\n".join(writer._buffer) + b"\r\n"  # type: ignore[attr-defined]
        if len(self._routes) >= MAX_PASSED:
            self._routes = {}
        route = self._routes[url] = _Route((scheme, host, port), head)
        return route

    def _connect(self, conn: _Connection, route: _Route, timeout: float) -> None:
        scheme, host, port = route.key
        addresses = self.policy.resolve(host, port, "url")
        conn.sock = connect_vetted(addresses, timeout, None, _SOCKET_OPTIONS)
        if scheme == "https":  # the handshake within the connect timeout, as urllib3 does
            conn.sock = self._context().wrap_socket(conn.sock, server_hostname=host)

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context()  # verifies the certificate and host name
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls = context
        return self._tls

    def _take(self, key: tuple[str, str, int]) -> _Connection:
        """An idle connection the server has not closed, or a new one (not yet connected)."""
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
        if conn is not None and _dropped(conn.sock):
            conn.close()  # the server closed it (or the watchdog did): a new one instead
        return conn or _Connection()

    def _give(self, key: tuple[str, str, int], conn: _Connection) -> None:
        evicted: list[_Connection] = []
        with self._lock:
            idle = self._idle.get(key)
            if idle is None:
                idle = self._idle[key] = []
                while len(self._idle) > self.num_hosts:
                    evicted.extend(self._idle.popitem(last=False)[1])
            else:
                self._idle.move_to_end(key)
            if len(idle) < self.maxsize:
                idle.append(conn)
            else:
                evicted.append(conn)
        for old in evicted:
            old.close()


def _close_idle(idle: OrderedDict[Any, list[_Connection]], lock: threading.Lock) -> None:
    with lock:
        conns = [conn for kept in idle.values() for conn in kept]
        idle.clear()
    for conn in conns:
        conn.close()


_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]  # as urllib3 sets them


def _dropped(sock: socket.socket | None) -> bool:
    """Whether an idle connection has something to read: the server closed it (or said
    something unasked, which makes it unusable too)."""
    if sock is None:
        return True
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


def _read_limited(
    response: http.client.HTTPResponse, deadline: float, limit: int
) -> tuple[bytes, bool]:
    """The body, at most `limit` bytes, and whether it was read whole.

    Too long or still arriving at the deadline: cut short (the status is the answer). The
    connection broken mid-body before the deadline raises (a failed attempt), as does a
    body shorter than its Content-Length.
    """
    chunks: list[bytes] = []
    size, whole = 0, True
    try:
        while not response.isclosed():
            chunk = response.read(16384)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit or time.monotonic() > deadline:
                whole = False
                break
        if whole and not response.chunked and response.length:  # EOF before its length
            raise http.client.IncompleteRead(b"".join(chunks), response.length)
    except (http.client.HTTPException, OSError):
        if time.monotonic() < deadline:
            raise
        whole = False  # the watchdog shut the socket down at the deadline: keep what came
    return b"".join(chunks)[:limit], whole
