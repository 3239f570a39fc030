"""The pages of a provider sandbox (``register_sandbox``): one shell for every page, under a
banner that says it is a sandbox, and the OAuth consent page. Public as
``hub.SandboxPages``."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from werkzeug.wrappers import Response


@dataclass(frozen=True)
class SandboxPages:
    """How a provider sandbox's pages look: each in one HTML shell, under a banner that says
    it is a sandbox ("Sandbox: an emulated Example on this machine. Nothing here reaches
    example.com."), and the OAuth consent page the sandbox shows where the provider would ask.

    ``PAGES = hub.SandboxPages("Example", "example.com", accent="#e8912d")``, then
    ``PAGES.page("Example sandbox", body)`` answers a page from the sandbox's WSGI app and
    ``PAGES.consent(request.args.to_dict(), authorize="/oauth/v2/authorize", ...)`` its
    authorize endpoint's consent page. The shell's CSS styles the page (``body``), the
    ``.banner`` and ``main``; ``style`` adds the rules of the sandbox's own markup."""

    provider: str
    """The provider's name, as the banner says it (``"Example"``)."""
    domain: str
    """Where the real provider is, which nothing in the sandbox reaches (``"example.com"``)."""
    accent: str = "#3c4043"
    """The banner's background (a CSS colour; its text is white)."""
    text: str = "#202124"
    """The pages' text colour (CSS)."""
    background: str = "#f8f9fa"
    """The pages' background colour (CSS)."""
    style: str = ""
    """More CSS, after the shell's: for the sandbox's own markup (including the consent
    page's two links, ``a.button``)."""

    @property
    def banner(self) -> str:
        """The banner's HTML, a ``role="status"`` block at the top of every page."""
        return (
            f'<div class="banner" role="status">Sandbox: an emulated {html.escape(self.provider)}'
            f" on this machine. Nothing here reaches {html.escape(self.domain)}.</div>"
        )

    def page(self, title: str, body: str, status: int = 200) -> Response:
        """A whole HTML page (a werkzeug ``Response``) titled ``title`` (escaped here): the
        banner, then ``body`` (HTML, which the caller escapes) in ``<main>``; ``status`` 400
        when it shows a form's bad input."""
        css = (
            f"body{{font:15px/1.45 system-ui,sans-serif;margin:0;color:{self.text};"
            f"background:{self.background}}}\n"
            f".banner{{background:{self.accent};color:#fff;padding:.5em 1em;font-weight:600}}\n"
            "main{max-width:60em;margin:1em auto;padding:0 1em}\n"
        )
        text = (
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
            f"</title><style>{css}{self.style}</style></head><body>{self.banner}<main>{body}"
            "</main></body></html>"
        )
        return Response(text, status, content_type="text/html; charset=utf-8")

    def consent(
        self,
        params: Mapping[str, str],
        *,
        authorize: str,
        heading: str,
        scopes: str,
        deny: str = "Cancel",
    ) -> Response:
        """The consent page of an authorize request whose query is ``params``: ``heading``
        (what the app asks, in the provider's words), ``scopes`` (the scopes asked, as the
        provider lists them) and two links back to ``authorize`` (the authorize endpoint's
        path) with the same query plus ``decision``: "Allow" (``decision=approve``) and
        ``deny`` (``decision=deny``; "Cancel" or "Deny", as the provider labels it). The
        sandbox's authorize endpoint then redirects with a code, or with
        ``error=access_denied``. Titled ``"<provider> sandbox: allow Mycelium?"``."""

        def link(decision: str, label: str) -> str:
            href = f"{authorize}?{urlencode({**params, 'decision': decision})}"
            return f'<a class="button" href="{html.escape(href)}">{html.escape(label)}</a>'

        body = (
            f"<h1>{html.escape(heading)}</h1>"
            f"<p>Scopes: {html.escape(scopes)}</p>"
            f"<p>{link('approve', 'Allow')} {link('deny', deny)}</p>"
        )
        return self.page(f"{self.provider} sandbox: allow Mycelium?", body)
