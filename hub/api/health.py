"""Liveness of the hub's own dependencies (no auth)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hub.api.routing import endpoint
from hub.core.schemas import HealthSchema
from hub.extensions import db, get_redis

bp = Blueprint("health", __name__)


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    try:
        get_redis().ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"


@bp.get("/health")
@endpoint(
    "Database and Redis reachability (503 when one is down)", response=HealthSchema, public=True
)
def health() -> Any:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "checks": checks}
    return jsonify(body), 200 if healthy else 503
