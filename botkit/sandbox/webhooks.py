"""Posting form-encoded webhooks signed exactly as Twilio signs them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from botkit.logging import get_logger

log = get_logger("sandbox.webhooks")


@dataclass(frozen=True)
class WebhookReply:
    """What the receiver answered: its HTTP status (None if unreachable) and body.

    Pre-event webhooks (Conversations) need the body as well as the status: the receiver may
    rewrite the action by answering JSON.
    """

    status: int | None
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _as_signed(url: str) -> URL:
    """The URL exactly as signed: yarl would requote it (``%3A`` to ``:``) and so break the
    signature. Only a URL that cannot go on the wire as it is (spaces, non-ASCII) is quoted."""
    return URL(url, encoded=True) if url.isascii() and " " not in url else URL(url)


class WebhookPoster:
    """allowed_hosts: when set, webhooks to any other host are refused (tests and CI keep all
    traffic on this machine, whatever URL a bot configures)."""

    def __init__(
        self, auth_token: str, timeout: float, allowed_hosts: frozenset[str] | None = None
    ) -> None:
        self._allowed_hosts = allowed_hosts
        self._validator = RequestValidator(auth_token)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, params: Mapping[str, str]) -> int | None:
        """POST params to url with X-Twilio-Signature; the HTTP status, or None if unreachable."""
        reply = await self.exchange(url, params, token=params.get("MessageSid", ""))
        return reply.status

    async def exchange(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        method: str = "POST",
        token: str = "",
        time_limit: float | None = None,
    ) -> WebhookReply:
        """Send params signed like Twilio: form body for POST, query string for GET (then the
        signature covers the full URL and no body params)."""
        host = urlsplit(url).hostname
        if self._allowed_hosts is not None and host not in self._allowed_hosts:
            log.warning("webhook not sent: host not allowed", url=url)
            return WebhookReply(None)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body: dict[str, str] | None = dict(params)
        if method.upper() == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(dict(params))}"
            body = None
        signature = self._validator.compute_signature(url, body or {})
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": token,
            "User-Agent": "TwilioProxy/1.1",
        }
        limit = (
            aiohttp.ClientTimeout(total=time_limit) if time_limit is not None else self._timeout
        )
        try:
            async with self._session.request(
                method.upper(), _as_signed(url), data=body, headers=headers, timeout=limit
            ) as response:
                content = await response.read()
                if response.status >= 400:
                    log.warning("webhook answered an error", url=url, status=response.status)
                return WebhookReply(response.status, content)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("webhook unreachable", url=url, error=str(exc))
            return WebhookReply(None)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
