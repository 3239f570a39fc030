"""Turning a request for an email into a queued row: type, variables, recipients, branding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import select

from hub import PluginContext, ValidationError, now
from mycelium_smtp import suppressions
from mycelium_smtp.alerts import announce_failure
from mycelium_smtp.catalog import EmailType, email_type
from mycelium_smtp.config import normalized
from mycelium_smtp.messages import (
    Sender,
    Unsubscribe,
    new_message_id,
    parse_address,
    unsubscribe_url,
)
from mycelium_smtp.models import Email, Template
from mycelium_smtp.sandbox import TemplateLimitError, limits_of
from mycelium_smtp.templates import (
    Branding,
    Rendered,
    TemplateSource,
    check_variables,
    default_source,
    refusal,
    render,
)
from mycelium_smtp.urgent import send_after_commit

IMMEDIATE = ("urgent", "high")
DEFAULT_MAX_RETRIES = 3


@dataclass(frozen=True)
class Outgoing:
    """One email to queue."""

    template: str
    variables: dict[str, Any]
    to: Sequence[str]
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    priority: str = "normal"
    scheduled_for: datetime | None = None
    max_retries: int | None = None
    # Same key, same organization: queued once (hooks may run twice for one event).
    dedupe_key: str | None = None
    queued_by: int | None = None  # the API caller's user
    # A hook's email: a template that does not render (the sandbox stopped it, say) makes a
    # failed email the admins hear of, where a request's email is refused with a 400.
    fail_if_unrenderable: bool = False


def sender_of(ctx: PluginContext) -> Sender:
    config = normalized(ctx.config)
    name = config["from_name"] or ctx.org.display_name
    return Sender(config["from_address"], name, config["reply_to"])


def branding_of(ctx: PluginContext) -> Branding:
    sender = sender_of(ctx)
    return Branding(
        company_name=ctx.org.display_name,
        logo_url=ctx.org.logo_url,
        primary_color=ctx.org.primary_color,
        sender=f"{sender.name} ({sender.address})",
        app_url=str(ctx.setting("HUB_APP_URL") or ""),
        support_email=ctx.org.support_email,
    )


def require_type(name: str) -> EmailType:
    found = email_type(name)
    if found is None:
        raise ValidationError(f"No email type {name!r}.", {"template": ["Unknown email type."]})
    return found


def source_for(session: Any, org_id: int, type_name: str) -> TemplateSource:
    """The organization's own template for the type, else the shipped one."""
    own = session.scalar(
        select(Template).where(Template.org_id == org_id, Template.type == type_name)
    )
    if own is None:
        return default_source(type_name)
    return TemplateSource(own.subject, own.html, own.text)


def _secret(ctx: PluginContext) -> str:
    return str(ctx.setting("SECRET_KEY") or ctx.setting("HUB_SECRET_KEY"))


def _unsubscribe(ctx: PluginContext, kind: EmailType, to: Sequence[str]) -> str | None:
    if kind.transactional or not to:
        return None
    request = Unsubscribe(ctx.org.id, kind.name, tuple(sorted(to)))
    return unsubscribe_url(str(ctx.setting("HUB_APP_URL") or ""), _secret(ctx), request)


def render_for(
    ctx: PluginContext,
    kind: EmailType,
    variables: dict[str, Any],
    to: Sequence[str] = (),
    source: TemplateSource | None = None,
    refused_as: str | None = "template",
) -> tuple[Rendered, str | None]:
    """The email as `to` will see it, with its unsubscribe link. A template the sandbox
    stops is a ValidationError naming `refused_as` (None: the part that was stopped)."""
    source = source or source_for(ctx.db, ctx.org.id, kind.name)
    values = {"recipient_email": ", ".join(to), **variables}
    link = _unsubscribe(ctx, kind, to)
    limits = limits_of(ctx.setting)
    try:
        return render(kind, source, values, branding_of(ctx), link, limits), link
    except TemplateLimitError as exc:
        message = f"The {kind.name} template ({exc.part}): {refusal(exc)}"
        field = refused_as or exc.part or "template"
        raise ValidationError(message, {field: [refusal(exc)]}) from None
    except (TemplateError, ValueError, TypeError, ArithmeticError) as exc:
        # a template that rendered with sample data may still fail with these values
        message = f"The {kind.name} template does not render with these variables: {exc}"
        raise ValidationError(message, {"variables": [str(exc)]}) from None


def _addresses(values: Sequence[str], field_name: str) -> list[str]:
    errors: dict[str, list[str]] = {}
    for index, value in enumerate(values):
        try:
            parse_address(value)
        except ValueError as exc:
            errors[f"{field_name}.{index}"] = [str(exc)]
    if errors:
        raise ValidationError("Some addresses are invalid.", errors)
    return list(values)


