"""Deciding a message before it is added to a conversation (the onMessageAdd pre-event).

Twilio waits for the answer (5 s at most) and adds the message only on a 2xx, with the body and
attributes the answer may rewrite. The gate, in order:

1. lets the bot's own messages through untouched;
2. rejects a message from a phone participant whose number opted out of the participant's proxy
   address (or the conversation's Messaging Service), per the consent ledger: someone who texted
   STOP does not get to keep writing into a conversation that can no longer write back. Their
   STOP/START/HELP keywords themselves pass, so that START can opt them back in;
3. takes an agent's command in a handed-off conversation (agent_command_intake.py): it is
   queued for the bot to run and rejected here, so the customer never sees it;
4. runs the ``@bot.on_message_add`` hooks in order; the first ``reject`` ends it.

The gate fails open: a hook that raises or runs past ``time_limit``, or a ledger or an intake
that cannot be reached, is logged and the message goes through (as it would if Twilio could
not reach us at all), rather than silently dropping a customer's message. (A command let
through that way still runs, from the onMessageAdded post-event, but everyone reads it.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from botkit.app.conversation_hooks import ConversationHooks
from botkit.compliance.keywords import KeywordPolicy
from botkit.compliance.ledger.protocol import ConsentLedger
from botkit.contexts.hooks import MessageAddContext
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.inbound.agent_command_intake import TAKEN, AgentCommandIntake
from botkit.logging import get_logger
from botkit.twilio.conversation_events import MessageAdd

log = get_logger("conversations")

#: Twilio gives up after 5 s; leave room for the network.
DEFAULT_TIME_LIMIT = 4.0


@dataclass(frozen=True)
class Verdict:
    """``rejection`` None: add the message, with ``changes`` (body, attributes) if any."""

    rejection: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


class MessageAddGate:
    def __init__(
        self,
        hooks: ConversationHooks,
        ledger: ConsentLedger,
        keywords: KeywordPolicy,
        identity: str,
        *,
        mirror: ParticipantMirror | None = None,
        intake: AgentCommandIntake | None = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
    ) -> None:
        self.hooks = hooks
        self.ledger = ledger
        self.keywords = keywords
        self.identity = identity
        self.mirror = mirror
        self.intake = intake
        self.time_limit = time_limit

    async def decide(self, event: MessageAdd) -> Verdict:
        if event.author == self.identity:
            return Verdict()
        if await self._opted_out(event):
            return Verdict(rejection="the author opted out of this conversation's sender")
        if await self._agent_command(event):
            return Verdict(rejection=TAKEN)
        ctx = MessageAddContext(event)
        try:
            async with asyncio.timeout(self.time_limit):
                for hook in self.hooks.of("message_add"):
                    await self._run(hook.func, ctx)
                    if ctx.rejection is not None:
                        return Verdict(rejection=ctx.rejection)
        except TimeoutError:
            log.error(
                "on_message_add hooks ran out of time; message let through unchanged",
                conversation=event.conversation_sid,
                seconds=self.time_limit,
            )
            return Verdict()
        return Verdict(changes=ctx.changes)

    async def _run(self, func: Any, ctx: MessageAddContext) -> None:
        try:
            await func(ctx)
        except Exception:
            log.exception(
                "on_message_add hook failed; ignoring it",
                hook=func.__qualname__,
                conversation=ctx.conversation_sid,
            )

    async def _agent_command(self, event: MessageAdd) -> bool:
        if self.intake is None:
            return False
        try:
            async with asyncio.timeout(self.time_limit):
                return await self.intake.intercept(event)
        except Exception:
            log.exception("agent command could not be taken; message let through")
            return False

    async def _opted_out(self, event: MessageAdd) -> bool:
        if self.keywords.classify(event.body) is not None:
            return False
        try:
            address, sender = await self._phone_of(event)
            scopes = [scope for scope in (sender, event.messaging_service_sid) if scope]
            if address is None or not scopes:
                return False
            return await self.ledger.is_opted_out(address, scopes)
        except Exception:
            log.exception("opt-out check failed; message let through")
            return False

    async def _phone_of(self, event: MessageAdd) -> tuple[str | None, str | None]:
        """The author's phone address and the address it texts, from the event's binding or
        else the participant mirror; (None, None) for chat authors."""
        binding = event.binding
        if binding is not None and binding.address:
            return binding.address, binding.proxy_address or binding.projected_address
        if self.mirror is None or event.source not in ("SMS", "MMS", "WHATSAPP"):
            return None, None
        found = await self.mirror.find(
            event.conversation_sid, event.participant_sid or event.author
        )
        if found is None or found.address is None:
            return None, None
        return found.address, found.proxy_address or found.projected_address
