"""Well-formed MIME messages, recipient addresses, and the signed one-click unsubscribe link.

Every message carries Message-ID, Date, RFC 2047-encoded names and subject, a
``text/plain`` part then a ``text/html`` part (RFC 2046: least faithful first), and,
unless it is transactional, ``List-Unsubscribe`` with an https URL holding a signed token
plus ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import charset, policy
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

UNSUBSCRIBE_SALT = "mycelium-smtp-unsubscribe"
# Headers holding a URL: never folded or RFC 2047-encoded (the email package would encode
# a long URL into unreadable encoded words); a URL is ASCII and far below 998 characters.
UNFOLDED = frozenset({"list-unsubscribe", "list-unsubscribe-post"})


class _Policy(Compat32):
    """CRLF and lines of 78, except that URL headers are written as they are.

    The classic (compat32) message API: several times faster to build than EmailMessage's
    header objects, which matters when a worker sends hundreds of messages a second.
    """

    def fold(self, name: str, value: str) -> str:
        if name.lower() in UNFOLDED:
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in UNFOLDED:
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


SMTP_POLICY = _Policy(linesep="\r\n")
UTF8_QP = charset.Charset("utf-8")
UTF8_QP.body_encoding = charset.QP  # readable bodies, lines within limits
# (MIMEText takes a Charset object though typeshed says str; plain text part comes first:
# RFC 2046 orders alternatives from least to most faithful.)
UNSUBSCRIBE_PATH = "/api/integrations/smtp/unsubscribe/"


@dataclass(frozen=True)
class Sender:
    """Who the organization's email comes from."""

    address: str
    name: str = ""
    reply_to: str | None = None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class Body:
    """What one message says, as rendered and stored on its row."""

    subject: str
    html: str
    text: str
    message_id: str
    to: Sequence[str]
    cc: Sequence[str] = ()
    unsubscribe_url: str | None = None


# The everyday forms, `Ana Smith <ana.smith@x.example>` and `ana@x.example` with plain
# atoms only: read by this pattern, they give the Address the header parser gives (a test
# compares both), for a tenth of its cost; anything else goes through the parser.
_ATOMS = r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_PLAIN = re.compile(rf"(?:([A-Za-z0-9]+(?: [A-Za-z0-9]+)*) <({_ATOMS})>|({_ATOMS}))")


@lru_cache(maxsize=4096)
def parse_address(value: str) -> Address:
    """`"Ana Müller <ana@x.example>"` or `ana@x.example`; ValueError if not one address."""
    plain = _PLAIN.fullmatch(value)
    if plain:
        name, spec = plain[1] or "", plain[2] or plain[3]
        username, _, domain = spec.rpartition("@")
        return Address(display_name=name, username=username, domain=domain)
    return parsed_address(value)


def parsed_address(value: str) -> Address:
    """`parse_address` by the email package's header parser alone."""
    if any(c in value for c in "\r\n\0"):
        raise ValueError("An address is one line.")
    header = policy.default.header_factory("To", value)
    found = list(header.addresses)
    if header.defects or len(found) != 1 or not found[0].username or "." not in found[0].domain:
        raise ValueError(f"Not one email address: {value!r}.")
    if not found[0].addr_spec.isascii():
        raise ValueError("Only ASCII addresses are supported (names may be any text).")
    return found[0]


def header_address(value: str) -> str:
    """An address header value, its display name RFC 2047-encoded when not ASCII."""
    parsed = parse_address(value)
    return formataddr((parsed.display_name, parsed.addr_spec), charset="utf-8")


def new_message_id(sender: Sender) -> str:
    return make_msgid(domain=sender.domain or None)


def build(body: Body, sender: Sender, date: datetime) -> Message:
    """The MIME message of `body` from `sender`, dated `date` (write it with `to_bytes`)."""
    # "=_" never occurs in quoted-printable parts, so this boundary cannot collide (and the
    # generator need not compile a regex per message to check).
    message = MIMEMultipart(
        "alternative", f"=_mycelium_{secrets.token_hex(12)}", policy=SMTP_POLICY
    )
    message["From"] = formataddr((sender.name, sender.address), charset="utf-8")
    message["To"] = ", ".join(header_address(a) for a in body.to)
    if body.cc:
        message["Cc"] = ", ".join(header_address(a) for a in body.cc)
    if sender.reply_to:
        message["Reply-To"] = header_address(sender.reply_to)
    message["Subject"] = _subject(body.subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = body.message_id
    message["Auto-Submitted"] = "auto-generated"  # no vacation replies to a robot
    if body.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{body.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.attach(MIMEText(body.text, "plain", UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(body.html, "html", UTF8_QP))  # type: ignore[arg-type]
    return message


def _subject(subject: str) -> Any:
    """ASCII as is; anything else as RFC 2047 encoded words (a Header)."""
    return subject if subject.isascii() else Header(subject, "utf-8")


def to_bytes(message: Message) -> bytes:
    return message.as_bytes(policy=SMTP_POLICY)


# ----- unsubscribe tokens -----


@dataclass(frozen=True)
class Unsubscribe:
    """What a signed unsubscribe link stands for."""

    org_id: int
    type: str
    addresses: tuple[str, ...]


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(app_url: str, secret: str, request: Unsubscribe) -> str:
    """The https link (in production) that unsubscribes `request.addresses` from the type."""
    token = _serializer(secret).dumps([request.org_id, request.type, list(request.addresses)])
    return f"{app_url.rstrip('/')}{UNSUBSCRIBE_PATH}{token}"


def read_unsubscribe(secret: str, token: str) -> Unsubscribe | None:
    """The request a token carries, or None if it was not signed by this hub."""
    try:
        org_id, type_, addresses = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(org_id, int) or not isinstance(type_, str):
        return None
    return Unsubscribe(org_id, type_, tuple(str(a) for a in addresses))
