"""The hub's own health (no auth): its dependencies, liveness and readiness for orchestrators."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hub.api.routing import endpoint
from hub.core import schema_version
from hub.core.schemas import HealthSchema, LiveSchema, ReadySchema
from hub.extensions import db, get_redis
from hub.plugins import get_plugins

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


def _code_revisions() -> schema_version.CodeRevisions:
    """The migration heads of the code, read from the scripts once per process."""
    found = current_app.extensions.get("hub.code_revisions")
    if found is None:
        found = schema_version.code_revisions(get_plugins(current_app).migration_dirs())
        current_app.extensions["hub.code_revisions"] = found
    return found


def _check_migrations() -> str:
    try:
        applied = schema_version.database_heads(db.session.connection())
    except SQLAlchemyError as exc:
        db.session.rollback()
        return f"error: {type(exc).__name__}"
    return schema_version.compare(_code_revisions(), applied).describe()


@bp.get("/health")
@endpoint(
    "Database and Redis reachability (503 when one is down)", response=HealthSchema, public=True
)
def health() -> Any:
    checks = {"database": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "checks": checks}
    return jsonify(body), 200 if healthy else 503


@bp.get("/health/live")
@endpoint(
    "Liveness: the process answers (touches neither the database nor Redis)",
    response=LiveSchema,
    public=True,
)
def live() -> Any:
    return jsonify({"status": "ok"})


@bp.get("/health/ready")
@endpoint(
    "Readiness: database and Redis reachable, migrations at head (503 naming what is wrong)",
    response=ReadySchema,
    public=True,
)
def ready() -> Any:
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["migrations"] = (
        _check_migrations() if checks["database"] == "ok" else "unknown: no database"
    )
    # a schema migrated by newer code ("ahead") serves on: migrations run before new code
    is_ready = all(value == "ok" or value.startswith("ahead") for value in checks.values())
    body = {"status": "ok" if is_ready else "not_ready", "checks": checks}
    return jsonify(body), 200 if is_ready else 503
