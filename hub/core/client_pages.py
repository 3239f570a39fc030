"""Pages of clients for the list endpoint, read with Core queries and dumped flat.

A page of 50 clients through the ORM and ``ClientSchema().dump`` spent most of its time
building objects and walking fields. Here two Core queries built once (the page, then the
service types of its run of ids) and one dict per row give the same JSON: ``ClientSchema``
stays the description of the answer (OpenAPI) and ``tests/api/test_client_pages.py``
checks both agree on generated data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, select

from hub.core.db import AnySession
from hub.core.models import Client, ServiceType, client_service_types
from hub.core.pagination import decode_cursor, encode_cursor
from hub.core.schemas import ClientSchema

_clients = Client.__table__
_types = ServiceType.__table__
_moment = ClientSchema._declared_fields["created_at"]._serialize  # the schema's own format


# Built once, with the organization, the cursor and the size as parameters: SQLAlchemy
# then reuses their compiled SQL without working out a cache key per request.
_PAGE = (
    select(
        _clients.c.id,
        _clients.c.name,
        _clients.c.contact_person,
        _clients.c.contact_email,
        _clients.c.notes,
        _clients.c.created_at,
        _clients.c.updated_at,
    )
    .where(_clients.c.org_id == bindparam("org_id"), _clients.c.id > bindparam("after"))
    .order_by(_clients.c.id)
    .limit(bindparam("size"))
)
_link = client_service_types.c
# The service types of the org's clients with ids from `first` to `last`: a page is such a
# run of ids (no IN list of 50 parameters to build and compile per page).
_PAGE_TYPES = (
    select(_link.client_id, _types.c.id, _types.c.name)
    .join(_types, _types.c.id == _link.service_type_id)
    .join(_clients, _clients.c.id == _link.client_id)
    .where(
        _clients.c.org_id == bindparam("org_id"),
        _link.client_id.between(bindparam("first"), bindparam("last")),
    )
    .order_by(_link.client_id, _types.c.id)
)


def client_page(
    session: AnySession, org_id: int, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the organization's clients as ``ClientSchema`` dumps them, oldest first,
    and the cursor of the next page (None at the end)."""
    after = decode_cursor(cursor) if cursor else 0  # ids start at 1
    connection = session.connection()
    params = {"org_id": org_id, "after": after, "size": limit + 1}
    rows = connection.execute(_PAGE, params).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    types = _service_types(connection, org_id, rows[0].id, rows[-1].id) if rows else {}
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


def _service_types(
    connection: Any, org_id: int, first: int, last: int
) -> dict[int, list[dict[str, Any]]]:
    """Client id -> its service types as ``ServiceTypeSchema`` dumps them, by id, for the
    organization's clients with ids from `first` to `last`."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    params = {"org_id": org_id, "first": first, "last": last}
    for client_id, type_id, name in connection.execute(_PAGE_TYPES, params):
        found[client_id].append({"id": type_id, "name": name})
    return found
