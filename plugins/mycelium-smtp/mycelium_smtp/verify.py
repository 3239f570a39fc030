"""The connection test run when an admin enables or changes the integration (the
``check_config`` hook: the hub calls it with no database transaction open)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from hub import EgressRefused, ValidationError, check_host
from mycelium_smtp.config import transport_of
from mycelium_smtp.providers import CheckSession, KeyRefused, client_for, operator_key
from mycelium_smtp.transport import AuthFailure, Connection, Server, SmtpFailure, guarded_connect


def check(config: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    """Connect, TLS and login with `config` now; a ValidationError naming the field the
    server refused. With SMTP_VERIFY_ON_ENABLE off, only an IP address is checked against
    the egress guard (a name is checked when it is used). An API transport's key is
    checked against the provider (its key check) instead."""
    transport = transport_of(config, settings.get)
    if transport != "smtp":
        api_problem(transport, config, settings)
        return
    if not config.get("host"):
        raise ValidationError(
            "The mail server is missing.", {"host": ["Required unless a preset names the server."]}
        )
    if str(settings.get("SMTP_VERIFY_ON_ENABLE", "true")).lower() in ("0", "false", "no"):
        problem = literal_refused(str(config["host"]), int(config["port"]), settings)
    else:
        problem = connection_problem({"security": "starttls", **config}, settings)
    if problem:
        details = {field: [message] for field, message in problem.items()}
        raise ValidationError("The mail server refused these settings.", details)


def connection_problem(config: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, str]:
    """{field: the server's reason} if connect, TLS or login fails with `config`, else {}.

    Without a password in `config`, only connect and TLS are tested.
    """
    password = str(config.get("password") or "")
    server = Server(
        host=str(config["host"]),
        port=int(config["port"]),
        security=str(config["security"]),
        username=str(config.get("username") or "") if password else "",
        password=password,
        timeout=float(settings.get("SMTP_TEST_TIMEOUT") or 10),
        ca_file=settings.get("SMTP_CA_FILE") or None,
        ehlo_name=settings.get("SMTP_EHLO_HOSTNAME") or None,
    )
    try:
        Connection(server, guarded_connect(settings)).open().close()
    except EgressRefused as refused:
        return {"host": refused.message}
    except AuthFailure as failure:
        return {"password": failure.message}
    except SmtpFailure as failure:
        return {"host": failure.message}
    return {}


def literal_refused(host: str, port: int, settings: Mapping[str, Any]) -> dict[str, str]:
    """{"host": why} if `host` is an IP address the egress guard refuses (no DNS asked)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return {}
    try:
        check_host(host, port, settings)
    except EgressRefused as refused:
        return {"host": refused.message}
    return {}


def api_problem(transport: str, config: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    """ValidationError naming `api_key` (or `mailgun_domain`) if the provider refuses them.

    Without a key in `config` (one is stored, or the operator's is used) and none from the
    operator, there is nothing to check now."""
    if transport == "mailgun" and not (
        config.get("mailgun_domain") or settings.get("MAILGUN_DOMAIN")
    ):
        raise ValidationError("Mailgun needs a domain.", {"mailgun_domain": ["Required."]})
    key = str(config.get("api_key") or operator_key(transport, settings.get))
    if not key:
        return
    session = CheckSession(float(settings.get("SMTP_TEST_TIMEOUT") or 10))
    try:
        client_for(transport, config, key, settings.get, session).check()
    except KeyRefused as refused:
        raise ValidationError(refused.message, {"api_key": [refused.message]}) from None
    except SmtpFailure as failure:
        field = "mailgun_domain" if transport == "mailgun" and failure.code == 404 else "api_key"
        raise ValidationError(failure.message, {field: [failure.message]}) from None
    finally:
        session.close()
