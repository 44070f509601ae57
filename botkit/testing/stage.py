"""What phones and agents need from the running test set-up, and how they word a failure.

Phones and agents depend on this small protocol rather than on the Tester itself, so each
piece stays readable on its own and the failure wording lives in one place.
"""

from __future__ import annotations

from typing import Protocol

from botkit.handoff.history.protocol import HistoryEntry
from botkit.sandbox import Sandbox
from botkit.testing.hub import EventHub
from botkit.testing.sandbox_client import SandboxClient


class Stage(Protocol):
    hub: EventHub
    sandbox: Sandbox
    bot_number: str
    default_timeout: float

    @property
    def client(self) -> SandboxClient: ...

    async def settle(self, within: float) -> bool:
        """Wait until nothing moves (True), or give up after ``within`` seconds (False)."""

    async def diagnosis(self) -> str:
        """What the bot's side can tell about a missing reply (dead letters), or ""."""

    async def notices(self, agent: str, after: int) -> list[HistoryEntry]:
        """What the bot told ``agent`` alone, after the notice numbered ``after``."""


async def failure(stage: Stage, problem: str) -> AssertionError:
    """An AssertionError saying what went wrong, then why the bot may think so, then the
    transcript of everything said so far."""
    __tracebackhide__ = True
    parts = [problem]
    hint = await stage.diagnosis()
    if hint:
        parts.append(hint)
    parts.append(stage.hub.transcript.render())
    return AssertionError("\n".join(parts))
