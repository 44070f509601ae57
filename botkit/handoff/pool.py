"""Who takes handed-off conversations: ``AgentPool`` of ``Agent``s, and the texts the bot posts
about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from botkit.handoff.store.protocol import (
    DEFAULT_SKILL,
    PRESENCES,
    Member,
    Presence,
    Roster,
    check_skill,
)

#: How many of the last turns between a customer and the bot an agent is shown at a handoff.
DEFAULT_TRANSCRIPT_TURNS = 10
#: How far back in line customers are told each time they move up.
DEFAULT_TOLD_PLACES = 5


@dataclass(frozen=True)
class Agent:
    """One agent: a chat identity or a phone number, the skills they take conversations of,
    and how many they take at once (None: the pool's ``capacity``)."""

    name: str
    skills: tuple[str, ...] = (DEFAULT_SKILL,)
    capacity: int | None = None

    def __init__(
        self, name: str, *, skills: Iterable[str] = (DEFAULT_SKILL,), capacity: int | None = None
    ) -> None:
        listed = tuple(check_skill(s.strip()) for s in skills)
        if not name.strip():
            raise ValueError("an Agent needs a name (a chat identity or a phone number)")
        if not listed:
            raise ValueError(f"agent {name!r}: give at least one skill")
        if capacity is not None and capacity < 1:
            raise ValueError(f"agent {name!r}: capacity must be at least 1")
        object.__setattr__(self, "name", name.strip())
        object.__setattr__(self, "skills", listed)
        object.__setattr__(self, "capacity", capacity)


@dataclass(frozen=True)
class AgentPool:
    """Agents (``Agent``s, or bare names: chat identities or phone numbers with the pool's
    ``skills``), each taking up to ``capacity`` conversations at a time. ``presence``: what
    an agent is before they first set it (``available`` takes conversations at once; a team
    whose agents sign in at the desk says ``offline``). ``proxy``: the bot number phone agents
    are bound through (default: the number the customer wrote to). Twilio allows one active
    conversation per phone + proxy pair, so a phone agent with ``capacity`` above 1 needs a
    chat identity instead. ``transcript_turns``: how many of the customer's last turns with the
    bot the agent is shown at a handoff (0: none). ``told_places``: customers in the first
    places of a queue are told their new place each time they move up (everyone is told their
    place when they join); telling a long line every move would text all of it each time."""

    members: tuple[Agent, ...]
    capacity: int = 1
    proxy: str | None = None
    presence: Presence = "available"
    transcript_turns: int = DEFAULT_TRANSCRIPT_TURNS
    told_places: int = DEFAULT_TOLD_PLACES

    def __init__(
        self,
        agents: Iterable[str | Agent],
        *,
        capacity: int = 1,
        skills: Iterable[str] = (DEFAULT_SKILL,),
        proxy: str | None = None,
        presence: Presence = "available",
        transcript_turns: int = DEFAULT_TRANSCRIPT_TURNS,
        told_places: int = DEFAULT_TOLD_PLACES,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if presence not in PRESENCES:
            raise ValueError(f"presence must be one of {', '.join(PRESENCES)}, not {presence!r}")
        if transcript_turns < 0:
            raise ValueError("transcript_turns must be 0 or more")
        if told_places < 0:
            raise ValueError("told_places must be 0 or more")
        pool_skills = tuple(skills)
        listed = tuple(
            a if isinstance(a, Agent) else Agent(a, skills=pool_skills)
            for a in agents
            if isinstance(a, Agent) or a.strip()
        )
        if not listed:
            raise ValueError("an AgentPool needs at least one agent")
        names = [a.name for a in listed]
        if len(set(names)) != len(names):
            raise ValueError("an AgentPool lists each agent once")
        object.__setattr__(self, "members", listed)
        object.__setattr__(self, "capacity", capacity)
        object.__setattr__(self, "proxy", proxy)
        object.__setattr__(self, "presence", presence)
        object.__setattr__(self, "transcript_turns", transcript_turns)
        object.__setattr__(self, "told_places", told_places)

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents' names."""
        return tuple(a.name for a in self.members)

    @cached_property
    def roster(self) -> Roster:
        """The pool as routing reads it."""
        return Roster(
            tuple(Member(a.name, a.skills, a.capacity or self.capacity) for a in self.members),
            self.presence,
        )


@dataclass(frozen=True)
class HandoffTexts:
    """What the bot posts into the conversation (every participant reads it), and what it
    tells agents alone. ``{agent}``, ``{position}`` and the like are filled in."""

    connected: str = "You are now chatting with {agent}."
    queued: str = "You are number {position} in line. An agent will be with you shortly."
    #: When someone ahead was taken or left: the new place of each conversation behind.
    moved_up: str = "You are now number {position} in line."
    resumed: str = "You are back with the bot."
    closed: str = "This conversation is now closed. Thank you!"
