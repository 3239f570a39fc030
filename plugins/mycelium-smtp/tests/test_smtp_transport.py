"""The SMTP session against a real server: TLS verified, login, and every failure sorted."""

from __future__ import annotations

from typing import Any

import pytest
from mycelium_smtp.transport import (
    AuthFailure,
    Connection,
    Server,
    SmtpFailure,
    guarded_connect,
)
from smtp_helpers import PASSWORD, USERNAME, Certificates, SmtpServer, free_port, start_server

from hub import EgressRefused

LOOPBACK = {"HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8"}
MESSAGE = b"From: a@acme.example\r\nTo: b@client.example\r\nSubject: hi\r\n\r\nbody\r\n"


def server(port: int, certificates: Certificates, **changes: Any) -> Server:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "username": USERNAME,
        "password": PASSWORD,
        "timeout": 5,
        "ca_file": str(certificates.ca_file),
        **changes,
    }
    return Server(**values)


def connect(config: Server, settings: dict[str, Any] | None = None) -> Connection:
    return Connection(config, guarded_connect(settings or LOOPBACK)).open()


def test_starttls_login_and_send(smtp_server: SmtpServer, certificates: Certificates) -> None:
    connection = connect(server(smtp_server.port, certificates))
    accepted = connection.send("a@acme.example", ["b@client.example"], MESSAGE)
    connection.close()
    assert accepted.refused == {}
    [received] = smtp_server.mailbox.received
    assert received.rcpt_tos == ["b@client.example"]
    assert received.message["Subject"] == "hi"


# aiosmtpd warns about AUTH without *STARTTLS*; the whole session is TLS here.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(certificates: Certificates) -> None:
    smtps = start_server(certificates, implicit_tls=True)
    try:
        connection = connect(server(smtps.port, certificates, security="ssl"))
        connection.send("a@acme.example", ["b@client.example"], MESSAGE)
        connection.close()
    finally:
        smtps.stop()
    assert len(smtps.mailbox.received) == 1


def test_wrong_password_is_an_auth_failure(
    smtp_server: SmtpServer, certificates: Certificates
) -> None:
    with pytest.raises(AuthFailure) as caught:
        connect(server(smtp_server.port, certificates, password="wrong"))
    assert caught.value.code == 535
    assert "535" in caught.value.message


def test_untrusted_certificate_is_refused(
    smtp_server: SmtpServer, certificates: Certificates
) -> None:
    """Certificates are verified by default: without the test CA the server is not trusted."""
    with pytest.raises(SmtpFailure) as caught:
        connect(server(smtp_server.port, certificates, ca_file=None))
    assert not caught.value.temporary
    assert "certificate" in caught.value.message.lower()
    assert smtp_server.mailbox.received == []


def test_server_down_is_temporary(certificates: Certificates) -> None:
    with pytest.raises(SmtpFailure) as caught:
        connect(server(free_port(), certificates))
    assert caught.value.temporary
    assert "Cannot connect" in caught.value.message


def test_plain_server_without_starttls_is_refused(certificates: Certificates) -> None:
    """A server that does not offer STARTTLS when the config asks for it: never send in clear."""
    from aiosmtpd.controller import Controller
    from smtp_helpers import Mailbox

    port, mailbox = free_port(), Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(SmtpFailure) as caught:
            connect(server(port, certificates, username="", password=""))
    finally:
        controller.stop()
    assert "STARTTLS" in caught.value.message
    assert not caught.value.temporary


def test_loopback_refused_by_the_egress_guard(
    smtp_server: SmtpServer, certificates: Certificates
) -> None:
    with pytest.raises(EgressRefused) as caught:
        connect(server(smtp_server.port, certificates), {"HUB_EGRESS_ALLOWED_CIDRS": ""})
    assert "loopback" in caught.value.message


def test_recipient_refusals_are_reported_per_address(
    smtp_server: SmtpServer, certificates: Certificates
) -> None:
    smtp_server.mailbox.rcpt_replies = {
        "gone@client.example": "550 5.1.1 No such user",
        "full@client.example": "452 4.2.2 Mailbox full",
    }
    connection = connect(server(smtp_server.port, certificates))
    rcpts = ["b@client.example", "gone@client.example", "full@client.example"]
    accepted = connection.send("a@acme.example", rcpts, MESSAGE)
    assert accepted.refused["gone@client.example"][0] == 550
    assert accepted.temporary_refusals() == ["full@client.example"]
    # the session is still usable after a refusal
    connection.send("a@acme.example", ["b@client.example"], MESSAGE)
    connection.close()
    assert [r.rcpt_tos for r in smtp_server.mailbox.received] == [["b@client.example"]] * 2


@pytest.mark.parametrize(
    ("reply", "temporary"), [("451 4.3.0 Try later", True), ("554 5.6.0 Rejected", False)]
)
def test_data_refusal(
    smtp_server: SmtpServer, certificates: Certificates, reply: str, temporary: bool
) -> None:
    smtp_server.mailbox.data_replies = [reply]
    connection = connect(server(smtp_server.port, certificates))
    with pytest.raises(SmtpFailure) as caught:
        connection.send("a@acme.example", ["b@client.example"], MESSAGE)
    assert caught.value.temporary is temporary
    assert caught.value.code == int(reply[:3])
    assert not caught.value.connection_lost
    connection.close()


def test_dropped_connection_is_temporary_and_marks_the_session_lost(
    smtp_server: SmtpServer, certificates: Certificates
) -> None:
    smtp_server.mailbox.drop_data = 1
    connection = connect(server(smtp_server.port, certificates))
    with pytest.raises(SmtpFailure) as caught:
        connection.send("a@acme.example", ["b@client.example"], MESSAGE)
    assert caught.value.temporary
    assert caught.value.connection_lost
    assert connection.smtp is None
