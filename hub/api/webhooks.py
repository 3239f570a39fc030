"""Outgoing webhooks, for admins: endpoints, secrets, the delivery log, test, resend, recover."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.api.auth import caller
from hub.api.routing import endpoint, page
from hub.context import EventInfo
from hub.core import clock
from hub.core.deliverables import in_org_zone
from hub.core.egress import EgressPolicy
from hub.core.ids import new_id
from hub.core.pagination import paginate
from hub.core.schemas import ListQuerySchema
from hub.core.scoping import get_owned
from hub.core.webhooks import endpoints as webhooks
from hub.core.webhooks import replay as webhook_replay
from hub.core.webhooks.models import WebhookDelivery, WebhookEndpoint
from hub.core.webhooks.pump import send_now
from hub.core.webhooks.queue import kick_after_commit
from hub.core.webhooks.schemas import (
    DeliveryQuerySchema,
    DeliverySchema,
    EndpointInSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    NewEndpointSchema,
    RecoveredSchema,
    RecoverQuerySchema,
    RotateSchema,
    SecretSchema,
)
from hub.default_plugins.webhooks import egress_http, send_settings
from hub.extensions import db

bp = Blueprint("webhooks", __name__, url_prefix="/integrations/webhooks")
TEST_TIMEOUT = 10.0  # an admin waits for the answer: shorter than a worker's attempt


def _egress() -> EgressPolicy:
    return EgressPolicy.from_settings(current_app.config)


def _owned(endpoint_id: int) -> WebhookEndpoint:
    return get_owned(db.session, WebhookEndpoint, caller().org.id, endpoint_id)


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    if "events" in body:
        catalogue = current_app.extensions["hub.event_types"]
        body["events"] = webhooks.check_events(body["events"], catalogue)
    return body


@bp.post("")
@endpoint(
    "Register an endpoint; the answer holds its signing secret, shown only this once",
    body=EndpointInSchema,
    response=NewEndpointSchema,
    status=201,
    role="admin",
)
def create(body: dict[str, Any]) -> dict[str, Any]:
    keyring = current_app.extensions["hub.keyring"]
    row, secret = webhooks.create_endpoint(
        db.session, keyring, _egress(), caller().org.id, _checked(body)
    )
    db.session.commit()
    return {**EndpointSchema().dump(row), "secret": secret}


@bp.get("")
@endpoint(
    "Webhook endpoints", query=ListQuerySchema, response=EndpointSchema, many=True, role="admin"
)
def list_endpoints(query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.org_id == caller().org.id)
    rows, cursor = paginate(
        db.session, stmt, WebhookEndpoint.id, query["limit"], query.get("cursor")
    )
    return page(rows, EndpointSchema(), cursor)


@bp.get("/<int:endpoint_id>")
@endpoint("A webhook endpoint", response=EndpointSchema, role="admin")
def get(endpoint_id: int) -> dict[str, Any]:
    return EndpointSchema().dump(_owned(endpoint_id))


@bp.patch("/<int:endpoint_id>")
@endpoint(
    "Change url, events, description, or enable / disable",
    body=EndpointUpdateSchema,
    partial=True,
    response=EndpointSchema,
    role="admin",
)
def patch(endpoint_id: int, body: dict[str, Any]) -> dict[str, Any]:
    row = webhooks.update_endpoint(db.session, _egress(), _owned(endpoint_id), _checked(body))
    db.session.commit()
    return EndpointSchema().dump(row)


@bp.delete("/<int:endpoint_id>")
@endpoint("Delete an endpoint and its delivery log", status=204, role="admin")
def delete(endpoint_id: int) -> None:
    db.session.delete(_owned(endpoint_id))
    db.session.commit()


@bp.post("/<int:endpoint_id>/rotate-secret")
@endpoint(
    "Issue a new secret; the old one keeps signing too during the grace period",
    body=RotateSchema,
    response=SecretSchema,
    role="admin",
)
def rotate(endpoint_id: int, body: dict[str, Any]) -> dict[str, Any]:
    default = float(current_app.config["HUB_WEBHOOK_SECRET_GRACE"])
    grace = timedelta(seconds=body.get("grace_period_seconds", default))
    keyring = current_app.extensions["hub.keyring"]
    secret, expires = webhooks.rotate_secret(keyring, _owned(endpoint_id), grace)
    db.session.commit()
    return {"secret": secret, "previous_secret_expires_at": expires if grace else None}


@bp.post("/<int:endpoint_id>/test")
@endpoint(
    "Send a webhook.test event to this endpoint now; the delivery with its attempt",
    response=DeliverySchema,
    role="admin",
)
def test(endpoint_id: int) -> dict[str, Any]:
    row = _owned(endpoint_id)
    now = clock.now()
    data = {"endpoint_id": row.id, "message": "A test event sent by an admin."}
    event = EventInfo(new_id("evt"), webhooks.TEST_EVENT, row.org_id, now, data)
    delivery = webhook_replay.add_manual_delivery(db.session, row, event)
    delivery.lease_until = now + timedelta(seconds=2 * TEST_TIMEOUT + 60)
    db.session.commit()  # nothing stays open while the request is in flight
    settings = send_settings(current_app.config, TEST_TIMEOUT, current_app.extensions["hub.usage"])
    with egress_http(current_app, 1) as http:
        send_now(db.session, current_app.extensions["hub.keyring"], http, settings, delivery)
    return DeliverySchema().dump(_delivery(delivery.id))


def _delivery(delivery_id: int) -> WebhookDelivery:
    org_id = caller().org.id
    found = db.session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.org_id == org_id)
        .options(selectinload(WebhookDelivery.attempt_log))
        .execution_options(populate_existing=True)
    )
    return found or get_owned(db.session, WebhookDelivery, org_id, delivery_id)


@bp.get("/<int:endpoint_id>/deliveries")
@endpoint(
    "The endpoint's deliveries, newest first, each with its attempts",
    query=DeliveryQuerySchema,
    response=DeliverySchema,
    many=True,
    role="admin",
)
def deliveries(endpoint_id: int, query: dict[str, Any]) -> dict[str, Any]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == _owned(endpoint_id).id)
        .options(selectinload(WebhookDelivery.attempt_log))
    )
    for name in ("state", "event_type"):
        if name in query:
            stmt = stmt.where(getattr(WebhookDelivery, name) == query[name])
    rows, cursor = paginate(
        db.session, stmt, WebhookDelivery.id, query["limit"], query.get("cursor"), newest_first=True
    )
    return page(rows, DeliverySchema(), cursor)


@bp.get("/deliveries/<int:delivery_id>")
@endpoint("A delivery with its attempts", response=DeliverySchema, role="admin")
def get_delivery(delivery_id: int) -> dict[str, Any]:
    return DeliverySchema().dump(_delivery(delivery_id))


@bp.post("/deliveries/<int:delivery_id>/resend")
@endpoint(
    "Send a finished delivery again, once, as soon as a worker can",
    response=DeliverySchema,
    status=202,
    role="admin",
)
def resend(delivery_id: int) -> dict[str, Any]:
    webhook_replay.resend(db.session, caller().org.id, delivery_id)
    kick_after_commit(db.session, current_app.extensions["hub.redis"])
    db.session.commit()
    return DeliverySchema().dump(_delivery(delivery_id))


@bp.post("/<int:endpoint_id>/recover")
@endpoint(
    "Send every delivery that failed since a time again, once each (at most 10000)",
    query=RecoverQuerySchema,
    response=RecoveredSchema,
    status=202,
    role="admin",
)
def recover(endpoint_id: int, query: dict[str, Any]) -> dict[str, Any]:
    org = caller().org
    since, until = in_org_zone(org, query["since"]), in_org_zone(org, query.get("until"))
    count = webhook_replay.recover(db.session, _owned(endpoint_id), since, until)  # type: ignore[arg-type]
    kick_after_commit(db.session, current_app.extensions["hub.redis"])
    db.session.commit()
    return {"recovered": count}
