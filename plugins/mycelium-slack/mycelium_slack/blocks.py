"""Block Kit pieces that keep Slack's limits and escape what users wrote.

Everything that reaches a ``mrkdwn`` text or the fallback ``text`` passes through
:func:`escape` first, so a client named ``<!channel>`` is shown, not obeyed. ``plain_text``
objects (headers, buttons) carry only our own words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

# Limits Slack enforces (and slack_sdk's models check).
MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
ACTION_ELEMENTS = 25
URL_LENGTH = 3000
ALT_TEXT = 2000
FALLBACK_TEXT = 3000  # Slack accepts 40,000, but notifications show a line or two.
ELLIPSIS = "…"
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")

Block = dict[str, Any]


def escape(text: object) -> str:
    """User text made inert for Slack: ``&``, ``<`` and ``>`` as HTML entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: limit - len(ELLIPSIS)])
    return cut + ELLIPSIS


def link(url: str, label: str) -> str:
    """A mrkdwn link; ``label`` is user text (escaped here), ``url`` ours."""
    safe_url = quote(url, safe=":/?#[]@!$'()*+,;=%&~-._").replace("&", "&amp;")
    return f"<{safe_url}|{escape(label)}>"


def mention(slack_user_id: str | None, name: str | None) -> str:
    """``<@U…>`` for a mapped Slack user, else the person's name (escaped)."""
    if slack_user_id and _SLACK_USER_ID.fullmatch(slack_user_id):
        return f"<@{slack_user_id}>"
    return escape(name) if name else "Unassigned"


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> Block:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def plain(text: str, limit: int) -> Block:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def section(text: str, fields: Sequence[tuple[str, str]] = ()) -> Block:
    """A section: ``text`` is mrkdwn; ``fields`` are (label, mrkdwn value) pairs, at most 10."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [
            mrkdwn(f"*{label}*\n{value}", FIELD_TEXT) for label, value in fields[:MAX_FIELDS]
        ]
    return block


def button(text: str, url: str, action_id: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "url": url[:URL_LENGTH],
        "action_id": action_id,
    }
    if style:
        element["style"] = style
    return element


def actions(*buttons: Block) -> Block:
    return {"type": "actions", "elements": list(buttons[:ACTION_ELEMENTS])}


def context(*elements: Block) -> Block:
    return {"type": "context", "elements": list(elements[:CONTEXT_ELEMENTS])}


def image(url: str, alt_text: str) -> Block:
    return {"type": "image", "image_url": url[:URL_LENGTH], "alt_text": clip(alt_text, ALT_TEXT)}


def divider() -> Block:
    return {"type": "divider"}


@dataclass
class Message:
    """A Slack message: Block Kit ``blocks`` and the plain ``text`` fallback notifications show."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """The JSON body for ``chat.postMessage`` (plus ``channel``) or an incoming webhook."""
        return {"text": clip(self.text, FALLBACK_TEXT), "blocks": fit_blocks(self.blocks)}


def fit_blocks(blocks: list[Block]) -> list[Block]:
    """At most 50 blocks; the trailing context block (branding) survives a cut."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = [blocks[-1]] if blocks[-1].get("type") == "context" else []
    notice = section(f"_…and {len(blocks) - MAX_BLOCKS + 1} more not shown._")
    return [*blocks[: MAX_BLOCKS - 1 - len(tail)], notice, *tail]
