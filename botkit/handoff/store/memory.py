"""HandoffStore in dicts, for one process (development, tests). Each method runs without an
``await`` in its decision, so it is one atomic step, as the Redis twin's Lua scripts are; the
same contract tests run against both. Agents are kept under their pseudonym, as there."""

from __future__ import annotations

import time
from functools import lru_cache

from botkit.core.person import Found, Person, Pseudonym
from botkit.handoff.store.protocol import (
    RECORD_TTL,
    HandoffRecord,
    Member,
    Presence,
    Released,
    Roster,
    Routed,
    Transferred,
    agent_row,
    erase_records,
)

#: Agents' pseudonyms remembered (an HMAC per agent per step would be wasted work).
KNOWN_AGENTS = 1024


class MemoryHandoffStore:
    def __init__(self, pseudonym: Pseudonym, ttl: float = RECORD_TTL) -> None:
        self._ttl = ttl
        self._key = lru_cache(maxsize=KNOWN_AGENTS)(pseudonym)
        self._records: dict[str, tuple[HandoffRecord, float]] = {}
        #: skill -> conversation SIDs waiting (ordered on read, like a sorted set).
        self._queues: dict[str, set[str]] = {}
        #: an agent's pseudonym -> the conversations they hold.
        self._held: dict[str, set[str]] = {}
        #: an agent's pseudonym -> their presence, once they set one.
        self._presence: dict[str, Presence] = {}

    # Reading ---------------------------------------------------------------------------------

    async def get(self, conversation_sid: str) -> HandoffRecord | None:
        return self._read(conversation_sid)

    async def presence(self, agent: str, roster: Roster) -> Presence:
        return self._presence_of(agent, roster)

    async def holding(self, agent: str) -> list[HandoffRecord]:
        held = self._held.get(self._key(agent), ())
        found = [r for sid in held if (r := self._read(sid)) is not None]
        return sorted(found, key=lambda r: (r.assigned_at or 0.0, r.conversation_sid))

    async def waiting(self, skill: str, limit: int | None = None) -> list[HandoffRecord]:
        order = self._ordered(skill)[:limit]
        return [r for sid in order if (r := self._read(sid)) is not None]

    async def position(self, conversation_sid: str) -> int | None:
        record = self._read(conversation_sid)
        if record is None or record.mode != "queued":
            return None
        order = self._ordered(record.skill)
        return order.index(conversation_sid) + 1 if conversation_sid in order else None

    async def length(self, skill: str) -> int:
        return len(self._ordered(skill))

    async def skills(self) -> list[str]:
        return sorted(self._queues)

    # Deciding --------------------------------------------------------------------------------

    async def route(self, record: HandoffRecord, roster: Roster, now: float) -> Routed:
        known = self._read(record.conversation_sid)
        if known is not None and known.mode != "bot":
            return Routed(known, await self.position(known.conversation_sid))
        placed, position = await self._place(record, roster, now, excluded=None)
        return Routed(placed, position)

    async def assign(self, record: HandoffRecord, agent: str, roster: Roster, now: float) -> Routed:
        known = self._read(record.conversation_sid)
        left, previous = None, None
        if known is not None:
            left = self._unqueue(known)
            previous = known.agent
            if previous is not None and previous != agent:
                self._held.get(self._key(previous), set()).discard(known.conversation_sid)
            if known.mode != "bot":  # the wait counts from when it was first asked for
                record = record.model_copy(update={"queued_at": known.queued_at})
        given = self._give(record, agent, now)
        assigned: list[HandoffRecord] = []
        if previous is not None and previous != agent:
            self._fill(previous, roster, now, assigned)
        return Routed(given, left_position=left, assigned=tuple(assigned))

    async def release(
        self, conversation_sid: str, roster: Roster, now: float, *, to_bot: bool
    ) -> Released | None:
        record = self._read(conversation_sid)
        if record is None:
            return None
        left = self._unqueue(record)
        agent = record.agent
        if agent is not None:
            self._held.get(self._key(agent), set()).discard(conversation_sid)
        if to_bot:
            self._write(record.model_copy(update={"mode": "bot", "agent": None}))
        else:
            self._records.pop(conversation_sid, None)
        assigned: list[HandoffRecord] = []
        if agent is not None:
            self._fill(agent, roster, now, assigned)
        return Released(record, left, tuple(assigned))

    async def take(self, agent: str, roster: Roster, now: float) -> HandoffRecord | None:
        member = roster.member(agent)
        if member is None or self._presence_of(agent, roster) == "offline":
            return None
        if self._load(agent) >= member.capacity:
            return None
        waiting = self._next_for(member)
        return None if waiting is None else self._give(waiting, agent, now)

    async def set_presence(
        self, agent: str, presence: Presence, roster: Roster, now: float
    ) -> tuple[HandoffRecord, ...]:
        self._presence[self._key(agent)] = presence
        changed: list[HandoffRecord] = []
        if presence == "available":
            self._fill(agent, roster, now, changed)
        elif presence == "offline":
            sids = self._held.pop(self._key(agent), set())
            held = [r for sid in sids if (r := self._read(sid))]
            for record in sorted(held, key=lambda r: (r.score, r.conversation_sid)):
                if record.agent != agent:
                    continue
                other = self._free_agent(record.skill, roster, excluded=agent)
                changed.append(self._give(record, other, now) if other else self._queue(record))
        return tuple(changed)

    async def transfer(
        self,
        conversation_sid: str,
        roster: Roster,
        now: float,
        *,
        agent: str | None = None,
        skill: str | None = None,
    ) -> Transferred:
        record = self._read(conversation_sid)
        if record is None or record.mode != "agent" or record.agent is None:
            return Transferred(None, "not_with_agent")
        former = record.agent
        assigned: list[HandoffRecord] = []
        if agent is not None:
            if agent == former:
                return Transferred(None, "same_agent")
            member = roster.member(agent)
            if member is None:
                return Transferred(None, "unknown_agent")
            if self._presence_of(agent, roster) != "available":
                return Transferred(None, "unavailable")
            if self._load(agent) >= member.capacity:
                return Transferred(None, "full")
            self._held[self._key(former)].discard(conversation_sid)
            moved = self._give(record, agent, now)
            self._fill(former, roster, now, assigned)
            return Transferred(moved, assigned=tuple(assigned))
        assert skill is not None
        if not roster.skilled(skill):
            return Transferred(None, "no_skill")
        self._held[self._key(former)].discard(conversation_sid)
        self._fill(former, roster, now, assigned)
        record = record.model_copy(update={"skill": skill})
        placed, position = await self._place(record, roster, now, excluded=former)
        return Transferred(placed, position=position, assigned=tuple(assigned))

    async def mark_replied(self, conversation_sid: str, author: str, now: float) -> float | None:
        record = self._read(conversation_sid)
        if record is None or record.mode != "agent" or record.agent != author or record.replied:
            return None
        self._write(record.model_copy(update={"replied": True}))
        return now - record.queued_at

    async def export_person(self, person: Person) -> Found:
        theirs = [
            record.model_dump(mode="json")
            for sid in sorted(self._records)
            if (record := self._read(sid)) is not None and person.is_address(record.customer)
        ]
        holding = [record.conversation_sid for record in self._held_by(person.digest)]
        return theirs + agent_row(self._presence.get(person.digest), holding)

    async def erase_person(self, person: Person) -> int:
        erased = await erase_records(self, person)
        # As an agent (their pseudonym is their number's digest): what they hold goes back in
        # line, and their presence is forgotten.
        for record in self._held_by(person.digest):
            self._queue(record)
            erased += 1
        self._held.pop(person.digest, None)
        erased += int(self._presence.pop(person.digest, None) is not None)
        return erased

    def _held_by(self, key: str) -> list[HandoffRecord]:
        """The records the agent of pseudonym ``key`` holds now."""
        return [
            record
            for sid in sorted(self._held.get(key, ()))
            if (record := self._read(sid)) is not None
            and record.agent is not None
            and self._key(record.agent) == key
        ]

    # Steps -----------------------------------------------------------------------------------

    def _read(self, conversation_sid: str) -> HandoffRecord | None:
        stored = self._records.get(conversation_sid)
        if stored is None or stored[1] <= time.monotonic():
            return None
        return stored[0]

    def _write(self, record: HandoffRecord) -> HandoffRecord:
        self._records[record.conversation_sid] = (record, time.monotonic() + self._ttl)
        return record

    def _presence_of(self, agent: str, roster: Roster) -> Presence:
        return self._presence.get(self._key(agent), roster.presence)

    def _load(self, agent: str) -> int:
        """The conversations the agent holds whose record has not expired (the rest leave)."""
        held = self._held.get(self._key(agent), set())
        held.difference_update([sid for sid in held if self._read(sid) is None])
        return len(held)

    def _ordered(self, skill: str) -> list[str]:
        """The skill's queue, best first; entries whose record expired or moved are dropped."""
        queue = self._queues.get(skill, set())
        live = {sid: r for sid in queue if (r := self._read(sid)) and r.mode == "queued"}
        queue.intersection_update(live)
        return sorted(live, key=lambda sid: (live[sid].score, sid))

    def _give(self, record: HandoffRecord, agent: str, now: float) -> HandoffRecord:
        self._unqueue(record)
        self._held.setdefault(self._key(agent), set()).add(record.conversation_sid)
        return self._write(
            record.model_copy(update={"mode": "agent", "agent": agent, "assigned_at": now})
        )

    def _queue(self, record: HandoffRecord) -> HandoffRecord:
        self._queues.setdefault(record.skill, set()).add(record.conversation_sid)
        return self._write(
            record.model_copy(update={"mode": "queued", "agent": None, "assigned_at": None})
        )

    def _unqueue(self, record: HandoffRecord) -> int | None:
        """Out of its queue; the position it had there (None: it was not waiting)."""
        if record.mode != "queued":
            return None
        order = self._ordered(record.skill)
        if record.conversation_sid not in order:
            return None
        self._queues[record.skill].discard(record.conversation_sid)
        return order.index(record.conversation_sid) + 1

    async def _place(
        self, record: HandoffRecord, roster: Roster, now: float, *, excluded: str | None
    ) -> tuple[HandoffRecord, int | None]:
        """To a free agent of its skill (not ``excluded``), or into its queue: where, and its
        position there."""
        agent = self._free_agent(record.skill, roster, excluded=excluded)
        if agent is not None:
            return self._give(record, agent, now), None
        queued = self._queue(record)
        return queued, await self.position(queued.conversation_sid)

    def _free_agent(self, skill: str, roster: Roster, *, excluded: str | None) -> str | None:
        """The least loaded available agent of ``skill`` with room (first listed on ties)."""
        best: str | None = None
        best_load = 0
        for member in roster.members:
            if member.name == excluded or skill not in member.skills:
                continue
            if self._presence_of(member.name, roster) != "available":
                continue
            load = self._load(member.name)
            if load < member.capacity and (best is None or load < best_load):
                best, best_load = member.name, load
        return best

    def _next_for(self, member: Member) -> HandoffRecord | None:
        """The best waiting conversation of the member's skills."""
        heads = [
            record
            for skill in member.skills
            for sid in self._ordered(skill)[:1]
            if (record := self._read(sid)) is not None
        ]
        return min(heads, key=lambda r: (r.score, r.conversation_sid), default=None)

    def _fill(self, agent: str, roster: Roster, now: float, out: list[HandoffRecord]) -> None:
        """An available agent takes the best waiting conversations of their skills while they
        have room."""
        member = roster.member(agent)
        if member is None or self._presence_of(agent, roster) != "available":
            return
        room = member.capacity - self._load(agent)  # counted once: each give takes one
        for _ in range(room):
            waiting = self._next_for(member)
            if waiting is None:
                return
            out.append(self._give(waiting, agent, now))
