"""The Slack sandbox's pages: the channels' messages as Slack would show them (Block Kit as
plain text, mentions resolved), a box to type a slash command, and the OAuth consent page."""

from __future__ import annotations

import html
import re
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

import hub


class SlackEmulatorView(Protocol):
    """What the pages read of the emulator (its server module imports this one)."""

    members: list[Any]
    messages: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    commands: list[dict[str, Any]]
    team: dict[str, str]
    hub_url: str

    def member_name(self, member_id: str) -> str: ...


STYLE = """
.msg{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em .9em;margin:.5em 0}
.msg .meta{color:#616061;font-size:.85em}.msg p{margin:.25em 0;white-space:pre-wrap}
.button{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:0 .5em;margin:.1em}
form.cmd{display:flex;gap:.5em}form.cmd input[name=command]{flex:1;padding:.4em}
button{padding:.4em 1em;cursor:pointer}
"""
PAGES = hub.SandboxPages(
    "Slack", "slack.com", accent="#e8912d", text="#1d1c1d", background="#f8f8f8", style=STYLE
)
_TOKEN = re.compile(r"<([^<>]+)>")


def plain(text: str, emulator: SlackEmulatorView) -> str:
    """Slack mrkdwn as a person reads it: ``<@U1>`` as ``@Ana Lima``, ``<url|label>`` as
    ``label``, ``<!channel>`` as ``@channel``, ``<!date^...|fallback>`` as its fallback."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or emulator.member_name(target[1:]))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        return label or target

    return _TOKEN.sub(token, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def block_lines(block: dict[str, Any], emulator: SlackEmulatorView) -> list[str]:
    """The text a block shows, one line per part."""
    kind = block.get("type")
    lines: list[str] = []
    if kind in ("header", "section") and isinstance(block.get("text"), dict):
        lines.append(plain(block["text"].get("text", ""), emulator))
    if kind == "section":
        lines += [plain(f.get("text", ""), emulator) for f in block.get("fields", [])]
    if kind == "context":
        parts = [plain(e.get("text", ""), emulator) for e in block.get("elements", [])]
        lines.append(" · ".join(p for p in parts if p))
    if kind == "actions":
        labels = [e.get("text", {}).get("text", "") for e in block.get("elements", [])]
        lines.append(" ".join(f"[{label}]" for label in labels))
    if kind == "image":
        lines.append(f"(image: {block.get('alt_text', '')})")
    if kind == "divider":
        lines.append("────────")
    return lines


def message_text(message: dict[str, Any], emulator: SlackEmulatorView) -> list[str]:
    blocks = message.get("blocks") or []
    if blocks:
        return [line for block in blocks for line in block_lines(block, emulator)]
    return [plain(str(message.get("text", "")), emulator)]


def _message(message: dict[str, Any], emulator: SlackEmulatorView) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(line)}</p>" for line in message_text(message, emulator) if line
    )
    meta = f"Mycelium (app) in {message.get('channel', '#general')} · via {message.get('via')}"
    return f'<div class="msg"><div class="meta">{html.escape(meta)}</div>{paragraphs}</div>'


def render(emulator: SlackEmulatorView, error: str | None = None) -> Response:
    messages = list(emulator.messages)
    listed = "".join(_message(m, emulator) for m in reversed(messages)) or (
        "<p>No messages yet. Connect Slack in the hub's console, then add a client.</p>"
    )
    options = "".join(
        f'<option value="{html.escape(m.id)}">{html.escape(m.name)} ({html.escape(m.id)})</option>'
        for m in emulator.members
        if not m.is_bot and not m.deleted
    )
    exchanges = ""
    for entry in reversed(list(emulator.commands)):
        said = f"{entry['command']} {entry['text']}".strip()
        reply = {"blocks": entry["reply"].get("blocks"), "text": entry["reply"].get("text", "")}
        lines = message_text(reply, emulator)
        status = entry["status"] if entry["status"] is not None else "no answer"
        who = html.escape(emulator.member_name(entry["user_id"]))
        exchanges += (
            f'<div class="msg command"><div class="meta">{who}'
            f" typed <code>{html.escape(said)}</code> · hub answered HTTP {status}</div>"
            + "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
            + "</div>"
        )
    later = "".join(_message({**r, "via": "response_url"}, emulator) for r in emulator.responses)
    problem = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""
<h1>Slack sandbox · {html.escape(emulator.team["name"])}</h1>
<section id="commands"><h2>Type a slash command</h2>{problem}
<form class="cmd" method="post" action="/sandbox/command">
<select name="user_id" aria-label="Member">{options}</select>
<input name="command" aria-label="Slash command" placeholder="/mycelium-tasks" required>
<button type="submit">Send</button></form>
<p class="meta">Signed with the app's signing secret and posted to
{html.escape(emulator.hub_url or "(no hub)")}/api/integrations/slack/commands, as Slack does.</p>
{exchanges}{later}</section>
<section id="messages"><h2>#general and other channels</h2>{listed}</section>
"""
    return PAGES.page("Slack sandbox", body, 400 if error else 200)  # bad input: 400, naming it


def consent(emulator: SlackEmulatorView, request: Request) -> Response:
    """Slack's "Mycelium is requesting permission" page: approve or deny."""
    params = request.args.to_dict()
    return PAGES.consent(
        params,
        authorize="/oauth/v2/authorize",
        heading=f"Mycelium is requesting permission to access the {emulator.team['name']} "
        "Slack workspace",
        scopes=params.get("scope", "").replace(",", ", ") or "(none)",
    )
