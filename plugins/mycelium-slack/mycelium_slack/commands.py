"""Slash commands: ``/mycelium-tasks``, ``-overdue``, ``-client <name>``, ``-complete <id>``.

Replies are ephemeral (only the person who asked sees them). ``/mycelium <command> ...``
works too. Anything else gets the help text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub import Conflict, NotFound, PluginContext
from mycelium_slack import hubdata
from mycelium_slack.blocks import Block, Message, escape, header, link, section
from mycelium_slack.messages import Frame, Resource
from mycelium_slack.timefmt import parse_time, slack_date

LIST_LIMIT = 15
HELP = (
    "*Mycelium commands*\n"
    "• `/mycelium-tasks`: your open deliverables, soonest due first\n"
    "• `/mycelium-overdue`: deliverables past their due time\n"
    "• `/mycelium-client <name>`: a client and its open deliverables\n"
    "• `/mycelium-complete <id>`: mark a deliverable completed"
)
_ID = re.compile(r"#?(\d{1,9})", re.ASCII)


@dataclass(frozen=True)
class Asker:
    """Who asked, in which organization, and how to render for them."""

    ctx: PluginContext
    user_id: int
    frame: Frame


def ephemeral(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    """A reply only the asker sees."""
    return {"response_type": "ephemeral", **Message(text, blocks or [section(text)]).payload()}


def help_reply() -> dict[str, Any]:
    return ephemeral(HELP)


def _due(item: Resource, frame: Frame) -> str:
    due = parse_time(item.get("due_at"))
    if due is None:
        return "no due date"
    late = "🚨 overdue since " if due < frame.now else "due "
    return late + slack_date(due, frame.zone)


def _line(item: Resource, frame: Frame, with_assignee: bool = False) -> Block:
    url = frame.url(f"deliverables/{item['id']}")
    parts = [
        f"*{link(url, item.get('title') or 'Untitled')}* (#{item['id']})",
        escape(item.get("client_name") or ""),
        _due(item, frame),
    ]
    if with_assignee:
        parts.append(frame.mention(item.get("assignee")))
    return section(" · ".join(part for part in parts if part))


def _listing(
    title: str, items: list[Resource], total: int, asker: Asker, with_assignee: bool = False
) -> dict[str, Any]:
    blocks = [header(title), *(_line(i, asker.frame, with_assignee) for i in items)]
    if total > len(items):
        blocks.append(section(f"_…and {total - len(items)} more in Mycelium._"))
    return ephemeral(f"{title}: {total}", blocks)


def tasks(asker: Asker, argument: str) -> dict[str, Any]:
    """The asker's open deliverables, soonest due first."""
    ctx = asker.ctx
    items, total = hubdata.open_deliverables(ctx.db, ctx.org.id, asker.user_id, LIST_LIMIT)
    if not total:
        return ephemeral("🎉 You have no open deliverables.")
    return _listing("Your open deliverables", items, total, asker)


def overdue(asker: Asker, argument: str) -> dict[str, Any]:
    """The organization's overdue deliverables, longest overdue first."""
    ctx = asker.ctx
    items, total = hubdata.overdue_deliverables(ctx.db, ctx.org.id, asker.frame.now, LIST_LIMIT)
    if not total:
        return ephemeral("✅ Nothing is overdue.")
    return _listing("Overdue deliverables", items, total, asker, with_assignee=True)


def client(asker: Asker, argument: str) -> dict[str, Any]:
    """One client (by name, or part of it) with its open deliverables."""
    name = argument.strip()
    if not name:
        return ephemeral("Which client? Try `/mycelium-client Globex`.")
    found = hubdata.matching_clients(asker.ctx.db, asker.ctx.org.id, name[:200], 11)
    if not found:
        return ephemeral(f"No client matches “{escape(name[:200])}”.")
    if len(found) > 1:
        names = ", ".join(escape(c["name"]) for c in found[:10])
        return ephemeral(f"Several clients match: {names}. Which one?")
    return _client_card(found[0], asker)


def _client_card(found: Resource, asker: Asker) -> dict[str, Any]:
    ctx, frame = asker.ctx, asker.frame
    items, total = hubdata.client_deliverables(ctx.db, ctx.org.id, found["id"], LIST_LIMIT)
    contact = escape(found.get("contact_person") or found.get("contact_email") or "—")
    kinds = ", ".join(escape(s["name"]) for s in found.get("service_types") or []) or "—"
    url = frame.url(f"clients/{found['id']}")
    summary = section(
        f"*{link(url, found['name'])}*",
        [("Contact", contact), ("Service types", kinds), ("Open deliverables", str(total))],
    )
    blocks = [summary, *(_line(i, frame, with_assignee=True) for i in items)]
    if total > len(items):
        blocks.append(section(f"_…and {total - len(items)} more in Mycelium._"))
    return ephemeral(f"{escape(found['name'])}: {total} open deliverables", blocks)


def complete(asker: Asker, argument: str) -> dict[str, Any]:
    """Complete a deliverable as the asker (emits ``deliverable.completed``)."""
    match = _ID.fullmatch(argument.strip())
    if not match:
        return ephemeral("Which deliverable? Try `/mycelium-complete 42`.")
    number, ctx = int(match.group(1)), asker.ctx
    try:
        done = hubdata.complete(ctx.db, ctx.org, number, asker.user_id)
    except NotFound:
        return ephemeral(f"There is no deliverable #{number} in {escape(ctx.org.display_name)}.")
    except Conflict:
        ctx.db.rollback()
        return ephemeral(f"Deliverable #{number} is already completed.")
    ctx.db.commit()
    title = link(asker.frame.url(f"deliverables/{number}"), done.get("title") or "Untitled")
    return ephemeral(f"✅ Completed {title} for {escape(done.get('client_name') or '')}.")


Handler = Callable[[Asker, str], dict[str, Any]]
HANDLERS: dict[str, Handler] = {
    "tasks": tasks,
    "overdue": overdue,
    "client": client,
    "complete": complete,
}


def parse(command: str, text: str) -> tuple[str, str]:
    """``("/mycelium-client", "Globex")`` and ``("/mycelium", "client Globex")`` alike."""
    name = command.strip().lower().removeprefix("/")
    if name == "mycelium":
        name, _, text = text.strip().partition(" ")
        return name.lower(), text
    return name.removeprefix("mycelium-"), text


def answer(command: str, text: str, asker: Asker) -> dict[str, Any]:
    """The reply to a slash command from a mapped user."""
    name, argument = parse(command, text)
    handler = HANDLERS.get(name)
    return handler(asker, argument) if handler else help_reply()
