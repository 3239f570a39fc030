"""The Dropbox emulator's sandbox pages (`hub up --sandbox`): the consent page asks, an
upload adds the file and sends Dropbox's signed webhook, bad input is a 400 naming it."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from mycelium_dropbox.emulator.sandbox import start
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class Hub:
    """Stands in for the hub's webhook route; keeps what Dropbox posts."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def _wsgi(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        self.posts.append((dict(request.headers), request.get_data()))
        return Response("")(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def hub() -> Iterator[Hub]:
    found = Hub()
    yield found
    found.stop()


def test_an_upload_adds_the_file_and_sends_the_signed_webhook(hub: Hub) -> None:
    dropbox = start("127.0.0.1", hub.url)
    try:
        dropbox.store.make_folder("/Agency/Clients/Acme")
        page = requests.get(f"{dropbox.url}/sandbox", timeout=10)
        assert page.status_code == 200 and "Sandbox:" in page.text and "Acme" in page.text
        sent = requests.post(
            f"{dropbox.url}/sandbox/upload",
            data={"folder": "/Agency/Clients/Acme"},
            files={"file": ("brief.pdf", b"%PDF brief")},
            timeout=10,
        )
        assert sent.status_code == 200 and "the hub answered the webhook HTTP 200" in sent.text
        assert dropbox.entry("/Agency/Clients/Acme/brief.pdf")["size"] == len(b"%PDF brief")
        ((headers, body),) = hub.posts
        expected = hmac.new(b"sandbox-dropbox-app-secret", body, hashlib.sha256).hexdigest()
        assert headers["X-Dropbox-Signature"] == expected

        wrong = requests.post(
            f"{dropbox.url}/sandbox/upload",
            data={"folder": "/Nowhere"},
            files={"file": ("x.txt", b"x")},
            timeout=10,
        )
        assert wrong.status_code == 400 and "folder: &#x27;/Nowhere&#x27;" in wrong.text
        assert dropbox.paths("file") == ["/Agency/Clients/Acme/brief.pdf"] and len(hub.posts) == 1
    finally:
        dropbox.stop()


def test_the_consent_page_asks(hub: Hub) -> None:
    dropbox = start("127.0.0.1", hub.url)
    try:
        query = urlencode(
            {
                "client_id": dropbox.oauth.client_id,
                "response_type": "code",
                "redirect_uri": "http://127.0.0.1:9/cb",
                "state": "s",
            }
        )
        url = f"{dropbox.url}/oauth2/authorize?{query}"
        page = requests.get(url, allow_redirects=False, timeout=10)
        assert page.status_code == 200 and "Allow" in page.text and "Cancel" in page.text
        denied = requests.get(url + "&decision=deny", allow_redirects=False, timeout=10)
        assert parse_qs(urlsplit(denied.headers["Location"]).query)["error"] == ["access_denied"]
        allowed = requests.get(url + "&decision=approve", allow_redirects=False, timeout=10)
        assert "code" in parse_qs(urlsplit(allowed.headers["Location"]).query)
    finally:
        dropbox.stop()


def test_it_serves_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        start("0.0.0.0", "http://127.0.0.1:8000")
