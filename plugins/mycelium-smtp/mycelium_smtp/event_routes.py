"""The providers' event webhooks: one public route per provider and organization,
``/api/integrations/smtp/events/<provider>/<org_id>``, verified before anything is read."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

import hub
from hub import InvalidSignature, NotFound, PluginContext, api_route, public_route
from mycelium_smtp import inbound, tracking
from mycelium_smtp.config import transport_of
from mycelium_smtp.routes import bp

ANSWER = {"type": "object"}


def _context(provider: str, org_id: int) -> tuple[PluginContext, str]:
    """The org's integration, when it sends through `provider`, and its webhook key."""
    ctx = hub.context_for("smtp", org_id) if 0 < org_id < 2**31 else None
    if ctx is None or transport_of(ctx.config, ctx.setting) != provider:
        raise NotFound("No organization sends email through this provider here.")
    key = ctx.secret("webhook_key")
    if not key:
        raise InvalidSignature("No webhook key is set for this organization.")
    return ctx, key


def _done(ctx: PluginContext, reports: list[inbound.Report]) -> Any:
    recorded = tracking.apply(ctx, reports)
    ctx.db.commit()
    return jsonify({"received": len(reports), "recorded": recorded})


@bp.post("/events/sendgrid/<int:org_id>")
@public_route
@api_route(response=ANSWER)
def sendgrid_events(org_id: int) -> Any:
    """SendGrid's signed Event Webhook (ECDSA); 401 unless the signature holds."""
    ctx, key = _context("sendgrid", org_id)
    body = request.get_data(cache=True)
    inbound.verify_sendgrid(
        key,
        body,
        request.headers.get("X-Twilio-Email-Event-Webhook-Signature"),
        request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"),
    )
    events = request.get_json(silent=True)
    if not isinstance(events, list):
        raise hub.ValidationError("Expected a JSON array of events.", {"_schema": ["Not a list."]})
    return _done(ctx, inbound.sendgrid_reports(e for e in events if isinstance(e, dict)))


@bp.post("/events/mailgun/<int:org_id>")
@public_route
@api_route(response=ANSWER)
def mailgun_events(org_id: int) -> Any:
    """Mailgun's HMAC-signed webhook; 401 unless the signature holds, once per token."""
    ctx, key = _context("mailgun", org_id)
    data = inbound.verify_mailgun(key, request.get_data(cache=True))
    token = str(data["signature"]["token"])
    if ctx.redis is not None and not ctx.redis.set(
        f"smtp:mailgun-token:{org_id}:{token}", 1, nx=True, ex=2 * inbound.TOLERANCE
    ):
        raise InvalidSignature("This Mailgun token was already used.")
    return _done(ctx, inbound.mailgun_reports(data))


@bp.post("/events/postmark/<int:org_id>")
@public_route
@api_route(response=ANSWER)
def postmark_events(org_id: int) -> Any:
    """Postmark's bounce, spam complaint, delivery and open webhooks (basic auth)."""
    ctx, key = _context("postmark", org_id)
    inbound.verify_postmark(key, request.authorization)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise hub.ValidationError("Expected a JSON object.", {"_schema": ["Not an object."]})
    return _done(ctx, inbound.postmark_reports(data))
