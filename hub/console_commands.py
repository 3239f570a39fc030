"""`hub admin-link`: a one-time link that signs a browser into the admin console."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from hub.cli_output import fail
from hub.core import console_sessions
from hub.core.models import Organization, User
from hub.core.orgs import get_org_by_slug
from hub.errors import HubError
from hub.extensions import db, get_redis


def make_admin_link(app: Flask, org: Organization, user: User | None = None) -> str:
    """A sign-in URL for the console, valid 10 minutes, single use. The token rides in the
    fragment, so it never reaches a server log or a Referer header."""
    role = user.role if user is not None else "admin"
    grant = console_sessions.LinkGrant(org.id, user.id if user else None, role)
    token = console_sessions.create_link(get_redis(), grant)
    return f"{str(app.config['HUB_APP_URL']).rstrip('/')}/admin/link#{token}"


@click.command("admin-link")
@click.option("--org", "slug", required=True, help="Organization slug.")
@click.option("--user", "email", default=None, help="Sign in as this user (with their role).")
@with_appcontext
def admin_link(slug: str, email: str | None) -> None:
    """Print a one-time console sign-in link (10 minutes, single use)."""
    try:
        org = get_org_by_slug(db.session, slug)
    except HubError as exc:
        fail(exc.message)
    user = None
    if email is not None:
        user = db.session.scalar(select(User).where(User.org_id == org.id, User.email == email))
        if user is None:
            fail(f"No user {email!r} in {slug}.")
    click.echo(make_admin_link(current_app, org, user))
