"""Clients and the service types an agency offers them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.core import clock, events
from hub.core.db import AnySession
from hub.core.models import Client, ServiceType, client_service_types
from hub.core.schemas import ClientSchema, ServiceTypeSchema
from hub.core.scoping import get_owned
from hub.errors import Conflict, ValidationError

render_service_type = ServiceTypeSchema().dump
_moment = ClientSchema._declared_fields["created_at"]._serialize  # the schema's own format


def render_client(client: Client) -> dict[str, Any]:
    """A client as the API renders it: what event payloads and hooks' ``client`` hold.

    ``ClientSchema`` dumped by hand, field for field in its order (a marshmallow dump walks
    its fields and the nested service types for each call): the schema still describes
    the answer, and tests/api/test_client_render.py checks both agree on generated clients.
    """
    return {
        "id": client.id,
        "name": client.name,
        "contact_person": client.contact_person,
        "contact_email": client.contact_email,
        "notes": client.notes,
        "service_types": [{"id": st.id, "name": st.name} for st in client.service_types],
        "created_at": _moment(client.created_at, "created_at", client),
        "updated_at": _moment(client.updated_at, "updated_at", client),
    }


def create_service_type(session: AnySession, org_id: int, name: str) -> ServiceType:
    taken = session.scalar(
        select(ServiceType.id).where(
            ServiceType.org_id == org_id, func.lower(ServiceType.name) == name.lower()
        )
    )
    if taken:
        raise Conflict("This service type exists.", {"name": ["Already taken."]})
    service_type = ServiceType(org_id=org_id, name=name)
    session.add(service_type)
    session.flush()
    events.record(session, org_id, "service_type.created", render_service_type(service_type))
    return service_type


def rename_service_type(
    session: AnySession, org_id: int, service_type_id: int, name: str | None
) -> ServiceType:
    """Rename a service type; ``service_type.updated`` (with ``previous_name``) when the name
    changed, so what is kept per service (a folder named after it) can follow."""
    service_type = get_owned(session, ServiceType, org_id, service_type_id)
    if name is None or name == service_type.name:
        return service_type
    taken = session.scalar(
        select(ServiceType.id).where(
            ServiceType.org_id == org_id,
            ServiceType.id != service_type.id,
            func.lower(ServiceType.name) == name.lower(),
        )
    )
    if taken:
        raise Conflict("This service type exists.", {"name": ["Already taken."]})
    previous, service_type.name = service_type.name, name
    session.flush()
    payload = {**render_service_type(service_type), "previous_name": previous}
    events.record(session, org_id, "service_type.updated", payload)
    return service_type


def _service_types(session: AnySession, org_id: int, ids: list[int]) -> list[ServiceType]:
    found = list(
        session.scalars(
            select(ServiceType).where(ServiceType.org_id == org_id, ServiceType.id.in_(ids))
        )
    )
    missing = sorted(set(ids) - {st.id for st in found})
    if missing:
        raise ValidationError(
            "Invalid reference.", {"service_type_ids": [f"No such service type: {missing}."]}
        )
    return sorted(found, key=lambda st: st.id)


_clients = cast(Table, Client.__table__)
# Built once, run as Core on the session's connection: no ORM statement to compile, cache
# or scope per request (the organization is in the WHERE clause itself).
_NAME_TAKEN = (
    select(_clients.c.id)
    .where(
        _clients.c.org_id == bindparam("org_id"),
        _clients.c.name == bindparam("name"),
        _clients.c.id != bindparam("exclude"),
    )
    .limit(1)
)


def _name_taken() -> Conflict:
    return Conflict("A client with this name exists.", {"name": ["Already taken."]})


def _check_name_free(session: AnySession, org_id: int, name: str, exclude: int | None) -> None:
    params = {"org_id": org_id, "name": name, "exclude": exclude or 0}  # ids start at 1
    if session.connection().execute(_NAME_TAKEN, params).first() is not None:
        raise _name_taken()


def _apply(session: AnySession, client: Client, data: dict[str, Any]) -> None:
    data = dict(data)
    if "service_type_ids" in data:
        client.service_types = _service_types(session, client.org_id, data.pop("service_type_ids"))
    for field, value in data.items():
        setattr(client, field, value)


def create_client(session: AnySession, org_id: int, data: dict[str, Any]) -> Client:
    client_id, _ = add_client(session, org_id, data)
    client = session.get(Client, client_id)
    assert client is not None  # written in this transaction
    return client


# A new client is written by Core statements built once, not an ORM object the unit of work
# flushes: nothing else in the request reads it back, and the flush (the unit of work's
# bookkeeping, the relationship's collection) was a fifth of a served POST's CPU.
# The name is checked by the INSERT itself (the unique (org_id, name) constraint, nothing
# written on a conflict), not by a SELECT before it.
_INSERT_CLIENT = {
    name: make(_clients)
    .on_conflict_do_nothing(index_elements=["org_id", "name"])
    .returning(_clients.c.id)
    for name, make in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_LINK_SERVICE_TYPE = insert(client_service_types)
_CLIENT_FIELDS = ("name", "contact_person", "contact_email", "notes")


def add_client(
    session: AnySession, org_id: int, data: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """Create a client and record ``client.created``; the new client's id and its rendering,
    which is both the event's payload and the API's answer (the row as written)."""
    ids = data.get("service_type_ids")
    linked = _service_types(session, org_id, ids) if ids else []
    now = clock.now()
    row = {field: data.get(field) for field in _CLIENT_FIELDS}
    row.update(org_id=org_id, created_at=now, updated_at=now)
    connection = session.connection()
    client_id = connection.execute(_INSERT_CLIENT[connection.dialect.name], row).scalar()
    if client_id is None:
        raise _name_taken()
    if linked:
        links = [{"client_id": client_id, "service_type_id": st.id} for st in linked]
        connection.execute(_LINK_SERVICE_TYPE, links)
    # the row as written, rendered as render_client renders a loaded one (it reads only
    # the attributes given here)
    written = SimpleNamespace(id=client_id, service_types=linked, **row)
    rendered = render_client(cast(Client, written))
    events.record(session, org_id, "client.created", rendered)
    return client_id, rendered


def update_client(
    session: AnySession, org_id: int, client_id: int, changes: dict[str, Any]
) -> Client:
    client = get_owned(session, Client, org_id, client_id)
    if "name" in changes:
        _check_name_free(session, org_id, changes["name"], client.id)
    _apply(session, client, changes)
    session.flush()
    events.record(session, org_id, "client.updated", render_client(client))
    return client


def delete_client(session: AnySession, org_id: int, client_id: int) -> None:
    client = get_owned(session, Client, org_id, client_id)
    payload = render_client(client)
    session.delete(client)
    session.flush()
    events.record(session, org_id, "client.deleted", payload)
