"""Calling handlers with only the arguments they ask for, in the manner of Slack Bolt.

A handler declares parameters by name (``ctx``, ``message``, ``session``, ``slots``,
``conversation``, ``participant``; the last two are None for 1:1 messages); a handler with one
parameter of any name gets the context. The signature is read once at registration so
that a misspelt parameter fails when the module is imported, not when a user texts.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from botkit.contexts.conversation import HandlerContext

Handler = Callable[..., Awaitable[Any]]
INJECTABLE = ("ctx", "context", "message", "session", "slots", "conversation", "participant")


def _argument(ctx: HandlerContext, name: str) -> Any:
    if name in ("ctx", "context"):
        return ctx
    return getattr(ctx, name)


@dataclass(frozen=True)
class HandlerSpec:
    func: Handler
    params: tuple[str, ...]
    single: bool

    async def call(self, ctx: HandlerContext) -> None:
        if self.single:
            await self.func(ctx)
        else:
            await self.func(**{name: _argument(ctx, name) for name in self.params})


def inspect_handler(func: Handler) -> HandlerSpec:
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"handler {func.__qualname__} must be an async function")
    params = tuple(inspect.signature(func).parameters)
    if len(params) == 1 and params[0] not in INJECTABLE:
        return HandlerSpec(func=func, params=params, single=True)
    unknown = [p for p in params if p not in INJECTABLE]
    if unknown:
        raise TypeError(
            f"handler {func.__qualname__} asks for {unknown}; it can ask for {list(INJECTABLE)}"
        )
    return HandlerSpec(func=func, params=params, single=False)
