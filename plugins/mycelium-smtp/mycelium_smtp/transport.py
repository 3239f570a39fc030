"""One SMTP connection to the organization's server: connect, TLS, login, send; errors sorted.

Addresses go through the hub's egress guard at connect time (the name is resolved and
checked then), certificates are verified (``SMTP_CA_FILE`` adds a CA, for tests and
private servers), and every failure becomes a :class:`SmtpFailure` that says whether
trying again later can help.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import EgressPolicy

Connect = Callable[[str, int, float], socket.socket]
EGRESS_SETTINGS = ("HUB_EGRESS_ALLOW_HTTP", "HUB_EGRESS_ALLOWED_CIDRS")


def guarded_connect(settings: Mapping[str, Any]) -> Connect:
    """Sockets only to addresses the hub's egress guard allows, checked at connect time."""
    policy = EgressPolicy.from_settings(
        {name: settings.get(name) or () for name in EGRESS_SETTINGS}
    )

    def connect(host: str, port: int, timeout: float) -> socket.socket:
        return policy.create_connection(host, port, timeout)

    return connect


@dataclass(frozen=True)
class Server:
    """Where and how to connect, from the integration's config and secret."""

    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str = ""
    password: str = ""
    timeout: float = 15.0
    ca_file: str | None = None
    ehlo_name: str | None = None


class SmtpFailure(Exception):
    """A send or connection failed; `temporary` says a later retry may succeed."""

    def __init__(self, message: str, *, temporary: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.temporary = temporary
        self.code = code
        self.connection_lost = False


class AuthFailure(SmtpFailure):
    """The server refused the username or password."""


@dataclass
class Accepted:
    """What the server did with one message: who was refused (rcpt -> (code, reason))."""

    refused: dict[str, tuple[int, str]] = field(default_factory=dict)

    def temporary_refusals(self) -> list[str]:
        return [rcpt for rcpt, (code, _) in self.refused.items() if 400 <= code < 500]


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _coded(code: int, reply: Any, what: str) -> SmtpFailure:
    return SmtpFailure(f"{what}: {code} {_text(reply)}", temporary=400 <= code < 500, code=code)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context (smtplib's own default verifies nothing)."""
    return ssl.create_default_context(cafile=ca_file or None)


class _GuardedSMTP(smtplib.SMTP):
    connect_socket: Connect
    _host: str

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.connect_socket(host, port, timeout)


class _GuardedSMTPSSL(smtplib.SMTP_SSL):
    connect_socket: Connect
    _host: str

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = self.connect_socket(host, port, timeout)
        return self.context.wrap_socket(sock, server_hostname=self._host)


class Connection:
    """An open, authenticated SMTP session, reused for many messages."""

    def __init__(self, server: Server, connect_socket: Connect) -> None:
        self.server = server
        self._connect_socket = connect_socket
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> Connection:
        """Connect, negotiate TLS and log in; SmtpFailure with the server's reason if not."""
        try:
            self.smtp = self._session()
            self._negotiate()
        except SmtpFailure:
            self.close()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            # the admin can fix the password, so mail waits (retried) instead of failing
            raise AuthFailure(
                f"Login refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                temporary=True,
                code=exc.smtp_code,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise _connect_failure(self.server, exc) from None
        return self

    def _session(self) -> smtplib.SMTP:
        server = self.server
        cls: type[_GuardedSMTP] | type[_GuardedSMTPSSL]
        kwargs: dict[str, Any] = {"local_hostname": server.ehlo_name, "timeout": server.timeout}
        if server.security == "ssl":
            cls, kwargs["context"] = _GuardedSMTPSSL, tls_context(server.ca_file)
        else:
            cls = _GuardedSMTP
        smtp = cls(**kwargs)
        smtp.connect_socket = self._connect_socket
        smtp._host = server.host  # the name TLS verifies (connect() keeps the address apart)
        code, reply = smtp.connect(server.host, server.port)
        if code != 220:
            smtp.close()
            raise _coded(code, reply, f"{server.host}:{server.port} refused the connection")
        return smtp

    def _negotiate(self) -> None:
        smtp, server = self.smtp, self.server
        assert smtp is not None
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SmtpFailure("The server does not offer STARTTLS.", temporary=False)
            smtp.starttls(context=tls_context(server.ca_file))
            smtp.ehlo()
        if server.username:
            if not smtp.has_extn("auth"):
                raise SmtpFailure("The server does not offer AUTH.", temporary=False)
            _login(smtp, server.username, server.password)

    def send(self, sender: str, recipients: Sequence[str], data: bytes) -> Accepted:
        """Send one message; SmtpFailure if nobody got it, else who was refused."""
        if self.smtp is None:
            raise SmtpFailure("Not connected.", temporary=True)
        try:
            refused = self.smtp.sendmail(sender, list(recipients), data)
        except smtplib.SMTPRecipientsRefused as exc:
            return _all_refused(exc)
        except smtplib.SMTPSenderRefused as exc:
            raise self._checked(_coded(exc.smtp_code, exc.smtp_error, "Sender refused")) from None
        except smtplib.SMTPDataError as exc:
            raise self._checked(_coded(exc.smtp_code, exc.smtp_error, "Message refused")) from None
        except smtplib.SMTPResponseException as exc:
            raise self._lost(_coded(exc.smtp_code, exc.smtp_error, "Server error")) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._lost(SmtpFailure(f"Connection lost: {exc}", temporary=True)) from None
        return Accepted({r: (code, _text(msg)) for r, (code, msg) in refused.items()})

    def _checked(self, failure: SmtpFailure) -> SmtpFailure:
        """A refusal keeps the session, unless the server closed it (421)."""
        if self.smtp is None or self.smtp.sock is None or failure.code == 421:
            return self._lost(failure)
        return failure

    def _lost(self, failure: SmtpFailure) -> SmtpFailure:
        """After an error outside a reply we understand, the session is not reused."""
        failure.connection_lost = True
        self.close()
        return failure

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login encodes credentials as ASCII; others go as UTF-8 AUTH PLAIN (RFC 4616)."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode()).decode()
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code == 535 or (code >= 500 and code != 504):
        raise smtplib.SMTPAuthenticationError(code, reply)
    if code != 235:
        raise smtplib.SMTPResponseException(code, reply)


def _all_refused(exc: smtplib.SMTPRecipientsRefused) -> Accepted:
    return Accepted({r: (code, _text(msg)) for r, (code, msg) in exc.recipients.items()})


def _connect_failure(server: Server, exc: BaseException) -> SmtpFailure:
    where = f"{server.host}:{server.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SmtpFailure(
            f"TLS certificate of {where} refused: {exc.verify_message}", temporary=False
        )
    if isinstance(exc, ssl.SSLError):
        return SmtpFailure(f"TLS with {where} failed: {exc}", temporary=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _coded(exc.smtp_code, exc.smtp_error, f"{where} refused the connection")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SmtpFailure(f"{where} closed the connection: {exc}", temporary=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SmtpFailure(f"{where}: {exc}", temporary=False)
    return SmtpFailure(f"Cannot connect to {where}: {exc}", temporary=True)
