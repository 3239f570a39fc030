"""Settings: read from the environment, validated at start-up, each with a working default."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from croniter import croniter

from hub.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Callable[[dict[str, Any]], Any]
    parse: Callable[[str], Any]
    doc: str


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.split("+")[0] not in schemes:
            raise ValueError(f"expected a URL starting with one of {', '.join(schemes)}")
        if parts.scheme.split("+")[0] in ("http", "https") and not parts.netloc:
            raise ValueError("the URL has no host")
        return value.rstrip("/") if parts.scheme.startswith("http") else value

    return parse


def database_url(value: str) -> str:
    """A SQLAlchemy URL; plain postgresql:// URLs use the psycopg 3 driver."""
    for plain in ("postgresql://", "postgres://"):
        if value.startswith(plain):
            value = "postgresql+psycopg://" + value.removeprefix(plain)
    return _url(("sqlite", "postgresql"))(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected one of 1, true, yes, 0, false, no")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("expected a positive integer")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("expected 0 or a positive integer")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError("expected a positive number")
    return number


def _cidrs(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise ValueError(f"bad CIDR {entry!r}") from exc
    return tuple(networks)


def _names(value: str) -> tuple[str, ...] | None:
    if value.strip() in ("", "*"):
        return None
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return level


def _cron(value: str) -> str:
    expression = value.strip()
    if not croniter.is_valid(expression) or len(expression.split()) != 5:
        raise ValueError("expected a five-field cron expression, e.g. `*/15 * * * *`")
    return expression


def _days_or_off(value: str) -> int | None:
    """Whole days, or `off` (None). 0 is refused: it would read as "keep nothing"."""
    text = value.strip()
    if text.lower() == "off":
        return None
    if not text.isdecimal() or int(text) == 0:
        raise ValueError("expected a whole number of days >= 1, or `off` to keep everything")
    return int(text)


def _plugin_modules(value: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for entry in (part.strip() for part in value.split(",")):
        name, _, module = entry.partition("=")
        if entry and not (name.strip() and module.strip()):
            raise ValueError(f"expected `name=module`, got {entry!r}")
        if entry:
            pairs.append((name.strip(), module.strip()))
    return tuple(pairs)


def _seconds_list(value: str) -> tuple[int, ...]:
    numbers = tuple(int(part) for part in value.split(",") if part.strip())
    if not numbers or any(n < 0 for n in numbers):
        raise ValueError("expected comma-separated whole seconds, e.g. 0,5,300")
    return numbers


def _rate_limit(value: str) -> str:
    """A `limits` rate string (`600/minute`, `;` for several); `off` or empty: no limit."""
    from limits import parse_many

    if value.strip().lower() in ("", "off", "0", "none"):
        return "off"
    try:
        parse_many(value)
    except ValueError as exc:
        raise ValueError("expected e.g. `600/minute` or `600/minute;20/second`") from exc
    return value.strip()


def _proxy_count(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 10:
        raise ValueError("expected a whole number of proxies from 0 to 10")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0 or number == float("inf"):
        raise ValueError("expected a number >= 0")
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 0 < number < 65536:
        raise ValueError("expected a port number from 1 to 65535")
    return number


def _host(value: str) -> str:
    host = value.strip().strip("[]")
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", host):
        raise ValueError("expected an IP address or a host name")
    return host


def _sandbox_pages(value: str) -> dict[str, str]:
    """``{"<plugin>": "http://127.0.0.1:<port>/<page>", ...}``: loopback pages only."""
    try:
        pages = json.loads(value) if value.strip() else {}
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(pages, dict):
        raise ValueError("must be a JSON object of plugin name to page URL")
    for name, url in pages.items():
        host = urlsplit(url).hostname if isinstance(url, str) else None
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"{name}: {url!r} is not an http URL on loopback")
    return pages


def served_url(host: str, port: int) -> str:
    """The URL browsers reach a hub listening on host:port at. A wildcard bind answers on
    every address, so links name the machine instead."""
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _var(cfg: dict[str, Any]) -> Path:
    return Path(cfg["HUB_VAR_DIR"])


SETTINGS: list[Setting] = [
    Setting(
        "HUB_VAR_DIR",
        lambda c: os.path.abspath("var"),
        os.path.abspath,
        "Directory for the embedded defaults: SQLite file, Redis socket, key files.",
    ),
    Setting(
        "HUB_DATABASE_URL",
        lambda c: f"sqlite:///{_var(c) / 'hub.db'}",
        database_url,
        "SQLAlchemy URL; SQLite under `HUB_VAR_DIR` by default, PostgreSQL in production "
        "(`postgresql+psycopg://user@host/db`).",
    ),
    Setting(
        "REDIS_URL",
        lambda c: f"unix://{_var(c) / 'redis.sock'}",
        _url(("redis", "rediss", "unix")),
        "Redis for queues, locks, rate limits and OAuth state. Unset: the embedded Redis "
        "that `hub up` starts on a socket under `HUB_VAR_DIR`.",
    ),
    Setting(
        "HUB_SECRET_KEY",
        lambda c: None,
        str,
        "Signs URLs and cookies. Unset: a random key kept in `HUB_VAR_DIR/secret_key`.",
    ),
    Setting(
        "HUB_ENCRYPTION_KEYS",
        lambda c: None,
        str,
        "Key ring for secrets at rest: comma-separated `<key id>:<base64 of 32 bytes>`, "
        "newest first (`hub keys generate`). Unset: one key file under `HUB_VAR_DIR`, "
        "with a warning.",
    ),
    Setting(
        "HUB_HOST",
        lambda c: "127.0.0.1",
        _host,
        "Address `hub serve` and `hub up` listen on unless given `--host`.",
    ),
    Setting(
        "HUB_PORT",
        lambda c: 8000,
        _port,
        "Port `hub serve` and `hub up` listen on unless given `--port`.",
    ),
    Setting(
        "HUB_APP_URL",
        lambda c: served_url(c["HUB_HOST"], c["HUB_PORT"]),
        _url(("http", "https")),
        "Public base URL of the hub, used for OAuth callbacks and links. Unset: "
        "`http://<HUB_HOST>:<HUB_PORT>` (a wildcard host is replaced by the machine's name).",
    ),
    Setting(
        "HUB_CLIENT_URL",
        lambda c: c["HUB_APP_URL"],
        _url(("http", "https")),
        "Base URL of the Mycelium front end, for redirects after OAuth.",
    ),
    Setting(
        "HUB_SANDBOX_PAGES",
        lambda c: {},
        _sandbox_pages,
        "Set by `hub up --sandbox` (never by hand): JSON of plugin name to its sandbox's "
        "page on loopback; `GET /api/plugins` shows each as `sandbox` and the console links "
        "them from its Sandbox banner. Unset: no sandbox runs.",
    ),
    Setting(
        "HUB_MAX_BODY_BYTES",
        lambda c: 1024 * 1024,
        _positive_int,
        "Largest request body accepted; larger bodies get 413.",
    ),
    Setting("HUB_LOG_LEVEL", lambda c: "INFO", _log_level, "Log level of every process."),
    Setting(
        "HUB_LOAD_PLUGINS",
        lambda c: None,
        _names,
        "Comma-separated installed plugins to load; unset or `*` loads every one.",
    ),
    Setting(
        "HUB_EGRESS_ALLOW_HTTP",
        lambda c: False,
        _bool,
        "Allow plain http:// for destinations an organization supplies.",
    ),
    Setting(
        "HUB_EGRESS_ALLOWED_CIDRS",
        lambda c: (),
        _cidrs,
        "Comma-separated CIDRs that org-supplied destinations may reach although private "
        "(development only).",
    ),
    Setting(
        "HUB_HTTP_TIMEOUT",
        lambda c: 10.0,
        _positive_float,
        "Seconds before a provider call through `ctx.http` times out.",
    ),
    # ----- dispatch, runs and schedules -----
    Setting(
        "HUB_HTTP_RETRY_AFTER",
        lambda c: 60.0,
        _positive_float,
        "Seconds a run waits after a provider's 429 that carries no `Retry-After`.",
    ),
    Setting(
        "HUB_RUN_TIMEOUT",
        lambda c: 25.0,
        _positive_float,
        "Seconds a hook may run; past it, that run fails with a timeout and is retried.",
    ),
    Setting(
        "HUB_RUN_LEASE",
        lambda c: 35.0,
        _positive_float,
        "Seconds a worker holds a claimed run (renewed while its batch runs); a run whose "
        "lease expired (worker killed) is queued again by the run sweeper.",
    ),
    Setting(
        "HUB_RUN_MAX_ATTEMPTS",
        lambda c: 8,
        _positive_int,
        "Attempts before a failing run is marked `failed` (rate-limit waits do not count).",
    ),
    Setting(
        "HUB_RUN_BACKOFF",
        lambda c: 10.0,
        _positive_float,
        "Seconds before the first retry of a failed run; doubled per attempt, with +-20% jitter.",
    ),
    Setting(
        "HUB_RUN_BACKOFF_MAX",
        lambda c: 3600.0,
        _positive_float,
        "Longest wait between two attempts of a run, in seconds.",
    ),
    Setting(
        "HUB_RUN_BATCH",
        lambda c: 100,
        _positive_int,
        "Events or runs one worker job takes at a time.",
    ),
    Setting(
        "HUB_RUN_REQUEUE_AFTER",
        lambda c: 20.0,
        _positive_float,
        "Seconds after which a due run still `queued` (its job lost, e.g. Redis flushed) "
        "is enqueued again by the run sweeper.",
    ),
    Setting(
        "HUB_MAX_CONSECUTIVE_ERRORS",
        lambda c: 10,
        _positive_int,
        "Consecutive failed runs after which an integration is disabled.",
    ),
    Setting(
        "HUB_SWEEP_SECONDS",
        lambda c: 5,
        _positive_int,
        "How often the outbox and run sweepers run, in seconds.",
    ),
    Setting(
        "HUB_OUTBOX_GRACE",
        lambda c: 5.0,
        _positive_float,
        "Seconds an event may stay undispatched before the outbox sweeper dispatches it.",
    ),
    Setting(
        "HUB_DEADLINE_SCAN_CRON",
        lambda c: "* * * * *",
        _cron,
        "When the deadline scan emits `deliverable.due_soon` / `deliverable.overdue` (UTC cron).",
    ),
    Setting(
        "HUB_TOKEN_REFRESH_CRON",
        lambda c: "0 * * * *",
        _cron,
        "When OAuth tokens nearing expiry are refreshed (UTC cron).",
    ),
    Setting(
        "HUB_HEALTH_CHECK_CRON",
        lambda c: "*/15 * * * *",
        _cron,
        "When every enabled integration's health check runs (UTC cron).",
    ),
    Setting(
        "HUB_RETENTION_DAYS",
        lambda c: 30,
        _days_or_off,
        "Days finished runs, dispatched events and finished webhook deliveries (with their "
        "attempts) are kept before the retention job deletes them; `off` keeps them forever.",
    ),
    Setting(
        "HUB_RETENTION_CRON",
        lambda c: "47 3 * * *",
        _cron,
        "When the retention job deletes what is older than `HUB_RETENTION_DAYS` (UTC cron).",
    ),
    Setting(
        "HUB_SCHEDULER_CATCHUP",
        lambda c: 300.0,
        _positive_float,
        "A recurring job's slot missed while no worker ran is still fired if it is at most "
        "this many seconds old (older slots are skipped).",
    ),
    Setting(
        "HUB_EXTRA_PLUGINS",
        lambda c: (),
        _plugin_modules,
        "Extra plugins loaded from importable modules, `name=module` comma-separated "
        "(tests and benchmarks; real plugins are installed packages).",
    ),
    # ----- outgoing webhooks -----
    Setting(
        "HUB_WEBHOOK_TIMEOUT",
        lambda c: 15.0,
        _positive_float,
        "Seconds a webhook delivery attempt may take in all, from connecting to the last "
        "byte of the answer (enforced on the socket: a receiver that answers one byte at a "
        "time is cut off too); plugins that deliver through the webhook pump use it as well.",
    ),
    Setting(
        "HUB_WEBHOOK_CONNECT_TIMEOUT",
        lambda c: 3.0,
        _positive_float,
        "Seconds a webhook delivery (a plugin's too) waits for its connection (a destination that "
        "drops packets costs its organization this, not `HUB_WEBHOOK_TIMEOUT`).",
    ),
    Setting(
        "HUB_WEBHOOK_RETRY_SCHEDULE",
        lambda c: (0, 5, 300, 1800, 7200, 18000, 36000, 36000),
        _seconds_list,
        "Seconds before each attempt of a webhook delivery, comma-separated; +-20% jitter.",
    ),
    Setting(
        "HUB_WEBHOOK_DISABLE_AFTER",
        lambda c: 5 * 24 * 3600.0,
        _positive_float,
        "Seconds of nothing but failed attempts after which a webhook endpoint is disabled.",
    ),
    Setting(
        "HUB_WEBHOOK_SECRET_GRACE",
        lambda c: 24 * 3600.0,
        _positive_float,
        "Default seconds an endpoint's old secret keeps signing after a rotation.",
    ),
    Setting(
        "HUB_WEBHOOK_CONCURRENCY",
        lambda c: 16,
        _positive_int,
        "Webhook requests one worker keeps in flight at once.",
    ),
    Setting(
        "HUB_WEBHOOK_ORG_CONCURRENCY",
        lambda c: 0,
        _non_negative_int,
        "Webhook requests of one organization a worker keeps in flight at once (at most "
        "`HUB_WEBHOOK_CONCURRENCY`); `0`: half of `HUB_WEBHOOK_CONCURRENCY`. Organizations "
        "take turns for the threads, so one organization's slow or unreachable endpoints "
        "hold this many at most.",
    ),
    Setting(
        "HUB_WEBHOOK_PUMP_PROCESS",
        lambda c: hasattr(os, "fork"),
        _bool,
        "Run each `hub worker`'s webhook pump in a child process of its own, so sending "
        "and dispatch each use a core; `false`: in a thread of the worker (as "
        "`hub worker --burst` and the tests' in-process workers always do).",
    ),
    # ----- connections: rate limits, usage, health, ROI -----
    Setting(
        "HUB_API_RATE_LIMIT",
        lambda c: "600/minute",
        _rate_limit,
        "Requests one API key may make, e.g. `600/minute` or `600/minute;20/second`; "
        "`off` for none. Past it: 429 with `Retry-After`.",
    ),
    Setting(
        "HUB_AUTH_FAIL_LIMIT",
        lambda c: "20/minute",
        _rate_limit,
        "Failed authentications (a missing, malformed, unknown or revoked API key; a bad "
        "signature on a public plugin route) one client address may make, e.g. `20/minute`; "
        "`off` for none. Past it, that address's requests needing a key or a signature get "
        "429 with `Retry-After`.",
    ),
    Setting(
        "HUB_TRUSTED_PROXIES",
        lambda c: 0,
        _proxy_count,
        "Reverse proxies in front of the hub that append to `X-Forwarded-For`; the client "
        "address (for `HUB_AUTH_FAIL_LIMIT`) is the one the outermost of them saw. 0: the "
        "connecting address.",
    ),
    Setting(
        "HUB_USAGE_FLUSH_SECONDS",
        lambda c: 30,
        _positive_int,
        "How often usage (provider calls, units of work) in Redis is moved to the database.",
    ),
    Setting(
        "HUB_USAGE_RETENTION_DAYS",
        lambda c: 90,
        _positive_int,
        "Days of usage records and health checks kept for analytics.",
    ),
    Setting(
        "HUB_IDLE_CONNECTION_HOURS",
        lambda c: 24,
        _positive_int,
        "A connection unused this long is refreshed (or tested) so the provider keeps it.",
    ),
    Setting(
        "HUB_ROI_HOURLY_RATE",
        lambda c: 50.0,
        _non_negative_float,
        "Value of one hour saved, for `GET /api/integrations/roi`.",
    ),
    Setting(
        "HUB_ROI_SUBSCRIPTION_PRICE",
        lambda c: 99.0,
        _non_negative_float,
        "Monthly price of the subscription that the ROI report compares the value to.",
    ),
    Setting(
        "HUB_METRICS_TOKEN",
        lambda c: None,
        str,
        "Bearer token `/metrics` requires; unset: open on a loopback bind, 403 on any other.",
    ),
]


def register_setting(setting: Setting) -> None:
    """Add a setting (core subsystems declare theirs at import time)."""
    if all(existing.name != setting.name for existing in SETTINGS):
        SETTINGS.append(setting)


def load_config(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every setting from overrides, then the environment, then its default."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = overrides.get(setting.name, environ.get(setting.name))
        if raw is None or (
            isinstance(raw, str) and raw == "" and setting.name != "HUB_LOAD_PLUGINS"
        ):
            config[setting.name] = setting.default(config)
        elif isinstance(raw, str):
            try:
                config[setting.name] = setting.parse(raw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{setting.name} is malformed: {exc}") from exc
        else:
            config[setting.name] = raw
    config.update({k: v for k, v in overrides.items() if k not in config})
    return config
