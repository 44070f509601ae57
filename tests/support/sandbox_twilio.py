"""The botkit sandbox as the Twilio that tests' bots send to, with helpers to inspect it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from multidict import MultiDict

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.config import MessagingService
from botkit.sandbox.messages import MessageRecord

#: Messaging Services the tests' Twilio account has, each with an SMS and a WhatsApp sender.
SERVICES = [
    MessagingService(
        sid="MG" + letter * 32,
        numbers=[f"+1555020000{index}", f"whatsapp:+1555020000{index}"],
    )
    for index, letter in enumerate("abcd")
]


@dataclass(frozen=True)
class SentMessage:
    """An outbound message as the sandbox received it, with its create parameters."""

    record: MessageRecord

    @property
    def to(self) -> str:
        return self.record.to

    @property
    def body(self) -> str:
        return self.record.body

    @property
    def params(self) -> MultiDict[str]:
        """The message in the names of the Messages create parameters."""
        record = self.record
        params: MultiDict[str] = MultiDict(To=record.to)
        if record.body:
            params["Body"] = record.body
        if record.messaging_service_sid:
            params["MessagingServiceSid"] = record.messaging_service_sid
        else:
            params["From"] = record.from_ or ""
        for url in record.media_urls:
            params.add("MediaUrl", url)
        return params


class SandboxTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.sandbox = Sandbox(
            SandboxConfig(
                account_sid=account_sid,
                auth_token=auth_token,
                status_step=0.005,
                services=SERVICES,
            )
        )

    @property
    def base_url(self) -> str:
        return self.sandbox.url

    async def start(self) -> None:
        await self.sandbox.start()

    async def close(self) -> None:
        await self.sandbox.stop()

    @property
    def sent(self) -> list[SentMessage]:
        """Messages created through the REST API, oldest first."""
        return [
            SentMessage(record)
            for record in self.sandbox.state.messages.values()
            if record.direction.startswith("outbound")
        ]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least count messages were sent; return them all."""
        async with asyncio.timeout(timeout):
            while len(self.sent) < count:
                await asyncio.sleep(0.005)
        return self.sent
