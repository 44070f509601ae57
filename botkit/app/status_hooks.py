"""``@bot.on_status`` hooks: code that runs when a message's status moves forward.

A hook is ``async def hook(ctx: StatusContext)``; ``@bot.on_status("failed", "undelivered")``
runs it for those statuses, ``@bot.on_status()`` for every one. Hooks run only for forward
moves (promise 8), so a late ``sent`` after ``delivered`` runs nothing, and a duplicate callback
runs nothing twice. They run in registration order (an included router's hooks take the
position of the ``include`` call), each on its own: one that raises is logged with the
MessageSid and the next still runs. Twilio has had its 200 long before (see
botkit/inbound/status_tracker.py), so a hook can never turn a callback into a 500.

The context is deliberately small: the callback, the change, and ``send`` for messages to
anyone. There is no session: a status is about a message, not a conversation.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botkit.contexts.status import StatusContext
from botkit.logging import get_logger
from botkit.twilio.status import STATUSES, MessageStatus, parse_status

log = get_logger("status")

StatusHookFunc = Callable[["StatusContext"], Awaitable[Any]]




@dataclass(frozen=True)
class StatusHook:
    """One registered hook; ``statuses`` None means every status."""

    func: StatusHookFunc
    statuses: frozenset[MessageStatus] | None

    def wants(self, status: MessageStatus) -> bool:
        return self.statuses is None or status in self.statuses


def status_hook(func: StatusHookFunc, statuses: Iterable[str]) -> StatusHook:
    """Check a hook when it is registered, so that a typo fails at import, not at delivery."""
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"status hook {func.__qualname__} must be an async function")
    params = list(inspect.signature(func).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(params) != 1 or params[0].kind not in positional:
        raise TypeError(f"status hook {func.__qualname__} must take one argument, the context")
    wanted: set[MessageStatus] = set()
    for name in statuses:
        try:
            wanted.add(parse_status(name))
        except ValueError:
            raise ValueError(
                f"status hook {func.__qualname__}: {name!r} is not a Twilio message status "
                f"(one of {', '.join(sorted(STATUSES))})"
            ) from None
    return StatusHook(func, frozenset(wanted) if wanted else None)


class StatusHooks:
    """A bot's status hooks, in order, frozen when the server starts."""

    def __init__(self, hooks: Iterable[StatusHook]) -> None:
        self._hooks = tuple(hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    def for_status(self, status: MessageStatus) -> list[StatusHook]:
        return [hook for hook in self._hooks if hook.wants(status)]

    async def run(self, ctx: StatusContext) -> int:
        """Run every hook that wants ctx.status; returns how many raised (each is logged)."""
        failed = 0
        for hook in self.for_status(ctx.status):
            try:
                await hook.func(ctx)
            except Exception:
                failed += 1
                log.exception(
                    "status hook failed",
                    sid=ctx.sid,
                    status=ctx.status,
                    hook=hook.func.__qualname__,
                )
        return failed
