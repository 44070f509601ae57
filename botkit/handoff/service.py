"""``Handoff``: what ``ctx.handoff``, the agent commands, the agent desk and ``bot.take_next`` do.

From a 1:1 exchange, ``from_direct``:
1. creates a Conversation whose unique name is derived from the customer's address and the bot
   number they wrote to (``handoff:<customer>:<bot number>``; a closed one of that name gets a
   time suffix), with the handoff recorded in its attributes;
2. adds the customer as an SMS or WhatsApp participant, proxied through the number they wrote
   to. If that pair is already bound (ParticipantAlreadyBound), the new conversation is
   deleted and the one holding the customer is used instead;
3. copies the customer's 1:1 session into the conversation's session (and into the customer's
   participant session within it), through the SessionStore under its lock, and hands the
   agent the customer's last turns with the bot, a summary and the reason (transcript.py);
4. continues as ``in_conversation``.

``in_conversation`` routes the conversation: to the agent named, or, through the
HandoffStore's one atomic step, to a free agent of the skill asked for, or into that skill's
queue (the customer is told their place). While an agent has it or it waits, the conversation
pipeline runs only agent commands, and only for participants other than the customer;
everything else flows between the participants through Twilio.

Every later decision is also one step of the store, and this class then does what it implies
in Twilio: an agent who frees up (a close, a resume, a transfer away, becoming available) takes
the next in line at once and is added to that conversation; an agent going offline has their
conversations given to others or queued again; the customers behind in a queue are told their
new place. What only an agent should read goes to them through ``Notices``.

The mode lives in the HandoffStore (read on every conversation message, without an API call)
and is copied into the conversation's attributes (``attributes["handoff"]``) for people and
other tools to see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from botkit.compliance.hashing import NumberHasher
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
from botkit.core import clock
from botkit.errors import BotkitError, SendError
from botkit.handoff.history.protocol import (
    HistoryEntry,
    HistoryStore,
    Role,
    conversation_thread,
    customer_thread,
)
from botkit.handoff.notices import Notices, is_phone
from botkit.handoff.pool import DEFAULT_TOLD_PLACES, AgentPool, HandoffTexts
from botkit.handoff.store.protocol import (
    DEFAULT_SKILL,
    HandoffMode,
    HandoffRecord,
    HandoffStore,
    Presence,
    Refusal,
    Roster,
    check_priority,
    check_skill,
)
from botkit.handoff.transcript import (
    Turns,
    attributes_copy,
    handover,
    summary_of,
)
from botkit.logging import get_logger, mask_phone
from botkit.metrics import Metrics
from botkit.sessions.keys import SessionKeys
from botkit.sessions.locking import SessionPolicy, acquire_session
from botkit.sessions.protocol import SessionStore
from botkit.twilio.conversation_events import MessageAdded
from botkit.twilio.inbound import InboundMessage

log = get_logger("handoff")


class HandoffError(BotkitError):
    """A handoff that cannot be done as asked (no agent and no pool, no such skill)."""


@dataclass(frozen=True)
class HandoffResult:
    """Where the customer went: the conversation, and the agent, or their place in line."""

    conversation_sid: str
    agent: str | None = None
    position: int | None = None

    @property
    def queued(self) -> bool:
        return self.agent is None


@dataclass(frozen=True)
class Ask:
    """What a handoff asks for: a skill's queue, a priority in it, and why."""

    skill: str = DEFAULT_SKILL
    priority: int = 0
    reason: str | None = None

    def __post_init__(self) -> None:
        check_skill(self.skill)
        check_priority(self.priority)


@dataclass(frozen=True)
class AgentView:
    name: str
    presence: Presence
    load: int
    capacity: int
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Team:
    """The team as it stands: each skill's queue (best first; its head only, if the caller
    asked for a limit) and length, and every agent of the pool."""

    queues: dict[str, list[HandoffRecord]]
    lengths: dict[str, int]
    agents: list[AgentView]


#: What happens once a handed-off conversation closed, with its last record (the bot's
#: ``on_handoff_closed`` hooks: botkit/contexts/handoff_closed.py).
OnClose = Callable[[HandoffRecord], Awaitable[None]]

_REFUSALS: dict[Refusal, str] = {
    "not_with_agent": "This conversation is not with an agent; nothing was transferred.",
    "same_agent": "It is already yours; nothing was transferred.",
    "unknown_agent": "There is no agent {target} in the team; nothing was transferred.",
    "unavailable": "{target} is not available; nothing was transferred.",
    "full": "{target} has no room for another conversation; nothing was transferred.",
    "no_skill": "No agent takes {target} conversations; nothing was transferred.",
}


