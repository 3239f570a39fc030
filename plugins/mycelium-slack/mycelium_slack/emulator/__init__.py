"""A loopback Slack (OAuth v2, the Web API methods the plugin calls, incoming webhooks,
response URLs, signed slash commands) for the tests and the sandbox (`hub up --sandbox`)."""

from __future__ import annotations

from mycelium_slack.emulator.server import BOT_USER, CHANNELS, TEAM, Member, SlackEmulator

__all__ = ["BOT_USER", "CHANNELS", "TEAM", "Member", "SlackEmulator"]
