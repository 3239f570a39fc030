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
PAGES = ("integrations", "clients", "webhooks", "activity", "usage", "signin", "link")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'; frame-src 'self'"
)
# The frame a plugin page's preview is drawn in (/admin/preview, sandboxed by the page): its
# script puts the HTML into a nested frame with no script at all, which inherits this policy;
# an email's own inline styles apply there, nothing runs, nothing is sent but images.
PREVIEW_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data: https:; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; object-src 'none'"
)


SHELL = Path(__file__).parent / "static" / "index.html"
PREVIEW = Path(__file__).parent / "static" / "preview.html"


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


@bp.get("/preview")
def preview_frame() -> Response:
    response = Response(PREVIEW.read_bytes(), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_request
def harden(response: Response) -> Response:
    """Nothing but the hub's own files runs or loads; no framing (but the console's own
    preview frame), no sniffing, no referrer."""
    framed = request.endpoint == "console.preview_frame"
    response.headers["Content-Security-Policy"] = PREVIEW_CSP if framed else CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
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