def running(handoff: Handoff | None) -> Handoff:
    """The running bot's handoff; a clear error for code that runs without one (a context built
    outside a running bot)."""
    if handoff is None:
        raise SendError("conversations and handoff need a running bot (botkit run, or create_app)")
    return handoff


def _number(address: str) -> str:
    return address.removeprefix("whatsapp:")


class Handoff:
    def __init__(
        self,
        *,
        keys: SessionKeys,
        client: ConversationsClient,
        writer: ConversationWriter,
        store: HandoffStore,
        history: HistoryStore,
        sessions: SessionStore,
        policy: SessionPolicy,
        hasher: NumberHasher,
        notices: Notices | None = None,
        pool: AgentPool | None = None,
        texts: HandoffTexts | None = None,
        on_close: OnClose | None = None,
        metrics: Metrics | None = None,
        transcript_ttl: float | None = None,
    ) -> None:
        """on_close: runs once a conversation closed (the bot's ``on_handoff_closed`` hooks).
        metrics: where the handoffs started, taken, transferred and closed are counted.
        transcript_ttl: how long a customer's 1:1 turns are kept for a later handoff
        (BOTKIT_TRANSCRIPT_RETENTION; default: the session's lifetime)."""
        self.keys = keys
        self.client = client
        self.writer = writer
        self.store = store
        self.history = history
        self.sessions = sessions
        self.policy = policy
        self.transcript_ttl = policy.ttl if transcript_ttl is None else transcript_ttl
        self.hasher = hasher
        self.notices = notices or Notices(history, hasher.pseudonym)
        self.pool = pool
        self.roster = pool.roster if pool is not None else Roster()
        self.texts = texts or HandoffTexts()
        self.on_close = on_close
        self.metrics = metrics

    # Starting ------------------------------------------------------------------------------

    def turns(self, message: InboundMessage) -> Turns | None:
        """Where a 1:1 message and the bot's replies to it are kept for a later handoff (None:
        the bot has no pool, or shows no transcript)."""
        keep = self.pool.transcript_turns if self.pool is not None else 0
        if keep == 0:
            return None
        thread = customer_thread(self.hasher.digest(str(message.sender)))
        return Turns(self.history, thread, keep, self.transcript_ttl)

    async def from_direct(
        self,
        message: InboundMessage,
        session: dict[str, Any],
        agent: str | None,
        ask: Ask | None = None,
        turns: Turns | None = None,
    ) -> HandoffResult:
        """Move a 1:1 customer into a conversation (carrying ``session``) and hand it off, with
        their last ``turns`` with the bot for the agent."""
        ask = ask or Ask()
        self._check(agent, ask)
        customer, proxy = str(message.sender), str(message.recipient)
        conversation_sid = await self._conversation_for(message, customer, proxy)
        await self._copy_session(conversation_sid, customer, session)
        said = await turns.last() if turns is not None else []
        summary = summary_of(session)
        await self.history.append(
            conversation_thread(conversation_sid), [*said, handover(ask.reason, summary)]
        )
        if turns is not None:
            await self.history.erase(turns.thread)  # moved: the conversation holds them now
        await self._show_handover(conversation_sid, attributes_copy(said, ask.reason, summary))
        return await self.in_conversation(
            conversation_sid, agent, ask, customer=customer, proxy=proxy
        )

    async def in_conversation(
        self,
        conversation_sid: str,
        agent: str | None,
        ask: Ask | None = None,
        *,
        customer: str | None = None,
        proxy: str | None = None,
    ) -> HandoffResult:
        """Hand an existing conversation to ``agent``, or to a free agent of the pool with the
        skill asked, or put it in that skill's line."""
        ask = ask or Ask()
        self._check(agent, ask)
        known = await self.store.get(conversation_sid)
        if known is not None and known.mode == "agent" and agent in (None, known.agent):
            return HandoffResult(conversation_sid, agent=known.agent)  # already with one
        if known is not None and known.mode == "queued" and agent is None:
            return HandoffResult(
                conversation_sid, position=await self.store.position(conversation_sid)
            )
        record = HandoffRecord(
            conversation_sid=conversation_sid,
            mode="queued",
            customer=customer or (known.customer if known else None),
            proxy=proxy or (known.proxy if known else None),
            skill=ask.skill,
            priority=ask.priority,
            reason=ask.reason,
            queued_at=clock.now(),
        )
        self._count("started")
        if agent is None:
            routed = await self.store.route(record, self.roster, clock.now())
        else:
            routed = await self.store.assign(record, agent, self.roster, clock.now())
            if known is not None and known.agent not in (None, agent):
                await self._remove_agent(conversation_sid, str(known.agent))
        if routed.left_position is not None:
            await self._announce_positions(record.skill, routed.left_position)
        placed = routed.record
        if placed.agent is not None:
            await self._connect(placed)
        else:
            await self._set(placed)
            await self.writer.post(
                conversation_sid, self.texts.queued.format(position=routed.position)
            )
        await self._connect_all(routed.assigned)
        return HandoffResult(conversation_sid, agent=placed.agent, position=routed.position)

    def _check(self, agent: str | None, ask: Ask) -> None:
        if agent is not None:
            return
        if self.pool is None:
            raise HandoffError("handoff() needs an agent, or Bot(agents=AgentPool(...))")
        if not self.roster.skilled(ask.skill):
            raise HandoffError(
                f"no agent of the pool has the skill {ask.skill!r} "
                f"(skills: {', '.join(self.roster.skills)})"
            )

    # Agents --------------------------------------------------------------------------------

    async def take_next(self, agent: str) -> str | None:
        """Give ``agent`` the best conversation waiting for their skills; None when no one waits,
        the agent is at capacity, offline, or not in the pool. Conversations that closed while
        waiting are skipped."""
        while True:
            record = await self.store.take(agent, self.roster, clock.now())
            if record is None:
                return None
            try:
                await self._connect(record)
            except (ConversationNotFound, ConversationClosed):
                log.info("queued conversation gone; skipped", conversation=record.conversation_sid)
                await self.store.release(
                    record.conversation_sid, self.roster, clock.now(), to_bot=False
                )
                continue
            await self._announce_positions(record.skill, 1)
            return record.conversation_sid

    async def set_presence(self, agent: str, presence: Presence) -> None:
        """Available: the agent takes waiting conversations up to their capacity, now and
        whenever they free up. Away: they keep what they have and get nothing new. Offline:
        their conversations go to other agents, or back in line keeping their wait."""
        if self.roster.member(agent) is None:
            raise HandoffError(f"{agent} is not an agent of the pool")
        changed = await self.store.set_presence(agent, presence, self.roster, clock.now())
        log.info("agent presence", agent=mask_phone(agent), presence=presence, moved=len(changed))
        for record in changed:
            if presence == "offline":
                await self._remove_agent(record.conversation_sid, agent)
            if record.agent is None:
                await self._set(record)
        await self._connect_all(changed)

    async def presence(self, agent: str) -> Presence:
        return await self.store.presence(agent, self.roster)

    async def transfer(
        self, conversation_sid: str, target: str, *, by: str, note: str | None = None
    ) -> str:
        """Move the conversation from its agent (``by``) to another agent (``agent-2``) or to a
        skill's queue (``@billing``), with a note for whoever gets it. Returns what to tell
        ``by``: done, or why not."""
        target = target.strip()
        skill = target[1:] if target.startswith("@") else None
        try:
            if skill is not None:
                check_skill(skill)
        except ValueError as exc:
            return f"{exc}; nothing was transferred."
        record = await self.store.get(conversation_sid)
        if record is None or record.agent != by:
            return "This conversation is not yours; nothing was transferred."
        moved = await self.store.transfer(
            conversation_sid,
            self.roster,
            clock.now(),
            agent=None if skill is not None else target,
            skill=skill,
        )
        if moved.record is None:
            return _REFUSALS[moved.refusal or "not_with_agent"].format(target=target)
        self._count("transferred")
        await self._remove_agent(conversation_sid, by)
        text = f"Transferred by {by} to {target}" + (f": {note}" if note else ".")
        await self.add_note(conversation_sid, by, text)
        new = moved.record
        if new.agent is not None:
            await self._connect(new, transferred=(by, note))
            told = f"Transferred to {new.agent}."
        else:
            await self._set(new)
            await self._post(conversation_sid, self.texts.queued.format(position=moved.position))
            await self._announce_positions(new.skill, (moved.position or 0) + 1)
            told = f"Transferred to {target}: number {moved.position} in line."
        await self._connect_all(moved.assigned)
        return told

    async def add_note(self, conversation_sid: str, author: str, text: str) -> None:
        """A note for agents only, kept in the conversation's history (the desk shows it)."""
        entry = HistoryEntry(at=clock.now(), kind="note", role="agent", author=author, text=text)
        await self.history.append(conversation_thread(conversation_sid), [entry])

    async def team(self, limit: int | None = None) -> Team:
        """The queues (the first ``limit`` of each, if given) and the agents, as they stand."""
        skills = sorted({*self.roster.skills, *await self.store.skills()})
        queues = {skill: await self.store.waiting(skill, limit) for skill in skills}
        lengths = {skill: await self.store.length(skill) for skill in skills}
        agents = [
            AgentView(
                m.name,
                await self.store.presence(m.name, self.roster),
                len(await self.store.holding(m.name)),
                m.capacity,
                m.skills,
            )
            for m in self.roster.members
        ]
        return Team(queues, lengths, agents)

    # Ending --------------------------------------------------------------------------------

    async def resume(self, conversation_sid: str) -> None:
        """Back to the bot: the agent leaves (and takes the next in line), bot intents fire
        again."""
        known = await self.store.get(conversation_sid)
        if known is None or known.mode == "bot":
            return
        released = await self.store.release(conversation_sid, self.roster, clock.now(), to_bot=True)
        if released is None:
            return
        self._count("resumed")
        if released.left_position is not None:
            await self._announce_positions(released.record.skill, released.left_position)
        if released.record.agent is not None:
            await self._remove_agent(conversation_sid, released.record.agent)
        await self._set(released.record.model_copy(update={"mode": "bot", "agent": None}))
        await self.writer.post(conversation_sid, self.texts.resumed)
        await self._connect_all(released.assigned)

    async def close(self, conversation_sid: str) -> None:
        """End the conversation for good; the customer texts the bot 1:1 again afterwards.
        Then the bot's ``on_handoff_closed`` hooks run (a survey, say), and the agent, now
        free, takes the next in line."""
        released = await self.store.release(
            conversation_sid, self.roster, clock.now(), to_bot=False
        )
        if released is not None:
            self._count("closed")
            if released.left_position is not None:
                await self._announce_positions(released.record.skill, released.left_position)
        with suppress(ConversationClosed):
            await self.writer.post(conversation_sid, self.texts.closed)
            await self.client.close(conversation_sid)
        if released is None:
            return
        if self.on_close is not None:
            await self.on_close(released.record)
        await self._connect_all(released.assigned)

    async def mode(self, conversation_sid: str) -> HandoffMode:
        record = await self.store.get(conversation_sid)
        return record.mode if record else "bot"

    # What happens in a handed-off conversation ---------------------------------------------

    async def observe(
        self, message: MessageAdded, record: HandoffRecord, address: str | None = None
    ) -> None:
        """Keep a message of a handed-off conversation in its history (the desk shows it live);
        an agent's first reply is measured. ``address``: the author's phone address, if any."""
        role: Role = "agent"
        if message.author == self.writer.identity:
            role = "bot"
        elif record.customer is not None and record.customer in (message.author, address):
            role = "customer"
        entry = HistoryEntry(
            at=clock.now(), kind="message", role=role, author=message.author, text=message.body
        )
        await self.history.append(conversation_thread(record.conversation_sid), [entry])
        if role == "agent":
            waited = await self.store.mark_replied(
                record.conversation_sid, message.author, clock.now()
            )
            if waited is not None and self.metrics is not None:
                self.metrics.first_agent_reply.observe(max(waited, 0.0))

    async def report(self, metrics: Metrics) -> None:
        """Set the gauges /metrics reads when scraped: each skill's queue and oldest wait, and
        how many agents are available, away or offline."""
        team = await self.team()
        now = clock.now()
        for skill, waiting in team.queues.items():
            metrics.queue_length.labels(skill).set(len(waiting))
            oldest = min((r.queued_at for r in waiting), default=None)
            metrics.oldest_wait.labels(skill).set(0.0 if oldest is None else now - oldest)
        for presence in ("available", "away", "offline"):
            count = sum(1 for a in team.agents if a.presence == presence)
            metrics.agents.labels(presence).set(count)

    # Steps ---------------------------------------------------------------------------------

    def _count(self, event: str) -> None:
        if self.metrics is not None:
            self.metrics.handoffs.labels(event).inc()

    async def _connect(
        self, record: HandoffRecord, *, transferred: tuple[str, str | None] | None = None
    ) -> None:
        """The record's agent joins the conversation and everyone is told; the agent alone is
        told what they got."""
        agent = record.agent
        assert agent is not None
        self._count("taken")
        await self._set(record)
        try:
            await self._add_agent(record, agent)
        except Exception:
            log.exception("agent could not be added", conversation=record.conversation_sid)
            await self.store.release(
                record.conversation_sid, self.roster, clock.now(), to_bot=False
            )
            raise
        await self.writer.post(record.conversation_sid, self.texts.connected.format(agent=agent))
        await self.notices.tell(
            agent, self._briefing(record, transferred), proxy=self._proxy(record)
        )

    async def _connect_all(self, records: Iterable[HandoffRecord]) -> None:
        """After a step moved ``records`` (an agent who freed up took the next in line, one who
        went offline left theirs): connect each one given to an agent (one that fails is
        logged, not raised), then tell everyone waiting in their skills their place now."""
        skills = set()
        for record in records:
            skills.add(record.skill)
            if record.agent is None:
                continue
            try:
                await self._connect(record)
            except Exception:
                log.exception("conversation taken from the queue could not be connected")
        for skill in sorted(skills):
            await self._announce_positions(skill, 1)

    def _briefing(self, record: HandoffRecord, transferred: tuple[str, str | None] | None) -> str:
        """What the agent who got ``record`` is told: who, from where, and why."""
        who = mask_phone(record.customer) if record.customer else record.conversation_sid
        if transferred is not None:
            by, note = transferred
            return f"{by} transferred {who} to you" + (f": {note}" if note else ".")
        waited = max(0, round(clock.now() - record.queued_at))
        text = f"New conversation: {who} ({record.skill}), waited {waited} s."
        return text + (f" Reason: {record.reason}" if record.reason else "")

    def _proxy(self, record: HandoffRecord) -> str | None:
        return (self.pool.proxy if self.pool else None) or record.proxy

    async def _announce_positions(self, skill: str, first: int) -> None:
        """Tell each conversation waiting at ``first`` or behind in ``skill``'s queue, up to
        the pool's ``told_places``, its place now. Positions are read afresh, so concurrent
        changes are told as they stand."""
        last = self.pool.told_places if self.pool is not None else DEFAULT_TOLD_PLACES
        for position, record in enumerate(await self.store.waiting(skill, last), start=1):
            if position >= first:
                await self._post(
                    record.conversation_sid, self.texts.moved_up.format(position=position)
                )

    async def _post(self, conversation_sid: str, text: str) -> None:
        """Post the bot's notice; a conversation that is gone is logged and skipped."""
        try:
            await self.writer.post(conversation_sid, text)
        except (ConversationNotFound, ConversationClosed):
            log.info("conversation gone; not told", conversation=conversation_sid)

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
            self.keys.conversation(conversation_sid),
            self.keys.conversation(conversation_sid, customer),
        ):
            lease = await acquire_session(
                self.sessions, key, lease=self.policy.lease, wait=self.policy.wait
            )
            lease.data.update(carried)
            if not await self.sessions.commit(lease, lease.data, self.policy.ttl):
                log.error("session lock lost while carrying a session over", key=key)

    async def _add_agent(self, record: HandoffRecord, agent: str) -> None:
        try:
            if not is_phone(agent):
                await self.client.add_chat(record.conversation_sid, agent)
                return
            proxy = _number(self._proxy(record) or "")
            if not proxy:
                raise HandoffError(f"phone agent {agent}: no proxy number to bind them through")
            if agent.startswith("whatsapp:"):
                await self.client.add_whatsapp(record.conversation_sid, agent, proxy)
            else:
                await self.client.add_sms(record.conversation_sid, agent, proxy)
        except DuplicateParticipant:
            return

    async def _remove_agent(self, conversation_sid: str, agent: str) -> None:
        with suppress(NotFound):
            await self.client.remove_participant(conversation_sid, agent)

    async def _set(self, record: HandoffRecord) -> None:
        """Show the mode in the conversation's attributes (the store already holds it)."""
        await self._update_attributes(
            record.conversation_sid, record.model_dump(exclude={"conversation_sid"})
        )

    async def _show_handover(self, conversation_sid: str, handover: dict[str, Any]) -> None:
        await self._update_attributes(conversation_sid, {"handover": handover})

    async def _update_attributes(self, conversation_sid: str, fields: dict[str, Any]) -> None:
        conversation = await self.client.fetch(conversation_sid)
        attributes = dict(conversation.attributes)
        attributes["handoff"] = {**attributes.get("handoff", {}), **fields}
        await self.client.update(conversation_sid, attributes=attributes)
