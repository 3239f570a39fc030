"""What a plugin declares about its provider, as data the core acts on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import marshmallow

AuthKind = Literal["none", "credentials", "oauth2"]


@dataclass(frozen=True)
class RateLimits:
    """A provider's quota per organization; ``None`` means no limit in that window."""

    per_second: int | None = None
    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None


@dataclass(frozen=True)
class OAuth2:
    """OAuth 2.0 authorization-code flow; URLs and credentials name settings, not values.

    ``authorize_url_setting`` / ``token_url_setting`` / ``revoke_url_setting`` are the
    setting names whose defaults are the real service (so tests can point at an emulator).
    """

    authorize_url_setting: str
    token_url_setting: str
    client_id_setting: str
    client_secret_setting: str
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    revoke_url_setting: str | None = None
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    pkce: bool = True
    token_endpoint_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    refresh_margin_seconds: int = 300
    # Turns the token endpoint's JSON into a Token, raising for errors reported with 200
    # (e.g. {"ok": false} with HTTP 200); None: the standard RFC 6749 response.
    parse_token_response: Callable[[dict[str, Any]], Token] | None = None
    # Standard responses: the field naming the account (e.g. "account_id"), and the
    # other fields kept as secrets ``oauth.<field>``.
    account_id_field: str | None = None
    keep_fields: tuple[str, ...] = ()
    # "rfc7009": POST token=<refresh or access token> with client credentials;
    # "bearer": POST with the access token as ``Authorization: Bearer``.
    revoke_style: Literal["rfc7009", "bearer"] = "rfc7009"


@dataclass(frozen=True)
class Setting:
    """A setting the plugin reads (``SLACK_API_BASE``), with the real service as default."""

    name: str
    default: str | None
    doc: str = ""
    secret: bool = False


@dataclass(frozen=True)
class Work:
    """A unit of work a plugin does for an organization, and what it is worth for ROI.

    Its usage records carry ``feature`` (``ctx.record_usage(feature)``, or provider calls
    made inside ``ctx.calls_for(feature)``); each successful one saved someone
    ``minutes_saved`` of manual work (the ROI report values them at the hourly rate).
    """

    feature: str
    minutes_saved: float
    description: str = ""


@dataclass(frozen=True)
class Provider:
    """A plugin's provider: registered through ``register_providers``."""

    name: str
    title: str
    description: str = ""
    version: str = ""
    config_schema: type[marshmallow.Schema] | None = None
    auth: AuthKind = "none"
    oauth2: OAuth2 | None = None
    events: tuple[str, ...] = ()
    event_types: Mapping[str, str] = field(default_factory=dict)
    rate_limits: RateLimits | None = None
    settings: tuple[Setting, ...] = ()
    always_on: bool = False
    # The plugin's event hooks only read and write the hub's database: no network call, no
    # waiting. Workers then commit many of its runs in one transaction (each hook inside a
    # savepoint) instead of one commit per run; a hook that waits would hold the write lock.
    db_only_hooks: bool = False
    # The units of work the plugin records, with their worth: what the ROI report counts.
    work: tuple[Work, ...] = ()
    # Whether a provider's 2xx answer really succeeded, for APIs that report errors with
    # 200 (Slack's {"ok": false}); None: any status below 400 is a success.
    answer_ok: Callable[[Any], bool] | None = None

    def seconds_saved(self) -> dict[str, float]:
        """Feature -> seconds of manual work one successful unit saves."""
        return {w.feature: w.minutes_saved * 60 for w in self.work if w.minutes_saved > 0}

    def secret_fields(self) -> tuple[str, ...]:
        """Config fields marked ``metadata={"secret": True}``: encrypted, never returned."""
        if self.config_schema is None:
            return ()
        fields = self.config_schema().fields
        return tuple(name for name, f in fields.items() if f.metadata.get("secret"))


@dataclass
class Token:
    """An OAuth token set. The core stores it encrypted; plugins see only the access token."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scope: str | None = None
    token_type: str = "bearer"
    external_account_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kept as secrets (webhook URLs, ids)
    # Seconds until expiry, when the parser has no clock: the core sets ``expires_at``.
    expires_in: int | None = None


@dataclass(frozen=True)
class HealthResult:
    """One health check's outcome."""

    ok: bool
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
