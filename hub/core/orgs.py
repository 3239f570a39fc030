"""Organizations: creation, settings and branding."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import select

from hub.core import events
from hub.core.db import AnySession
from hub.core.models import Organization
from hub.core.schemas import OrgSchema, validate_timezone
from hub.errors import NotFound, ValidationError


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "org"


def create_org(session: AnySession, name: str, timezone: str = "UTC") -> Organization:
    """A new organization with a unique slug derived from its name."""
    if not name.strip() or len(name) > 200:
        raise ValidationError("Invalid organization.", {"name": ["1-200 characters."]})
    try:
        validate_timezone(timezone)
    except Exception as exc:
        raise ValidationError("Invalid organization.", {"timezone": [str(exc)]}) from exc
    base = slugify(name)
    slug = base
    while session.scalar(select(Organization.id).where(Organization.slug == slug)):
        slug = f"{base}-{secrets.token_hex(3)}"
    org = Organization(name=name.strip(), slug=slug, timezone=timezone)
    session.add(org)
    session.flush()
    return org


def get_org_by_slug(session: AnySession, slug: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound(f"No organization with slug {slug!r}.")
    return org


def render_org(org: Organization) -> dict[str, Any]:
    return OrgSchema().dump(org)


def update_org(session: AnySession, org: Organization, changes: dict[str, Any]) -> Organization:
    for field, value in changes.items():
        setattr(org, field, value)
    session.flush()
    events.record(session, org.id, "organization.updated", render_org(org))
    return org
