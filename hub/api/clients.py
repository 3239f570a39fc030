"""Clients and service types."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from hub.api.auth import caller
from hub.api.routing import endpoint, page
from hub.core import clients
from hub.core.client_pages import client_page
from hub.core.models import Client, ServiceType
from hub.core.pagination import paginate
from hub.core.schemas import (
    ClientInSchema,
    ClientSchema,
    ListQuerySchema,
    ServiceTypeInSchema,
    ServiceTypeSchema,
)
from hub.core.scoping import get_owned
from hub.extensions import db

bp = Blueprint("clients", __name__)


@bp.get("/service-types")
@endpoint("List service types", query=ListQuerySchema, response=ServiceTypeSchema, many=True)
def list_service_types(query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(ServiceType).where(ServiceType.org_id == caller().org_id)
    rows, cursor = paginate(db.session, stmt, ServiceType.id, query["limit"], query.get("cursor"))
    return page(rows, ServiceTypeSchema(), cursor)


@bp.post("/service-types")
@endpoint(
    "Add a service type",
    body=ServiceTypeInSchema,
    response=ServiceTypeSchema,
    status=201,
    role="admin",
)
def create_service_type(body: dict[str, Any]) -> dict[str, Any]:
    service_type = clients.create_service_type(db.session, caller().org_id, body["name"])
    db.session.commit()
    return clients.render_service_type(service_type)


@bp.patch("/service-types/<int:service_type_id>")
@endpoint(
    "Rename a service type",
    body=ServiceTypeInSchema,
    partial=True,
    response=ServiceTypeSchema,
    role="admin",
)
def patch_service_type(service_type_id: int, body: dict[str, Any]) -> dict[str, Any]:
    service_type = clients.rename_service_type(
        db.session, caller().org_id, service_type_id, body.get("name")
    )
    db.session.commit()
    return clients.render_service_type(service_type)


@bp.get("/clients")
@endpoint("List clients", query=ListQuerySchema, response=ClientSchema, many=True)
def list_clients(query: dict[str, Any]) -> dict[str, Any]:
    items, cursor = client_page(db.session, caller().org_id, query["limit"], query.get("cursor"))
    return {"items": items, "next_cursor": cursor}


@bp.post("/clients")
@endpoint("Create a client", body=ClientInSchema, response=ClientSchema, status=201, role="admin")
def create_client(body: dict[str, Any]) -> dict[str, Any]:
    _, rendered = clients.add_client(db.session, caller().org_id, body)
    db.session.commit()
    return rendered


@bp.get("/clients/<int:client_id>")
@endpoint("A client", response=ClientSchema)
def get_client(client_id: int) -> dict[str, Any]:
    return clients.render_client(get_owned(db.session, Client, caller().org_id, client_id))


@bp.patch("/clients/<int:client_id>")
@endpoint("Change a client", body=ClientInSchema, partial=True, response=ClientSchema, role="admin")
def patch_client(client_id: int, body: dict[str, Any]) -> dict[str, Any]:
    client = clients.update_client(db.session, caller().org_id, client_id, body)
    db.session.commit()
    return clients.render_client(client)


@bp.delete("/clients/<int:client_id>")
@endpoint("Delete a client and its deliverables", status=204, role="admin")
def delete_client(client_id: int) -> None:
    clients.delete_client(db.session, caller().org_id, client_id)
    db.session.commit()
