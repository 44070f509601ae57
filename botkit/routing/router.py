"""Routers: where handlers are registered, and how a message picks one.

A bot is simply the top router; ``include`` composes routers from several modules into it.
Routing is deterministic: the highest priority wins, ties go to registration order (an included
router's intents take the position of the ``include`` call), and the fallback runs when nothing
matches.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from botkit.routing.handlers import Handler, HandlerSpec, inspect_handler
from botkit.routing.matchers import Matcher, Predicate, compile_matcher
from botkit.routing.status_hooks import StatusHook, StatusHookFunc, StatusHooks, status_hook
from botkit.twilio.inbound import Channel, InboundMessage

if TYPE_CHECKING:
    from botkit.context import Context

CallNext = Callable[[], Awaitable[None]]
Middleware = Callable[["Context", CallNext], Awaitable[None]]
H = TypeVar("H", bound=Handler)
M = TypeVar("M", bound=Middleware)
S = TypeVar("S", bound=StatusHookFunc)

FALLBACK = "fallback"


@dataclass(frozen=True)
class Intent:
    name: str
    matcher: Matcher
    handler: HandlerSpec
    priority: int


@dataclass(frozen=True)
class Route:
    """An intent as compiled into a bot: with the middleware of every router above it."""

    name: str
    matcher: Matcher | None
    handler: HandlerSpec
    priority: int
    middleware: tuple[Middleware, ...]


@dataclass(frozen=True)
class Resolution:
    route: Route
    slots: dict[str, str]


class Routes:
    """A bot's routing table, frozen when the server starts."""

    def __init__(self, routes: list[Route], fallback: Route | None) -> None:
        self._routes = sorted(routes, key=lambda r: -r.priority)  # stable: keeps order on ties
        self.fallback = fallback

    @property
    def names(self) -> list[str]:
        return [r.name for r in self._routes]

    async def resolve(self, message: InboundMessage) -> Resolution | None:
        for route in self._routes:
            assert route.matcher is not None
            found = await route.matcher.match(message)
            if found is not None:
                return Resolution(route=route, slots=found.slots)
        if self.fallback is not None:
            return Resolution(route=self.fallback, slots={})
        return None


class Router:
    """A group of intents, a fallback and middleware; include routers in one another."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or "router"
        self._items: list[Intent | StatusHook | Router] = []
        self._fallback: HandlerSpec | None = None
        self._middleware: list[Middleware] = []
        self._included = False

    def intent(
        self,
        name: str,
        *,
        keywords: Iterable[str] | None = None,
        pattern: str | re.Pattern[str] | None = None,
        when: Predicate | None = None,
        channel: Channel | Iterable[Channel] | None = None,
        priority: int = 0,
    ) -> Callable[[H], H]:
        """Register a handler for messages meeting every condition given.

        keywords: any of these whole words, case-insensitively. pattern: a regex searched in
        the trimmed body (case-insensitive unless precompiled); named groups become
        ``ctx.slots``. when: a predicate on the message. channel: sms, mms, whatsapp or a list.
        """
        matcher = compile_matcher(keywords=keywords, pattern=pattern, when=when, channel=channel)

        def register(func: H) -> H:
            self._items.append(Intent(name, matcher, inspect_handler(func), priority))
            return func

        return register

    def fallback(self, func: H) -> H:
        """Register the handler for messages no intent matches."""
        if self._fallback is not None:
            raise ValueError(f"router {self.name!r} already has a fallback")
        self._fallback = inspect_handler(func)
        return func

    def middleware(self, func: M) -> M:
        """Register ``async def mw(ctx, call_next)`` around this router's handlers.

        Middleware of an outer router wraps that of the routers it includes; a middleware that
        does not await call_next() stops the message there.
        """
        self._middleware.append(func)
        return func

    def on_status(self, *statuses: str) -> Callable[[S], S]:
        """Register ``async def hook(ctx: StatusContext)`` for these statuses (none: all).

        It runs once for each forward move of a message to one of them, after Twilio has had
        its 200; see botkit/routing/status_hooks.py.
        """

        def register(func: S) -> S:
            self._items.append(status_hook(func, statuses))
            return func

        return register

    def include(self, router: Router) -> Router:
        """Add another router's intents and status hooks here, at this point in order."""
        if router is self or router._included:
            raise ValueError(f"router {router.name!r} is already included somewhere")
        if router._contains(self):
            raise ValueError(f"router {router.name!r} includes {self.name!r}: that is a cycle")
        router._included = True
        self._items.append(router)
        return router

    def _contains(self, other: Router) -> bool:
        return any(
            item is other or item._contains(other)
            for item in self._items
            if isinstance(item, Router)
        )

    def compile(self) -> Routes:
        """Flatten this router and those it includes into a routing table."""
        routes: list[Route] = []
        fallback = self._collect(routes, ())
        return Routes(routes, fallback)

    def compile_status_hooks(self) -> StatusHooks:
        """This router's status hooks and those of the routers it includes, in order."""
        return StatusHooks(self._status_hooks())

    def _status_hooks(self) -> list[StatusHook]:
        hooks: list[StatusHook] = []
        for item in self._items:
            if isinstance(item, Router):
                hooks.extend(item._status_hooks())
            elif isinstance(item, StatusHook):
                hooks.append(item)
        return hooks

    def _collect(self, out: list[Route], outer: tuple[Middleware, ...]) -> Route | None:
        chain = outer + tuple(self._middleware)
        fallback = (
            Route(FALLBACK, None, self._fallback, 0, chain) if self._fallback is not None else None
        )
        for item in self._items:
            if isinstance(item, Router):
                inner = item._collect(out, chain)
                fallback = fallback or inner
            elif isinstance(item, Intent):
                out.append(Route(item.name, item.matcher, item.handler, item.priority, chain))
        return fallback
