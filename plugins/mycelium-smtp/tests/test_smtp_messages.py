"""MIME messages as a mail client reads them back with the `email` package."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest
from mycelium_smtp.messages import (
    Body,
    Sender,
    Unsubscribe,
    build,
    new_message_id,
    parse_address,
    parsed_address,
    read_unsubscribe,
    to_bytes,
    unsubscribe_url,
)

SENDER = Sender("studio@acme.example", "Acmé Stüdio", "hello@acme.example")
LINK = "https://hub.acme.example/api/integrations/smtp/unsubscribe/" + "A" * 200  # unfoldable


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def sample(**changes: object) -> bytes:
    values: dict[str, object] = {
        "subject": "Überfällig: Logo für Zoë",
        "html": "<p>Client: &lt;script&gt;</p>",
        "text": "Client: <script>",
        "message_id": new_message_id(SENDER),
        "to": ["Zoë Ångström <zoe@client.example>"],
        "cc": ["boss@client.example"],
        "unsubscribe_url": LINK,
        **changes,
    }
    body = Body(**values)  # type: ignore[arg-type]
    return to_bytes(build(body, SENDER, datetime(2026, 3, 5, 9, 0, tzinfo=UTC)))


def test_headers_are_well_formed_and_ascii_on_the_wire() -> None:
    data = sample()
    assert data.isascii()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    message = parse(data)
    assert message["From"] == "Acmé Stüdio <studio@acme.example>"
    assert message["To"] == "Zoë Ångström <zoe@client.example>"
    assert message["Cc"] == "boss@client.example"
    assert message["Reply-To"] == "hello@acme.example"
    assert message["Subject"] == "Überfällig: Logo für Zoë"
    assert message["Date"] == "Thu, 05 Mar 2026 09:00:00 +0000"
    assert re.fullmatch(r"<[^<>@\s]+@acme\.example>", message["Message-ID"])
    assert b"=?utf-8?" in data  # RFC 2047 encoded words for the names and subject


def test_one_click_unsubscribe_headers() -> None:
    message = parse(sample())
    assert message["List-Unsubscribe"] == f"<{LINK}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    no_link = parse(sample(unsubscribe_url=None))
    assert no_link["List-Unsubscribe"] is None and no_link["List-Unsubscribe-Post"] is None


def test_plain_text_then_html() -> None:
    message = parse(sample())
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain, html = message.iter_parts()
    assert plain.get_content().strip() == "Client: <script>"
    assert "&lt;script&gt;" in html.get_content()


@pytest.mark.parametrize(
    "bad", ["", "nobody", "a@b", "x@y.example, z@w.example", "a@b.example\r\nBcc: c@d.example"]
)
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_address(bad)


@pytest.mark.parametrize(
    "value",
    [
        "ana@x.example",
        "Ana <ana@x.example>",
        "Person 12 <person12@client.example>",
        "Ana Smith <ana.smith+news@mail-1.x.example>",
        "A_B-c+d@-x-.example",
        "ANA@X.EXAMPLE",
        "0 <0@0.0>",
    ],
)
def test_everyday_addresses_read_as_the_header_parser_reads_them(value: str) -> None:
    fast, full = parse_address.__wrapped__(value), parsed_address(value)
    assert (fast.display_name, fast.username, fast.domain) == (
        full.display_name,
        full.username,
        full.domain,
    )
    assert fast.addr_spec == full.addr_spec and str(fast) == str(full)


@pytest.mark.parametrize(
    "value",
    ["Ana  Smith <a@x.example>", " a@x.example", "a..b@x.example", ".a@x.example", "a@x..example"],
)
def test_other_forms_go_to_the_header_parser(value: str) -> None:
    try:
        full: object = parsed_address(value)
    except ValueError as exc:
        full = str(exc)
    try:
        fast: object = parse_address.__wrapped__(value)
    except ValueError as exc:
        fast = str(exc)
    assert fast == full


def test_unsubscribe_token_round_trip_and_forgery() -> None:
    request = Unsubscribe(7, "daily_digest", ("dana@acme.example",))
    url = unsubscribe_url("https://hub.acme.example", "secret", request)
    assert url.startswith("https://hub.acme.example/api/integrations/smtp/unsubscribe/")
    token = url.rsplit("/", 1)[1]
    assert read_unsubscribe("secret", token) == request
    assert read_unsubscribe("other secret", token) is None
    assert read_unsubscribe("secret", token[:-2] + "xx") is None
    assert read_unsubscribe("secret", "garbage") is None
