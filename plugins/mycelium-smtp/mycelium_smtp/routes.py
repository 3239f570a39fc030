"""Routes under /api/integrations/smtp/: templates and the email queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select, update

from hub import Conflict, NotFound, admin_route, api_route, current_caller, current_context, now
from mycelium_smtp import schemas
from mycelium_smtp.access import check_cancel, check_recipients
from mycelium_smtp.batch import outgoing, queue_batch
from mycelium_smtp.catalog import TYPES, EmailType, email_type
from mycelium_smtp.compose import (
    branding_of,
    queue_email,
    render_for,
    source_for,
)
from mycelium_smtp.models import Email, Template
from mycelium_smtp.sandbox import limits_of
from mycelium_smtp.templates import TemplateSource, check_source, check_variables

bp = Blueprint("smtp", __name__)
MAX_ID = 2**31 - 1


def _describe(kind: Any) -> dict[str, Any]:
    return {
        "type": kind.name,
        "description": kind.description,
        "transactional": kind.transactional,
        "variables": [{"name": n, "description": d} for n, (d, _) in kind.variables.items()],
        "common_variables": sorted(set(kind.all_variables()) - set(kind.variables)),
    }


def type_in_path(type_name: str) -> EmailType:
    """The email type a URL names; an unknown one is not found (as the document says)."""
    found = email_type(type_name)
    if found is None:
        raise NotFound(f"No email type {type_name!r}.", {"type_name": ["Unknown email type."]})
    return found


def _own(ctx: Any, type_name: str) -> Template | None:
    stmt = select(Template).where(Template.org_id == ctx.org.id, Template.type == type_name)
    return ctx.db.scalar(stmt)


@bp.get("/templates")
@api_route(
    "Every email type, its variables, and whether the org customized it",
    response=schemas.TemplateTypeSchema,
    many=True,
)
def list_templates() -> Any:
    ctx = current_context()
    own = set(ctx.db.scalars(select(Template.type).where(Template.org_id == ctx.org.id)))
    items = [{**_describe(kind), "customized": kind.name in own} for kind in TYPES.values()]
    return {"items": items, "next_cursor": None}


@bp.get("/templates/<type_name>")
@api_route("One email type with the template in use", response=schemas.TemplateSchema)
def get_template(type_name: str) -> Any:
    ctx, kind = current_context(), type_in_path(type_name)
    source = source_for(ctx.db, ctx.org.id, kind.name)
    customized = _own(ctx, kind.name) is not None
    return {**_describe(kind), "customized": customized, **source.__dict__}


@bp.put("/templates/<type_name>")
@admin_route
@api_route(
    "Save the organization's own template of a type (checked before it is kept)",
    body=schemas.TemplateInSchema,
    response=schemas.TemplateSchema,
)
def put_template(type_name: str, body: dict[str, Any]) -> Any:
    ctx, kind, data = current_context(), type_in_path(type_name), body
    source = TemplateSource(data["subject"], data["html"], data["text"])
    check_source(kind, source, branding_of(ctx), limits_of(ctx.setting))
    row = _own(ctx, kind.name) or Template(org_id=ctx.org.id, type=kind.name)
    row.subject, row.html, row.text = source.subject, source.html, source.text
    ctx.db.add(row)
    ctx.db.commit()
    return {**_describe(kind), "customized": True, **source.__dict__}


@bp.delete("/templates/<type_name>")
@admin_route
@api_route("Go back to the shipped template of a type", response=schemas.TemplateSchema)
def delete_template(type_name: str) -> Any:
    ctx, kind = current_context(), type_in_path(type_name)
    row = _own(ctx, kind.name)
    if row is not None:
        ctx.db.delete(row)
        ctx.db.commit()
    return {
        **_describe(kind),
        "customized": False,
        **source_for(ctx.db, ctx.org.id, kind.name).__dict__,
    }


@bp.post("/templates/<type_name>/preview")
@api_route(body=schemas.PreviewInSchema, response=schemas.RenderedSchema)
def preview_template(type_name: str, body: dict[str, Any]) -> Any:
    """The email rendered with sample data (overridden by given variables), optionally
    with a draft template instead of the saved one."""
    ctx, kind, data = current_context(), type_in_path(type_name), body
    saved = source_for(ctx.db, ctx.org.id, kind.name)
    draft = TemplateSource(
        data.get("subject", saved.subject),
        data.get("html", saved.html),
        data.get("text", saved.text),
    )
    if draft != saved:
        check_source(kind, draft, branding_of(ctx), limits_of(ctx.setting))
    check_variables(kind, data["variables"])
    values = {**kind.sample(), **data["variables"]}
    to = ["preview@example.com"]
    rendered, _ = render_for(ctx, kind, values, to, draft, refused_as=None)
    return {"subject": rendered.subject, "html": rendered.html, "text": rendered.text}


@bp.post("/emails")
@api_route(
    "Queue an email of a type to recipients",
    body=schemas.EmailInSchema,
    response=schemas.EmailSchema,
    status=202,
)
def queue(body: dict[str, Any]) -> Any:
    ctx, caller, data = current_context(), current_caller(), body
    check_recipients(ctx, caller, {name: data[name] for name in ("to", "cc", "bcc")})
    row = queue_email(ctx, outgoing(data, caller.user.id if caller.user else None))
    ctx.db.commit()
    return schemas.render_email(row), 202


@bp.post("/emails/batch")
@api_route(body=schemas.BatchInSchema, response=schemas.BatchSchema, status=202)
def queue_many(body: dict[str, Any]) -> Any:
    """Queue up to 1,000 emails, each as POST /emails takes one, in one transaction: when
    one is invalid, none is queued and the 400 names each bad one by its index."""
    ctx = current_context()
    rows = queue_batch(ctx, current_caller(), body["emails"])
    ctx.db.commit()
    return {"items": [schemas.render_email(r) for r in rows]}, 202


@bp.get("/emails")
@api_route(
    "The organization's emails, newest first",
    query=schemas.EmailQuerySchema,
    response=schemas.EmailSchema,
    many=True,
)
def list_emails(query: dict[str, Any]) -> Any:
    ctx, args = current_context(), query
    stmt = select(Email).where(Email.org_id == ctx.org.id)
    for name in ("status", "template"):
        if args.get(name):
            stmt = stmt.where(getattr(Email, name) == args[name])
    if args.get("cursor"):
        stmt = stmt.where(Email.id < args["cursor"])
    rows = list(ctx.db.scalars(stmt.order_by(Email.id.desc()).limit(args["limit"] + 1)))
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    cursor = str(rows[-1].id) if more else None
    return {"items": [schemas.render_email(r) for r in rows], "next_cursor": cursor}


def _email(ctx: Any, email_id: int) -> Email:
    if email_id > MAX_ID:
        raise NotFound("No such email in this organization.")
    row = ctx.db.scalar(select(Email).where(Email.org_id == ctx.org.id, Email.id == email_id))
    if row is None:
        raise NotFound("No such email in this organization.")
    return row


@bp.get("/emails/<int:email_id>")
@api_route("One email and what became of it", response=schemas.EmailSchema)
def get_email(email_id: int) -> Any:
    return schemas.render_email(_email(current_context(), email_id))


@bp.post("/emails/<int:email_id>/cancel")
@api_route("Cancel a pending email (409 once it is sending or sent)", response=schemas.EmailSchema)
def cancel_email(email_id: int) -> Any:
    ctx = current_context()
    row = _email(ctx, email_id)
    check_cancel(current_caller(), row.queued_by)
    result: Any = ctx.db.execute(
        update(Email)
        .where(Email.id == row.id, Email.status == "pending")  # a worker may have claimed it
        .values(status="cancelled", last_error="Cancelled through the API.", updated_at=now())
        .execution_options(synchronize_session=False)
    )
    cancelled = result.rowcount
    ctx.db.commit()
    ctx.db.refresh(row)
    if not cancelled:
        raise Conflict(
            f"The email is {row.status}; only pending emails can be cancelled.",
            {"status": [row.status]},
        )
    return schemas.render_email(row)
