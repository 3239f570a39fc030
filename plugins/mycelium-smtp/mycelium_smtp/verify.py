"""The connection test run when an admin enables or changes the integration (the
``check_config`` hook: the hub calls it with no database transaction open)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from hub import EgressRefused, ValidationError, check_host
from mycelium_smtp.transport import AuthFailure, Connection, Server, SmtpFailure, guarded_connect


def check(config: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    """Connect, TLS and login with `config` now; a ValidationError naming the field the
    server refused. With SMTP_VERIFY_ON_ENABLE off, only an IP address is checked against
    the egress guard (a name is checked when it is used)."""
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
