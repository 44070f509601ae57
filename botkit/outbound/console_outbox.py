"""An Outbox for development without a Twilio account: it prints each message it is given."""

from __future__ import annotations

import itertools

import click

from botkit.outbound.outbox import OutboundHandle, OutboundMessage


class ConsoleOutbox:
    """Shows replies in the terminal so a bot can be tried before any account exists."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        sender = message.from_ or message.messaging_service_sid
        media = f"  [media: {', '.join(message.media_urls)}]" if message.media_urls else ""
        click.secho(f"{sender} → {message.to}: {message.body or ''}{media}", fg="cyan")
        return OutboundHandle(id=f"dev-{next(self._ids)}", idempotency_key=message.idempotency_key)

    async def close(self) -> None:
        return None
