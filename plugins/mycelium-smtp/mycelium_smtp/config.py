"""The SMTP integration's configuration: the schema admins fill in, and provider presets."""

from __future__ import annotations

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

    preset = fields.String(load_default="custom", validate=validate.OneOf(tuple(PRESETS)))
    host = fields.String(validate=[validate.Length(min=1, max=253), _HOSTNAME])
    port = fields.Integer(strict=True, validate=validate.Range(min=1, max=65535))
    security = fields.String(validate=validate.OneOf(SECURITY))
    username = fields.String(load_default="", validate=[validate.Length(max=254), _NO_NEWLINES])
    password = fields.String(validate=validate.Length(max=1024), metadata={"secret": True})
    from_address = fields.Email(required=True, validate=validate.Length(max=254))
    from_name = fields.String(load_default="", validate=[validate.Length(max=200), _NO_NEWLINES])
    reply_to = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    send_client_welcome = fields.Boolean(load_default=False)
    rate_limit_per_minute = fields.Integer(
        strict=True, load_default=60, validate=validate.Range(min=1, max=100_000)
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
        if "host" in data or not kwargs.get("partial"):
            data.setdefault("security", "starttls")
            data.setdefault("port", DEFAULT_PORTS.get(str(data["security"]), 587))
        return data

    @validates_schema
    def check_consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not kwargs.get("partial") and not data.get("host"):
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
