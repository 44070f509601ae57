"""The official twilio SDK's async client, optionally pointed at a local Twilio stand-in.

twilio-python has no base-URL option, so the http client rewrites Twilio's hosts. Rewriting at
the http layer (not per resource) also covers absolute paging URLs such as Conversations'.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, DummyCookieJar
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from yarl import URL

from botkit.errors import ConfigError
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID

_TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]*twilio\.com")

#: The Retry-After header of the last response in this task: the SDK's exceptions drop headers,
#: and a 429's Retry-After says how long to hold the sender.
RETRY_AFTER: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "botkit_retry_after", default=None
)
#: When the last response in this task came back (time.time()): once its status line and
#: headers were in, before the SDK reads and parses the body, so that a pacer charging a send
#: from its answer is not charged the SDK's work.
ANSWERED_AT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "botkit_answered_at", default=None
)


def rewrite_twilio_url(url: str, base_url: str | None) -> str:
    """Replace Twilio's scheme and host with base_url; leave other URLs untouched."""
    if not base_url:
        return url
    return _TWILIO_HOST.sub(base_url.rstrip("/"), url, count=1)


class RewritingAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """AsyncTwilioHttpClient that sends requests for Twilio's hosts to base_url instead.

    Its request path is leaner than the base class's, because an outbound worker makes a thousand of
    these a second and the base path costs more CPU than the rest of a send together: the form
    is encoded once with urlencode instead of aiohttp's FormData, the Basic credentials are
    encoded once per client, a URL is parsed once, cookies are not kept (Twilio's REST API
    authenticates every request and sets none we need), and no request/response copies are
    kept for twilio's test hooks.
    It also sends JSON bodies as JSON: twilio-python's async client hands aiohttp the dict of a
    JSON request (Content API templates) as form data under a JSON Content-Type, which Twilio
    (and the sandbox) cannot read.
    """

    session: ClientSession  # pooled: the base class makes one per client

    def __init__(self, base_url: str | None, timeout: float | None = 10.0) -> None:
        super().__init__(pool_connections=False, timeout=timeout)
        self.session = ClientSession(cookie_jar=DummyCookieJar())
        self.base_url = base_url
        self._authorization: dict[tuple[str, str], str] = {}

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK calls it so)
        allow_redirects: bool = False,
    ) -> Response:
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        sent = dict(headers or {})
        if auth is not None:
            if self.base_url is None and auth[0] == DEVELOPMENT_ACCOUNT_SID:
                raise DevelopmentLeak(f"development account sent to Twilio's real host: {url}")
            sent["Authorization"] = self._basic(auth)
        async with self.session.request(
            method.upper(),
            _url(url, self.base_url),
            params=params,
            data=_body(data, sent),
            headers=sent,
            timeout=ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            ANSWERED_AT.set(time.time())
            response = Response(answer.status, await answer.text("utf-8"), answer.headers)
        RETRY_AFTER.set(_seconds(answer.headers.get("Retry-After")))
        return response

    def _basic(self, auth: tuple[str, str]) -> str:
        found = self._authorization.get(auth)
        if found is None:
            # Built by hand: aiohttp 3.12+ deprecates BasicAuth, and a warning in every user's
            # test run is noise they cannot fix.
            pair = base64.b64encode(":".join(auth).encode("latin1")).decode("ascii")
            found = self._authorization[auth] = f"Basic {pair}"
        return found


@functools.lru_cache(maxsize=4096)
def _url(url: str, base_url: str | None) -> URL:
    """The rewritten URL, parsed: an outbound worker requests the same few URLs over and over."""
    return URL(rewrite_twilio_url(url, base_url))


def _body(data: dict[str, object] | None, headers: dict[str, str]) -> str | None:
    """The request body as Twilio expects it: JSON for a JSON request, else a urlencoded form
    (lists repeat their key, as MediaUrl does)."""
    if data is None:
        return None
    if headers.get("Content-Type") == "application/json":
        return json.dumps(data)
    headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return urlencode(data, doseq=True)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class DevelopmentLeak(ConfigError):
    """The development account was about to be sent to Twilio's real hosts."""


def create_async_client(account_sid: str, auth_token: str, base_url: str | None) -> Client:
    """A twilio Client for async use. Call inside a running event loop; close its http_client.

    The development account (development mode, the sandbox's published credentials) is refused
    without a base_url: nothing in development mode may reach Twilio's real hosts, and a
    process that would is a bug to fail on loudly, not a request to make."""
    if account_sid == DEVELOPMENT_ACCOUNT_SID and not base_url:
        raise DevelopmentLeak(
            "development mode never talks to Twilio's real hosts: the development account "
            f"{DEVELOPMENT_ACCOUNT_SID} needs BOTKIT_TWILIO_BASE_URL (a sandbox), or set "
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to a real account"
        )
    return Client(account_sid, auth_token, http_client=RewritingAsyncHttpClient(base_url))
