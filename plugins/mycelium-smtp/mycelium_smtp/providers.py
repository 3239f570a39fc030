"""Email through a provider's HTTP API instead of SMTP: SendGrid, Mailgun, Postmark.

The message is the one SMTP would send (subject, both parts, From, Reply-To, Message-ID,
Auto-Submitted, List-Unsubscribe); a transport only carries it. Every call goes through
``ctx.http`` (the hub's timeouts and usage records; a 429 arrives as ``RateLimited``) to the
base URL of a setting (``SENDGRID_API_BASE``, ``MAILGUN_API_BASE``, ``POSTMARK_API_BASE``).
Answers become the SMTP transport's failures, so the queue treats both alike:

- 401 or 403: the key is refused (:class:`KeyRefused`): the run stops, its emails wait
  without counting an attempt, and the integration becomes ``needs_reauth`` at once (as a
  hook raising ``NeedsReauth`` makes it), so the admins are told; saving a working key
  enables it again and the emails go;
- 429: ``rate_limited``, the email waits for ``Retry-After`` without counting an attempt;
- 5xx and network errors: temporary, retried per the queue's schedule (``Retry-After``
  honoured when longer);
- any other 4xx (a recipient or message the provider rejects): that email fails alone;
  Postmark's inactive recipients (``ErrorCode`` 406) go on the suppression list and the
  email is sent again to its other recipients, if it has any.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

import requests

from hub import RateLimited, now, parse_retry_after
from mycelium_smtp.messages import Body, Sender, parse_address
from mycelium_smtp.transport import Accepted, AuthFailure, SmtpFailure

TRANSPORTS = ("smtp", "sendgrid", "mailgun", "postmark")
API_TRANSPORTS = TRANSPORTS[1:]
MAILGUN_EU = "https://api.eu.mailgun.net"
MAILGUN_US = "https://api.mailgun.net"
FEATURE = "email.api"  # the usage records of the provider calls themselves


@dataclass(frozen=True)
class Outbound:
    """One message for a provider: the parts SMTP would put in the MIME message."""

    email_id: int
    body: Body
    sender: Sender
    bcc: Sequence[str]
    mime: bytes  # the message as SMTP sends it (Mailgun takes it as is)
    recipients: Sequence[str]  # the envelope: to, cc and bcc addresses


def headers_of(body: Body) -> dict[str, str]:
    """The headers SMTP adds beyond the addresses and subject, kept by every provider."""
    headers = {"Message-ID": body.message_id, "Auto-Submitted": "auto-generated"}
    if body.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{body.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


class ProviderFailure(SmtpFailure):
    """A provider's API refused or could not take the message."""

    def __init__(
        self,
        message: str,
        *,
        temporary: bool,
        code: int | None = None,
        retry_after: float | None = None,
        rate_limited: bool = False,
        inactive: Sequence[str] = (),
    ) -> None:
        super().__init__(message, temporary=temporary, code=code)
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        # recipients the provider will never send to (Postmark's inactive recipients)
        self.inactive = tuple(inactive)


class KeyRefused(AuthFailure):
    """The provider refused the API key (401 or 403)."""


POSTMARK_INACTIVE = 406  # Postmark's ErrorCode: a recipient it deactivated
_INACTIVE_LIST = re.compile(r"Found inactive addresses: (.+?)\.(?:\s|$)")


def inactive_of(message: str) -> list[str]:
    """The addresses Postmark's inactive-recipient refusal names ("... Found inactive
    addresses: a@x.example, b@y.example. Inactive recipients are ..."); none if it names
    none in that form."""
    found = _INACTIVE_LIST.search(message)
    if found is None:
        return []
    return [a.strip() for a in found.group(1).split(",") if "@" in a]


def postmark_failure(error_code: Any, message: str, said: str) -> ProviderFailure:
    """A message Postmark refused (HTTP 422, ``ErrorCode`` not 0): that message alone fails,
    and an inactive recipient's refusal names who (they go on the suppression list)."""
    inactive = inactive_of(message) if error_code == POSTMARK_INACTIVE else []
    return ProviderFailure(said, temporary=False, code=422, inactive=inactive)


