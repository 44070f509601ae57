"""What a handler receives: the message, its session, the matched slots, and ways to answer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, Unpack

from botkit.contexts.once import EventEffects, RunsOnce
from botkit.contexts.reminders import Reminders
from botkit.contexts.sending import EventSends
from botkit.conversations.client import ConversationsClient
from botkit.conversations.info import ConversationInfo
from botkit.conversations.models import Participant
from botkit.effects.protocol import EffectStore
from botkit.errors import FlowError, SendError
from botkit.handoff.service import Ask, Handoff, HandoffResult, running
from botkit.handoff.store.protocol import DEFAULT_SKILL
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.outbound.messenger import From, Messenger, number_on_channel_of, reply_sender
from botkit.timers.protocol import Timer
from botkit.twilio.inbound import InboundMessage


class NamedFlow(Protocol):
    """A flow as a context refers to it: by its name (botkit.Flow is one)."""

    @property
    def name(self) -> str: ...


class FlowControl(Protocol):
    """What a 1:1 context asks of the bot's flows. The bot's FlowTable (botkit/app/flow_table.py)
    answers; contexts sit below flows, which drive handlers through them, so they know flows
    only by this."""

    async def start(
        self, ctx: Context, wanted: str | NamedFlow, answers: Mapping[str, Any]
    ) -> None: ...

    def active_name(self, session: dict[str, Any]) -> str | None: ...

    def cancel(self, session: dict[str, Any]) -> bool: ...


class Context(RunsOnce):
    """One handler invocation for a 1:1 message. ``session`` is saved when the handler returns
    without raising. Conversation messages get a ConversationContext instead
    (botkit/contexts/conversation.py)."""

    def __init__(
        self,
        message: InboundMessage,
        session: dict[str, Any],
        sender: Messenger,
        *,
        intent: str | None = None,
        slots: dict[str, str] | None = None,
        handoff: Handoff | None = None,
        flows: FlowControl | None = None,
        effects: EffectStore | None = None,
        reminders: Reminders | None = None,
        timer: Timer | None = None,
    ) -> None:
        """timer: the timer this handler runs for (``ctx.remind``, ``bot.schedule``), whose
        ``data`` it was armed with; None when the person wrote."""
        self.message = message
        self.timer = timer
        self._reminders = reminders
        self._armed = 0
        self.session = session
        self.intent = intent
        self.slots: dict[str, str] = slots or {}
        # Not a bound method of self: a context in a reference cycle waits, with its message
        # and session, for the cycle collector (tens of ms a pass under load), not for its
        # handler's end.
        self._sends = EventSends(sender, message.sid, partial(default_sender_for, message))
        self._effects = EventEffects(effects, message.sid)
        self._handoff = handoff
        self._flows = flows
        # The customer's turns with the bot, kept for an agent who may take over later.
        self._turns = handoff.turns(message) if handoff is not None else None
        if self._turns is not None:
            self._turns.heard(message.text)

    async def remind(
        self,
        *,
        intent: str,
        in_: timedelta | None = None,
        at: datetime | None = None,
        every: timedelta | None = None,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> str:
        """Run ``intent``'s handler for this person later (``in_`` from now, or ``at``), with
        their session, as if they had written; then again ``every`` so often, if given. It
        survives restarts and runs once however many processes serve the bot. ``key`` names
        it for this person: arming the same key again replaces it, and ``cancel_reminder(key)``
        disarms it. The handler finds ``data`` in ``ctx.timer.data``. Returns the timer's id."""
        if self._reminders is None:
            raise SendError("this bot runs without timers (no runtime built its reminders)")
        self._armed += 1
        message = self.message
        return await self._reminders.arm(
            sender=str(message.sender),
            recipient=str(message.recipient),
            messaging_service_sid=message.messaging_service_sid,
            intent=intent,
            at=at,
            in_=in_,
            every=every,
            key=key,
            data=data,
            default_id=f"{message.sid}:timer:{self._armed}",
        )

    async def cancel_reminder(self, key: str) -> bool:
        """Disarm this person's reminder named ``key`` (False: there was none)."""
        if self._reminders is None:
            return False
        reminders = self._reminders
        return await reminders.cancel(reminders.timer_id(str(self.message.sender), key))

    async def start_flow(self, flow: str | NamedFlow, **answers: Any) -> None:
        """Start a registered flow (by name, or the Flow) for this user, replacing any flow in
        progress; it asks its first question now. ``answers`` fills in steps already known
        (e.g. ``order_id=ctx.slots.get("order_id")``; None values are ignored), which are
        then not asked."""
        if self._flows is None:
            name = flow if isinstance(flow, str) else flow.name
            raise FlowError(f"flow {name!r}: this bot has no flows; add it with bot.add_flow")
        await self._flows.start(self, flow, answers)

    @property
    def active_flow(self) -> str | None:
        """The name of the flow waiting for this user's answer (None: no flow)."""
        return self._flows.active_name(self.session) if self._flows is not None else None

    def cancel_flow(self) -> bool:
        """End the flow in progress without a word (True if there was one)."""
        return self._flows.cancel(self.session) if self._flows is not None else False

    @property
    def conversations(self) -> ConversationsClient:
        """The running bot's Conversations client (the one the runtime shares)."""
        return running(self._handoff).client

    async def handoff(
        self,
        agent: str | None = None,
        *,
        skill: str = DEFAULT_SKILL,
        priority: int = 0,
        reason: str | None = None,
    ) -> HandoffResult:
        """Move this customer into a new Conversation with a human: ``agent`` (a chat
        identity or a phone number), or the least busy available agent of ``Bot(agents=...)``
        with ``skill``, or that skill's queue when none is free (``priority``: higher goes
        ahead of longer waiting). The session is carried over, and the agent is shown the
        customer's last turns with the bot, a summary of the session and ``reason``; bot
        intents are silenced in that conversation until an agent sends ``/resume``
        (botkit/handoff/service.py). A flow in progress ends (silently): the customer is
        talking to a person now, and a bot question asked again after the handoff would only
        be in the way."""
        ask = Ask(skill, priority, reason)
        self.cancel_flow()
        return await running(self._handoff).from_direct(
            self.message, self.session, agent, ask, self._turns
        )

    async def resume_bot(self) -> None:
        """Only a conversation can be handed back: a 1:1 message is already the bot's."""
        raise SendError("resume_bot() applies to a conversation handed off to an agent")

    @property
    def conversation(self) -> ConversationInfo | None:
        """None: a 1:1 message is in no conversation (lets ``scope="any"`` handlers tell)."""
        return None

    @property
    def participant(self) -> Participant | None:
        """None: in 1:1 texting the sender is ``message.sender``."""
        return None

    @property
    def reply_from(self) -> From:
        """The number or Messaging Service the user wrote to: replies must come from there."""
        return reply_sender(self.message)

    async def reply(
        self, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        """Answer the user, from the address they wrote to (options: ``SendOptions``, e.g.
        ``media_urls``, or ``content_sid`` for WhatsApp quick-reply buttons and cards)."""
        handle = await self.send(str(self.message.sender), text, **options)
        if self._turns is not None:
            await self._turns.said(text)
        return handle

    async def send(
        self, to: str, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        """Message anyone. The sender defaults to the address the user wrote to, on the
        channel of ``to``: texting an SMS number from a WhatsApp chat uses the same number's SMS.

        The idempotency key is the inbound MessageSid plus this message's position in the
        handler, so a handler re-run after a crash produces the same keys.
        """
        return await self._sends.send(to, text, **options)


def default_sender_for(message: InboundMessage, to: str) -> From:
    """Who a handler's message to ``to`` comes from when it names no sender: the Messaging
    Service the person wrote to, else the number they wrote to, on the channel of ``to``."""
    if message.messaging_service_sid:
        return reply_sender(message)
    return number_on_channel_of(to, message.recipient.number)
