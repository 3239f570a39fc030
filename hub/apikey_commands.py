"""`hub apikey`: create, list and revoke an organization's API keys from the shell (the
way back in when no admin key is left)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hub.cli_output import aligned, fail
from hub.core.apikeys import (
    create_api_key,
    effective_role,
    find_by_prefix,
    list_api_keys,
    revoke_api_key,
)
from hub.core.models import ApiKey, User
from hub.core.orgs import get_org_by_slug
from hub.errors import HubError
from hub.extensions import db


@click.group("apikey")
def apikey_group() -> None:
    """API keys."""


@apikey_group.command("create")
@click.option("--org", "slug", required=True, help="Organization slug.")
@click.option(
    "--role",
    type=click.Choice(["admin", "member"]),
    default=None,
    help="Default: the user's role with --user, else admin. Never more than the user's.",
)
@click.option("--name", default="", help="A label for the key.")
@click.option("--user", "email", default=None, help="Tie the key to this user's email.")
@with_appcontext
def apikey_create(slug: str, role: str | None, name: str, email: str | None) -> None:
    """Create an API key; prints it once."""
    try:
        org = get_org_by_slug(db.session, slug)
    except HubError as exc:
        fail(exc.message)
    user = None
    if email is not None:
        user = db.session.scalar(select(User).where(User.org_id == org.id, User.email == email))
        if user is None:
            fail(f"No user {email!r} in {slug}.")
    try:
        role = role or (user.role if user else "admin")
        _, secret = create_api_key(db.session, org.id, role, name, user)
    except HubError as exc:
        fail(f"{exc.message} {exc.details}")
    db.session.commit()
    click.echo(secret)


@apikey_group.command("list")
@click.option("--org", "slug", required=True, help="Organization slug.")
@with_appcontext
def apikey_list(slug: str) -> None:
    """List the organization's keys (never their secrets), revoked ones included."""
    try:
        org = get_org_by_slug(db.session, slug)
    except HubError as exc:
        fail(exc.message)
    header = ("PREFIX", "ROLE", "ACTS AS", "USER", "CREATED", "LAST USED", "REVOKED", "NAME")
    rows = [header] + [_key_row(key) for key in list_api_keys(db.session, org.id)]
    click.echo(aligned(rows))


def _key_row(key: ApiKey) -> tuple[str, ...]:
    def day(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    user = key.user.email if key.user else "-"
    return (
        key.prefix,
        key.role,
        effective_role(key),
        user,
        day(key.created_at),
        day(key.last_used_at),
        day(key.revoked_at),
        key.name or "-",
    )


@apikey_group.command("revoke")
@click.argument("prefix")
@with_appcontext
def apikey_revoke(prefix: str) -> None:
    """Revoke a key by its prefix (`mhk_` and 12 hex digits): refused at once, everywhere."""
    key = find_by_prefix(db.session, prefix)
    if key is None:
        fail(f"No API key with prefix {prefix!r} (see `hub apikey list --org SLUG`).")
    if revoke_api_key(key):
        db.session.commit()
        click.echo(f"revoked {key.prefix}", err=True)
    else:
        click.echo(f"{key.prefix} was already revoked", err=True)
