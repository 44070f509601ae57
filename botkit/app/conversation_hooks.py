"""Conversation hooks: code that runs on Conversations events other than routed messages.

- ``@bot.on_participant_added`` / ``@bot.on_participant_removed``: ``async def hook(ctx:
  ParticipantContext)``, after a participant joined or left.
- ``@bot.on_conversation_state("closed", ...)``: ``async def hook(ctx:
  ConversationStateContext)`` when the conversation moved to one of these states (none: any).
- ``@bot.on_message_add``: ``async def hook(ctx: MessageAddContext)`` before a message is added;
  it may reject or rewrite it (see botkit/server/conversations_endpoint.py).

They compose through ``include`` like intents and status hooks: registration order, an included
router's hooks at the position of the ``include`` call. Post-event hooks run in the inbound
workers after Twilio had its 200, each on its own: one that raises is logged and the next still
runs; like every queued event they run at least once, so a crash can repeat them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from botkit.contexts.hooks import (
    ConversationStateContext,
    MessageAddContext,
    ParticipantContext,
)
from botkit.logging import get_logger
from botkit.twilio.conversation_events import ConversationState

log = get_logger("conversations")

HookKind = Literal["participant_added", "participant_removed", "conversation_state", "message_add"]
ParticipantHookFunc = Callable[["ParticipantContext"], Awaitable[Any]]
StateHookFunc = Callable[["ConversationStateContext"], Awaitable[Any]]
MessageAddHookFunc = Callable[["MessageAddContext"], Awaitable[Any]]
STATES: tuple[ConversationState, ...] = ("initializing", "active", "inactive", "closed")


@dataclass(frozen=True)
class ConversationHook:
    """One registered hook; ``states`` (conversation_state hooks only) None means every state."""

    kind: HookKind
    func: Callable[[Any], Awaitable[Any]]
    states: frozenset[str] | None = None


def conversation_hook(
    kind: HookKind, func: Callable[[Any], Awaitable[Any]], states: Iterable[str] = ()
) -> ConversationHook:
    """Check a hook when it is registered, so that a typo fails at import."""
    name = func.__qualname__
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"conversation hook {name} must be an async function")
    params = list(inspect.signature(func).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(params) != 1 or params[0].kind not in positional:
        raise TypeError(f"conversation hook {name} must take one argument, the context")
    return ConversationHook(kind, func, check_states(states))


def check_states(states: Iterable[str]) -> frozenset[str] | None:
    """The states a conversation_state hook wants (None: all); ValueError on a typo."""
    wanted = frozenset(states)
    unknown = wanted - set(STATES)
    if unknown:
        raise ValueError(
            f"{sorted(unknown)} are not conversation states (one of {', '.join(STATES)})"
        )
    return wanted or None


class ConversationHooks:
    """A bot's conversation hooks, in order, frozen when the server starts."""

    def __init__(self, hooks: Iterable[ConversationHook]) -> None:
        self._hooks = tuple(hooks)

    def of(self, kind: HookKind, state: str | None = None) -> list[ConversationHook]:
        return [
            hook
            for hook in self._hooks
            if hook.kind == kind and (hook.states is None or state in hook.states)
        ]

    async def run(self, kind: HookKind, ctx: Any, *, state: str | None = None, **ids: str) -> int:
        """Run the post-event hooks of this kind; returns how many raised (each is logged)."""
        failed = 0
        for hook in self.of(kind, state):
            try:
                await hook.func(ctx)
            except Exception:
                failed += 1
                log.exception(
                    "conversation hook failed", hook=hook.func.__qualname__, kind=kind, **ids
                )
        return failed
