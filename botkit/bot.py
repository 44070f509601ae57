"""The Bot: the top router, plus what only the top needs (a name, proactive sending)."""

from __future__ import annotations

from collections.abc import Iterable

from botkit.compliance.keywords import DEFAULT_POLICY, KeywordPolicy
from botkit.dispatch.shaping import WhatsAppTemplate
from botkit.errors import SendError
from botkit.outbound.outbox import Lane, OutboundHandle
from botkit.outbound.sender import Sender, chosen_sender
from botkit.routing.router import SESSION_SCOPES, Router, SessionScope


class Bot(Router):
    """A bot is a router that the server runs. ``name`` namespaces its sessions in storage."""

    def __init__(
        self,
        name: str = "bot",
        *,
        apology: str | None = None,
        keywords: KeywordPolicy = DEFAULT_POLICY,
        whatsapp_template: WhatsAppTemplate | None = None,
        conversation_sessions: SessionScope = "conversation",
    ) -> None:
        """keywords: STOP/START/HELP handling (Twilio's lists and replies by default).
        whatsapp_template: what to send instead of free text outside the WhatsApp 24 h window.
        conversation_sessions: in Conversations, one session per conversation (shared by its
        participants) or per participant within each conversation; an intent may override it.
        """
        if conversation_sessions not in SESSION_SCOPES:
            raise ValueError(
                f"unknown conversation_sessions {conversation_sessions!r}; "
                f"use one of {sorted(SESSION_SCOPES)}"
            )
        super().__init__(name)
        self.conversation_sessions: SessionScope = conversation_sessions
        self.apology = apology
        self.keywords = keywords
        self.whatsapp_template = whatsapp_template
        self._sender: Sender | None = None

    def attach(self, sender: Sender | None) -> None:
        """Connect (or with None, disconnect) the running server's outbound path."""
        self._sender = sender

    async def send(
        self,
        to: str,
        text: str | None = None,
        *,
        media_urls: Iterable[str] = (),
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        idempotency_key: str | None = None,
        lane: Lane = "bulk",
    ) -> OutboundHandle:
        """Send a proactive message, outside any handler. Needs the bot to be running.

        Proactive sends are bulk by default: replies to users go ahead of them, and quiet hours
        (if configured) hold them. Pass lane="reply" for a time-critical notification.
        """
        if self._sender is None:
            raise SendError("bot.send needs a running bot (botkit run, or create_app started)")
        return await self._sender.send(
            to,
            text,
            media_urls=media_urls,
            sender=chosen_sender(from_, messaging_service_sid),
            idempotency_key=idempotency_key,
            lane=lane,
        )
