"""``ctx.once(step, effect)``: a side effect that happens once per inbound event and step, even
when the handler is re-run after a crash.

Replies are safe to repeat already (their idempotency keys come from the inbound event), but a
ticket opened, a refund made or an order placed would happen again. ``once`` keys the step on
the inbound event (its MessageSid, as the replies' keys are) and the step's name, runs the
effect only when no result is stored under that key, and stores what it returned
(botkit/effects/): the re-run gets the first run's result back, without running it.

The result goes through JSON, typed by what the effect declares it returns (``-> Ticket``
gives a Ticket back on the re-run too), or by ``returns=``.

A handler runs under its conversation's session lock, so two runs of one event never overlap;
only a crash in the middle of the effect itself (after it acted, before its result was stored)
can make a re-run run it again. Give the effect's own system the key (``ctx.once_key(step)``)
where it takes one, to close that gap too.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from pydantic import TypeAdapter

from botkit.effects.protocol import EFFECT_TTL, EffectStore
from botkit.errors import SendError

T = TypeVar("T")
P = ParamSpec("P")


def returned_type(effect: Callable[..., Any]) -> Any:
    """What ``effect`` says it returns (Any when it says nothing)."""
    try:
        hints = typing.get_type_hints(effect)
    except NameError as exc:
        raise TypeError(
            f"ctx.once: the return type of {getattr(effect, '__qualname__', effect)!r} "
            f"cannot be resolved ({exc}); pass returns=..."
        ) from None
    except TypeError:  # a partial or another callable without annotations
        return Any
    return hints.get("return", Any)


class EventEffects:
    """The side effects of one inbound event, under keys ``<event key>:<step>``."""

    def __init__(self, store: EffectStore | None, event_key: str) -> None:
        self._store = store
        self._event_key = event_key

    def key(self, step: str) -> str:
        if not step.strip():
            raise ValueError("ctx.once needs a step name, like 'open-ticket'")
        return f"{self._event_key}:{step}"

    async def once(
        self,
        step: str,
        effect: Callable[[], Awaitable[T]],
        *,
        ttl: float = EFFECT_TTL,
        returns: Any = None,
    ) -> T:
        if self._store is None:
            raise SendError("ctx.once needs a running bot (botkit run, or create_app)")
        key = self.key(step)
        adapter: TypeAdapter[T] = TypeAdapter(returns or returned_type(effect))
        stored = await self._store.get(key)
        if stored is not None:
            return adapter.validate_json(stored)
        result = await effect()
        encoded = adapter.dump_json(result).decode()
        first = await self._store.put_first(key, encoded, ttl)
        return result if first == encoded else adapter.validate_json(first)


class RunsOnce:
    """What ``Context`` and ``ConversationContext`` share: side effects keyed on their
    event (``self._effects``)."""

    _effects: EventEffects

    async def once(
        self,
        step: str,
        effect: Callable[[], Awaitable[T]],
        *,
        ttl: float = EFFECT_TTL,
        returns: Any = None,
    ) -> T:
        """Run ``effect`` (an ``async def`` of no arguments: open a ticket, charge a card) at
        most once for this message and ``step``, even if the handler is re-run after a crash:
        a re-run gets the first run's result back. The result is stored as JSON for ``ttl``
        seconds, typed by the effect's return annotation or ``returns``."""
        return await self._effects.once(step, effect, ttl=ttl, returns=returns)

    def once_key(self, step: str) -> str:
        """The key ``once`` stores ``step`` under: hand it to a system that deduplicates."""
        return self._effects.key(step)


class HasOnce(Protocol):
    """A context that can run side effects once (``Context``, ``ConversationContext``)."""

    async def once(
        self,
        step: str,
        effect: Callable[[], Awaitable[T]],
        *,
        ttl: float = ...,
        returns: Any = ...,
    ) -> T: ...


C = TypeVar("C", bound=HasOnce)


def once(
    step: str, *, ttl: float = EFFECT_TTL
) -> Callable[
    [Callable[Concatenate[C, P], Awaitable[T]]], Callable[Concatenate[C, P], Awaitable[T]]
]:
    """The decorator form: ``@once("open-ticket")`` on ``async def open_ticket(ctx, ...)``
    makes every call ``ctx.once("open-ticket", ...)`` of it."""

    def decorate(
        func: Callable[Concatenate[C, P], Awaitable[T]],
    ) -> Callable[Concatenate[C, P], Awaitable[T]]:
        returns = returned_type(func)

        @functools.wraps(func)
        async def run(ctx: C, /, *args: P.args, **kwargs: P.kwargs) -> T:
            return await ctx.once(
                step, lambda: func(ctx, *args, **kwargs), ttl=ttl, returns=returns
            )

        return run

    return decorate
