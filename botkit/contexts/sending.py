"""The sends of one event: numbered, so that a handler re-run after a crash sends nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Unpack

from botkit.errors import SendError
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.outbound.messenger import From, Messenger


class EventSends:
    """The messages sent while handling one event (a message, a status change, a close).

    Each gets the key ``<event key>:<position>``, so a handler re-run after a crash produces the
    same keys and the outbound queue sends nothing twice (unless the caller chose its own key).
    The sender is the one the caller named, else ``default(to)``, else the Messenger's own.
    """

    def __init__(
        self,
        messenger: Messenger,
        event_key: str,
        default: Callable[[str], From | None] = lambda to: None,
        *,
        author: str | None = None,
    ) -> None:
        """author: who the bot posts into conversations as (BOTKIT_CONVERSATIONS_IDENTITY)."""
        self._messenger = messenger
        self._event_key = event_key
        self._default = default
        self._author = author
        self._count = 0

    async def send(
        self, to: str, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        self._number(options)
        return await self._messenger.send(to, text, default=self._default(to), **options)

    async def post(
        self,
        conversation_sid: str,
        text: str | None = None,
        *,
        attributes: Mapping[str, Any] | None = None,
        **options: Unpack[SendOptions],
    ) -> OutboundHandle:
        """Post into a conversation as the bot, numbered like the event's other messages."""
        if self._author is None:
            raise SendError("this context cannot post into a conversation")
        self._number(options)
        return await self._messenger.post(
            conversation_sid, text, author=self._author, attributes=attributes, **options
        )

    def _number(self, options: SendOptions) -> None:
        self._count += 1
        if not options.get("idempotency_key"):
            options["idempotency_key"] = f"{self._event_key}:{self._count}"
