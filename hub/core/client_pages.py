"""Pages of clients for the list endpoint, read with Core queries and dumped flat.

A page of 50 clients through the ORM and ``ClientSchema().dump`` spent most of its time
building objects and walking fields. Here two Core queries (the page, then its service
types) and one dict per row give the same JSON: ``ClientSchema`` stays the description of
the answer (OpenAPI) and ``tests/api/test_client_pages.py`` checks both agree on generated data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from hub.core.db import AnySession
from hub.core.models import Client, ServiceType, client_service_types
from hub.core.pagination import decode_cursor, encode_cursor
from hub.core.schemas import ClientSchema

_clients = Client.__table__
_types = ServiceType.__table__
_moment = ClientSchema._declared_fields["created_at"]._serialize  # the schema's own format


def client_page(
    session: AnySession, org_id: int, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the organization's clients as ``ClientSchema`` dumps them, oldest first,
    and the cursor of the next page (None at the end)."""
    stmt = select(
        _clients.c.id,
        _clients.c.name,
        _clients.c.contact_person,
        _clients.c.contact_email,
        _clients.c.notes,
        _clients.c.created_at,
        _clients.c.updated_at,
    ).where(_clients.c.org_id == org_id)
    if cursor:
        stmt = stmt.where(_clients.c.id > decode_cursor(cursor))
    connection = session.connection()
    rows = connection.execute(stmt.order_by(_clients.c.id).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    types = _service_types(connection, [row.id for row in rows])
    return [
        {
            "id": row.id,
            "name": row.name,
            "contact_person": row.contact_person,
            "contact_email": row.contact_email,
            "notes": row.notes,
            "service_types": types.get(row.id, []),
            "created_at": _moment(row.created_at, "created_at", None),
            "updated_at": _moment(row.updated_at, "updated_at", None),
        }
        for row in rows
    ], next_cursor


def _service_types(connection: Any, client_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Client id -> its service types as ``ServiceTypeSchema`` dumps them, by id."""
    if not client_ids:
        return {}
    link = client_service_types.c
    stmt = (
        select(link.client_id, _types.c.id, _types.c.name)
        .join(_types, _types.c.id == link.service_type_id)
        .where(link.client_id.in_(client_ids))
        .order_by(link.client_id, _types.c.id)
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for client_id, type_id, name in connection.execute(stmt):
        found[client_id].append({"id": type_id, "name": name})
    return found
