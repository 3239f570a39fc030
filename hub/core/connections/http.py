"""`ctx.http`: the one HTTP session plugins use to call their provider.

Every call gets a timeout, passes the per-provider quota check, is recorded (org,
provider, feature, method, status, duration, bytes), and a provider's 429 becomes
``RateLimited(retry_after)`` so the run waits instead of failing. A ``401`` to a request
that carried an ``Authorization`` header is answered by one token refresh and one retry
with the new token (``reauthorize``), before the plugin sees it. The quota check and
the usage recorder are hook points in ``app.extensions`` (``hub.quota``, ``hub.usage``)
filled by the connections subsystem; without them nothing is checked or recorded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

from hub.core import clock
from hub.errors import RateLimited
from hub.provider import Provider

log = logging.getLogger(__name__)

# Retry-After values beyond this are treated as this (a day): a run should not vanish.
MAX_RETRY_AFTER = 86400.0


class UsageRecorder(Protocol):
    """``app.extensions["hub.usage"]``: told about every provider call."""

    def __call__(
        self,
        *,
        org_id: int,
        plugin: str,
        feature: str | None,
        method: str,
        status: int,
        duration: float,
        size: int,
        ok: bool | None,
    ) -> None: ...


# ``app.extensions["hub.quota"]``: (org_id, provider) -> None, or raises RateLimited.
QuotaCheck = Callable[[int, Provider], None]


# ``reauthorize(rejected_access_token)``: a newer access token, or None if there is none.
Reauthorize = Callable[[str], str | None]


def _no_quota(org_id: int, provider: Provider) -> None:
    return None


def _no_usage(**call: Any) -> None:
    return None


def retry_after(response: requests.Response, default: float) -> float:
    """Seconds to wait from a 429's ``Retry-After`` (seconds or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - clock.now()).total_seconds()
        except (TypeError, ValueError, IndexError):
            seconds = default
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)


def _size(response: requests.Response) -> int:
    """Bytes received, without reading a streamed body."""
    if response.raw is not None and not response._content_consumed:  # type: ignore[attr-defined]
        return int(response.headers.get("Content-Length") or 0)
    return len(response.content or b"")


class ProviderSession(requests.Session):
    """A requests session bound to one organization's provider (see the module docstring)."""

    def __init__(
        self,
        *,
        org_id: int,
        provider: Provider,
        timeout: float,
        default_retry_after: float,
        usage: UsageRecorder | None = None,
        quota: QuotaCheck | None = None,
        reauthorize: Reauthorize | None = None,
    ) -> None:
        super().__init__()
        self.org_id = org_id
        self.provider = provider
        self.timeout = timeout
        self.default_retry_after = default_retry_after
        self.usage: Any = usage or _no_usage
        self.quota = quota or _no_quota
        self.reauthorize = reauthorize
        # What calls are for unless a call says (``feature=``); the worker sets the hook name.
        self.feature = "other"
        self._environ_proxies: dict[tuple[str, str, Any], dict[str, str]] = {}

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, feature: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """Like requests' ``request``, plus ``feature=`` naming what the call is for."""
        kwargs.setdefault("timeout", self.timeout)
        response = self._counted(method, url, feature, *args, **kwargs)
        if response.status_code == 401:
            response = self._with_fresh_token(response, method, url, feature, *args, **kwargs)
        if response.status_code == 429:
            wait = retry_after(response, self.default_retry_after)
            raise RateLimited(wait, f"{self.provider.title} answered 429; retrying in {wait:g} s.")
        return response

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """requests' own, but the environment's proxies for a URL's scheme and host are read
        once per session: requests reads them on every call, through every variable of the
        environment twice (1.2 ms a call with 95 variables: a sixth of a large upload's
        chunk call's CPU in the worker). A session lives for one job or request, in which the
        process's environment does not change."""
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        text = url.decode() if isinstance(url, bytes) else str(url)
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        where = urlsplit(text)
        key = (where.scheme, where.netloc, no_proxy)
        if key not in self._environ_proxies:
            self._environ_proxies[key] = get_environ_proxies(text, no_proxy=no_proxy)
        if proxies is not None:
            for name, value in self._environ_proxies[key].items():
                proxies.setdefault(name, value)
        if verify is True or verify is None:  # as requests: a CA bundle named in the environment
            verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
            )
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def _counted(
        self, method: str, url: str, feature: str | None, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """One call: the quota first, a usage record after."""
        self.quota(self.org_id, self.provider)
        started = time.perf_counter()
        status, size, ok = 0, 0, False
        try:
            response = super().request(method, url, *args, **kwargs)
            status, size, ok = response.status_code, _size(response), self._answer_ok(response)
        finally:
            self._record(method, feature or self.feature, (status, ok), started, size)
        return response

    def _answer_ok(self, response: requests.Response) -> bool:
        """Did the call succeed: a status below 400, and what the provider declares."""
        if not 0 < response.status_code < 400:
            return False
        if self.provider.answer_ok is None:
            return True
        try:
            return bool(self.provider.answer_ok(response))
        except Exception:  # an answer the plugin cannot judge is no success
            return False

    def _with_fresh_token(
        self,
        rejected: requests.Response,
        method: str,
        url: str,
        feature: str | None,
        *args: Any,
        **kwargs: Any,
    ) -> requests.Response:
        """The provider refused the access token: refresh it once and retry once with the
        new one; the 401 itself when there is no newer token to try."""
        scheme, _, token = rejected.request.headers.get("Authorization", "").partition(" ")
        fresh = self.reauthorize(token) if self.reauthorize and token else None
        if not fresh or fresh == token:
            return rejected
        rejected.close()
        headers = {**(kwargs.pop("headers", None) or {}), "Authorization": f"{scheme} {fresh}"}
        return self._counted(method, url, feature, *args, headers=headers, **kwargs)

    def _record(
        self, method: str, feature: str, outcome: tuple[int, bool], started: float, size: int
    ) -> None:
        try:
            self.usage(
                org_id=self.org_id,
                plugin=self.provider.name,
                feature=feature,
                method=method,
                status=outcome[0],
                duration=time.perf_counter() - started,
                size=size,
                ok=outcome[1],
            )
        except Exception:  # recording must never break the plugin's call
            log.exception("usage recorder failed")


def provider_session(
    config: Mapping[str, Any],
    extensions: Mapping[str, Any],
    org_id: int,
    provider: Provider,
    reauthorize: Reauthorize | None = None,
) -> ProviderSession:
    """The ``ctx.http`` of one organization's integration of `provider`."""
    return ProviderSession(
        org_id=org_id,
        provider=provider,
        timeout=float(config["HUB_HTTP_TIMEOUT"]),
        default_retry_after=float(config["HUB_HTTP_RETRY_AFTER"]),
        usage=extensions.get("hub.usage"),
        quota=extensions.get("hub.quota"),
        reauthorize=reauthorize,
    )
