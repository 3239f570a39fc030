"""Who may send and cancel what through the API: a member key writes only to the
organization's own people (its users and its clients' contacts) and cancels only what its
user queued; an admin key may do both for anyone. The organization's mail server and
branding are the agency's: a member must not turn them into a phishing sender."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from hub import Caller, Client, Forbidden, PluginContext
from mycelium_smtp import directory
from mycelium_smtp.messages import parse_address

OUTSIDE = "Not a user or client contact of the organization: only an admin key may send here."


def _spec(address: str) -> str | None:
    try:
        return parse_address(address).addr_spec.lower()
    except ValueError:
        return None  # malformed: the queue's own check names it (400)


def _known(session: Any, org_id: int, specs: list[str]) -> set[str]:
    """Which of these addresses (lower case) belong to a user or a client's contact."""
    users = {person.email.lower() for person in directory.by_emails(session, org_id, specs)}
    contact = func.lower(Client.contact_email)
    stmt = select(contact).where(Client.org_id == org_id, contact.in_(specs))
    return users | set(session.scalars(stmt))


def check_recipients(
    ctx: PluginContext, caller: Caller, recipients: Mapping[str, Sequence[str]]
) -> None:
    """Forbidden (403, naming each `to.0`, `bcc.2`...) when a member addresses anyone else."""
    if caller.role == "admin":
        return
    specs = {field: [_spec(a) for a in values] for field, values in recipients.items()}
    wanted = sorted({s for values in specs.values() for s in values if s is not None})
    known = _known(ctx.db, ctx.org.id, wanted) if wanted else set()
    outside = {
        f"{field}.{index}": [OUTSIDE]
        for field, values in specs.items()
        for index, spec in enumerate(values)
        if spec is not None and spec not in known
    }
    if outside:
        raise Forbidden(
            "A member key may send only to the organization's users and client contacts.",
            outside,
        )


def check_cancel(caller: Caller, queued_by: int | None) -> None:
    """Forbidden unless the caller is an admin or its user queued the email."""
    if caller.role == "admin" or (caller.user is not None and caller.user.id == queued_by):
        return
    raise Forbidden(
        "Only an admin key may cancel an email queued by someone else or by the hub itself.",
        {"email_id": ["Not queued by this key's user."]},
    )
