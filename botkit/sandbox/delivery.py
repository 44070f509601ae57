"""What happens after a message is created: the status lifecycle with signed callbacks, and
inbound messages from phones posted to the owning number's webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from botkit.sandbox.messages import API_VERSION, MessageRecord, now
from botkit.sandbox.state import SandboxState
from botkit.sandbox.webhooks import WebhookPoster

ERROR_MESSAGES = {
    30003: "Unreachable destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    63003: "Channel could not find To address",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}


class Delivery:
    """Runs lifecycles in background tasks that the sandbox cancels when it stops."""

    def __init__(self, state: SandboxState, poster: WebhookPoster) -> None:
        self.state = state
        self.poster = poster
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def settle(self) -> None:
        """Wait until every lifecycle and webhook in flight has finished (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # Outbound -----------------------------------------------------------------------------

    async def run_outbound(self, record: MessageRecord) -> None:
        step = self.state.config.status_step
        failure = self._failure_for(record)
        await asyncio.sleep(step)
        await self._advance(record, "sending")
        await asyncio.sleep(step)
        if failure is not None and failure[0] in (63003, 63016):
            await self._advance(record, "failed", failure)
            return
        record.date_sent = now()
        await self._advance(record, "sent")
        await asyncio.sleep(step)
        if failure is not None:
            await self._advance(record, "undelivered", failure)
            return
        await self._advance(record, "delivered")

    def _failure_for(self, record: MessageRecord) -> tuple[int, str] | None:
        config = self.state.config
        number = record.to.removeprefix("whatsapp:")
        code: int | None = None
        if record.to.startswith("whatsapp:"):
            if number in config.non_whatsapp_numbers:
                code = 63003
            elif record.content_sid is None and not self.state.whatsapp_window_open(
                record.to, record.from_ or ""
            ):
                code = 63016
        if code is None:
            code = config.failing_numbers.get(number)
        if code is None:
            return None
        return code, ERROR_MESSAGES.get(code, "Message delivery failed")

    async def _advance(
        self, record: MessageRecord, status: str, error: tuple[int, str] | None = None
    ) -> None:
        if record.status == "canceled":
            return
        record.set_status(status, error)
        self.state.publish_message(record)
        if record.status_callback:
            await self.poster.post(record.status_callback, status_params(record))

    # Inbound ------------------------------------------------------------------------------

    async def deliver_inbound(self, record: MessageRecord, extra: dict[str, str]) -> None:
        """Post the inbound message to the webhook of the number (or service) it was sent to."""
        to_number = record.to.removeprefix("whatsapp:")
        self.state.last_inbound[(record.from_ or "", record.to)] = time.time()
        url: str | None = None
        service = self.state.service_for_number(to_number)
        owned = self.state.numbers.get(to_number)
        if owned is not None and owned.sms_url:
            url = owned.sms_url
        elif service is not None and service.inbound_url:
            url = service.inbound_url
        if url is None:
            return
        await self.poster.post(url, inbound_params(record, extra))


def status_params(record: MessageRecord) -> dict[str, str]:
    params = {
        "MessageSid": record.sid,
        "SmsSid": record.sid,
        "AccountSid": record.account_sid,
        "From": record.from_ or "",
        "To": record.to,
        "MessageStatus": record.status,
        "SmsStatus": record.status,
        "ApiVersion": API_VERSION,
    }
    if record.messaging_service_sid:
        params["MessagingServiceSid"] = record.messaging_service_sid
    if record.error_code is not None:
        params["ErrorCode"] = str(record.error_code)
    return params


def inbound_params(record: MessageRecord, extra: dict[str, str]) -> dict[str, str]:
    params = {
        "MessageSid": record.sid,
        "SmsSid": record.sid,
        "SmsMessageSid": record.sid,
        "AccountSid": record.account_sid,
        "From": record.from_ or "",
        "To": record.to,
        "Body": record.body,
        "NumMedia": str(len(record.media_urls)),
        "NumSegments": str(record.num_segments),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if record.messaging_service_sid:
        params["MessagingServiceSid"] = record.messaging_service_sid
    for index, (url, content_type) in enumerate(
        zip(record.media_urls, record.media_types, strict=True)
    ):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    params.update(extra)
    return params
