"""The official twilio SDK's async client, optionally pointed at a local Twilio stand-in.

twilio-python has no base-URL option, so the http client rewrites Twilio's hosts. Rewriting at
the http layer (not per resource) also covers absolute paging URLs such as Conversations'.
"""

from __future__ import annotations

import contextvars
import json
import re
from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

_TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]*twilio\.com")

#: The Retry-After header of the last response in this task: the SDK's exceptions drop headers,
#: and a 429's Retry-After says how long to hold the sender.
RETRY_AFTER: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "botkit_retry_after", default=None
)


def rewrite_twilio_url(url: str, base_url: str | None) -> str:
    """Replace Twilio's scheme and host with base_url; leave other URLs untouched."""
    if not base_url:
        return url
    return _TWILIO_HOST.sub(base_url.rstrip("/"), url, count=1)


class RewritingAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """AsyncTwilioHttpClient that sends requests for Twilio's hosts to base_url instead.

    It also sends JSON bodies as JSON: twilio-python's async client hands aiohttp the dict of a
    JSON request (Content API templates) as form data under a JSON Content-Type, which Twilio
    (and the sandbox) cannot read.
    """

    def __init__(self, base_url: str | None, timeout: float | None = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        target = rewrite_twilio_url(url, self.base_url)
        headers = kwargs.get("headers") or {}
        data = kwargs.get("data")
        if headers.get("Content-Type") == "application/json" and isinstance(data, dict | list):
            kwargs["data"] = json.dumps(data)
        response: Response = await super().request(method, target, *args, **kwargs)
        RETRY_AFTER.set(_seconds(response.headers.get("Retry-After")) if response.headers else None)
        return response


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def create_async_client(account_sid: str, auth_token: str, base_url: str | None) -> Client:
    """A twilio Client for async use. Call inside a running event loop; close its http_client."""
    return Client(account_sid, auth_token, http_client=RewritingAsyncHttpClient(base_url))
