"""HTTP clients for org-supplied URLs: every connection re-checks the resolved address.

The connection classes resolve the host themselves, check every address against the
:class:`EgressPolicy`, then connect to a vetted address while TLS (SNI, certificate) and
the Host header keep the hostname. Redirects are never followed; proxies are never used.
Plugins get a requests session (:func:`egress_session`); the webhook pump, whose every
delivery is one POST, uses :class:`EgressPoolManager`: the same connections through
urllib3 alone, without requests' per-request merging (about 0.3 ms of CPU per POST).
"""

from __future__ import annotations

import socket
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from hub.core import socket_deadline
from hub.core.egress import EgressPolicy, connect_vetted

MAX_PASSED = 10_000  # URLs an EgressPoolManager remembers as checked


class _GuardedConnection:
    """Mixin replacing urllib3's `_new_conn`: resolve, check, connect to the vetted address."""

    egress_policy: EgressPolicy
    _dns_host: str
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

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

    def request(self, *args: Any, **kwargs: Any) -> None:
        # inside an attempt's deadline, the watchdog shuts this socket down when it comes
        socket_deadline.guard(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


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
        # URLs whose scheme and host passed the policy (it never changes): a pump sends to
        # the same few URLs over and over; what they resolve to is checked per connection
        self._passed: set[str] = set()
        self._passed_policy = policy

    def urlopen(  # type: ignore[override]  # the same signature as urllib3's own
        self, method: str, url: str, redirect: bool = False, **kwargs: Any
    ) -> urllib3.BaseHTTPResponse:
        if url not in self._passed or self._passed_policy is not self.policy:
            self.policy.split_url(url)
            if len(self._passed) >= MAX_PASSED or self._passed_policy is not self.policy:
                self._passed, self._passed_policy = set(), self.policy
            self._passed.add(url)
        kwargs["retries"] = False
        return super().urlopen(method, url, redirect=False, **kwargs)
