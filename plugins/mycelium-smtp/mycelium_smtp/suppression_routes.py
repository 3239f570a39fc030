"""Routes for the suppression list: see it, and lift an address from it."""

from __future__ import annotations

from typing import Any

from flask import Response

from hub import NotFound, admin_route, api_route, current_context
from mycelium_smtp import schemas, suppressions
from mycelium_smtp.routes import bp


def render_suppression(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "address": row.email,
        "type": row.type,
        "reason": row.reason,
        "detail": row.detail,
        "created_at": row.created_at.isoformat(),
    }


@bp.get("/suppressions")
@api_route(
    "Addresses the organization's emails no longer go to, newest first",
    query=schemas.SuppressionQuerySchema,
    response=schemas.SuppressionSchema,
    many=True,
)
def list_suppressions(query: dict[str, Any]) -> Any:
    ctx = current_context()
    rows, cursor = suppressions.page(ctx.db, ctx.org.id, query["limit"], query.get("cursor"))
    return {"items": [render_suppression(r) for r in rows], "next_cursor": cursor}


@bp.delete("/suppressions/<address>")
@admin_route
@api_route(status=204)
def lift_suppression(address: str) -> Any:
    """Take an address off the list (every type and reason): emails go to it again; 204."""
    ctx = current_context()
    if not suppressions.lift(ctx.db, ctx.org.id, address.strip()):
        raise NotFound(
            "That address is not on the suppression list.", {"address": ["Not suppressed."]}
        )
    ctx.db.commit()
    return Response(status=204)
