"""The admin console at ``/admin/``: static pages and hand-written JavaScript that read and
change the hub through its public REST API only (signed in with a session cookie)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, redirect, request
from werkzeug.wrappers import Response as WerkzeugResponse

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/admin",
    static_folder="static",
    static_url_path="/static",
)
landing = Blueprint("console_landing", __name__)

# The pages the one shell answers; its script draws the one the path names.
PAGES = ("integrations", "webhooks", "activity", "usage", "signin", "link")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)


SHELL = Path(__file__).parent / "static" / "index.html"


def _shell() -> Response:
    response = Response(SHELL.read_bytes(), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def home() -> Response:
    return _shell()


@bp.get("/<any(" + ", ".join(PAGES) + "):page>")
def page(page: str) -> Response:
    return _shell()


@bp.get("/plugins/<plugin:name>")
def plugin_page(name: str) -> Response:
    return _shell()


@bp.after_request
def harden(response: Response) -> Response:
    """Nothing but the hub's own files runs or loads; no framing, no sniffing, no referrer."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@landing.get("/settings/integrations")
def settings_integrations() -> WerkzeugResponse:
    """Where the OAuth callback sends the browser when HUB_CLIENT_URL is the hub itself."""
    query = request.query_string.decode("latin-1")
    return redirect("/admin/integrations" + (f"?{query}" if query else ""), code=302)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(landing)