def failure_of(title: str, response: requests.Response) -> SmtpFailure:
    """The failure a provider's non-2xx answer means."""
    status, reason = response.status_code, response.text[:500].strip()
    said = f"{title} answered {status}: {reason}"
    if status in (401, 403):
        return KeyRefused(f"{title} refused the API key: {reason}", temporary=True, code=status)
    wait = parse_retry_after(response.headers.get("Retry-After"), now())
    if status >= 500:
        return ProviderFailure(said, temporary=True, code=status, retry_after=wait)
    if title == Postmark.title and status == 422:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return postmark_failure(answer.get("ErrorCode"), str(answer.get("Message")), said)
    return ProviderFailure(said, temporary=False, code=status)


def call(http: requests.Session, title: str, method: str, url: str, **kwargs: Any) -> Any:
    """One API call: the response when 2xx, else the failure it means (raised)."""
    try:
        response = http.request(method, url, feature=FEATURE, **kwargs)  # type: ignore[call-arg]
    except RateLimited as limited:
        raise ProviderFailure(
            f"{title} answered 429: {limited.message}",
            temporary=True,
            code=429,
            retry_after=limited.retry_after,
            rate_limited=True,
        ) from None
    except requests.RequestException as exc:
        raise ProviderFailure(f"{title} did not answer: {exc}", temporary=True) from None
    if not 200 <= response.status_code < 300:
        raise failure_of(title, response)
    return response


class CheckSession(requests.Session):
    """For the key check on saving (no ``ctx`` yet): a short timeout, no usage record."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.pop("feature", None)
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)


def _named(value: str) -> dict[str, str]:
    parsed = parse_address(value)
    named = {"email": parsed.addr_spec}
    if parsed.display_name:
        named["name"] = parsed.display_name
    return named


class SendGrid:
    """SendGrid's v3 API: ``POST /v3/mail/send`` (202), the key checked by ``GET /v3/scopes``."""

    title = "SendGrid"
    batch = 1  # one message per call: personalizations share one body

    def __init__(self, http: requests.Session, base: str, key: str) -> None:
        self.http, self.base = http, base.rstrip("/")
        self.auth = {"Authorization": f"Bearer {key}"}

    def check(self) -> None:
        answer = call(self.http, self.title, "GET", f"{self.base}/v3/scopes", headers=self.auth)
        if "mail.send" not in (answer.json().get("scopes") or []):
            raise KeyRefused("The SendGrid key lacks the mail.send scope.", temporary=True)

    def payload(self, out: Outbound) -> dict[str, Any]:
        keep = {a.lower() for a in out.recipients}

        def only(values: Sequence[str]) -> list[dict[str, str]]:
            return [_named(a) for a in values if parse_address(a).addr_spec.lower() in keep]

        personalization = {
            name: found
            for name, found in (
                ("to", only(out.body.to)),
                ("cc", only(out.body.cc)),
                ("bcc", only(out.bcc)),
            )
            if found
        }
        data: dict[str, Any] = {
            "personalizations": [personalization],
            "from": {"email": out.sender.address, "name": out.sender.name},
            "subject": out.body.subject,
            "content": [
                {"type": "text/plain", "value": out.body.text},
                {"type": "text/html", "value": out.body.html},
            ],
            "headers": headers_of(out.body),
            "custom_args": {"hub_email_id": str(out.email_id)},
        }
        if out.sender.reply_to:
            data["reply_to"] = _named(out.sender.reply_to)
        return data

    def send(self, out: Outbound) -> tuple[Accepted, str | None]:
        url = f"{self.base}/v3/mail/send"
        answer = call(self.http, self.title, "POST", url, json=self.payload(out), headers=self.auth)
        return Accepted(), answer.headers.get("X-Message-Id")


class Mailgun:
    """Mailgun: the MIME message as is to ``POST /v3/<domain>/messages.mime``; the key and
    domain checked by ``GET /v3/domains/<domain>``. Basic auth ``api:<key>``."""

    title = "Mailgun"
    batch = 1

    def __init__(self, http: requests.Session, base: str, key: str, domain: str) -> None:
        self.http, self.base, self.domain = http, base.rstrip("/"), domain
        self.auth = ("api", key)

    def check(self) -> None:
        url = f"{self.base}/v3/domains/{self.domain}"
        call(self.http, self.title, "GET", url, auth=self.auth)

    def send(self, out: Outbound) -> tuple[Accepted, str | None]:
        url = f"{self.base}/v3/{self.domain}/messages.mime"
        form = [("to", a) for a in out.recipients] + [("v:hub_email_id", str(out.email_id))]
        files = {"message": ("message.mime", out.mime, "message/rfc822")}
        answer = call(self.http, self.title, "POST", url, data=form, files=files, auth=self.auth)
        return Accepted(), str(answer.json().get("id") or "").strip("<>") or None


