"""Helpers of the SMTP plugin tests (their own module: several plugins have a conftest)."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME, PASSWORD = "mailer@acme.example", "s3cret-pässword"
APP_URL = "https://hub.acme.example"


# ----- certificates -----


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, issuer: str, key: Any, signer: Any, ca: bool, sans: list[Any] | None = None
) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if not ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(path: Path, *items: Any) -> Path:
    chunks = []
    for item in items:
        if isinstance(item, x509.Certificate):
            chunks.append(item.public_bytes(serialization.Encoding.PEM))
        else:
            chunks.append(
                item.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
    path.write_bytes(b"".join(chunks))
    return path


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA and a server certificate for 127.0.0.1 (SAN IP), made with cryptography."""
    folder = tmp_path_factory.mktemp("certs")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Mycelium Test CA", "Mycelium Test CA", ca_key, ca_key, ca=True)
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    leaf = _certificate("127.0.0.1", "Mycelium Test CA", key, ca_key, ca=False, sans=sans)
    return Certificates(
        _pem(folder / "ca.pem", ca), _pem(folder / "cert.pem", leaf), _pem(folder / "key.pem", key)
    )


# ----- the SMTP server -----


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """What the server received, and the answers it is told to give."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> "550 ..."
    data_replies: list[str] = field(default_factory=list)  # next DATA answers, e.g. "451 ..."
    drop_data: int = 0  # close the connection on the next N messages' DATA
    sessions: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def connections(self) -> int:
        """SMTP sessions that sent mail (one per TCP connection)."""
        return len({id(s) for s in self.sessions})

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.sessions.append(session)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.drop_data:
                self.drop_data -= 1
                server.transport.close()
                return "421 4.3.0 connection dropped"
            if self.data_replies:
                return self.data_replies.pop(0)
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        return "250 2.0.0 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = data.login == USERNAME.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    controller: Controller | None

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def start_server(certificates: Certificates, implicit_tls: bool = False) -> SmtpServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required (or implicit TLS), AUTH required after TLS."""
    mailbox, port = Mailbox(), free_port()
    # aiosmtpd counts only STARTTLS as TLS for AUTH, so implicit TLS must allow it itself.
    tls: dict[str, Any] = (
        {"ssl_context": certificates.server_context(), "auth_require_tls": False}
        if implicit_tls
        else {"tls_context": certificates.server_context(), "require_starttls": True}
    )
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_required=True,
        server_hostname="127.0.0.1",
        **tls,
    )
    controller.start()
    return SmtpServer(port, mailbox, controller)


@pytest.fixture(autouse=True)
def _quiet_aiosmtpd() -> None:
    logging.getLogger("mail.log").setLevel(logging.ERROR)


@pytest.fixture
def smtp_server(certificates: Certificates) -> Iterator[SmtpServer]:
    server = start_server(certificates)
    yield server
    server.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], certificates: Certificates) -> dict[str, Any]:
    """Loopback is allowed for the egress guard, and the test CA is trusted."""
    return {
        **hub_config,
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
        "SMTP_CA_FILE": str(certificates.ca_file),
        "HUB_APP_URL": APP_URL,
        "SMTP_TIMEOUT": "5",
        "SMTP_TEST_TIMEOUT": "5",
    }


def smtp_config(smtp_port: int, **changes: Any) -> dict[str, Any]:
    config = {
        "preset": "custom",
        "host": "127.0.0.1",
        "port": smtp_port,
        "security": "starttls",
        "username": USERNAME,
        "password": PASSWORD,
        "from_address": "studio@acme.example",
        "from_name": "Acmé Stüdio",
        "reply_to": "hello@acme.example",
        "rate_limit_per_minute": 1000,
    }
    return {**config, **changes}


@pytest.fixture
def smtp_ctx(
    enable_plugin: Callable[..., Any], plugin_context: Callable[..., Any], smtp_server: SmtpServer
) -> Callable[..., Any]:
    """``smtp_ctx(**config changes)``: enable smtp for the test org; its hook context."""

    def make(**changes: Any) -> Any:
        enable_plugin("smtp", smtp_config(smtp_server.port, **changes))
        return plugin_context("smtp")

    return make
