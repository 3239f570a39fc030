"""The calling organization's settings and branding."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from hub.api.auth import caller
from hub.api.routing import endpoint
from hub.core.orgs import render_org, update_org
from hub.core.schemas import OrgSchema, OrgUpdateSchema
from hub.extensions import db

bp = Blueprint("org", __name__)


@bp.get("/org")
@endpoint("The organization's settings and branding", response=OrgSchema)
def get_org() -> dict[str, Any]:
    return render_org(caller().org)


@bp.patch("/org")
@endpoint("Change settings and branding", body=OrgUpdateSchema, response=OrgSchema, role="admin")
def patch_org(body: dict[str, Any]) -> dict[str, Any]:
    org = update_org(db.session, caller().org, body)
    db.session.commit()
    return render_org(org)
