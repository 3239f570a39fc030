"""What a plugin declares about its provider, as data the core acts on.

Each field below is documented where it is declared; ``docs/reference.md`` is generated
from these docstrings (``scripts/gen_reference.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import marshmallow

AuthKind = Literal["none", "credentials", "oauth2"]


@dataclass(frozen=True)
class RateLimits:
    """A provider's quota per organization; ``None`` means no limit in that window.

    Every call through ``ctx.http`` takes one unit of each window for the (organization,
    provider) pair, counted in Redis across all workers; a call over the quota raises
    :class:`hub.RateLimited` before it is sent, so the run waits for the window (no
    attempt counted).
    """

    per_second: int | None = None
    """Calls per moving second."""
    per_minute: int | None = None
    """Calls per moving minute."""
    per_hour: int | None = None
    """Calls per clock hour (a fixed window)."""
    per_day: int | None = None
    """Calls per day (a fixed window)."""


@dataclass(frozen=True)
class OAuth2:
    """OAuth 2.0 authorization-code flow; URLs and credentials name settings, not values.

    The hub runs the whole flow for the plugin: ``GET /api/integrations/<name>/connect``,
    the callback, the token exchange, encrypted storage, refresh ahead of expiry (single
    flight across processes) and revocation on disconnect. Every ``*_setting`` names a
    :class:`hub.Setting` that the Provider must also declare in ``settings`` (the hub
    reads only declared settings): URLs with the real service as default, the client id
    and secret with no default. Token endpoint calls go to those settings' URLs directly,
    not through the egress guard (they are the operator's, not an organization's).
    """

    authorize_url_setting: str
    """The setting holding the provider's authorize page URL."""
    token_url_setting: str
    """The setting holding the token endpoint (code exchange and refresh grant)."""
    client_id_setting: str
    """The setting holding the client id of the hub's app at the provider; while it is
    unset, connecting answers 409 naming it."""
    client_secret_setting: str
    """The setting holding the client secret (declare it ``secret=True``); unset, the
    hub is a public client and sends no secret."""
    scopes: tuple[str, ...] = ()
    """Scopes asked for in the authorize URL; none: no ``scope`` parameter."""
    scope_separator: str = " "
    """How scopes are joined: a space (RFC 6749), or what the provider wants (a comma)."""
    revoke_url_setting: str | None = None
    """The setting holding the revocation endpoint; None (or the setting empty): a
    disconnect forgets the tokens without revoking them."""
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    """Added to the authorize URL as given, after the standard ones (for example
    ``{"access_type": "offline"}`` where a provider asks for it to give a refresh token)."""
    pkce: bool = True
    """PKCE with S256: a code challenge in the authorize URL, the verifier in the exchange.
    False for a provider that refuses or mishandles it (one may turn the app into a
    public client for good)."""
    token_endpoint_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    """How the client authenticates at the token and RFC 7009 revoke endpoints:
    ``"client_secret_post"`` puts ``client_id`` and ``client_secret`` in the form,
    ``"client_secret_basic"`` sends them as HTTP Basic (without a secret, the form)."""
    refresh_margin_seconds: int = 300
    """``ctx.access_token()`` refreshes a token that expires within this many seconds, and
    the hourly refresh job one that would expire before its next run plus this margin."""
    parse_token_response: Callable[[dict[str, Any]], Token] | None = None
    """Turns the token endpoint's JSON into a :class:`hub.Token`, raising for errors the
    provider reports with HTTP 200 (``{"ok": false}``): ``hub.NeedsReauth`` for a
    refused refresh, any other exception fails the exchange. None: the standard RFC 6749
    response (``access_token``, ``refresh_token``, ``expires_in``, ``scope``,
    ``token_type``, and an ``error`` field means refused)."""
    account_id_field: str | None = None
    """Standard responses: the field naming the provider's account (``"account_id"``),
    recorded as the integration's external account id, so :func:`hub.find_integration`
    finds the organization when the provider calls a public route. A custom parser sets
    ``Token.external_account_id`` itself."""
    keep_fields: tuple[str, ...] = ()
    """Standard responses: other fields kept encrypted beside the token, read in hooks as
    ``ctx.secret("oauth.<field>")``."""
    revoke_style: Literal["rfc7009", "bearer"] = "rfc7009"
    """``"rfc7009"``: POST ``token=<refresh or access token>`` with the client's
    credentials; ``"bearer"``: POST with the access token as ``Authorization: Bearer``."""


