"""What a conversation intent handler receives: ``ConversationContext``.

It mirrors ``Context`` (``message``, ``session``, ``slots``, ``intent``, ``reply``, ``send``)
and adds ``conversation`` (sid, unique name, attributes, participants) and ``participant``
(who wrote). ``reply`` posts into the conversation as the bot; hook contexts are in hooks.py.

``HandlerContext`` is what a handler or middleware registered with ``scope="any"`` receives:
a ``Context`` for 1:1 messages (whose ``conversation`` and ``participant`` are None) or a
``ConversationContext``.

Conversation replies travel the one outbound path: queued durably, rate-limited per
conversation, retried, keyed on the inbound event, dead-lettered when refused for good; an
outbound worker posts them through the Conversations API. Twilio delivers them to the
conversation's phone participants and applies their opt-outs.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Unpack

from botkit.contexts.direct import Context
from botkit.contexts.once import EventEffects, RunsOnce
from botkit.contexts.sending import EventSends
from botkit.conversations.client import ConversationsClient
from botkit.conversations.info import ConversationInfo
from botkit.conversations.models import Participant
from botkit.conversations.writer import ConversationWriter
from botkit.effects.protocol import EffectStore
from botkit.handoff.service import Ask, Handoff, HandoffResult, running
from botkit.handoff.store.protocol import DEFAULT_SKILL, Presence
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.outbound.messenger import From, Messenger, number_on_channel_of
from botkit.twilio.conversation_events import (
    MessageAdded,
)


class ConversationContext(RunsOnce):
    """One handler invocation for a conversation message. ``session`` is saved when the handler
    returns without raising; it is the conversation's or the participant's, as the bot or the
    intent chose (``conversation_sessions``)."""

    def __init__(
        self,
        message: MessageAdded,
        session: dict[str, Any],
        *,
        conversation: ConversationInfo,
        participant: Participant,
        writer: ConversationWriter,
        sender: Messenger,
        intent: str | None = None,
        slots: dict[str, str] | None = None,
        handoff: Handoff | None = None,
        effects: EffectStore | None = None,
    ) -> None:
        self.message = message
        self.session = session
        self.conversation = conversation
        self.participant = participant
        self.intent = intent
        self.slots: dict[str, str] = slots or {}
        self._writer = writer
        # Not a bound method of self: no reference cycle (contexts/direct.py says why).
        self._sends = EventSends(
            sender,
            message.sid,
            partial(participant_sender, participant, message),
            author=writer.identity,
        )
        self._effects = EventEffects(effects, message.sid)
        self._handoff = handoff

    @property
    def agent(self) -> str:
        """Who wrote, as the handoff names agents: a chat identity or a phone address."""
        return self.participant.author or self.message.author

    @property
    def conversations(self) -> ConversationsClient:
        """The running bot's Conversations client (the one the runtime shares)."""
        return self._writer.client

    async def handoff(
        self,
        agent: str | None = None,
        *,
        skill: str = DEFAULT_SKILL,
        priority: int = 0,
        reason: str | None = None,
    ) -> HandoffResult:
        """Bring a human into this conversation: ``agent`` (a chat identity or a phone
        number), or the least busy available agent of ``Bot(agents=...)`` with ``skill``, or
        that skill's queue. Bot intents are silenced here until ``resume_bot()``. A phone
        participant who asked is recorded as the customer (who cannot run agent commands)."""
        ask = Ask(skill, priority, reason)
        author = self.participant
        customer = author.address if author.is_phone else None
        proxy = author.proxy_address if author.is_phone else None
        return await running(self._handoff).in_conversation(
            self.conversation.sid, agent, ask, customer=customer, proxy=proxy
        )

    # Agent commands --------------------------------------------------------------------------

    async def tell_agent(self, text: str) -> None:
        """Tell the agent who wrote this command, and no one else: the agent desk shows it, and
        a phone agent gets it by SMS. Never posted into the conversation, where the customer
        would read it."""
        await running(self._handoff).notices.tell(
            self.agent, text, proxy=self.participant.proxy_address
        )

    async def transfer(self, target: str, note: str | None = None) -> str:
        """Move this conversation from the agent who wrote to ``target``: another agent
        (``"agent-2"``) or a skill's queue (``"@billing"``), with ``note`` for whoever gets it.
        Returns what happened, in words for the agent."""
        return await running(self._handoff).transfer(
            self.conversation.sid, target, by=self.agent, note=note
        )

    async def set_presence(self, presence: Presence) -> None:
        """The writing agent becomes available, away or offline (see ``Bot.set_presence``)."""
        await running(self._handoff).set_presence(self.agent, presence)

    async def add_note(self, text: str) -> None:
        """A note in the conversation's history for agents only (the desk shows it)."""
        await running(self._handoff).add_note(self.conversation.sid, self.agent, text)

    async def resume_bot(self) -> None:
        """Hand the conversation back to the bot: the agent leaves, intents fire again."""
        await running(self._handoff).resume(self.conversation.sid)

    async def close_conversation(self) -> None:
        """Close this conversation for good (the customer's number is free for 1:1 again)."""
        await running(self._handoff).close(self.conversation.sid)

    async def take_next(self, agent: str) -> str | None:
        """``agent`` takes the conversation waiting longest in the handoff queue."""
        return await running(self._handoff).take_next(agent)

    async def reply(
        self,
        text: str | None = None,
        *,
        attributes: Mapping[str, Any] | None = None,
        **options: Unpack[SendOptions],
    ) -> OutboundHandle:
        """Post a message into the conversation, authored by the bot, through the outbound
        queue like every send: retried, keyed on the inbound MessageSid and this message's
        position (a handler re-run after a crash posts nothing twice), dead-lettered when
        Twilio refuses it for good. ``attributes``: the message's JSON attributes; options as
        for ``send`` (``content_sid``, ``valid_for``...), but no ``from_`` or media."""
        return await self._sends.post(self.conversation.sid, text, attributes=attributes, **options)

    async def send(
        self, to: str, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        """Message anyone outside the conversation, through the outbound queue like
        ``Context.send``. The sender defaults to the participant's proxy address (on the channel
        of ``to``), else the conversation's Messaging Service, else
        BOTKIT_MESSAGING_SERVICE_SID."""
        return await self._sends.send(to, text, **options)



def participant_sender(
    participant: Participant, message: MessageAdded, to: str
) -> From | None:
    """Who a conversation handler's message to ``to`` comes from when it names no sender."""
    if participant.proxy_address:
        return number_on_channel_of(to, participant.proxy_address)
    if message.messaging_service_sid:
        return From(messaging_service_sid=message.messaging_service_sid)
    return None


#: What a handler or middleware that runs for 1:1 and conversation messages receives.
HandlerContext = Context | ConversationContext








