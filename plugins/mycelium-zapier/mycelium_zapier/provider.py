"""The Zapier provider: what the hub shows admins, and the one secret the plugin keeps."""

from __future__ import annotations

import base64
import binascii

import marshmallow
from marshmallow import fields

from hub import Provider, Work, generate_webhook_secret

__version__ = "0.1.0"

NAME = "zapier"
HOOK_DISABLED = "zapier.hook_disabled"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)


def _check_secret(value: str) -> None:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 to 64 bytes."""
    try:
        key = base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    low, high = SECRET_BYTES
    if not value.startswith(SECRET_PREFIX) or not low <= len(key) <= high:
        raise marshmallow.ValidationError(
            f"Expected {SECRET_PREFIX} followed by base64 of {low} to {high} bytes."
        )


class ConfigSchema(marshmallow.Schema):
    """The integration's config: only the master signing secret, generated on enabling."""

    signing_secret = fields.String(
        load_default=generate_webhook_secret,
        validate=_check_secret,
        metadata={
            "secret": True,
            "description": "Master secret from which each subscription's signing secret is "
            "derived; generated when Zapier is enabled. Changing it changes every "
            "subscription's secret (Zaps must be turned off and on again).",
        },
    )


DELIVERY = "delivery"  # the unit of work: an event delivered to a Zap

PROVIDER = Provider(
    name=NAME,
    title="Zapier",
    description="REST-hook triggers for a Zapier app: every event as a flat, signed payload "
    "to each subscribed Zap, retried like webhooks, plus sample data for Zap setup.",
    version=__version__,
    config_schema=ConfigSchema,
    event_types={
        HOOK_DISABLED: "A Zapier subscription was disabled after failing for days.",
    },
    work=(Work(DELIVERY, 0.5, "An event a Zap accepted (2xx), valued as a notification."),),
)
