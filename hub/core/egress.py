"""The egress guard: destinations an organization supplies may only reach the public internet.

Checked when a destination is registered (``check_url``) and again when a connection is
made, against the address the name resolves to at that moment (so a name that later
resolves to a private address is refused), and redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from hub.config import _bool, _cidrs
from hub.errors import EgressRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SockAddr = tuple[Any, ...]

# Named special-purpose ranges (IANA registries), so a refusal says what the address is.
_SPECIAL: list[tuple[str, str]] = [
    ("0.0.0.0/8", "an unspecified ('this network') address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a CGNAT shared address (100.64.0.0/10)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "a reserved (IETF protocol assignments) address"),
    ("192.0.2.0/24", "a documentation address (TEST-NET-1)"),
    ("192.88.99.0/24", "a reserved (6to4 relay anycast) address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a reserved (benchmarking) address"),
    ("198.51.100.0/24", "a documentation address (TEST-NET-2)"),
    ("203.0.113.0/24", "a documentation address (TEST-NET-3)"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
    ("::/96", "an IPv4-compatible (deprecated) IPv6 address"),
    ("64:ff9b:1::/48", "a reserved (local-use NAT64) address"),
    ("100::/64", "a reserved (discard-only) address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001::/23", "a reserved (IETF protocol assignments) address"),
    ("fc00::/7", "a private (unique local) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a reserved (site-local) address"),
    ("ff00::/8", "a multicast address"),
]
SPECIAL: list[tuple[Network, str]] = [(ipaddress.ip_network(n), why) for n, why in _SPECIAL]

# Refusals say how to try a receiver on one's own machine: an org admin reads them, and
# passes them on to whoever runs the hub.
HTTP_HINT = (
    " (To allow plain http in development, the hub's operator sets HUB_EGRESS_ALLOW_HTTP=1.)"
)


def _allow_hint(ip: IPAddress) -> str:
    mapped = getattr(ip, "ipv4_mapped", None) or ip
    return (
        " (To allow it in development, the hub's operator adds it to "
        f"HUB_EGRESS_ALLOWED_CIDRS, e.g. {ipaddress.ip_network(mapped)}.)"
    )


# IPv6 ranges that carry an IPv4 address in their last 32 bits: a translator (NAT64,
# SIIT) delivers to that IPv4 address, so it is judged instead (Python calls them global).
_TRANSLATED: list[tuple[Network, str]] = [
    (ipaddress.ip_network("64:ff9b::/96"), "a NAT64 address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (ipaddress.ip_network("::ffff:0:0:0/96"), "an IPv4-translated (SIIT) address"),
]


def _wrapped_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """(what kind of address, the IPv4 address it leads to) for translated and tunnelled
    IPv6 addresses (NAT64, SIIT, 6to4, Teredo), else None."""
    for network, kind in _TRANSLATED:
        if ip in network:
            return kind, ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "a 6to4 address", ip.sixtofour
    if ip.teredo is not None:
        return "a Teredo address", ip.teredo[1]
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public destination, or None if it is one."""
    wrapped = _wrapped_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if wrapped is not None:
        kind, inner = wrapped
        why = refusal_reason(inner)
        if why is not None:
            return f"{kind} wrapping {inner}, {why}"
    for network, why in SPECIAL:
        if ip.version == network.version and ip in network:
            return why
    if not ip.is_global:
        return "not a globally routable address"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """What org-supplied destinations may reach: public addresses, plus allowed CIDRs."""

    allow_http: bool = False
    allowed_cidrs: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> EgressPolicy:
        """From HUB_EGRESS_ALLOW_HTTP / HUB_EGRESS_ALLOWED_CIDRS (parsed values or strings)."""
        allow = settings.get("HUB_EGRESS_ALLOW_HTTP", False)
        cidrs = settings.get("HUB_EGRESS_ALLOWED_CIDRS", ())
        return cls(
            allow_http=_bool(allow) if isinstance(allow, str) else bool(allow),
            allowed_cidrs=_cidrs(cidrs) if isinstance(cidrs, str) else tuple(cidrs),
        )

    def allows(self, ip: IPAddress) -> bool:
        mapped = getattr(ip, "ipv4_mapped", None)
        candidates = [ip] if mapped is None else [ip, mapped]
        return any(
            c.version == net.version and c in net for c in candidates for net in self.allowed_cidrs
        )

    def check_ip(self, ip: IPAddress, field: str, host: str | None = None) -> None:
        """Refuse `ip` unless it is public or inside an allowed CIDR."""
        if self.allows(ip):
            return
        why = refusal_reason(ip)
        if why is not None:
            mapped = getattr(ip, "ipv4_mapped", None)
            text = f"::ffff:{mapped}" if mapped is not None else str(ip)
            shown = f"{host} resolves to {text}" if host and host != str(ip) else text
            message = f"{shown}, {why}; the hub does not send to it.{_allow_hint(ip)}"
            raise EgressRefused(f"{field}: {message}", {field: [message]})

    def resolve(self, host: str, port: int, field: str = "host") -> list[tuple[int, SockAddr]]:
        """Resolve `host` now and check every address; the vetted (family, sockaddr) list."""
        literal = _ip_literal(host)
        if literal is not None:
            self.check_ip(literal, field)
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return [(family, (str(literal), port))]
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            message = f"{host} cannot be resolved ({exc})."
            raise EgressRefused(f"{field}: {message}", {field: [message]}) from None
        vetted = []
        for family, _, _, _, sockaddr in answers:
            self.check_ip(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), field, host)
            vetted.append((int(family), tuple(sockaddr)))
        return _unique(vetted)

    def check_url(self, url: str, field: str = "url") -> str:
        """Check a URL an organization supplied (scheme, host, resolved addresses); returns it."""
        host, port = self.split_url(url, field)
        self.resolve(host, port, field)
        return url.strip()

    def split_url(self, url: str, field: str = "url") -> tuple[str, int]:
        """Check a URL's scheme and host without resolving it; its (host, port).

        Parsed by urllib3's parser, the one the connection uses, so the host checked here
        is the host connected to; a backslash (which parsers read differently) is refused.
        """
        url = url.strip()
        if "\\" in url:
            return _refuse(field, "A URL may not contain a backslash.")
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        allowed = ("https", "http") if self.allow_http else ("https",)
        if scheme not in allowed:
            hint = HTTP_HINT if scheme == "http" else ""
            return _refuse(field, f"Must be an {' or '.join(allowed)} URL.{hint}")
        try:
            parts = parse_url(url)
        except (LocationParseError, ValueError):
            return _refuse(field, "The URL's host or port is malformed.")
        if not parts.host:
            return _refuse(field, "The URL has no host.")
        return parts.host, parts.port or (443 if scheme == "https" else 80)

    def check_host(self, host: str, port: int, field: str = "host") -> list[str]:
        """Check a non-HTTP destination (an SMTP server); the vetted addresses."""
        if not host or not 0 < port < 65536:
            _refuse(field, "Needs a host name and a port between 1 and 65535.")
        return [str(sockaddr[0]) for _, sockaddr in self.resolve(host, port, field)]

    def create_connection(
        self, host: str, port: int, timeout: float | None, field: str = "host"
    ) -> socket.socket:
        """Resolve, check, and connect to a vetted address (for SMTP and other raw sockets)."""
        return connect_vetted(self.resolve(host, port, field), timeout)


def connect_vetted(
    addresses: Iterable[tuple[int, SockAddr]],
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: Iterable[tuple[int, int, Any]] | None = None,
) -> socket.socket:
    """Connect to the first vetted address that answers (never resolves again)."""
    error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("no address to connect to")


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _unique(items: list[tuple[int, SockAddr]]) -> list[tuple[int, SockAddr]]:
    return list(dict.fromkeys(items))


def _refuse(field: str, message: str) -> Any:
    raise EgressRefused(f"{field}: {message}", {field: [message]})
