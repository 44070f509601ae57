"""The sends of one event: numbered, so that a handler re-run after a crash sends nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from botkit.outbound.message import OutboundHandle
from botkit.outbound.messenger import From, Messenger, chosen_sender


class EventSends:
    """The messages sent while handling one event (a message, a status change).

    Each gets the key ``<event key>:<position>``, so a handler re-run after a crash produces the
    same keys and the dispatcher sends nothing twice. The sender is the one the caller named,
    else ``default(to)``, else the Messenger's own default.
    """

    def __init__(
        self, sender: Messenger, event_key: str, default: Callable[[str], From | None]
    ) -> None:
        self._sender = sender
        self._event_key = event_key
        self._default = default
        self._count = 0

    async def send(
        self,
        to: str,
        text: str | None,
        *,
        media_urls: Iterable[str] = (),
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> OutboundHandle:
        self._count += 1
        return await self._sender.send(
            to,
            text,
            media_urls=media_urls,
            sender=chosen_sender(from_, messaging_service_sid) or self._default(to),
            idempotency_key=f"{self._event_key}:{self._count}",
            content_sid=content_sid,
            content_variables=content_variables,
        )


