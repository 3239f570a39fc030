"""A bare Flask endpoint served by gunicorn exactly as `hub serve` serves the hub: the baseline
of bench/api.py. Usage: python bench/bare_app.py HOST PORT WORKERS THREADS"""

from __future__ import annotations

import sys

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from hub.server import run_gunicorn


def make_app() -> Flask:
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> ResponseReturnValue:
        return jsonify(ok=True)

    return app


if __name__ == "__main__":
    host, port, workers, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    run_gunicorn(host, port, workers, threads, load_app=make_app)
