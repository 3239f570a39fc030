"""Flask extensions and per-app services (state lives in app.extensions, not module globals)."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy

from hub.core.db import engine_options, watch_pool
from hub.core.models import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def connect_redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
    )


def init_db(app: Flask) -> None:
    url = app.config["HUB_DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    db.init_app(app)
    with app.app_context():
        watch_pool(db.engine)


def init_redis(app: Flask) -> None:
    app.extensions["hub.redis"] = connect_redis(app.config["REDIS_URL"])


def get_redis() -> redis.Redis:
    return current_app.extensions["hub.redis"]
