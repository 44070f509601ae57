"""The twilio SDK's sync client pointed at a local Twilio stand-in (the sandbox), for tests.

botkit itself only uses the async client; users' scripts and many tools use the sync one, so the
sandbox must answer it too. Call it from a worker thread (``asyncio.to_thread``) when the sandbox
runs in the test's event loop.
"""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from botkit.twilio.client import rewrite_twilio_url


class RewritingTwilioHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """TwilioHttpClient that sends requests for Twilio's hosts to base_url instead."""

    def __init__(self, base_url: str | None, timeout: float | None = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, rewrite_twilio_url(url, self.base_url), *args, **kwargs)


def create_sync_client(account_sid: str, auth_token: str, base_url: str | None) -> Client:
    """A sync twilio Client; close it with ``client.http_client.session.close()``."""
    return Client(account_sid, auth_token, http_client=RewritingTwilioHttpClient(base_url))