@dataclass(frozen=True)
class Setting:
    """A setting the plugin reads (``<PLUGIN>_API_BASE``), with the real service as default.

    Settings are the operator's (environment variables), not an organization's: every
    provider URL is one, so tests and demos point the plugin at an emulator, and so are
    the credentials of the hub's own app at the provider. The hub reads only declared
    settings, the OAuth2 ones included; hooks read them with ``ctx.setting(name)``.
    """

    name: str
    """The environment variable, upper case and prefixed with the plugin's name."""
    default: str | None
    """The value when the environment has none: the real service's URL for a URL; None
    for a secret or a credential, which the operator must set (a default would put a
    secret in the source, and listings never show a secret's default). A default may
    name other settings as ``{NAME}`` (``"{<PLUGIN>_API_BASE}/oauth2/token"``): it is built
    from their values, so pointing the base at an emulator moves what hangs off it."""
    doc: str = ""
    """One line for operators (``GET /api/plugins``, ``hub plugins --json``)."""
    secret: bool = False
    """Never shown: listings give ``"default": null`` for it."""


@dataclass(frozen=True)
class Work:
    """A unit of work a plugin does for an organization, and what it is worth for ROI.

    Its usage records carry ``feature`` (``ctx.record_usage(feature)``, or provider calls
    made inside ``ctx.calls_for(feature)``); each successful one saved someone
    ``minutes_saved`` of manual work (the ROI report values them at the hourly rate).
    """

    feature: str
    """The usage records' feature name (``"message"``, ``"email"``)."""
    minutes_saved: float
    """Minutes of manual work one successful unit saves; 0 counts it for no ROI."""
    description: str = ""
    """One line for the ROI report."""


@dataclass(frozen=True)
class Provider:
    """A plugin's provider: registered through ``register_providers``.

    Data the hub acts on: the admin page and ``GET /api/plugins`` show it, the config
    schema validates ``PUT`` / ``PATCH /api/integrations/<name>``, and the OAuth2, quota
    and settings declarations drive the core's connection, rate limiting and settings.
    """

    name: str
    """The plugin's name: its entry-point name, lowercase letters, digits and ``_``."""
    title: str
    """What admins see (``"Project Files"``)."""
    description: str = ""
    """One line on what the plugin does."""
    version: str = ""
    """The plugin's version (its ``__version__``); empty: the distribution's."""
    config_schema: type[marshmallow.Schema] | None = None
    """What an admin sets per organization: a marshmallow schema whose fields with
    ``metadata={"secret": True}`` are encrypted and never returned (``{"set": true}``),
    and ``metadata={"description": ...}`` documents. Unknown fields are refused; a bad one
    is a 400 naming it. None: the plugin takes no config (``PUT`` accepts ``{}``). An
    OAuth connection enables the integration with an empty config without running the
    schema, so an OAuth-only plugin has none, or only optional fields with defaults."""
    auth: AuthKind = "none"
    """How the integration is credentialed, as admins see it: ``"none"``,
    ``"credentials"`` (secret config fields) or ``"oauth2"`` (with ``oauth2`` set)."""
    oauth2: OAuth2 | None = None
    """The OAuth 2.0 flow the hub runs for the plugin; None: no connect route."""
    events: tuple[str, ...] = ()
    """The event types the plugin handles, as the admin page lists them (its hooks decide
    what it receives)."""
    event_types: Mapping[str, str] = field(default_factory=dict)
    """The plugin's own event types (``ctx.emit``) -> description, joining
    :func:`hub.event_types` and the webhook catalogue."""
    rate_limits: RateLimits | None = None
    """The provider's quota per organization, enforced on ``ctx.http``; None: no quota."""
    settings: tuple[Setting, ...] = ()
    """Every setting the plugin reads, OAuth2's included."""
    always_on: bool = False
    """Enabled for every organization, never disabled (the hub's built-in webhooks)."""
    db_only_hooks: bool = False
    """The plugin's event hooks only read and write the hub's database: no network call,
    no waiting. Workers then commit many of its runs in one transaction (each hook inside
    a savepoint) instead of one commit per run; a hook that waits would hold the write
    lock."""
    work: tuple[Work, ...] = ()
    """The units of work the plugin records, with their worth: what the ROI report counts."""
    answer_ok: Callable[[Any], bool] | None = None
    """Whether a provider's 2xx answer really succeeded, for APIs that report errors with
    200 (``{"ok": false}``); None: any status below 400 is a success."""

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
    """An OAuth token set. The core stores it encrypted; plugins see only the access token.

    What a ``refresh_token`` hook or an ``OAuth2.parse_token_response`` returns.
    """

    access_token: str
    """The token hooks get from ``ctx.access_token()``."""
    refresh_token: str | None = None
    """None: the provider sent none, and a refresh keeps the one stored."""
    expires_at: datetime | None = None
    """When the access token expires (aware UTC); None: it does not, or the provider did
    not say."""
    scope: str | None = None
    """The scopes granted, as the provider wrote them."""
    token_type: str = "bearer"
    """The provider's ``token_type``."""
    external_account_id: str | None = None
    """The provider's account (a workspace, a team), recorded on the integration for
    :func:`hub.find_integration`."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Other values kept encrypted beside the token, read as ``ctx.secret("oauth.<key>")``
    (a webhook URL, ids)."""
    expires_in: int | None = None
    """Seconds until expiry, when the parser has no clock: the core sets ``expires_at``."""


