"""The Dropbox emulator's sandbox pages (`hub up --sandbox`): the consent page asks, an
upload adds the file and sends Dropbox's signed webhook, bad input is a 400 naming it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from mycelium_dropbox.emulator.sandbox import start

from hub.testing import LoopbackReceiver


@pytest.fixture
def hub() -> Iterator[LoopbackReceiver]:
    """Stands in for the hub's webhook route; keeps what Dropbox posts."""
    with LoopbackReceiver() as found:
        yield found


def test_an_upload_adds_the_file_and_sends_the_signed_webhook(hub: LoopbackReceiver) -> None:
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
        (webhook,) = hub.received
        expected = hmac.new(b"sandbox-dropbox-app-secret", webhook.body, hashlib.sha256)
        assert webhook.headers["X-Dropbox-Signature"] == expected.hexdigest()

        wrong = requests.post(
            f"{dropbox.url}/sandbox/upload",
            data={"folder": "/Nowhere"},
            files={"file": ("x.txt", b"x")},
            timeout=10,
        )
        assert wrong.status_code == 400 and "folder: &#x27;/Nowhere&#x27;" in wrong.text
        assert dropbox.paths("file") == ["/Agency/Clients/Acme/brief.pdf"]
        assert len(hub.received) == 1  # nothing sent for the refused upload
    finally:
        dropbox.stop()


def test_the_consent_page_asks(hub: LoopbackReceiver) -> None:
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
