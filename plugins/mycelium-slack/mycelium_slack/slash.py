"""Answering a slash command inside Slack's 3 seconds, or later through ``response_url``.

The answer is worked out in a thread with an app context of its own. If it is ready
within the budget (``SLACK_COMMAND_BUDGET_SECONDS``) it is the HTTP reply; otherwise
Slack gets "working on it" at once and the answer follows through ``response_url``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import requests
from flask import Flask

from hub import EgressPolicy, EgressRefused, HubError, egress_session, find_integration
from mycelium_slack import commands, notify, users
from mycelium_slack.client import post_webhook
from mycelium_slack.commands import Asker, ephemeral

log = logging.getLogger(__name__)
NOT_CONNECTED = (
    "This Slack workspace is not connected to Mycelium. "
    "An admin can connect it in Mycelium's integration settings."
)
NOT_LINKED = (
    "Your Slack account is not linked to a Mycelium user. Use the same email address in "
    "Slack and in Mycelium; accounts are matched when Slack connects and every day."
)
WORKING = "⏳ Working on it…"
FAILED = "Sorry, that did not work. Please try again in a moment."


def _answer(form: dict[str, str]) -> dict[str, Any]:
    team, member = form.get("team_id", ""), form.get("user_id", "")
    ctx = find_integration("slack", team) if team else None
    if ctx is None:
        return ephemeral(NOT_CONNECTED)
    user_id = users.hub_user_of(ctx.db, ctx.org.id, member) if member else None
    if user_id is None:
        return ephemeral(NOT_LINKED)
    asker = Asker(ctx, user_id, notify.frame_for(ctx))
    return commands.answer(form.get("command", ""), form.get("text", ""), asker)


def work_out(app: Flask, form: dict[str, str]) -> dict[str, Any]:
    """The reply to a verified command; a failure becomes an apology, never a silence."""
    with app.app_context():
        try:
            return _answer(form)
        except HubError as exc:
            log.warning("slash command %s failed: %s", form.get("command"), exc.message)
        except Exception:
            log.exception("slash command %s failed", form.get("command"))
        return ephemeral(FAILED)


def check_response_url(url: str, settings: Mapping[str, Any]) -> None:
    """Refuse a ``response_url`` off Slack's hosts (``SLACK_RESPONSE_URL_HOSTS``): the URL
    comes in the request body, so whoever can sign a command could aim the hub anywhere."""
    host, _ = EgressPolicy.from_settings(settings).split_url(url, "response_url")
    allowed = str(settings.get("SLACK_RESPONSE_URL_HOSTS") or "").split(",")
    if host.lower() not in {name.strip().lower() for name in allowed if name.strip()}:
        message = f"{host} is not one of Slack's hosts (SLACK_RESPONSE_URL_HOSTS)."
        raise EgressRefused(f"response_url: {message}", {"response_url": [message]})


def send_late(
    url: str | None, reply: dict[str, Any], settings: Mapping[str, Any], timeout: float
) -> None:
    """POST the reply to ``response_url`` through the egress guard, only on Slack's hosts."""
    if not url:
        return
    try:
        check_response_url(url, settings)
        post_webhook(egress_session(settings, timeout), url, reply, None, timeout)
    except (HubError, requests.RequestException) as exc:
        log.warning("could not answer a slash command through response_url: %s", exc)


def respond(app: Flask, form: dict[str, str], budget: float, timeout: float) -> dict[str, Any]:
    """The reply if it is ready within ``budget`` seconds, else "working on it".

    A budget of 0 always answers later (what tests of the slow path use).
    """
    lock, state = threading.Lock(), {"late": budget <= 0}
    ready: dict[str, dict[str, Any]] = {}

    def work() -> None:
        reply = work_out(app, form)
        with lock:
            ready["reply"], late = reply, state["late"]
        if late:
            send_late(form.get("response_url"), reply, app.config, timeout)

    thread = threading.Thread(target=work, name="slack-command", daemon=True)
    thread.start()
    thread.join(max(budget, 0))
    with lock:
        if "reply" in ready:
            return ready["reply"]
        state["late"] = True
    return ephemeral(WORKING)
