"""An Outbox that hands each message straight to Twilio's Messages API through the SDK."""

from __future__ import annotations

from typing import Any

from twilio.base.exceptions import TwilioRestException

from botkit.errors import SendError
from botkit.logging import get_logger
from botkit.outbound.outbox import OutboundHandle, OutboundMessage
from botkit.twilio.client import create_async_client

log = get_logger("outbox")


class TwilioOutbox:
    """Sends at once and returns Twilio's SID. No queue, no retries: the dispatcher adds those."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str | None) -> None:
        self._client = create_async_client(account_sid, auth_token, base_url)

    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        params: dict[str, Any] = {"to": message.to}
        if message.from_:
            params["from_"] = message.from_
        if message.messaging_service_sid:
            params["messaging_service_sid"] = message.messaging_service_sid
        if message.body:
            params["body"] = message.body
        if message.media_urls:
            params["media_url"] = list(message.media_urls)
        try:
            created = await self._client.messages.create_async(**params)
        except TwilioRestException as exc:
            raise SendError(f"Twilio refused the message (code {exc.code}): {exc.msg}") from exc
        except OSError as exc:
            raise SendError(f"Twilio could not be reached: {exc}") from exc
        log.info("message sent", sid=created.sid, to=message.to, key=message.idempotency_key)
        return OutboundHandle(
            id=created.sid, idempotency_key=message.idempotency_key, twilio_sid=created.sid
        )

    async def close(self) -> None:
        await self._client.http_client.close()
