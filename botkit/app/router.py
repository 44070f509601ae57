"""Routers: where handlers are registered, and how a message picks one.

A bot is simply the top router; ``include`` composes routers from several modules into it.
Routing is deterministic: the highest priority wins, ties go to registration order (an included
router's intents take the position of the ``include`` call), and the fallback runs when nothing
matches a 1:1 message. Conversation messages go through the same table, but only intents
registered with ``scope="conversation"`` or ``scope="any"`` match them, and there is no fallback
in a conversation: the bot stays quiet when it is not addressed (see matchers.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from botkit.app.conversation_hooks import (
    ConversationHook,
    ConversationHooks,
    MessageAddHookFunc,
    ParticipantHookFunc,
    StateHookFunc,
    check_states,
    conversation_hook,
)
from botkit.app.flow_table import FlowTable, flow_step_handler
from botkit.app.handlers import Handler, HandlerSpec, inspect_handler
from botkit.app.matchers import IntentScope, Predicate, RoutedMessage, compile_matcher
from botkit.app.routes import Intent, Middleware, Resolution, Route
from botkit.app.status_hooks import StatusHook, StatusHookFunc, StatusHooks, status_hook
from botkit.flows.flow import Flow
from botkit.sessions.keys import SESSION_SCOPES, SessionScope
from botkit.twilio.conversation_events import ConversationChannel
from botkit.twilio.inbound import InboundMessage

#: Whose session a conversation message uses: the conversation's, or its author's within it.
H = TypeVar("H", bound=Handler)
M = TypeVar("M", bound=Middleware)
S = TypeVar("S", bound=StatusHookFunc)
P = TypeVar("P", bound=ParticipantHookFunc)
C = TypeVar("C", bound=StateHookFunc)
A = TypeVar("A", bound=MessageAddHookFunc)

FALLBACK = "fallback"








class Routes:
    """A bot's routing table, frozen when the server starts."""

    def __init__(
        self, routes: list[Route], fallback: Route | None, flows: FlowTable | None = None
    ) -> None:
        self._routes = sorted(routes, key=lambda r: -r.priority)  # stable: keeps order on ties
        self.fallback = fallback
        #: The bot's flows (None: it has none); the pipeline consults them once the session
        #: is loaded, since whether a flow waits for an answer is in the session.
        self.flows = flows

    @property
    def names(self) -> list[str]:
        return [r.name for r in self._routes]

    def named(self, name: str) -> Route | None:
        """The intent called ``name`` (a timer runs its handler without matching a message)."""
        return next((r for r in self._routes if r.name == name), None)

    async def resolve(self, message: RoutedMessage) -> Resolution | None:
        for route in self._routes:
            assert route.matcher is not None
            found = await route.matcher.match(message)
            if found is not None:
                return Resolution(route=route, slots=found.slots)
        if self.fallback is not None and isinstance(message, InboundMessage):
            return Resolution(route=self.fallback, slots={})
        return None


