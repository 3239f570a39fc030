"""`hub.SandboxPages`: the shell of a provider sandbox's pages (the banner saying it is a
sandbox) and its OAuth consent page, served by a sandbox on loopback and followed as a
browser follows it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import hub

PAGES = hub.SandboxPages(
    "Notes & Co", "notes.example", accent="#123456", style=".note{color:#654321}"
)


def _app(environ: dict[str, Any], start_response: Any) -> Any:
    """A sandbox: its page, and an authorize endpoint that asks before it answers."""
    request = Request(environ)
    if request.path == "/sandbox":
        answer = PAGES.page("Notes <sandbox>", '<p class="note">Three notes</p>')
    elif request.path == "/bad":
        answer = PAGES.page("Notes sandbox", '<p role="alert">title: required</p>', 400)
    elif request.path == "/oauth/authorize" and "decision" not in request.args:
        answer = PAGES.consent(
            request.args.to_dict(),
            authorize="/oauth/authorize",
            heading="Mycelium would like to read <your> notes",
            scopes=request.args.get("scope", "") or "(none)",
            deny="Deny",
        )
    else:
        answer = Response(repr(sorted(request.args.items(multi=True))), 200)
    return answer(environ, start_response)


@pytest.fixture
def sandbox() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _links(text: str) -> dict[str, str]:
    return {label: unescape(href) for href, label in re.findall(r'href="([^"]+)">(\w+)<', text)}


def test_a_page_wears_the_sandbox_banner(sandbox: str) -> None:
    page = requests.get(f"{sandbox}/sandbox", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert PAGES.banner in page.text
    assert PAGES.banner == (
        '<div class="banner" role="status">Sandbox: an emulated Notes &amp; Co on this machine. '
        "Nothing here reaches notes.example.</div>"
    )
    assert "<title>Notes &lt;sandbox&gt;</title>" in page.text
    assert '<main><p class="note">Three notes</p></main>' in page.text
    assert ".banner{background:#123456;" in page.text
    assert page.text.index("main{") < page.text.index(".note{color:#654321}")  # style: after
    assert requests.get(f"{sandbox}/bad", timeout=10).status_code == 400


def test_the_consent_page_links_back_with_the_decision(sandbox: str) -> None:
    query = {
        "client_id": "app",
        "redirect_uri": "http://127.0.0.1:8000/callback?x=1&y=2",
        "state": "a b&c=<d>",
        "scope": "notes.read notes.write",
    }
    page = requests.get(f"{sandbox}/oauth/authorize", params=query, timeout=10)
    assert page.status_code == 200
    assert PAGES.banner in page.text
    assert "<title>Notes &amp; Co sandbox: allow Mycelium?</title>" in page.text
    assert "<h1>Mycelium would like to read &lt;your&gt; notes</h1>" in page.text
    assert "<p>Scopes: notes.read notes.write</p>" in page.text
    links = _links(page.text)
    assert set(links) == {"Allow", "Deny"}
    for label, decision in (("Allow", "approve"), ("Deny", "deny")):
        target = urlsplit(links[label])
        assert target.path == "/oauth/authorize" and not target.netloc
        assert dict(parse_qsl(target.query)) == {**query, "decision": decision}
        followed = requests.get(sandbox + links[label], timeout=10)  # what a browser does
        assert followed.text == repr(sorted({**query, "decision": decision}.items()))


def test_the_consent_page_says_when_no_scope_is_asked(sandbox: str) -> None:
    page = requests.get(f"{sandbox}/oauth/authorize", params={"state": "s"}, timeout=10)
    assert "<p>Scopes: (none)</p>" in page.text
    assert set(_links(page.text)) == {"Allow", "Deny"}
    default = PAGES.consent({}, authorize="/a", heading="h", scopes="s")
    assert set(_links(default.get_data(as_text=True))) == {"Allow", "Cancel"}
