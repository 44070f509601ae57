"""Who takes handed-off conversations: ``AgentPool`` and the texts the bot posts about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AgentPool:
    """Agents (chat identities or phone numbers), each taking up to ``capacity`` conversations
    at a time. ``proxy``: the bot number phone agents are bound through (default: the number the
    customer wrote to). Twilio allows one active conversation per phone + proxy pair, so a phone
    agent with ``capacity`` above 1 needs a chat identity instead."""

    agents: tuple[str, ...]
    capacity: int = 1
    proxy: str | None = None

    def __init__(
        self, agents: Iterable[str], *, capacity: int = 1, proxy: str | None = None
    ) -> None:
        listed = tuple(a.strip() for a in agents if a.strip())
        if not listed:
            raise ValueError("an AgentPool needs at least one agent")
        if len(set(listed)) != len(listed):
            raise ValueError("an AgentPool lists each agent once")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        object.__setattr__(self, "agents", listed)
        object.__setattr__(self, "capacity", capacity)
        object.__setattr__(self, "proxy", proxy)


@dataclass(frozen=True)
class HandoffTexts:
    """What the bot posts into the conversation (every participant reads it). ``{agent}`` and
    ``{position}`` are filled in."""

    connected: str = "You are now chatting with {agent}."
    queued: str = "You are number {position} in line. An agent will be with you shortly."
    #: When someone ahead was taken or left: the new place of each conversation behind.
    moved_up: str = "You are now number {position} in line."
    resumed: str = "You are back with the bot."
    closed: str = "This conversation is now closed. Thank you!"
