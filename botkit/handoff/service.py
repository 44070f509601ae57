"""``Handoff``: what ``ctx.handoff``, ``ctx.resume_bot``, ``/close`` and ``bot.take_next`` do.

From a 1:1 exchange, ``from_direct``:
1. creates a Conversation whose unique name is derived from the customer's address and the bot
   number they wrote to (``handoff:<customer>:<bot number>``; a closed one of that name gets a
   time suffix), with the handoff recorded in its attributes;
2. adds the customer as an SMS or WhatsApp participant, proxied through the number they wrote
   to. If that pair is already bound (ParticipantAlreadyBound), the new conversation is
   deleted and the one holding the customer is used instead;
3. copies the customer's 1:1 session into the conversation's session (and into the customer's
   participant session within it), through the SessionStore under its lock;
4. continues as ``in_conversation``.

``in_conversation`` records the conversation as silenced (mode ``agent``, or ``queued`` when no
agent of the pool is free: the conversation joins the queue and the customer is told their
place), adds the agent (a chat identity, or a phone number through a proxy) and posts a notice
into the conversation, which every participant reads (phones by SMS/WhatsApp). While silenced,
the conversation pipeline runs only agent commands, and only for participants other than the
customer; everything else flows between the participants through Twilio.

The mode lives in the HandoffStore (read on every conversation message, without an API call)
and is copied into the conversation's attributes (``attributes["handoff"]``) for people and
other tools to see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from botkit.conversations.client import ConversationsClient
from botkit.conversations.errors import (
    ConversationClosed,
    ConversationNotFound,
    DuplicateParticipant,
    NotFound,
    ParticipantAlreadyBound,
    UniqueNameTaken,
)
from botkit.conversations.writer import ConversationWriter
from botkit.errors import BotkitError, SendError
from botkit.handoff.pool import AgentPool, HandoffTexts
from botkit.handoff.store.protocol import HandoffMode, HandoffRecord, HandoffStore
from botkit.logging import get_logger
from botkit.sessions.keys import conversation_key
from botkit.sessions.locking import SessionPolicy, acquire_session
from botkit.sessions.protocol import SessionStore
from botkit.twilio.inbound import InboundMessage

log = get_logger("handoff")


class HandoffError(BotkitError):
    """A handoff that cannot be done as asked (no agent and no pool, no such conversation)."""


@dataclass(frozen=True)
class HandoffResult:
    """Where the customer went: the conversation, and the agent, or their place in line."""

    conversation_sid: str
    agent: str | None = None
    position: int | None = None

    @property
    def queued(self) -> bool:
        return self.agent is None


#: What happens once a handed-off conversation closed, with its last record (the bot's
#: ``on_handoff_closed`` hooks: botkit/contexts/handoff_closed.py).
OnClose = Callable[[HandoffRecord], Awaitable[None]]


def running(handoff: Handoff | None) -> Handoff:
    """The running bot's handoff; a clear error for code that runs without one (a context built
    outside a running bot)."""
    if handoff is None:
        raise SendError("conversations and handoff need a running bot (botkit run, or create_app)")
    return handoff


def is_phone(agent: str) -> bool:
    return agent.startswith(("+", "whatsapp:"))


def _number(address: str) -> str:
    return address.removeprefix("whatsapp:")


class Handoff:
    def __init__(
        self,
        *,
        bot_name: str,
        client: ConversationsClient,
        writer: ConversationWriter,
        store: HandoffStore,
        sessions: SessionStore,
        policy: SessionPolicy,
        pool: AgentPool | None = None,
        texts: HandoffTexts | None = None,
        on_close: OnClose | None = None,
    ) -> None:
        """on_close: runs once a conversation closed (the bot's ``on_handoff_closed`` hooks)."""
        self.bot_name = bot_name
        self.client = client
        self.writer = writer
        self.store = store
        self.sessions = sessions
        self.policy = policy
        self.pool = pool
        self.texts = texts or HandoffTexts()
        self.on_close = on_close

    # Starting ------------------------------------------------------------------------------

    async def from_direct(
        self, message: InboundMessage, session: dict[str, Any], agent: str | None
    ) -> HandoffResult:
        """Move a 1:1 customer into a conversation (carrying ``session``) and hand it off."""
        customer, proxy = str(message.sender), str(message.recipient)
        conversation_sid = await self._conversation_for(message, customer, proxy)
        await self._copy_session(conversation_sid, customer, session)
        return await self.in_conversation(conversation_sid, agent, customer=customer, proxy=proxy)

    async def in_conversation(
        self,
        conversation_sid: str,
        agent: str | None,
        *,
        customer: str | None = None,
        proxy: str | None = None,
    ) -> HandoffResult:
        """Hand an existing conversation to ``agent``, or to a free agent of the pool, or put
        it in line."""
        known = await self.store.get(conversation_sid)
        record = HandoffRecord(
            conversation_sid=conversation_sid,
            mode="queued",
            customer=customer or (known.customer if known else None),
            proxy=proxy or (known.proxy if known else None),
            agent=known.agent if known and known.mode == "agent" else None,
        )
        if record.agent is not None and agent in (None, record.agent):
            return HandoffResult(conversation_sid, agent=record.agent)  # already with one
        if record.agent is not None:  # to another agent
            await self._leave(record)
            record = record.model_copy(update={"agent": None})
        if agent is not None:
            await self.store.acquire(agent)
        elif self.pool is not None:
            agent = await self.store.assign(self.pool.agents, self.pool.capacity)
        else:
            raise HandoffError("handoff() needs an agent, or Bot(agents=AgentPool(...))")
        if agent is None:
            return await self._enqueue(record)
        await self._connect(record, agent)
        return HandoffResult(conversation_sid, agent=agent)

    async def take_next(self, agent: str) -> str | None:
        """Give ``agent`` the conversation waiting longest; None when no one waits or the agent
        is at capacity. Conversations that closed while waiting are skipped."""
        capacity = self.pool.capacity if self.pool is not None else 1
        moved = False
        while True:
            taken = await self.store.take(agent, capacity)
            if taken is None:
                if moved:
                    await self._announce_positions(1)
                return None
            moved = True
            record = await self.store.get(taken) or HandoffRecord(
                conversation_sid=taken, mode="queued"
            )
            try:
                await self._connect(record, agent)
            except (ConversationNotFound, ConversationClosed):
                log.info("queued conversation gone; skipped", conversation=taken)
                await self.store.release(agent)
                await self.store.delete(taken)
                continue
            await self._announce_positions(1)
            return taken

    # Ending --------------------------------------------------------------------------------

    async def resume(self, conversation_sid: str) -> None:
        """Back to the bot: the agent leaves (and is free again), bot intents fire again."""
        record = await self.store.get(conversation_sid)
        if record is None or record.mode == "bot":
            return
        await self._leave_queue(conversation_sid)
        await self._leave(record)
        record = record.model_copy(update={"mode": "bot", "agent": None})
        await self._set(record)
        await self.writer.post(conversation_sid, self.texts.resumed)

    async def close(self, conversation_sid: str) -> None:
        """End the conversation for good; the customer texts the bot 1:1 again afterwards.
        Then the bot's ``on_handoff_closed`` hooks run (a survey, say)."""
        record = await self.store.get(conversation_sid)
        if record is not None:
            await self._leave_queue(conversation_sid)
            if record.agent is not None:
                await self.store.release(record.agent)
            await self.store.delete(conversation_sid)
        with suppress(ConversationClosed):
            await self.writer.post(conversation_sid, self.texts.closed)
            await self.client.close(conversation_sid)
        if record is not None and self.on_close is not None:
            await self.on_close(record)

    async def mode(self, conversation_sid: str) -> HandoffMode:
        record = await self.store.get(conversation_sid)
        return record.mode if record else "bot"

    # Steps ---------------------------------------------------------------------------------

    async def _conversation_for(self, message: InboundMessage, customer: str, proxy: str) -> str:
        attributes = {"handoff": {"customer": customer, "proxy": proxy, "mode": "queued"}}
        base = f"handoff:{customer}:{_number(proxy)}"
        try:
            created = await self.client.create(
                unique_name=base,
                friendly_name=f"Handoff {customer}",
                attributes=attributes,
                messaging_service_sid=message.messaging_service_sid,
            )
        except UniqueNameTaken:
            existing = await self.client.fetch(base)
            if existing.state != "closed":
                created = existing
            else:
                created = await self.client.create(
                    unique_name=f"{base}:{int(time.time() * 1000)}",
                    friendly_name=f"Handoff {customer}",
                    attributes=attributes,
                    messaging_service_sid=message.messaging_service_sid,
                )
        try:
            if message.channel == "whatsapp":
                await self.client.add_whatsapp(created.sid, customer, proxy)
            else:
                await self.client.add_sms(created.sid, customer, proxy)
        except ParticipantAlreadyBound as bound:
            if bound.conversation_sid is None or bound.conversation_sid == created.sid:
                if bound.conversation_sid == created.sid:
                    return created.sid
                raise
            log.info(
                "customer already in a conversation; using it",
                conversation=bound.conversation_sid,
            )
            with suppress(NotFound):
                await self.client.delete(created.sid)
            return bound.conversation_sid
        return created.sid

    async def _copy_session(
        self, conversation_sid: str, customer: str, session: dict[str, Any]
    ) -> None:
        """Into the conversation's session and the customer's own within it, so intents with
        either scope find it; values already there are overwritten by the 1:1 ones."""
        carried: dict[str, Any] = json.loads(json.dumps(session))
        for key in (
            conversation_key(self.bot_name, conversation_sid),
            conversation_key(self.bot_name, conversation_sid, customer),
        ):
            lease = await acquire_session(
                self.sessions, key, lease=self.policy.lease, wait=self.policy.wait
            )
            lease.data.update(carried)
            if not await self.sessions.commit(lease, lease.data, self.policy.ttl):
                log.error("session lock lost while carrying a session over", key=key)

    async def _enqueue(self, record: HandoffRecord) -> HandoffResult:
        queued = record.model_copy(update={"mode": "queued", "agent": None})
        await self._set(queued)
        position = await self.store.enqueue(record.conversation_sid, time.time())
        await self.writer.post(record.conversation_sid, self.texts.queued.format(position=position))
        return HandoffResult(record.conversation_sid, position=position)

    async def _connect(self, record: HandoffRecord, agent: str) -> None:
        await self._leave_queue(record.conversation_sid)
        connected = record.model_copy(update={"mode": "agent", "agent": agent})
        await self._set(connected)
        try:
            await self._add_agent(connected, agent)
        except Exception:
            await self.store.release(agent)
            raise
        await self.writer.post(record.conversation_sid, self.texts.connected.format(agent=agent))

    async def _leave_queue(self, conversation_sid: str) -> None:
        """Out of the line, if it was in it; those behind it move up and are told."""
        position = await self.store.position(conversation_sid)
        if position is not None and await self.store.dequeue(conversation_sid):
            await self._announce_positions(position)

    async def _announce_positions(self, first: int) -> None:
        """Tell every conversation waiting at ``first`` or behind its place in line now.
        Positions are read afresh, so concurrent changes are told as they stand."""
        for position, conversation_sid in enumerate(await self.store.waiting(), start=1):
            if position < first:
                continue
            try:
                await self.writer.post(
                    conversation_sid, self.texts.moved_up.format(position=position)
                )
            except (ConversationNotFound, ConversationClosed):
                log.info("waiting conversation gone; not told", conversation=conversation_sid)

    async def _add_agent(self, record: HandoffRecord, agent: str) -> None:
        try:
            if not is_phone(agent):
                await self.client.add_chat(record.conversation_sid, agent)
                return
            proxy = _number((self.pool.proxy if self.pool else None) or record.proxy or "")
            if not proxy:
                raise HandoffError(f"phone agent {agent}: no proxy number to bind them through")
            if agent.startswith("whatsapp:"):
                await self.client.add_whatsapp(record.conversation_sid, agent, proxy)
            else:
                await self.client.add_sms(record.conversation_sid, agent, proxy)
        except DuplicateParticipant:
            return

    async def _leave(self, record: HandoffRecord) -> None:
        if record.agent is None:
            return
        await self.store.release(record.agent)
        with suppress(NotFound):
            await self.client.remove_participant(record.conversation_sid, record.agent)

    async def _set(self, record: HandoffRecord) -> None:
        """Store the mode, then show it in the conversation's attributes."""
        await self.store.put(record)
        conversation = await self.client.fetch(record.conversation_sid)
        attributes = dict(conversation.attributes)
        attributes["handoff"] = record.model_dump(exclude={"conversation_sid"})
        await self.client.update(record.conversation_sid, attributes=attributes)
