"""The Dropbox sandbox's pages: the account's tree (what the hub made), an upload form that
adds a file "in Dropbox" and sends Dropbox's signed webhook to the hub, and the OAuth
consent page (allow / cancel)."""

from __future__ import annotations

import html
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from werkzeug.wrappers import Request, Response

import hub


class DropboxEmulatorView(Protocol):
    """What the pages use of the emulator (its server module imports this one)."""

    lock: Any
    hub_url: str
    notices: list[str]

    def calls(self, route: str | None = None) -> list[dict[str, Any]]: ...
    def paths(self, tag: str | None = None) -> list[str]: ...
    def put_file(self, path: str, data: bytes) -> dict[str, Any]: ...
    def notify(self, url: str, accounts: list[str] | None = None) -> requests.Response: ...


WEBHOOK_PATH = "/api/integrations/dropbox/webhook"
STYLE = """
ul.tree{list-style:none;padding-left:0;font-family:ui-monospace,monospace}
ul.tree li{padding:.1em 0}.folder{font-weight:600}
form.upload{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;background:#fff;
border:1px solid #ddd;padding:.7em;border-radius:6px}
.button,button{padding:.4em 1em;cursor:pointer;border:1px solid #999;border-radius:4px;
background:#fff;text-decoration:none;color:inherit}
"""
PAGES = hub.SandboxPages(
    "Dropbox", "dropbox.com", accent="#0061fe", text="#1e1919", background="#f7f5f2", style=STYLE
)


def handle(emulator: DropboxEmulatorView, request: Request) -> Response:
    if request.path == "/sandbox" and request.method == "GET":
        return render(emulator)
    if request.path == "/sandbox/upload" and request.method == "POST":
        return upload(emulator, request)
    return Response("Not Found", status=404, content_type="text/plain")


def render(emulator: DropboxEmulatorView, error: str = "") -> Response:
    folders = emulator.paths("folder")
    files = set(emulator.paths("file"))
    rows = []
    for path in sorted([*folders, *files], key=str.lower):
        depth = path.count("/") - 1
        name = path.rsplit("/", 1)[-1]
        kind = "file" if path in files else "folder"
        icon = "📄" if kind == "file" else "📁"
        rows.append(
            f'<li class="{kind}" data-path="{html.escape(path)}" '
            f'style="padding-left:{depth * 1.5}em">{icon} {html.escape(name)}</li>'
        )
    tree = "".join(rows) or "<li>Empty. Connect Dropbox in the hub's console.</li>"
    options = "".join(
        f'<option value="{html.escape(f)}">{html.escape(f)}</option>' for f in folders
    )
    log = "".join(f"<li>{html.escape(n)}</li>" for n in reversed(emulator.notices))
    calls = "".join(
        f'<li data-route="{html.escape(c["route"])}">{html.escape(c["route"])}</li>'
        for c in emulator.calls()[-12:][::-1]
    )
    problem = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""
<h1>Dropbox sandbox</h1>
<h2>Upload a file "in Dropbox"</h2>{problem}
<form class="upload" method="post" action="/sandbox/upload" enctype="multipart/form-data">
<label>Folder <select name="folder" required>{options}</select></label>
<input type="file" name="file" aria-label="File" required>
<button type="submit">Upload</button></form>
<p>Dropbox then sends its webhook, signed with the app secret, to
{html.escape(emulator.hub_url or "(no hub)")}{WEBHOOK_PATH}.</p>
<ul class="log">{log}</ul>
<h2>The account's files</h2><ul class="tree">{tree}</ul>
<h2>The hub's latest calls</h2><ol class="calls">{calls}</ol>
"""
    return PAGES.page("Dropbox sandbox", body, 400 if error else 200)  # bad input: 400, naming it


def upload(emulator: DropboxEmulatorView, request: Request) -> Response:
    with request:  # closes the uploaded file's spool, whatever the answer
        return _upload(emulator, request)


def _upload(emulator: DropboxEmulatorView, request: Request) -> Response:
    folder = request.form.get("folder", "")
    sent = request.files.get("file")
    if folder not in emulator.paths("folder"):
        return render(emulator, f"folder: {folder!r} is not a folder of this account")
    if sent is None or not sent.filename:
        return render(emulator, "file: choose a file to upload")
    name = sent.filename.replace("/", "_").replace("\\", "_")
    emulator.put_file(f"{folder}/{name}", sent.read())
    try:
        answer = emulator.notify(emulator.hub_url + WEBHOOK_PATH)
        outcome = f"the hub answered the webhook HTTP {answer.status_code}"
    except requests.RequestException as exc:
        outcome = f"the hub did not answer the webhook ({exc.__class__.__name__})"
    with emulator.lock:
        emulator.notices.append(f"Uploaded {folder}/{name}; {outcome}")
    return Response("", 303, {"Location": "/sandbox"})


def consent(emulator: DropboxEmulatorView, request: Request) -> Response:
    params = request.args.to_dict()
    return PAGES.consent(
        params,
        authorize="/oauth2/authorize",
        heading="Mycelium would like access to the files and folders in your Dropbox",
        scopes=params.get("scope", "") or "(those of the app)",
    )


def denied(params: dict[str, str]) -> Response:
    """Cancel: back to the app with ``error=access_denied``, as Dropbox does."""
    query = {"error": "access_denied", "error_description": "The user chose not to give access."}
    if "state" in params:
        query["state"] = params["state"]
    return Response(
        status=302, headers={"Location": f"{params.get('redirect_uri', '')}?{urlencode(query)}"}
    )
