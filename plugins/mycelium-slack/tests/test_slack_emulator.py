"""The Slack emulator (tests and `hub up --sandbox`) checked by an independent caller:
Slack's own SDK (``slack_sdk``) calls it as it calls slack.com, and verifies the slash
commands it signs; its sandbox page and consent page over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from mycelium_slack.emulator import Member, SlackEmulator
from mycelium_slack.emulator.page import plain
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient
from werkzeug.wrappers import Request, Response

from hub.testing import LoopbackReceiver

ANA = Member("U0ANA", "ana@acme.example", "Ana Lima")
BEN = Member("U0BEN", "ben@acme.example", "Ben Okafor")


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    started = SlackEmulator(members=[ANA, BEN]).start()
    yield started
    started.stop()


def _install(emulator: SlackEmulator) -> dict[str, Any]:
    redirect = "http://127.0.0.1:9/callback"
    query = urlencode({"client_id": emulator.client_id, "redirect_uri": redirect, "state": "s"})
    consent = requests.get(f"{emulator.url}/oauth/v2/authorize?{query}", allow_redirects=False)
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    sdk = WebClient(base_url=emulator.api_base + "/")
    answer = sdk.oauth_v2_access(
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        code=code,
        redirect_uri=redirect,
    )
    return dict(answer.data)  # type: ignore[arg-type]


def test_slack_sdk_installs_and_calls_the_web_api(emulator: SlackEmulator) -> None:
    installed = _install(emulator)
    assert installed["ok"] and installed["team"]["id"] == "T0EMULATE"
    sdk = WebClient(token=installed["access_token"], base_url=emulator.api_base + "/")
    assert sdk.auth_test()["team_id"] == "T0EMULATE"
    posted = sdk.chat_postMessage(channel="#general", text="hello <@U0ANA>")
    assert posted["ok"] and posted["channel"] == "C0GENERAL"
    people = [m["id"] for page in sdk.users_list(limit=1) for m in page["members"]]
    assert people == ["U0ANA", "U0BEN"]  # the SDK follows next_cursor across pages
    assert sdk.users_lookupByEmail(email="BEN@acme.example")["user"]["id"] == "U0BEN"
    with pytest.raises(SlackApiError) as refused:
        sdk.chat_postMessage(channel="#archived", text="x")
    assert refused.value.response["error"] == "is_archived"
    emulator.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        sdk.chat_postMessage(channel="#general", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    bad = WebClient(token="xoxb-nope", base_url=emulator.api_base + "/")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        bad.auth_test()


def test_slack_sdk_posts_to_the_incoming_webhook(emulator: SlackEmulator) -> None:
    answer = WebhookClient(emulator.webhook_url).send(text="from the SDK")
    assert (answer.status_code, answer.body) == (200, "ok")
    assert emulator.messages[-1]["text"] == "from the SDK"


def slack_hub(secret: str) -> LoopbackReceiver:
    """A loopback stand-in for the hub's slash command route: verifies with slack_sdk."""
    verifier = SignatureVerifier(secret)

    def answer(request: Request) -> Response:
        if not verifier.is_valid_request(request.get_data(), dict(request.headers)):
            return Response("bad signature", 401)
        reply = '{"response_type": "ephemeral", "text": "Done, <@U0ANA>: *Logo* completed"}'
        return Response(reply, content_type="application/json")

    return LoopbackReceiver(answer)


def test_the_sandbox_page_sends_signed_slash_commands(emulator: SlackEmulator) -> None:
    with slack_hub(emulator.signing_secret) as hub:
        emulator.hub_url = hub.url
        sent = requests.post(
            f"{emulator.url}/sandbox/command",
            data={"command": "/mycelium-complete 42", "user_id": "U0ANA"},
            timeout=10,
        )
    assert sent.status_code == 200 and "Sandbox" in sent.text
    (posted,) = hub.received
    form = parse_qs(posted.body.decode())
    assert form["command"] == ["/mycelium-complete"] and form["text"] == ["42"]
    assert form["user_id"] == ["U0ANA"] and form["team_id"] == ["T0EMULATE"]
    assert "Done, @Ana Lima: *Logo* completed" in sent.text  # the answer, mentions resolved
    refused = requests.post(f"{emulator.url}/sandbox/command", data={"command": "hello"})
    assert refused.status_code == 400 and "command: a slash command starts with" in refused.text
    assert len(hub.received) == 1  # nothing sent


def test_the_sandbox_page_shows_messages_plainly(emulator: SlackEmulator) -> None:
    emulator.messages.append(
        {
            "via": "chat.postMessage",
            "channel": "#general",
            "text": "fallback",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "New client"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "Added by <@U0BEN>"}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": "<https://x.example|View>"}],
                },
            ],
        }
    )
    page = requests.get(f"{emulator.url}/sandbox", timeout=10).text
    assert "Sandbox:" in page and "New client" in page and "Added by @Ben Okafor" in page
    assert ">View<" in page and "fallback" not in page
    assert (
        plain("<!channel> see <#C1|studio> &amp; <@U9>", emulator) == "@channel see #studio & @U9"
    )


def test_the_consent_page_asks_in_the_sandbox(emulator: SlackEmulator) -> None:
    emulator.consent = True
    redirect = "http://127.0.0.1:9/callback"
    query = urlencode({"client_id": emulator.client_id, "redirect_uri": redirect, "state": "s"})
    page = requests.get(f"{emulator.url}/oauth/v2/authorize?{query}", allow_redirects=False)
    assert page.status_code == 200 and "Allow" in page.text and "Cancel" in page.text
    denied = requests.get(
        f"{emulator.url}/oauth/v2/authorize?{query}&decision=deny", allow_redirects=False
    )
    assert parse_qs(urlsplit(denied.headers["Location"]).query) == {
        "error": ["access_denied"],
        "state": ["s"],
    }
    allowed = requests.get(
        f"{emulator.url}/oauth/v2/authorize?{query}&decision=approve", allow_redirects=False
    )
    assert "code" in parse_qs(urlsplit(allowed.headers["Location"]).query)


def test_it_serves_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SlackEmulator().start("0.0.0.0")
