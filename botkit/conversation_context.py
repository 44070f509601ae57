"""What conversation handlers and hooks receive.

- ``ConversationContext``: an intent handler's context for a message added to a Conversation.
  It mirrors ``Context`` (``message``, ``session``, ``slots``, ``intent``, ``reply``, ``send``)
  and adds ``conversation`` (sid, unique name, attributes, participants) and ``participant``
  (who wrote). ``reply`` posts into the conversation, as the bot (``ConversationWriter``).
- ``ParticipantContext`` (``@bot.on_participant_added`` / ``on_participant_removed``) and
  ``ConversationStateContext`` (``@bot.on_conversation_state``): no session, like status hooks;
  ``reply`` posts into the conversation.
- ``MessageAddContext`` (``@bot.on_message_add``): a message about to be added, which the hook
  may ``reject`` or ``rewrite`` before anyone sees it.

``HandlerContext`` is what a handler or middleware registered with ``scope="any"`` receives:
a ``Context`` for 1:1 messages (whose ``conversation`` and ``participant`` are None) or a
``ConversationContext``.

Conversation replies bypass the durable outbound dispatcher (botkit/dispatch/), which covers
Messages API sends: they are posted straight through the Conversations API, so botkit does not
queue, rate-limit or retry them, and a handler re-run after a crash may post its reply again.
Twilio delivers them to the conversation's phone participants and applies their opt-outs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botkit.context import Context, _running
from botkit.conversations.client import ConversationsClient
from botkit.conversations.models import ConversationMessage, Participant
from botkit.outbound.outbox import OutboundHandle
from botkit.outbound.sender import EventSends, From, Sender, number_on_channel_of
from botkit.twilio.conversation_events import (
    ConversationState,
    ConversationStateUpdated,
    MessageAdd,
    MessageAdded,
    ParticipantAdded,
    ParticipantRemoved,
)

if TYPE_CHECKING:
    from botkit.handoff.service import Handoff, HandoffResult


@dataclass(frozen=True)
class ConversationWriter:
    """How the bot writes into conversations: as ``identity`` (BOTKIT_CONVERSATIONS_IDENTITY),
    which is how it recognises its own messages and never answers them, and with
    ``X-Twilio-Webhook-Enabled: true`` so other webhook listeners see its messages too."""

    client: ConversationsClient
    identity: str

    async def post(
        self, conversation_sid: str, text: str, attributes: Mapping[str, Any] | None = None
    ) -> ConversationMessage:
        return await self.client.send(
            conversation_sid,
            text,
            author=self.identity,
            attributes=attributes,
            webhook_enabled=True,
        )


@dataclass(frozen=True)
class ConversationInfo:
    """The conversation a message was added to, as known when the handler started."""

    sid: str
    unique_name: str | None = None
    friendly_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    state: ConversationState | None = None
    participants: tuple[Participant, ...] = ()

    def participant(self, key: str) -> Participant | None:
        """A participant by SID, chat identity or phone address."""
        return next((p for p in self.participants if key in (p.sid, p.identity, p.address)), None)


class ConversationContext:
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
        sender: Sender,
        intent: str | None = None,
        slots: dict[str, str] | None = None,
        handoff: Handoff | None = None,
    ) -> None:
        self.message = message
        self.session = session
        self.conversation = conversation
        self.participant = participant
        self.intent = intent
        self.slots: dict[str, str] = slots or {}
        self._writer = writer
        self._sends = EventSends(sender, message.sid, self._default_sender_for)
        self._handoff = handoff

    @property
    def conversations(self) -> ConversationsClient:
        """The running bot's Conversations client (the one the runtime shares)."""
        return self._writer.client

    async def handoff(self, agent: str | None = None) -> HandoffResult:
        """Bring a human into this conversation: ``agent`` (a chat identity or a phone
        number), or the first free agent of ``Bot(agents=...)``, or the queue. Bot intents are
        silenced here until ``resume_bot()``. A phone participant who asked is recorded as the
        customer (who cannot run agent commands)."""
        author = self.participant
        customer = author.address if author.is_phone else None
        proxy = author.proxy_address if author.is_phone else None
        return await _running(self._handoff).in_conversation(
            self.conversation.sid, agent, customer=customer, proxy=proxy
        )

    async def resume_bot(self) -> None:
        """Hand the conversation back to the bot: the agent leaves, intents fire again."""
        await _running(self._handoff).resume(self.conversation.sid)

    async def close_conversation(self) -> None:
        """Close this conversation for good (the customer's number is free for 1:1 again)."""
        await _running(self._handoff).close(self.conversation.sid)

    async def take_next(self, agent: str) -> str | None:
        """``agent`` takes the conversation waiting longest in the handoff queue."""
        return await _running(self._handoff).take_next(agent)

    async def reply(
        self, text: str, *, attributes: Mapping[str, Any] | None = None
    ) -> ConversationMessage:
        """Post a message into the conversation, authored by the bot (not through the
        dispatcher: see the module docstring)."""
        return await self._writer.post(self.conversation.sid, text, attributes)

    async def send(
        self,
        to: str,
        text: str | None = None,
        *,
        media_urls: Iterable[str] = (),
        from_: str | None = None,
        messaging_service_sid: str | None = None,
    ) -> OutboundHandle:
        """Message anyone outside the conversation, through the dispatcher like ``Context.send``.
        The sender defaults to the participant's proxy address (on the channel of ``to``), else
        the conversation's Messaging Service, else BOTKIT_MESSAGING_SERVICE_SID."""
        return await self._sends.send(
            to,
            text,
            media_urls=media_urls,
            from_=from_,
            messaging_service_sid=messaging_service_sid,
        )

    def _default_sender_for(self, to: str) -> From | None:
        if self.participant.proxy_address:
            return number_on_channel_of(to, self.participant.proxy_address)
        if self.message.messaging_service_sid:
            return From(messaging_service_sid=self.message.messaging_service_sid)
        return None


