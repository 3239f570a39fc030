"""The example's sandbox (``register_sandbox``): a loopback page standing in for the notes
service, and a greeting setting of its own while `hub up --sandbox` runs."""

from __future__ import annotations

import html
import threading
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import hub

LOOPBACK = ("127.0.0.1", "::1", "localhost")
PAGES = hub.SandboxPages("notes service", "notes.example", accent="#5b3cc4")


class NotesSandbox:
    """A :class:`hub.SandboxServer`: serves ``/sandbox`` until ``stop()``."""

    def __init__(self, host: str, hub_url: str) -> None:
        if host not in LOOPBACK:
            raise ValueError("the example sandbox serves loopback only")
        self.hub_url = hub_url
        self._server = make_server(host, 0, self._wsgi, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def settings(self) -> dict[str, str]:
        return {"EXAMPLE_GREETING": "Hello from the sandbox"}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path != "/sandbox":
            return Response("Not Found", 404)(environ, start_response)
        body = (
            "<h1>Example sandbox</h1>"
            f"<p>The hub at {html.escape(self.hub_url)} greets new clients with "
            f"{html.escape(self.settings()['EXAMPLE_GREETING'])!r}.</p>"
        )
        return PAGES.page("Example sandbox", body)(environ, start_response)
