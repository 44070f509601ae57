"""Handling an accepted Conversations post-event, in the inbound workers.

- onMessageAdded goes through the bot's one routing table, like a 1:1 message, but only intents
  registered with ``scope="conversation"`` or ``"any"`` match, and their handlers receive a
  ConversationContext. The Pipeline does the locking, running and failure handling (an error
  gets the apology, posted into the conversation). Before routing:
  - the bot's own messages (Author == BOTKIT_CONVERSATIONS_IDENTITY) and messages written by no
    participant (the API's ``system`` author, integrations) are skipped: no loops, no noise;
  - a phone participant's STOP/START is recorded in the consent ledger against the participant's
    proxy address (or the conversation's Messaging Service) and goes no further. No
    confirmation is posted: that would go to every participant, and Twilio answers the keyword
    on the phone's own channel. A WhatsApp participant's message renews its 24 h window.
  In a conversation handed off to an agent (or waiting for one), only the agent commands'
  table runs, and not for the customer; every message there but the commands (the customer's,
  the agent's, the bot's own) is kept in the conversation's history for the agent desk, and an
  agent's first reply is timed (botkit/handoff/service.py ``observe``). Commands taken at the
  pre-event arrive here too, queued by agent_command_intake.py.
- onParticipantAdded/Updated/Removed keep the participant mirror up to date, then run the
  ``on_participant_added`` / ``on_participant_removed`` hooks; onConversationStateUpdated runs
  the ``on_conversation_state`` hooks; onConversationRemoved makes the mirror forget.

Sessions: per conversation or per participant within it (``Bot(conversation_sessions=...)``,
overridable per intent), under keys that never collide with 1:1 ones (pipeline.py).
Participants come from the mirror (listed from the API once when it does not know the whole
conversation); unique name and attributes are fetched when a handler is about to run.
"""

from __future__ import annotations

import time
from typing import Any

from botkit.app.conversation_hooks import ConversationHooks, HookKind
from botkit.app.routes import Resolution, Route
from botkit.compliance.ledger.protocol import record_keyword
from botkit.contexts.conversation import ConversationContext
from botkit.contexts.hooks import ConversationStateContext, ParticipantContext
from botkit.contexts.sending import EventSends
from botkit.conversations.client import ConversationsClient
from botkit.conversations.errors import ConversationNotFound
from botkit.conversations.info import ConversationInfo
from botkit.conversations.models import Participant
from botkit.conversations.writer import ConversationWriter
from botkit.effects.protocol import owned_by
from botkit.handoff.service import Handoff
from botkit.handoff.store.protocol import HandoffRecord
from botkit.inbound.compliance_step import Compliance
from botkit.inbound.events import ConversationEvent
from botkit.inbound.pipeline import Pipeline
from botkit.logging import get_logger
from botkit.sessions.keys import SessionScope
from botkit.twilio.conversation_events import (
    ConversationRemoved,
    ConversationStateUpdated,
    MessageAdded,
    ParticipantAdded,
    ParticipantRemoved,
    ParticipantUpdated,
)

log = get_logger("conversations")


