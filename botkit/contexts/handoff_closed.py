"""``@bot.on_handoff_closed`` hooks: what the bot does once an agent closed a conversation.

The conversation is closed when hooks run, so the customer's number is free again and a
message to them goes 1:1 from the number they wrote to, through the outbound worker (rate limits,
opt-outs: a customer who texted STOP during the chat gets nothing). The usual use is a
satisfaction survey; another is a note in a CRM.

Hooks run in registration order, each on its own: one that raises is logged and the next still
runs, and the close itself has already happened. Messages they send are keyed on the
conversation SID and their position, so if the close is retried after a crash, nothing is sent
twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Unpack

from botkit.contexts.sending import EventSends
from botkit.errors import SendError
from botkit.handoff.store.protocol import HandoffRecord
from botkit.logging import get_logger
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.outbound.messenger import From, Messenger, number_on_channel_of

log = get_logger("handoff")

CloseHook = Callable[["HandoffClosedContext"], Awaitable[Any]]


class HandoffClosedContext:
    """A handed-off conversation that an agent closed. ``customer``: the phone address that
    was handed off (None when the handoff started in a conversation with no phone author);
    ``proxy``: the bot number they wrote to; ``agent``: who had it (None if it was still
    waiting in line)."""

    def __init__(self, record: HandoffRecord, sender: Messenger | None) -> None:
        self.conversation_sid = record.conversation_sid
        self.customer = record.customer
        self.proxy = record.proxy
        self.agent = record.agent
        self._sender = sender
        self._sends = (
            EventSends(sender, f"handoff-closed:{record.conversation_sid}", self._default_for)
            if sender is not None
            else None
        )

    def _default_for(self, to: str) -> From | None:
        return number_on_channel_of(to, self.proxy) if self.proxy else None

    async def send(
        self, to: str, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        """Message anyone (usually ``ctx.customer``), from the bot number the customer wrote
        to, on the channel of ``to``."""
        if self._sends is None:
            raise SendError("handoff-closed hooks can send only in a running bot")
        return await self._sends.send(to, text, **options)


def close_hooks(
    hooks: Sequence[CloseHook], sender: Messenger | None
) -> Callable[[HandoffRecord], Awaitable[None]]:
    """What the handoff runs once a conversation closed: each hook on its own, one that raises
    is logged."""

    async def run(record: HandoffRecord) -> None:
        if not hooks:
            return
        ctx = HandoffClosedContext(record, sender)
        for hook in hooks:
            try:
                await hook(ctx)
            except Exception:
                log.exception(
                    "handoff-closed hook failed",
                    conversation=record.conversation_sid,
                    hook=getattr(hook, "__qualname__", repr(hook)),
                )

    return run