#: What a handler or middleware that runs for 1:1 and conversation messages receives.
HandlerContext = Context | ConversationContext


class _HookContext:
    def __init__(self, conversation_sid: str, writer: ConversationWriter) -> None:
        self.conversation_sid = conversation_sid
        self._writer = writer

    async def reply(
        self, text: str, *, attributes: Mapping[str, Any] | None = None
    ) -> ConversationMessage:
        """Post a message into the conversation, authored by the bot."""
        return await self._writer.post(self.conversation_sid, text, attributes)


class ParticipantContext(_HookContext):
    """A participant joined (``event`` is ParticipantAdded) or left (ParticipantRemoved)."""

    def __init__(
        self,
        event: ParticipantAdded | ParticipantRemoved,
        participant: Participant,
        writer: ConversationWriter,
    ) -> None:
        super().__init__(event.conversation_sid, writer)
        self.event = event
        self.participant = participant


class ConversationStateContext(_HookContext):
    """The conversation moved from ``old_state`` to ``new_state`` (``reason``: API, TIMER or
    EVENT). A closed conversation takes no more messages, so ``reply`` fails there."""

    def __init__(self, event: ConversationStateUpdated, writer: ConversationWriter) -> None:
        super().__init__(event.conversation_sid, writer)
        self.event = event

    @property
    def old_state(self) -> ConversationState:
        return self.event.state_from

    @property
    def new_state(self) -> ConversationState:
        return self.event.state_to

    @property
    def reason(self) -> str | None:
        return self.event.reason


class MessageAddContext:
    """A message about to be added (the onMessageAdd pre-event). Hooks run in order and see
    the previous hooks' rewrites; the first ``reject`` ends it and the message is never added.
    Twilio waits for the answer (5 s at most), so hooks must be quick and must not write to the
    conversation themselves."""

    def __init__(self, event: MessageAdd) -> None:
        self.event = event
        self.body = event.body
        self.attributes: dict[str, Any] = dict(event.attributes)
        self.rejection: str | None = None
        self._rewritten: set[str] = set()

    @property
    def conversation_sid(self) -> str:
        return self.event.conversation_sid

    @property
    def author(self) -> str:
        return self.event.author

    @property
    def address(self) -> str | None:
        """The author's phone address, when a phone wrote it."""
        return self.event.binding.address if self.event.binding else None

    def reject(self, reason: str = "rejected by the bot") -> None:
        """Refuse the message: Twilio does not add it."""
        self.rejection = reason

    def rewrite(
        self, *, body: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> None:
        """Change what will be added."""
        if body is not None:
            self.body = body
            self._rewritten.add("body")
        if attributes is not None:
            self.attributes = dict(attributes)
            self._rewritten.add("attributes")

    @property
    def changes(self) -> dict[str, Any]:
        """The rewritten fields, as Twilio reads them from the answer."""
        return {name: getattr(self, name) for name in sorted(self._rewritten)}