def _existing(ctx: PluginContext, key: str | None) -> Email | None:
    if key is None:
        return None
    stmt = select(Email).where(Email.org_id == ctx.org.id, Email.dedupe_key == key)
    return ctx.db.scalar(stmt)


def queue_email(ctx: PluginContext, out: Outgoing) -> Email:
    """Validate, render and store one email; urgent and high go out right after commit."""
    row = prepare(ctx, out)
    if row.id is None:  # not one queued before under the same key
        ctx.db.add(row)
        ctx.db.flush()
        stored(ctx, row)
    return row


def prepare(
    ctx: PluginContext,
    out: Outgoing,
    source: TemplateSource | None = None,
    listed: suppressions.Entries | None = None,
) -> Email:
    """The row for one email, validated and rendered, not yet added (or the one already
    queued under its de-duplication key). A batch passes the template and the suppression
    list's entries it looked up once for all its emails."""
    kind = require_type(out.template)
    check_variables(kind, out.variables)
    existing = _existing(ctx, out.dedupe_key)
    if existing is not None:
        return existing
    to, cc, bcc = (_addresses(v, n) for v, n in ((out.to, "to"), (out.cc, "cc"), (out.bcc, "bcc")))
    if not to:
        raise ValidationError("An email needs a recipient.", {"to": ["At least one address."]})
    if listed is None:
        listed = suppressions.entries(ctx.db, ctx.org.id, [*to, *cc, *bcc])
    type_name = None if kind.transactional else kind.name  # no unsubscribing from those
    (to, cc, bcc), gone = suppressions.without_suppressed(listed, type_name, to, cc, bcc)
    row = _row(ctx, kind, out, (to, cc, bcc), source)
    _note_suppressed(row, gone)
    return row


def stored(ctx: PluginContext, row: Email) -> None:
    """After a new row is flushed: a failed one is announced, an urgent one sent at commit."""
    if row.status == "failed":
        announce_failure(ctx, row)
    if row.status == "pending" and row.priority in IMMEDIATE and row.next_attempt_at <= now():
        send_after_commit(ctx, row.id)


def _row(
    ctx: PluginContext,
    kind: EmailType,
    out: Outgoing,
    recipients: tuple[list[str], list[str], list[str]],
    source: TemplateSource | None,
) -> Email:
    to, cc, bcc = recipients
    keys = sorted(parse_address(a).addr_spec.lower() for a in to)
    rendered, link, failure = _rendered(ctx, kind, out, keys, source)
    retries = out.max_retries
    if retries is None:
        retries = int(ctx.setting("SMTP_MAX_RETRIES") or DEFAULT_MAX_RETRIES)
    row = Email(
        org_id=ctx.org.id,
        template=kind.name,
        variables=dict(out.variables),
        to=to,
        cc=cc,
        bcc=bcc,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        unsubscribe_url=link,
        priority=out.priority,
        status="pending",
        retries=0,
        max_retries=retries,
        scheduled_for=out.scheduled_for,
        next_attempt_at=out.scheduled_for or now(),
        message_id=new_message_id(sender_of(ctx)),
        refused={},
        dedupe_key=out.dedupe_key,
        queued_by=out.queued_by,
    )
    if not to:
        row.status = "suppressed"
    elif failure is not None:
        row.status, row.last_error, row.failed_at = "failed", failure[:2000], now()
    return row


def _note_suppressed(row: Email, gone: dict[str, str]) -> None:
    """Recipients left out are shown as refused; a row left with nobody is `suppressed`."""
    if not gone:
        return
    row.refused = {address: f"suppressed: {reason}" for address, reason in gone.items()}
    if row.status == "suppressed":
        listed = ", ".join(f"{a} ({r})" for a, r in sorted(gone.items()))
        row.last_error = f"Every recipient is on the suppression list: {listed}."[:2000]


def _rendered(
    ctx: PluginContext,
    kind: EmailType,
    out: Outgoing,
    keys: list[str],
    source: TemplateSource | None,
) -> tuple[Rendered, str | None, str | None]:
    """The rendered email and its unsubscribe link, or, for a hook's email that does not
    render, an empty one and why (the row is then kept as failed)."""
    try:
        rendered, link = render_for(ctx, kind, out.variables, keys, source)
    except ValidationError as exc:
        if not out.fail_if_unrenderable:
            raise
        return Rendered(kind.name, "", ""), None, exc.message
    return rendered, link, None
