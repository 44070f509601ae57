"""The HandoffStore protocol: where handed-off conversations wait, who has them, and who is in.

A store holds, per bot:

- each handed-off conversation's record (its mode: ``agent`` with an agent, ``queued`` waiting
  for one, or ``bot`` again), with its skill, priority and times;
- the queue of each skill, best first: higher priority, then longer waiting;
- the conversations each agent holds (their load) and each agent's presence, under the agent's
  pseudonym (the pepper-HMAC of their identity: a phone number or a chat identity, hashed as
  every person is, botkit/core/person.py), never the identity itself. The one place an agent's
  identity is kept is the ``agent`` of the records of the conversations they hold now: the desk
  shows who holds each, and the agent is added to and removed from its conversation by it.

Every routing decision is one atomic step that reads and changes all of these together (one
Lua script on Redis, one uninterrupted run of Python in memory): a conversation offered to a
free agent, an agent who frees up taking the next in line, a transfer, an agent going offline.
So two agents who free up at once never take the same customer, and no step ever gives an agent
more than their capacity.

The agents themselves (skills, capacity) are the bot's configuration, the same in every
process; the caller passes them to each step as a ``Roster``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol

from pydantic import BaseModel

from botkit.core.person import Found, Person

HandoffMode = Literal["bot", "agent", "queued"]
Presence = Literal["available", "away", "offline"]
PRESENCES: tuple[Presence, ...] = ("available", "away", "offline")

#: The skill of a handoff that names none, and of an agent who lists none.
DEFAULT_SKILL = "general"
SKILL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: Priorities run from -PRIORITY_RANGE to +PRIORITY_RANGE (0 by default).
PRIORITY_RANGE = 100
#: How far one priority step moves a conversation ahead in its queue, in seconds of waiting:
#: far more than anyone waits, so a higher priority always goes first.
PRIORITY_STEP = 1e10

#: A record outlives its conversation's activity by this much at most (seconds).
RECORD_TTL = 30 * 24 * 3600.0


def check_skill(skill: str) -> str:
    if not SKILL_NAME.fullmatch(skill):
        raise ValueError(
            f"skill {skill!r}: lower-case letters, digits, '-' and '_' (like 'billing')"
        )
    return skill


def check_priority(priority: int) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"priority must be a whole number, got {priority!r}")
    if abs(priority) > PRIORITY_RANGE:
        raise ValueError(f"priority must be within ±{PRIORITY_RANGE}, got {priority}")
    return priority


class HandoffRecord(BaseModel):
    """A conversation's handoff state. ``customer``: the phone address handed off (None when
    the handoff started inside a conversation with no phone author); ``proxy``: the bot number
    the customer writes to; ``queued_at``: when the handoff was asked for (the wait counts from
    there, across transfers); ``assigned_at``: when its current agent got it; ``replied``: an
    agent has answered since the handoff began."""

    conversation_sid: str
    mode: HandoffMode
    customer: str | None = None
    proxy: str | None = None
    agent: str | None = None
    skill: str = DEFAULT_SKILL
    priority: int = 0
    reason: str | None = None
    queued_at: float = 0.0
    assigned_at: float | None = None
    replied: bool = False

    @property
    def silences_bot(self) -> bool:
        return self.mode != "bot"

    @property
    def score(self) -> float:
        """Its place in its skill's queue: lower goes first (then the SID, as Redis orders)."""
        return self.queued_at - self.priority * PRIORITY_STEP


@dataclass(frozen=True)
class Member:
    """One agent as routing sees them."""

    name: str
    skills: tuple[str, ...]
    capacity: int


@dataclass(frozen=True)
class Roster:
    """The agents routing may choose from, and the presence of one who never set any."""

    members: tuple[Member, ...] = ()
    presence: Presence = "available"
    _by_name: dict[str, Member] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {m.name: m for m in self.members})

    def member(self, name: str) -> Member | None:
        return self._by_name.get(name)

    def skilled(self, skill: str) -> bool:
        """Whether anyone could ever take a conversation of ``skill``."""
        return any(skill in m.skills for m in self.members)

    @cached_property
    def skills(self) -> tuple[str, ...]:
        return tuple(sorted({s for m in self.members for s in m.skills}))


@dataclass(frozen=True)
class Routed:
    """Where a conversation went: ``record`` (mode ``agent`` with its agent, or ``queued``),
    its ``position`` in its skill's queue when queued, and the position it left, if any."""

    record: HandoffRecord
    position: int | None = None
    left_position: int | None = None
    #: Conversations the step gave to an agent besides this one (their former agent's room).
    assigned: tuple[HandoffRecord, ...] = ()


