"""Posting form-encoded webhooks signed exactly as Twilio signs them."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from twilio.request_validator import RequestValidator

from botkit.logging import get_logger

log = get_logger("sandbox.webhooks")


class WebhookPoster:
    def __init__(self, auth_token: str, timeout: float) -> None:
        self._validator = RequestValidator(auth_token)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, params: Mapping[str, str]) -> int | None:
        """POST params to url with X-Twilio-Signature; the HTTP status, or None if unreachable."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        signature = self._validator.compute_signature(url, dict(params))
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": params.get("MessageSid", ""),
            "User-Agent": "TwilioProxy/1.1",
        }
        try:
            async with self._session.post(url, data=dict(params), headers=headers) as response:
                await response.read()
                if response.status >= 400:
                    log.warning("webhook answered an error", url=url, status=response.status)
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("webhook unreachable", url=url, error=str(exc))
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
