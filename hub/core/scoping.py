"""Org-scoped lookups: another organization's object is simply not found."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import select

from hub.core.db import AnySession
from hub.core.models import Base
from hub.errors import NotFound

M = TypeVar("M", bound=Base)


def noun(model: type[Base]) -> str:
    """What a reader calls a row of `model`: ``WebhookEndpoint`` -> "webhook endpoint"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def get_owned(session: AnySession, model: type[M], org_id: int, obj_id: int) -> M:
    """The `model` row with `obj_id` in `org_id`, or NotFound."""
    columns: Any = model
    obj: M | None = session.scalar(
        select(model).where(columns.id == obj_id, columns.org_id == org_id)
    )
    if obj is None:
        raise NotFound(f"No {noun(model)} with id {obj_id}.")
    return obj


def require_ref(
    session: AnySession, model: type[M], org_id: int, obj_id: int | None, field: str
) -> M | None:
    """Resolve a reference in a request body; a missing one is a field error, not a 404."""
    from hub.errors import ValidationError

    if obj_id is None:
        return None
    try:
        return get_owned(session, model, org_id, obj_id)
    except NotFound:
        raise ValidationError("Invalid reference.", {field: [f"No such {noun(model)}."]}) from None