class Router:
    """A group of intents, a fallback and middleware; include routers in one another."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or "router"
        self._items: list[Intent | StatusHook | ConversationHook | Flow | Router] = []
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
        channel: ConversationChannel | Iterable[ConversationChannel] | None = None,
        priority: int = 0,
        scope: IntentScope = "direct",
        conversation_sessions: SessionScope | None = None,
        interrupts_flows: bool = False,
    ) -> Callable[[H], H]:
        """Register a handler for messages meeting every condition given.

        keywords: any of these whole words, case-insensitively. pattern: a regex searched in
        the trimmed body (case-insensitive unless precompiled); named groups become
        ``ctx.slots``. when: a predicate on the message. channel: sms, mms, whatsapp, chat
        (conversations only) or a list. scope: "direct" (1:1 messages, the default),
        "conversation" (Conversations messages; the handler gets a ConversationContext) or
        "any". conversation_sessions: "conversation" or "participant", overriding the bot's
        choice for this intent. interrupts_flows: while a flow waits for an answer (see
        botkit/flows), this intent still runs when it matches, and the flow then asks its
        question again; other intents' messages are taken as the answer.
        """
        matcher = compile_matcher(
            keywords=keywords, pattern=pattern, when=when, channel=channel, scope=scope
        )
        if conversation_sessions is not None:
            if conversation_sessions not in SESSION_SCOPES:
                raise ValueError(
                    f"unknown conversation_sessions {conversation_sessions!r}; "
                    f"use one of {sorted(SESSION_SCOPES)}"
                )
            if scope == "direct":
                raise ValueError(
                    f"intent {name!r}: conversation_sessions applies to conversation messages; "
                    "add scope='conversation' or scope='any'"
                )
        if interrupts_flows and scope == "conversation":
            raise ValueError(
                f"intent {name!r}: interrupts_flows applies to 1:1 messages, where flows run"
            )

        def register(func: H) -> H:
            spec = inspect_handler(func)
            self._items.append(
                Intent(name, matcher, spec, priority, conversation_sessions, interrupts_flows)
            )
            return func

        return register

    def on_timer(self, name: str) -> Callable[[H], H]:
        """Register a handler that only timers run (``ctx.remind(intent=name)``,
        ``bot.schedule(intent=name)``): an intent that no message matches."""
        return self.intent(name, when=_no_message)

    def fallback(self, func: H) -> H:
        """Register the handler for messages no intent matches."""
        if self._fallback is not None:
            raise ValueError(f"router {self.name!r} already has a fallback")
        self._fallback = inspect_handler(func)
        return func

    def add_flow(self, flow: Flow) -> Flow:
        """Register a multi-step flow (botkit/flows), so handlers can start it with
        ``await ctx.start_flow(flow.name)``; its steps run under this router's middleware."""
        if not isinstance(flow, Flow):
            raise TypeError(f"add_flow takes a Flow, not {type(flow).__name__}")
        if any(f.name == flow.name for f in self._flows()):
            raise ValueError(f"router {self.name!r} already has a flow called {flow.name!r}")
        self._items.append(flow)
        return flow

    def _flows(self) -> list[Flow]:
        return [item for item in self._items if isinstance(item, Flow)]

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
        its 200; see botkit/app/status_hooks.py.
        """

        def register(func: S) -> S:
            self._items.append(status_hook(func, statuses))
            return func

        return register

    def on_participant_added(self, func: P) -> P:
        """Register ``async def hook(ctx: ParticipantContext)`` for participants joining a
        conversation (see botkit/app/conversation_hooks.py)."""
        self._items.append(conversation_hook("participant_added", func))
        return func

    def on_participant_removed(self, func: P) -> P:
        """Register ``async def hook(ctx: ParticipantContext)`` for participants leaving."""
        self._items.append(conversation_hook("participant_removed", func))
        return func

    def on_conversation_state(self, *states: str) -> Callable[[C], C]:
        """Register ``async def hook(ctx: ConversationStateContext)`` for conversations moving
        to these states (active, inactive, closed; none: every move)."""
        check_states(states)

        def register(func: C) -> C:
            self._items.append(conversation_hook("conversation_state", func, states))
            return func

        return register

    def on_message_add(self, func: A) -> A:
        """Register ``async def hook(ctx: MessageAddContext)``, run before a message is added
        to a conversation; it may ``ctx.reject()`` or ``ctx.rewrite()`` it. Twilio waits for
        the answer, so keep it quick."""
        self._items.append(conversation_hook("message_add", func))
        return func

    def include(self, router: Router) -> Router:
        """Add another router's intents and hooks here, at this point in order."""
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
        flows = self._flow_routes(())
        return Routes(routes, fallback, FlowTable(flows) if flows else None)

    def _flow_routes(self, outer: tuple[Middleware, ...]) -> list[tuple[Flow, Route]]:
        chain = outer + tuple(self._middleware)
        found: list[tuple[Flow, Route]] = []
        for item in self._items:
            if isinstance(item, Router):
                found.extend(item._flow_routes(chain))
            elif isinstance(item, Flow):
                handler = inspect_handler(flow_step_handler(item))
                found.append((item, Route(f"flow:{item.name}", None, handler, 0, chain)))
        return found

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

    def compile_conversation_hooks(self) -> ConversationHooks:
        """This router's conversation hooks and those of the routers it includes, in order."""
        return ConversationHooks(self._conversation_hooks())

    def _conversation_hooks(self) -> list[ConversationHook]:
        hooks: list[ConversationHook] = []
        for item in self._items:
            if isinstance(item, Router):
                hooks.extend(item._conversation_hooks())
            elif isinstance(item, ConversationHook):
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
                out.append(
                    Route(
                        item.name,
                        item.matcher,
                        item.handler,
                        item.priority,
                        chain,
                        item.sessions,
                        item.interrupts_flows,
                    )
                )
        return fallback


async def _no_message(message: RoutedMessage) -> bool:
    """The matcher of a timer's intent: no message runs it."""
    return False
