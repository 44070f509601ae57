"""The HandoffStore protocol and its in-memory implementation.

A store holds, per bot: each handed-off conversation's record (its mode: ``agent`` with an
agent, ``queued`` waiting for one, or ``bot`` again), how many conversations each agent holds,
and the queue of conversations waiting for an agent, oldest first. ``assign`` and ``take``
check an agent's load and change it in one step, so two processes never give an agent more
than its capacity (the Redis twin does each in one Lua script).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel

HandoffMode = Literal["bot", "agent", "queued"]

#: A record outlives its conversation's activity by this much at most (seconds).
RECORD_TTL = 30 * 24 * 3600.0


class HandoffRecord(BaseModel):
    """A conversation's handoff state. ``customer``: the phone address handed off (None when
    the handoff started inside a conversation with no phone author); ``proxy``: the bot number
    the customer writes to."""

    conversation_sid: str
    mode: HandoffMode
    customer: str | None = None
    proxy: str | None = None
    agent: str | None = None

    @property
    def silences_bot(self) -> bool:
        return self.mode != "bot"


class HandoffStore(Protocol):
    async def get(self, conversation_sid: str) -> HandoffRecord | None: ...

    async def put(self, record: HandoffRecord) -> None: ...

    async def delete(self, conversation_sid: str) -> None: ...

    async def assign(self, agents: Sequence[str], capacity: int) -> str | None:
        """The least loaded of ``agents`` below ``capacity`` (first listed on ties), its load
        counted up; None when all are full."""

    async def acquire(self, agent: str) -> None:
        """Count one more conversation for ``agent`` (an agent named by the caller)."""

    async def release(self, agent: str) -> None:
        """Count one conversation less for ``agent`` (never below zero)."""

    async def load(self, agent: str) -> int: ...

    async def enqueue(self, conversation_sid: str, at: float) -> int:
        """Put the conversation in line (once: again keeps its place); its 1-based position."""

    async def position(self, conversation_sid: str) -> int | None: ...

    async def take(self, agent: str, capacity: int) -> str | None:
        """The oldest waiting conversation, out of the queue and counted for ``agent``; None
        when no one waits or the agent is at capacity."""

    async def dequeue(self, conversation_sid: str) -> bool: ...

    async def waiting(self) -> list[str]:
        """The queue, oldest first."""