class ConversationPipeline:
    def __init__(
        self,
        pipeline: Pipeline,
        hooks: ConversationHooks,
        writer: ConversationWriter,
        *,
        sessions: SessionScope,
        compliance: Compliance | None = None,
        handoff: Handoff | None = None,
        agent_commands: Pipeline | None = None,
    ) -> None:
        """handoff + agent_commands: in a conversation handed off to an agent, only the agent
        commands' pipeline runs, and not for the customer (botkit/handoff/)."""
        self.pipeline = pipeline
        self.hooks = hooks
        self.writer = writer
        self.sessions = sessions
        self.compliance = compliance
        self.handoff = handoff
        self.agent_commands = agent_commands

    @property
    def client(self) -> ConversationsClient:
        return self.writer.client

    def _sends_for(self, event_key: str) -> EventSends:
        """What a hook's ``reply`` posts through: the outbound queue, keyed on the event."""
        return EventSends(self.pipeline.sender, event_key, author=self.writer.identity)

    async def process(self, item: ConversationEvent) -> str:
        """Handle one post-event; returns the outcome that was logged."""
        started = time.perf_counter()
        event = item.event
        intent: str | None = None
        if isinstance(event, MessageAdded):
            outcome, intent = await self._message(event)
        elif isinstance(event, ParticipantAdded | ParticipantUpdated | ParticipantRemoved):
            outcome = await self._participant(event)
        elif isinstance(event, ConversationStateUpdated):
            ctx = ConversationStateContext(event, self._sends_for(event.dedup_id))
            failed = await self.hooks.run(
                "conversation_state", ctx, state=event.state_to, conversation=event.conversation_sid
            )
            outcome = _hooks_outcome(failed)
        elif isinstance(event, ConversationRemoved):
            if self.client.mirror is not None:
                await self.client.mirror.forget(event.conversation_sid)
            outcome = "forgotten"
        else:
            outcome = "ignored"
        log.info(
            "conversation event handled",
            event_type=event.event_type,
            conversation=event.conversation_sid,
            sid=event.sid if isinstance(event, MessageAdded) else None,
            intent=intent,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            result=outcome,
        )
        return outcome

    # Messages ------------------------------------------------------------------------------

    async def _message(self, message: MessageAdded) -> tuple[str, str | None]:
        record = await self._handed_off(message)
        if message.author == self.writer.identity:
            if record is not None:
                await self._observe(message, record, None)
            return "own_message", None
        if message.participant_sid is None:
            return "not_a_participant", None
        try:
            author = await self._author(message)
            keyword = await self._compliance(message, author)
            if keyword is not None:
                return keyword, None
            if record is not None and self._is_customer(record, message, author):
                await self._observe(message, record, author.address)
                return "with_agent", None
            pipeline = self.pipeline if record is None else self.agent_commands
            if record is not None and (
                pipeline is None or await pipeline.routes.resolve(message) is None
            ):
                # Agents talking to the customer: kept for the desk, nothing for the bot.
                await self._observe(message, record, author.address)
            if pipeline is None:
                return "with_agent", None
            outcome, route = await pipeline.run(ConversationTurn(self, message, author))
        except ConversationNotFound:
            # Deleted before we got to it: nothing to answer, and retrying cannot help.
            return "conversation_gone", None
        return outcome, route.name if route else None

    async def _handed_off(self, message: MessageAdded) -> HandoffRecord | None:
        """The conversation's handoff while it is with an agent or waiting for one: then only
        agent commands run there, and not for the customer (their messages are for the agent,
        not the bot)."""
        if self.handoff is None:
            return None
        record = await self.handoff.store.get(message.conversation_sid)
        return record if record is not None and record.silences_bot else None

    @staticmethod
    def _is_customer(record: HandoffRecord, message: MessageAdded, author: Participant) -> bool:
        return record.customer is not None and record.customer in (message.author, author.address)

    async def _observe(
        self, message: MessageAdded, record: HandoffRecord, address: str | None
    ) -> None:
        assert self.handoff is not None
        await self.handoff.observe(message, record, address)

    async def _author(self, message: MessageAdded) -> Participant:
        """Who wrote: from the mirror (listing the conversation once if the mirror does not know
        all of it), else from the event's own fields."""
        mirror = self.client.mirror
        sid = message.conversation_sid
        key = message.participant_sid or message.author
        if mirror is not None:
            found = await mirror.find(sid, key)
            if found is None and not await mirror.synced(sid):
                await self.client.participants(sid)
                found = await mirror.find(sid, key)
            if found is not None:
                return found
        return participant_from_message(message)

    async def _compliance(self, message: MessageAdded, author: Participant) -> str | None:
        """Record a phone participant's STOP/START; the outcome if the message was one."""
        if self.compliance is None or author.address is None:
            return None
        proxy = author.proxy_address or author.projected_address
        service = message.messaging_service_sid
        if author.kind == "whatsapp" and (proxy or service):
            await self.compliance.windows.touch(service or str(proxy), author.address)
        match = self.compliance.keywords.classify(message.body)
        if match is None or match.kind == "help" or not (proxy or service):
            return None
        await record_keyword(
            self.compliance.ledger,
            match,
            number=author.address,
            sender=proxy or "",
            messaging_service_sid=service,
        )
        return f"keyword:{match.kind}"

    async def conversation_info(self, conversation_sid: str) -> ConversationInfo:
        """The conversation as a handler sees it: fetched, with the mirror's participants."""
        conversation = await self.client.fetch(conversation_sid)
        participants = await self.client.participants(conversation_sid)
        return ConversationInfo(
            sid=conversation.sid,
            unique_name=conversation.unique_name,
            friendly_name=conversation.friendly_name,
            attributes=dict(conversation.attributes),
            state=conversation.state,
            participants=tuple(participants),
        )

    # Participants --------------------------------------------------------------------------

    async def _participant(
        self, event: ParticipantAdded | ParticipantUpdated | ParticipantRemoved
    ) -> str:
        participant = participant_from_event(event)
        mirror = self.client.mirror
        if isinstance(event, ParticipantRemoved):
            if mirror is not None:
                await mirror.apply_removed(event.conversation_sid, event.participant_sid)
            ctx = ParticipantContext(event, participant, self._sends_for(event.dedup_id))
            return _hooks_outcome(await self._run_participant_hooks("participant_removed", ctx))
        if mirror is not None:
            await mirror.apply_added(participant)
        if isinstance(event, ParticipantUpdated):
            return "mirrored"
        ctx = ParticipantContext(event, participant, self._sends_for(event.dedup_id))
        return _hooks_outcome(await self._run_participant_hooks("participant_added", ctx))

    async def _run_participant_hooks(self, kind: HookKind, ctx: ParticipantContext) -> int:
        return await self.hooks.run(
            kind, ctx, conversation=ctx.conversation_sid, participant=ctx.participant.sid
        )