@dataclass(frozen=True)
class Released:
    """A conversation that left its agent or its queue: its record as it was, the position it
    left in its queue (None: it had an agent), and what its agent took next in the same step."""

    record: HandoffRecord
    left_position: int | None
    assigned: tuple[HandoffRecord, ...]


#: Why a transfer did not happen.
Refusal = Literal[
    "not_with_agent", "same_agent", "unknown_agent", "unavailable", "full", "no_skill"
]


@dataclass(frozen=True)
class Transferred:
    """A transfer: the conversation's new record (None when refused, with ``refusal``), and
    what its former agent took next in the same step."""

    record: HandoffRecord | None
    refusal: Refusal | None = None
    position: int | None = None
    assigned: tuple[HandoffRecord, ...] = ()


class HandoffStore(Protocol):
    async def get(self, conversation_sid: str) -> HandoffRecord | None: ...

    async def route(self, record: HandoffRecord, roster: Roster, now: float) -> Routed:
        """Give the conversation to the least loaded available agent of its skill who has
        room (first listed on ties), or else queue it. A conversation already waiting or
        with an agent is left as it is."""

    async def assign(self, record: HandoffRecord, agent: str, roster: Roster, now: float) -> Routed:
        """Give the conversation to ``agent``, named by the caller, whatever their load or
        presence (out of its queue, away from another agent, who then takes the next)."""

    async def release(
        self, conversation_sid: str, roster: Roster, now: float, *, to_bot: bool
    ) -> Released | None:
        """The conversation leaves its agent or its queue: back to the bot (``to_bot``) or
        closed (the record is deleted). Its agent, if available, takes the next waiting
        conversations of their skills in the same step. None: no record."""

    async def take(self, agent: str, roster: Roster, now: float) -> HandoffRecord | None:
        """``agent`` takes the best waiting conversation of their skills, if they have room
        and are not offline (an agent may take one by hand while away)."""

    async def set_presence(
        self, agent: str, presence: Presence, roster: Roster, now: float
    ) -> tuple[HandoffRecord, ...]:
        """Set the agent's presence. Available: they take waiting conversations up to their
        capacity. Offline: every conversation they hold goes back to its queue, keeping its
        wait, or to another available agent at once. Returns every record changed."""

    async def transfer(
        self,
        conversation_sid: str,
        roster: Roster,
        now: float,
        *,
        agent: str | None = None,
        skill: str | None = None,
    ) -> Transferred:
        """Move a conversation from its agent to ``agent`` (available, with room) or to the
        queue of ``skill`` (given to an available agent of it other than the former one, or
        queued keeping its wait). The former agent takes the next in line."""

    async def presence(self, agent: str, roster: Roster) -> Presence: ...

    async def holding(self, agent: str) -> list[HandoffRecord]:
        """The conversations ``agent`` has, oldest assignment first."""

    async def waiting(self, skill: str, limit: int | None = None) -> list[HandoffRecord]:
        """The queue of ``skill``, best first (its first ``limit`` only, if given)."""

    async def position(self, conversation_sid: str) -> int | None: ...

    async def length(self, skill: str) -> int:
        """How many wait in ``skill``'s queue."""

    async def skills(self) -> list[str]:
        """Every skill that has had a queue."""

    async def mark_replied(self, conversation_sid: str, author: str, now: float) -> float | None:
        """The first reply by the conversation's agent since the handoff began: seconds
        since it was asked for; None for any later message, or another author."""

    async def export_person(self, person: Person) -> Found:
        """The handoff records whose customer is ``person``; and if ``person`` is an agent,
        one row with their presence and the SIDs of the conversations they hold (``agent_row``:
        not those records, which are their customers')."""

    async def erase_person(self, person: Person) -> int:
        """Close their handoffs as a customer (out of their queue, off their agent) and delete
        the records; as an agent, put the conversations they hold back in their queues (keeping
        their wait, given to nobody inside the erase) and forget their presence. How many
        records went or changed. Agents take the next in line at their next step."""


def agent_row(presence: str | None, holding: Iterable[str]) -> Found:
    """What a store holds about a person as an agent: their presence and the conversations they
    hold, by SID (the records themselves hold their customers' data, which is not theirs)."""
    held = sorted(holding)
    if presence is None and not held:
        return []
    return [{"role": "agent", "presence": presence, "holding": held}]


async def erase_records(store: HandoffStore, person: Person) -> int:
    """What both stores' ``erase_person`` do for a customer: each of the person's handoffs
    released as closed, with no roster, so that nobody is assigned anything inside an erase."""
    erased = 0
    for row in await store.export_person(person):
        if "conversation_sid" not in row:
            continue  # their row as an agent
        released = await store.release(row["conversation_sid"], Roster(), 0.0, to_bot=False)
        erased += int(released is not None)
    return erased