class Postmark:
    """Postmark: ``POST /email`` and ``/email/batch`` (up to 500) with the server token in
    ``X-Postmark-Server-Token``; the token checked by ``GET /server``."""

    title = "Postmark"
    batch = 500

    def __init__(self, http: requests.Session, base: str, key: str) -> None:
        self.http, self.base = http, base.rstrip("/")
        self.auth = {"X-Postmark-Server-Token": key, "Accept": "application/json"}

    def check(self) -> None:
        call(self.http, self.title, "GET", f"{self.base}/server", headers=self.auth)

    def payload(self, out: Outbound) -> dict[str, Any]:
        keep = {a.lower() for a in out.recipients}

        def only(values: Sequence[str]) -> str:
            chosen = [a for a in values if parse_address(a).addr_spec.lower() in keep]
            return ", ".join(
                formataddr((parse_address(a).display_name, parse_address(a).addr_spec))
                for a in chosen
            )

        data: dict[str, Any] = {
            "From": formataddr((out.sender.name, out.sender.address)),
            "To": only(out.body.to),
            "Subject": out.body.subject,
            "TextBody": out.body.text,
            "HtmlBody": out.body.html,
            "Headers": [{"Name": k, "Value": v} for k, v in headers_of(out.body).items()],
            "MessageStream": "outbound",
            "Metadata": {"hub_email_id": str(out.email_id)},
        }
        for name, values in (("Cc", out.body.cc), ("Bcc", out.bcc)):
            if only(values):
                data[name] = only(values)
        if out.sender.reply_to:
            data["ReplyTo"] = out.sender.reply_to
        return data

    def send(self, out: Outbound) -> tuple[Accepted, str | None]:
        url = f"{self.base}/email"
        answer = call(self.http, self.title, "POST", url, json=self.payload(out), headers=self.auth)
        return Accepted(), answer.json().get("MessageID")

    def send_many(
        self, outs: Sequence[Outbound]
    ) -> list[tuple[Accepted, str | None] | SmtpFailure]:
        """One call for many messages; each has its own answer (``ErrorCode`` 0: accepted)."""
        url = f"{self.base}/email/batch"
        body = [self.payload(out) for out in outs]
        answer = call(self.http, self.title, "POST", url, json=body, headers=self.auth)
        results: list[tuple[Accepted, str | None] | SmtpFailure] = []
        for item in answer.json():
            if int(item.get("ErrorCode") or 0) == 0:
                results.append((Accepted(), item.get("MessageID")))
            else:
                code, why = item.get("ErrorCode"), item.get("Message")
                said = f"Postmark answered 422: ErrorCode {code}: {why}"
                results.append(postmark_failure(code, str(why), said))
        return results


Client = SendGrid | Mailgun | Postmark


def client_for(
    transport: str, config: Mapping[str, Any], key: str, settings: Any, http: requests.Session
) -> Client:
    """The API client of a transport, from the config, its key and the hub's settings."""
    if transport == "sendgrid":
        return SendGrid(http, str(settings("SENDGRID_API_BASE")), key)
    if transport == "postmark":
        return Postmark(http, str(settings("POSTMARK_API_BASE")), key)
    base = str(settings("MAILGUN_API_BASE") or MAILGUN_US)
    if config.get("mailgun_region") == "eu" and base.rstrip("/") == MAILGUN_US:
        base = MAILGUN_EU
    domain = str(config.get("mailgun_domain") or settings("MAILGUN_DOMAIN") or "")
    return Mailgun(http, base, key, domain)


def operator_key(transport: str, settings: Any) -> str:
    """The hub operator's default key for a transport (SENDGRID_API_KEY, MAILGUN_API_KEY)."""
    name = {"sendgrid": "SENDGRID_API_KEY", "mailgun": "MAILGUN_API_KEY"}.get(transport)
    return str(settings(name) or "") if name else ""
