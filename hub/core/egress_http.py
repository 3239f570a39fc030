"""HTTP clients for org-supplied URLs: every connection re-checks the resolved address.

The connection classes resolve the host themselves, check every address against the
:class:`EgressPolicy`, then connect to a vetted address while TLS (SNI, certificate) and
the Host header keep the hostname. Redirects are never followed; proxies are never used.
Plugins get a requests session (:func:`egress_session`); the webhook pump, whose every
delivery is one POST, uses :class:`EgressPoolManager`: the same connections through
urllib3 alone, without requests' per-request merging (about 0.3 ms of CPU per POST).
"""

from __future__ import annotations

import email.parser
import http.client
import re
import socket
from collections.abc import Mapping
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection, _ResponseOptions
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool, port_by_scheme
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.url import parse_url

from hub.core import socket_deadline
from hub.core.egress import EgressPolicy, connect_vetted

MAX_PASSED = 10_000  # URLs an EgressPoolManager remembers as checked
# http.client's own checks of a header's name and value (putheader), made once per header
_LEGAL_NAME = re.compile(rb"[^:\s][^:\r\n]*").fullmatch
_ILLEGAL_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search


class HeaderBlock(dict[str, str]):
    """Request headers with their lines encoded and checked once, as http.client's
    ``putheader`` would: an egress connection sends the block as it is (after Host,
    Accept-Encoding and Content-Length, as urllib3 does) instead of a ``putheader`` call
    per header. Still a mapping for anything else that reads it; a change re-encodes it."""

    def __init__(self, headers: Mapping[str, str], block: bytes | None = None) -> None:
        super().__init__(headers)
        self.block = _encoded(self) if block is None else block

    def copy(self) -> HeaderBlock:  # urllib3's pool copies the headers it is given
        return HeaderBlock(self, self.block)

    def update(self, *args: Any, **kwargs: Any) -> None:
        if any(args) or kwargs:  # the pool merges its (empty) proxy headers in
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
        headers, body = kwargs.get("headers"), kwargs.get("body")
        if isinstance(headers, HeaderBlock) and isinstance(body, bytes) and not args:
            self._send_block(method, url, headers, body, kwargs)
            return
        super().request(method, url, *args, **kwargs)  # type: ignore[misc]

    def _send_block(
        self, method: str, url: str, headers: HeaderBlock, body: bytes, options: dict[str, Any]
    ) -> None:
        """urllib3's ``request`` for a bytes body and checked headers: the same lines on
        the wire, without re-checking every header per request."""
        conn: Any = self
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        conn._response_options = _ResponseOptions(
            request_method=method,
            request_url=url,
            preload_content=options.get("preload_content", True),
            decode_content=options.get("decode_content", True),
            enforce_content_length=options.get("enforce_content_length", True),
        )
        conn.putrequest(method, url)  # the request line, Host and Accept-Encoding
        conn._buffer.append(b"Content-Length: %d" % len(body))
        if headers.block:
            conn._buffer.append(headers.block)
        conn.endheaders(body)


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


class EgressPoolManager(urllib3.PoolManager):
    """A urllib3 pool manager for org-supplied URLs: the URL's scheme and host are checked
    per request, each new connection's address when it is made; no redirects, no retries,
    no proxies. Cheaper per request than a requests session; nothing else differs."""

    def __init__(self, policy: EgressPolicy, timeout: float, num_pools: int, maxsize: int) -> None:
        super().__init__(
            num_pools=num_pools,
            maxsize=maxsize,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        self.policy = policy
        self.pool_classes_by_scheme = _pool_classes(policy)
        # URLs whose scheme and host passed the policy (it never changes), with their pool's
        # key and request URI: a pump sends to the same few URLs over and over; what they
        # resolve to is checked per connection
        self._passed: dict[str, tuple[Any, str]] = {}
        self._passed_policy = policy

    def urlopen(  # type: ignore[override]  # the same signature as urllib3's own
        self, method: str, url: str, redirect: bool = False, **kwargs: Any
    ) -> urllib3.BaseHTTPResponse:
        route = self._passed.get(url) if self._passed_policy is self.policy else None
        pool = self.pools.get(route[0]) if route is not None else None  # marks it recently used
        if route is None or pool is None:
            route, pool = self._route(url)
        kwargs["retries"] = False
        kwargs["assert_same_host"] = False
        kwargs["redirect"] = False
        kwargs.setdefault("headers", self.headers)
        response: urllib3.BaseHTTPResponse = pool.urlopen(method, route[1], **kwargs)
        return response

    def _route(self, url: str) -> tuple[tuple[Any, str], HTTPConnectionPool]:
        """Check the URL's scheme and host; its pool (as urllib3's ``connection_from_host``
        finds or makes it), remembered with the pool's key and the request URI."""
        self.policy.split_url(url)
        parts = parse_url(url)
        if not parts.host:
            raise urllib3.exceptions.LocationValueError("No host specified.")
        context = self._merge_pool_kwargs(None)
        context["scheme"] = (parts.scheme or "http").lower()
        context["port"] = parts.port or port_by_scheme.get(context["scheme"], 80)
        context["host"] = parts.host
        key = self.key_fn_by_scheme[context["scheme"]](context)
        pool = self.connection_from_pool_key(key, request_context=context)
        if len(self._passed) >= MAX_PASSED or self._passed_policy is not self.policy:
            self._passed, self._passed_policy = {}, self.policy
        route = self._passed[url] = (key, parts.request_uri)
        return route, pool
