"""Who am I: the calling key's organization, role and user."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hub.api.auth import caller
from hub.api.routing import endpoint
from hub.core.schemas import MeSchema

bp = Blueprint("me", __name__)


@bp.get("/me")
@endpoint("The calling API key's organization and role", response=MeSchema)
def me() -> dict[str, Any]:
    who = caller()
    user = who.user
    return {
        "org": {"id": who.org.id, "slug": who.org.slug, "name": who.org.name},
        "role": who.role,
        "user": {"id": user.id, "email": user.email, "name": user.name} if user else None,
    }
