"""The egress guard: registration checks, connect-time checks, no redirects (real loopback)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.certs import self_signed
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import hub
from hub import egress
from hub.errors import EgressRefused

LOOPBACK_OK = {"HUB_EGRESS_ALLOW_HTTP": "true", "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.1/32"}


class Receiver:
    """A real HTTP server on a loopback address that records what it was sent."""

    def __init__(
        self, host: str = "127.0.0.1", answer: Callable[[Request], Response] | None = None
    ):
        self.hits: list[dict[str, str]] = []
        self.answer = answer or (lambda request: Response("hello", 200))
        self.server = make_server(host, 0, self.wsgi, threaded=True, ssl_context=None)
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.hits.append({"path": request.path, "host": request.host})
        return self.answer(request)(environ, start_response)

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Callable[[], str]], None]:
    """Map a name to addresses chosen per lookup; other names resolve as usual."""
    real = socket.getaddrinfo
    table: dict[str, Callable[[], str]] = {}

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, *args: Any) -> Any:
        if host in table:
            ip = table[host]()
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            return [(fam, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))]
        return real(host, port, family, type, *args)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table.__setitem__


REFUSED = [
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("[::1]", "loopback"),
    ("[::]", "unspecified"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped"),
    ("[::ffff:8.8.8.8]", "IPv4-mapped"),
    ("[fe80::1]", "link-local"),
    ("[fc00::1]", "private"),
    ("[fd12:3456::1]", "private"),
    ("[ff02::1]", "multicast"),
    ("[2001:db8::1]", "documentation"),
    ("[2002:7f00:1::]", "6to4 address wrapping 127.0.0.1, a loopback"),
    ("[64:ff9b::a9fe:a9fe]", "NAT64 address wrapping 169.254.169.254, a link-local"),
    ("[64:ff9b::7f00:1]", "NAT64 address wrapping 127.0.0.1, a loopback"),
    ("[64:ff9b::a00:1]", "NAT64 address wrapping 10.0.0.1, a private"),
    ("[64:ff9b:1::7f00:1]", "local-use NAT64 address wrapping 127.0.0.1, a loopback"),
    ("[64:ff9b:1::808:808]", "local-use NAT64"),
    ("[::ffff:0:7f00:1]", "IPv4-translated (SIIT) address wrapping 127.0.0.1, a loopback"),
    ("[::ffff:0:a9fe:a9fe]", "SIIT) address wrapping 169.254.169.254"),
    ("[2001:0:4136:e378:8000:63bf:f5f5:f5f5]", "Teredo address wrapping 10.10.10.10"),
    ("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo address wrapping 192.0.2.45"),
]


@pytest.mark.parametrize(("host", "reason"), REFUSED)
def test_refused_address_classes(host: str, reason: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        egress.check_url(f"https://{host}/hook", {}, field="target_url")
    message = refused.value.details["target_url"][0]
    assert reason in message
    assert host.strip("[]") in message
    assert refused.value.status == 400


def test_public_addresses_pass_without_connecting() -> None:
    assert egress.check_url("https://8.8.8.8/x", {}) == "https://8.8.8.8/x"
    assert egress.check_url("https://[2606:4700:4700::1111]/x", {})
    assert egress.check_url("https://[64:ff9b::808:808]/x", {})  # NAT64 of a public address
    assert egress.check_host("1.1.1.1", 587, {}) == ["1.1.1.1"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://8.8.8.8/", "Must be an https URL."),
        ("ftp://8.8.8.8/", "Must be an https URL."),
        ("https:///nohost", "The URL has no host."),
        ("https://8.8.8.8:99999/", "port"),
        ("not a url", "Must be an https URL."),
        ("https://[127.0.0.1]:1/", "host or port is malformed"),
        ("https://[127.0.0.1]/", "host or port is malformed"),
        ("https://[not-an-ip]/", "host or port is malformed"),
        ("https://8.8.8.8\\@1.1.1.1/", "backslash"),
    ],
)
def test_malformed_urls_refused_naming_field(url: str, expected: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        egress.check_url(url, {}, field="url")
    assert expected in refused.value.details["url"][0]


def test_a_backslash_cannot_make_registration_and_connection_see_different_hosts() -> None:
    # urlsplit reads 127.0.0.2 as the host, urllib3 (which connects) 127.0.0.1 port 1
    allowed = {**LOOPBACK_OK, "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.2/32"}
    with pytest.raises(EgressRefused) as refused:
        egress.check_url("http://127.0.0.1:1\\@127.0.0.2/", allowed, field="url")
    assert "backslash" in refused.value.details["url"][0]


def test_the_host_checked_is_the_host_the_connection_parses() -> None:
    policy = egress.policy(LOOPBACK_OK)
    assert policy.split_url("http://user:pw@127.0.0.1:81/a?b=@8.8.8.8") == ("127.0.0.1", 81)
    assert policy.split_url("http://127.0.0.1#@8.8.8.8/") == ("127.0.0.1", 80)
    assert policy.split_url("HTTP://Example.COM/") == ("example.com", 80)


def test_http_only_when_allowed() -> None:
    assert egress.check_url("http://8.8.8.8/", {"HUB_EGRESS_ALLOW_HTTP": "yes"})
    assert egress.check_url("http://8.8.8.8/", {"HUB_EGRESS_ALLOW_HTTP": True})


def test_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(EgressRefused) as refused:
        egress.check_url("https://localhost/hook", {})
    assert "localhost resolves to" in refused.value.message
    assert "loopback" in refused.value.message


def test_mapped_name_to_private_address_is_refused(fake_dns: Any) -> None:
    fake_dns("intranet.example.test", lambda: "10.1.2.3")
    with pytest.raises(EgressRefused, match=r"intranet.example.test resolves to 10.1.2.3"):
        egress.check_host("intranet.example.test", 25, {}, field="smtp_host")


def test_unresolvable_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(EgressRefused, match="cannot be resolved"):
        egress.check_url("https://nowhere.example.test/", {})


def test_bad_port_for_host_refused() -> None:
    with pytest.raises(EgressRefused):
        egress.check_host("8.8.8.8", 0, {})


def test_dns_rebinding_refused_at_connect_time(fake_dns: Any) -> None:
    with Receiver() as receiver:
        answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
        fake_dns("rebind.example.test", lambda: next(answers))
        url = f"http://rebind.example.test:{receiver.port}/hook"
        settings = {"HUB_EGRESS_ALLOW_HTTP": "true"}
        assert egress.check_url(url, settings) == url  # registration: public address
        with pytest.raises(EgressRefused, match=r"resolves to 127.0.0.1, a loopback"):
            egress.egress_session(settings, timeout=5).post(url, json={"x": 1})
        assert receiver.hits == []


def test_allowed_cidr_lets_loopback_through_keeping_host_header() -> None:
    with Receiver() as receiver:
        session = egress.egress_session(LOOPBACK_OK, timeout=5)
        response = session.get(f"http://localhost:{receiver.port}/ping")
    assert response.status_code == 200
    assert response.text == "hello"
    assert receiver.hits == [{"path": "/ping", "host": f"localhost:{receiver.port}"}]


def test_allowed_cidr_is_exact(fake_dns: Any) -> None:
    fake_dns("other.example.test", lambda: "127.0.0.2")
    with pytest.raises(EgressRefused, match=r"127\.0\.0\.2"):
        egress.check_url("http://other.example.test/", LOOPBACK_OK)


def test_redirect_to_private_address_is_not_followed() -> None:
    with Receiver("127.0.0.2") as private:

        def redirect(request: Request) -> Response:
            return Response("", 302, headers={"Location": f"{private.url}/secret"})

        with Receiver(answer=redirect) as receiver:
            session = egress.egress_session(LOOPBACK_OK, timeout=5)
            response = session.get(f"{receiver.url}/start")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/secret")
    assert [hit["path"] for hit in receiver.hits] == ["/start"]
    assert private.hits == []


def test_session_refuses_scheme_before_connecting() -> None:
    with Receiver() as receiver, pytest.raises(EgressRefused, match="https"):
        egress.egress_session({"HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.1/32"}).get(receiver.url)
    assert receiver.hits == []


def test_create_connection_connects_to_vetted_address() -> None:
    with Receiver() as receiver:
        with pytest.raises(EgressRefused):
            egress.create_connection("localhost", receiver.port, 5, {})
        sock = egress.create_connection("localhost", receiver.port, 5, LOOPBACK_OK)
        with sock:
            sock.sendall(b"GET /raw HTTP/1.0\r\nHost: localhost\r\n\r\n")
            assert sock.recv(12).startswith(b"HTTP/1.")
    assert receiver.hits[0]["path"] == "/raw"


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path]]:
    cert, key = self_signed(tmp_path, "api.example.test")
    receiver = Receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    with receiver:
        yield receiver, cert


def test_https_keeps_sni_and_certificate_hostname(fake_dns: Any, tls_receiver: Any) -> None:
    receiver, cert = tls_receiver
    fake_dns("api.example.test", lambda: "127.0.0.1")
    session = hub.egress_session({"HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8"}, timeout=5)
    response = session.get(f"https://api.example.test:{receiver.port}/tls", verify=str(cert))
    assert response.status_code == 200
    assert receiver.hits == [{"path": "/tls", "host": f"api.example.test:{receiver.port}"}]


def test_connection_failure_is_a_requests_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(requests.ConnectionError):
        egress.egress_session(LOOPBACK_OK, timeout=5).get(f"http://127.0.0.1:{port}/")
