"""The SMTP integration's configuration: the schema admins fill in, and provider presets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from hub import StrictBoolean
from mycelium_smtp.providers import API_TRANSPORTS, TRANSPORTS

SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

# preset -> (host, port, security); the admin may still override any of the three.
PRESETS: dict[str, tuple[str, int, str] | None] = {
    "gmail": ("smtp.gmail.com", 587, "starttls"),
    "outlook": ("smtp.office365.com", 587, "starttls"),
    "sendgrid": ("smtp.sendgrid.net", 587, "starttls"),
    "mailgun": ("smtp.mailgun.org", 587, "starttls"),
    "custom": None,
}

_HOSTNAME = validate.Regexp(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$",
    error="Not a host name or IP address.",
)
_NO_NEWLINES = validate.Regexp(r"^[^\r\n]*$", error="Must be one line.")


class SmtpConfigSchema(Schema):
    """`PUT /api/integrations/smtp`: where and how the organization's mail goes out."""

    class Meta:
        ordered = True

    transport = fields.String(
        validate=validate.OneOf(TRANSPORTS),
        metadata={
            "description": "How mail leaves: smtp (the server below), or the HTTP API of "
            "sendgrid, mailgun or postmark. Default: the operator's DEFAULT_SMTP_PROVIDER, "
            "else smtp."
        },
    )
    api_key = fields.String(
        validate=[validate.Length(min=1, max=1024), _NO_NEWLINES],
        metadata={
            "secret": True,
            "description": "The provider's API key (Postmark: the server token); kept "
            "encrypted, never shown. Default: the operator's SENDGRID_API_KEY or "
            "MAILGUN_API_KEY.",
        },
    )
    mailgun_domain = fields.String(
        validate=[validate.Length(min=1, max=253), _HOSTNAME],
        metadata={"description": "Mailgun's sending domain (default: MAILGUN_DOMAIN)."},
    )
    mailgun_region = fields.String(
        validate=validate.OneOf(("us", "eu")),
        metadata={"description": "Mailgun's region: us (api.mailgun.net) or eu."},
    )
    webhook_key = fields.String(
        validate=[validate.Length(min=1, max=4096), _NO_NEWLINES],
        metadata={
            "secret": True,
            "description": "Verifies the provider's event webhook: SendGrid's verification "
            "key (base64), Mailgun's webhook signing key, or the password Postmark sends "
            "(user hub).",
        },
    )
    preset = fields.String(
        load_default="custom",
        validate=validate.OneOf(tuple(PRESETS)),
        metadata={
            "description": "A known provider (gmail, outlook, sendgrid, mailgun) fills "
            "host, port and security; custom leaves them to you."
        },
    )
    host = fields.String(
        validate=[validate.Length(min=1, max=253), _HOSTNAME],
        metadata={"description": "The mail server's host name or IP address."},
    )
    port = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=65535),
        metadata={
            "description": "The server's port; by default 465 for ssl, 587 for starttls, "
            "25 for none."
        },
    )
    security = fields.String(
        validate=validate.OneOf(SECURITY),
        metadata={
            "description": "ssl (TLS from the start), starttls (upgrade after connecting) "
            "or none (plain; never with a password)."
        },
    )
    username = fields.String(
        load_default="",
        validate=[validate.Length(max=254), _NO_NEWLINES],
        metadata={"description": "The login for the server; empty for none."},
    )
    password = fields.String(
        validate=validate.Length(max=1024),
        metadata={
            "secret": True,
            "description": "The login's password; kept encrypted, never shown.",
        },
    )
    from_address = fields.Email(
        required=True,
        validate=validate.Length(max=254),
        metadata={"description": "The address emails are sent from."},
    )
    from_name = fields.String(
        load_default="",
        validate=[validate.Length(max=200), _NO_NEWLINES],
        metadata={"description": "The sender name shown beside the address."},
    )
    reply_to = fields.Email(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"description": "Where replies go, if not to the from address."},
    )
    send_client_welcome = StrictBoolean(
        load_default=False,
        metadata={"description": "Email a new client's contact a welcome message."},
    )
    rate_limit_per_minute = fields.Integer(
        strict=True,
        load_default=60,
        validate=validate.Range(min=1, max=100_000),
        metadata={"description": "At most this many emails a minute go to the server."},
    )

    @pre_load
    def apply_preset(self, data: Any, **kwargs: Any) -> Any:
        """A preset fills host, port and security where the admin left them out."""
        if not isinstance(data, dict):
            return data
        defaults = PRESETS.get(data.get("preset") or "custom")
        data = dict(data)
        if defaults is not None:
            for key, value in zip(("host", "port", "security"), defaults, strict=True):
                data.setdefault(key, value)
        if data.get("transport") in API_TRANSPORTS:
            return data
        if "host" in data or not kwargs.get("partial"):
            data.setdefault("security", "starttls")
            data.setdefault("port", DEFAULT_PORTS.get(str(data["security"]), 587))
        return data

    @validates_schema
    def check_consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("transport") in API_TRANSPORTS:
            return  # no mail server: the provider's fields are checked against it on saving
        if not kwargs.get("partial") and not data.get("host") and "transport" in data:
            raise ValidationError("Required unless a preset names the server.", "host")
        if bool(data.get("username")) != bool(data.get("password")) and not kwargs.get("partial"):
            field = "password" if data.get("username") else "username"
            raise ValidationError("Give both username and password, or neither.", field)
        if data.get("security") == "none" and data.get("password"):
            raise ValidationError(
                "A password is never sent unencrypted: choose ssl or starttls.", "security"
            )

    @post_load
    def drop_empty_password(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """An empty password is no password (nothing to encrypt and keep)."""
        if not data.get("password"):
            data.pop("password", None)
        return data


def normalized(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config with every field present (older rows may lack newer fields)."""
    defaults = {
        "username": "",
        "from_name": "",
        "reply_to": None,
        "send_client_welcome": False,
        "rate_limit_per_minute": 60,
        "security": "starttls",
    }
    merged = {**defaults, **config}
    merged.setdefault("port", DEFAULT_PORTS[merged["security"]])
    return merged


def transport_of(config: Mapping[str, Any], setting: Any) -> str:
    """The transport a config uses: its own, else the operator's DEFAULT_SMTP_PROVIDER when
    it names no mail server, else smtp (today's configs keep working as they are)."""
    chosen = config.get("transport")
    if chosen:
        return str(chosen)
    default = str(setting("DEFAULT_SMTP_PROVIDER") or "").lower()
    if default in API_TRANSPORTS and not config.get("host"):
        return default
    return "smtp"
