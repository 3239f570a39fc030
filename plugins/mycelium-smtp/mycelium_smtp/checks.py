"""Proving the configuration works: on enabling, in health checks, and with a test email."""

from __future__ import annotations

from typing import Any

from hub import EgressRefused, HealthResult, NeedsReauth, PermanentError, PluginContext, now
from mycelium_smtp.compose import render_for, require_type, sender_of
from mycelium_smtp.config import transport_of
from mycelium_smtp.delivery import api_client, open_connection
from mycelium_smtp.messages import Body, build, new_message_id, to_bytes
from mycelium_smtp.providers import KeyRefused, Outbound
from mycelium_smtp.transport import AuthFailure, SmtpFailure


def health(ctx: PluginContext) -> HealthResult:
    """Connect, TLS and login now (or the provider's key check); a refused login or key
    means the admin must fix it: the hub marks the integration needs_reauth and tells them."""
    transport = transport_of(ctx.config, ctx.setting)
    if transport != "smtp":
        return _api_health(ctx, transport)
    try:
        open_connection(ctx, "SMTP_TEST_TIMEOUT").close()
    except AuthFailure as failure:
        raise NeedsReauth(failure.message) from None
    except (SmtpFailure, EgressRefused) as failure:
        return HealthResult(ok=False, message=str(failure))
    host = ctx.config.get("host")
    return HealthResult(ok=True, message=f"Connected to {host} and logged in.")


def _api_health(ctx: PluginContext, transport: str) -> HealthResult:
    client = api_client(ctx, transport)
    try:
        client.check()
    except KeyRefused as refused:
        raise NeedsReauth(refused.message) from None
    except SmtpFailure as failure:
        return HealthResult(ok=False, message=failure.message)
    return HealthResult(ok=True, message=f"{client.title} accepted the API key.")


def send_test(ctx: PluginContext, user: dict[str, Any] | None) -> str:
    """A branded test email to the calling key's user, sent now (not queued)."""
    if not user or not user.get("email"):
        raise PermanentError("This API key has no user to send a test email to.")
    address, sender = str(user["email"]), sender_of(ctx)
    host = ctx.config.get("host") or transport_of(ctx.config, ctx.setting).title()
    variables = {
        "alert_title": "Test email",
        "alert_message": f"{ctx.org.display_name} sends its email through {host}.",
        "recipient_name": user.get("name") or "",
    }
    rendered, _ = render_for(ctx, require_type("admin_alert"), variables)
    body = Body(rendered.subject, rendered.html, rendered.text, new_message_id(sender), [address])
    transport = transport_of(ctx.config, ctx.setting)
    if transport != "smtp":
        return _send_test_api(ctx, transport, body, address)
    try:
        connection = open_connection(ctx, "SMTP_TEST_TIMEOUT")
        try:
            accepted = connection.send(
                sender.address, [address], to_bytes(build(body, sender, now()))
            )
        finally:
            connection.close()
    except SmtpFailure as failure:
        raise PermanentError(failure.message) from None
    if accepted.refused:
        raise PermanentError(f"The server refused {address}: {accepted.refused[address]}")
    return f"Sent a test email to {address} ({body.message_id})."


def _send_test_api(ctx: PluginContext, transport: str, body: Body, address: str) -> str:
    sender = sender_of(ctx)
    data = to_bytes(build(body, sender, now()))
    try:
        api_client(ctx, transport).send(Outbound(0, body, sender, [], data, [address]))
    except SmtpFailure as failure:
        raise PermanentError(failure.message) from None
    return f"Sent a test email to {address} ({body.message_id})."