@dataclass(frozen=True)
class HealthResult:
    """One health check's outcome, as ``health_check`` returns it."""

    ok: bool
    """Whether the integration works."""
    message: str = ""
    """What an admin reads (``"Signed in as ops@acme.example"``, or what is wrong)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping with the check (JSON)."""


@dataclass(frozen=True)
class ConsolePage:
    """A page of the admin console a plugin adds (``register_console_pages``), laid out by
    the console from data: a table read from one of the plugin's GET routes, and optionally a
    form drawn from the body schema of one of its POST, PUT or PATCH routes. The console
    reaches both through the public API, so a REST client can do all that the page does."""

    name: str
    """The page's name: ``/admin/plugins/<plugin>?page=<name>``; letters, digits, ``-``, ``_``."""
    title: str
    """Its link in the console's navigation and its heading."""
    description: str = ""
    """A line under the heading: what the page is for."""
    source: str = ""
    """A GET route of the plugin, relative to its mount (``"users"`` for
    ``/api/integrations/<plugin>/users``), answering ``{"items": [...]}``, a list, or an
    object: shown as a table (or as a list of fields). Empty: no table."""
    columns: tuple[tuple[str, str], ...] = ()
    """``(field, heading)`` pairs the table shows, in order; empty: every field of the items."""
    form: str = ""
    """``"POST <route>"`` (or PUT, PATCH) of the plugin, relative to its mount: a form drawn
    from the route's declared body schema (``hub.api_route(body=...)``), sent as JSON by
    admins; the answer is shown and the table read again. Empty: no form."""
    form_title: str = ""
    """The form's heading and button (default: the page's title)."""
    item: str = ""
    """A GET route of the plugin answering one item, whose fields fill the form when the admin
    picks it (``"templates/<type>"``, with ``key``). Empty: the form starts empty."""
    preview: str = ""
    """``"POST <route>"`` of the plugin answering ``{"subject", "html", "text"}`` for the
    form's values: shown under the form and drawn again as the admin types (after a pause of
    a third of a second), the HTML in a sandboxed frame that runs no script. Empty: none."""
    key: str = ""
    """The field of the ``source`` items that ``<key>`` stands for in ``form``, ``item`` and
    ``preview`` (``"type"``): the page lets the admin pick one of those items. Empty: none."""


class SandboxServer(Protocol):
    """A running emulator, as a :class:`hub.Sandbox`'s ``start`` returns it."""

    @property
    def url(self) -> str:
        """Its base URL on loopback (``http://127.0.0.1:<port>``); its page is ``url + page``.
        An attribute or a read-only property."""

    def settings(self) -> dict[str, str]:
        """The hub settings that point the plugin at it (``<PLUGIN>_API_BASE`` and the like,
        with a client id and secret of its own)."""

    def stop(self) -> None:
        """Stop serving."""


@dataclass(frozen=True)
class Sandbox:
    """An emulator of the plugin's provider that ``hub up --sandbox`` runs on loopback
    (``register_sandbox``): the provider's consent page, the API calls the plugin makes, the
    provider's calls into the hub, and a page where a person acts as the provider's user."""

    title: str
    """What the console's Sandbox banner calls it (the provider's name)."""
    start: Callable[[str, str], SandboxServer]
    """``start(host, hub_url)``: serve on ``host`` (always a loopback address) at ports of
    its own and return the running :class:`hub.SandboxServer`; ``hub_url`` is where the hub
    answers (for the signed calls the provider makes into it)."""
    page: str = "/sandbox"
    """The path of its page on the server's ``url``."""
    demo_config: Mapping[str, Any] = field(default_factory=dict)
    """Config ``hub up --sandbox`` saves for the demo organization's integration
    (``PUT /api/integrations/<plugin>``) while it has none, so the demo shows more (a chat
    plugin posting another plugin's events); empty: the plugin's defaults."""