class ConversationTurn:
    """A conversation message, as the Pipeline runs it (see pipeline.Turn)."""

    def __init__(
        self, owner: ConversationPipeline, message: MessageAdded, author: Participant
    ) -> None:
        self.owner = owner
        self.message = message
        self.author = author
        self._info: ConversationInfo | None = None

    def session_key(self, route: Route) -> str:
        scope = route.sessions or self.owner.sessions
        return self.owner.pipeline.keys.of_message(self.message, scope)

    async def context(
        self, session: dict[str, Any], found: Resolution | None
    ) -> ConversationContext:
        if self._info is None:
            self._info = await self.owner.conversation_info(self.message.conversation_sid)
        return ConversationContext(
            self.message,
            session,
            conversation=self._info,
            participant=self.author,
            writer=self.owner.writer,
            sender=self.owner.pipeline.sender,
            intent=found.route.name if found else None,
            slots=found.slots if found else None,
            handoff=self.owner.handoff,
            # ctx.once results, under the pseudonym of the author (an erase finds them).
            effects=owned_by(
                self.owner.pipeline.effects, self.owner.pipeline.keys.pseudonym(self.message.author)
            ),
        )


def participant_from_message(message: MessageAdded) -> Participant:
    """The author as far as the event tells: a phone's binding, or a chat identity."""
    binding = message.binding
    phone = binding is not None and binding.address is not None
    return Participant.build(
        sid=message.participant_sid or "",
        conversation_sid=message.conversation_sid,
        identity=None if phone else message.author,
        address=binding.address if binding else None,
        proxy_address=binding.proxy_address if binding else None,
        projected_address=binding.projected_address if binding else None,
    )


def participant_from_event(
    event: ParticipantAdded | ParticipantUpdated | ParticipantRemoved,
) -> Participant:
    binding = event.binding
    return Participant.build(
        sid=event.participant_sid,
        conversation_sid=event.conversation_sid,
        identity=event.identity,
        address=binding.address if binding else None,
        proxy_address=binding.proxy_address if binding else None,
        projected_address=binding.projected_address if binding else None,
        attributes=dict(event.attributes),
        role_sid=event.role_sid,
        date_created=event.date_created,
        date_updated=event.date_updated,
    )


def _hooks_outcome(failed: int) -> str:
    return "ok" if failed == 0 else f"hooks_failed:{failed}"
