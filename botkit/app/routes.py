"""What routing produces: an intent as registered, a route as compiled into a bot (with the
middleware of every router above it), and the route a message resolved to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from botkit.app.handlers import HandlerSpec
from botkit.app.matchers import Matcher
from botkit.contexts.conversation import HandlerContext
from botkit.sessions.keys import SessionScope

CallNext = Callable[[], Awaitable[None]]


#: Receives a Context (1:1) or a ConversationContext: a router's middleware wraps all its routes.
Middleware = Callable[[HandlerContext, CallNext], Awaitable[None]]


@dataclass(frozen=True)
class Intent:
    name: str
    matcher: Matcher
    handler: HandlerSpec
    priority: int
    sessions: SessionScope | None = None
    interrupts_flows: bool = False


@dataclass(frozen=True)
class Route:
    """An intent as compiled into a bot: with the middleware of every router above it."""

    name: str
    matcher: Matcher | None
    handler: HandlerSpec
    priority: int
    middleware: tuple[Middleware, ...]
    #: This intent's conversation session scope; None: the bot's.
    sessions: SessionScope | None = None
    #: Runs even while a flow waits for an answer, which is then asked again (botkit/flows).
    interrupts_flows: bool = False


@dataclass(frozen=True)
class Resolution:
    route: Route
    slots: dict[str, str]


