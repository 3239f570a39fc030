"""Deliverables: members read and work on them; admins delete them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hub.api.auth import caller
from hub.api.routing import endpoint, page
from hub.core import deliverables
from hub.core.models import Deliverable
from hub.core.pagination import paginate
from hub.core.schemas import (
    DeliverableInSchema,
    DeliverableQuerySchema,
    DeliverableSchema,
    DeliverableUpdateSchema,
)
from hub.core.scoping import get_owned
from hub.extensions import db

bp = Blueprint("deliverables", __name__)


@bp.get("/deliverables")
@endpoint("List deliverables", query=DeliverableQuerySchema, response=DeliverableSchema, many=True)
def list_deliverables(query: dict[str, Any]) -> dict[str, Any]:
    stmt = deliverables.filter_deliverables(caller().org, query)
    rows, cursor = paginate(db.session, stmt, Deliverable.id, query["limit"], query.get("cursor"))
    return page(rows, DeliverableSchema(), cursor)


@bp.post("/deliverables")
@endpoint("Create a deliverable", body=DeliverableInSchema, response=DeliverableSchema, status=201)
def create_deliverable(body: dict[str, Any]) -> dict[str, Any]:
    deliverable = deliverables.create_deliverable(db.session, caller().org, body)
    db.session.commit()
    return deliverables.render_deliverable(deliverable)


@bp.get("/deliverables/<int:deliverable_id>")
@endpoint("A deliverable", response=DeliverableSchema)
def get_deliverable(deliverable_id: int) -> dict[str, Any]:
    deliverable = get_owned(db.session, Deliverable, caller().org.id, deliverable_id)
    return deliverables.render_deliverable(deliverable)


@bp.patch("/deliverables/<int:deliverable_id>")
@endpoint(
    "Change a deliverable", body=DeliverableUpdateSchema, partial=True, response=DeliverableSchema
)
def patch_deliverable(deliverable_id: int, body: dict[str, Any]) -> dict[str, Any]:
    deliverable = deliverables.update_deliverable(db.session, caller().org, deliverable_id, body)
    db.session.commit()
    return deliverables.render_deliverable(deliverable)


@bp.post("/deliverables/<int:deliverable_id>/complete")
@endpoint("Complete a deliverable", response=DeliverableSchema)
def complete_deliverable(deliverable_id: int) -> dict[str, Any]:
    who = caller()
    deliverable = deliverables.complete_deliverable(
        db.session, who.org, deliverable_id, who.user.id if who.user else None
    )
    db.session.commit()
    return deliverables.render_deliverable(deliverable)


@bp.delete("/deliverables/<int:deliverable_id>")
@endpoint("Delete a deliverable", status=204, role="admin")
def delete_deliverable(deliverable_id: int) -> None:
    deliverables.delete_deliverable(db.session, caller().org.id, deliverable_id)
    db.session.commit()
