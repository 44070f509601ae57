"""The Bot: the top router, plus what only the top needs (a name, proactive sending)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from botkit.app.agent_commands import BUILT_IN, DEFAULT_AGENT_COMMANDS, command_pattern
from botkit.app.flow_table import check_keywords
from botkit.app.handlers import Handler
from botkit.app.lifecycle import Lifecycle, ShutdownHook, StartupHook
from botkit.app.router import Router, Routes
from botkit.compliance.keywords import DEFAULT_POLICY, KeywordPolicy
from botkit.contexts.handoff_closed import CloseHook
from botkit.conversations.client import ConversationsClient
from botkit.errors import SendError
from botkit.flows.flow import Flow
from botkit.handoff.pool import AgentPool, HandoffTexts
from botkit.handoff.service import Handoff
from botkit.outbound.message import Lane, OutboundHandle
from botkit.outbound.messenger import Messenger, chosen_sender
from botkit.outbound.shaping import WhatsAppTemplate
from botkit.sessions.keys import SESSION_SCOPES, SessionScope

H = TypeVar("H", bound=Handler)
Up = TypeVar("Up", bound=StartupHook)
Down = TypeVar("Down", bound=ShutdownHook)
Closed = TypeVar("Closed", bound=CloseHook)


class Bot(Router):
    """A bot is a router that the server runs. ``name`` namespaces its sessions in storage."""

    def __init__(
        self,
        name: str = "bot",
        *,
        apology: str | None = None,
        keywords: KeywordPolicy = DEFAULT_POLICY,
        whatsapp_template: WhatsAppTemplate | None = None,
        conversation_sessions: SessionScope = "conversation",
        agents: AgentPool | None = None,
        agent_commands: Iterable[str] = DEFAULT_AGENT_COMMANDS,
        handoff_texts: HandoffTexts | None = None,
    ) -> None:
        """keywords: STOP/START/HELP handling (Twilio's lists and replies by default).
        whatsapp_template: what to send instead of free text outside the WhatsApp 24 h window.
        conversation_sessions: in Conversations, one session per conversation (shared by its
        participants) or per participant within each conversation; an intent may override it.
        agents: who ``ctx.handoff()`` without an agent picks from, and who takes the queue.
        agent_commands: which built-in agent commands to keep (``/resume``, ``/close``,
        ``/next``); add others with ``@bot.agent_command``. handoff_texts: what the bot posts
        into a handed-off conversation.
        """
        if conversation_sessions not in SESSION_SCOPES:
            raise ValueError(
                f"unknown conversation_sessions {conversation_sessions!r}; "
                f"use one of {sorted(SESSION_SCOPES)}"
            )
        super().__init__(name)
        self.conversation_sessions: SessionScope = conversation_sessions
        self.apology = apology
        self.keywords = keywords
        self.whatsapp_template = whatsapp_template
        self._sender: Messenger | None = None
        self.agents = agents
        self.handoff_texts = handoff_texts or HandoffTexts()
        self.lifecycle = Lifecycle()
        self.handoff_close_hooks: list[CloseHook] = []
        self._agent_router = Router(f"{name}:agent-commands")
        self._handoff: Handoff | None = None
        for command in agent_commands:
            if command not in BUILT_IN:
                raise ValueError(
                    f"no built-in agent command {command!r} (built in: {sorted(BUILT_IN)}); "
                    "register your own with @bot.agent_command"
                )
            # Below priority 0, so a command registered under the same name wins.
            self.agent_command(command, priority=-1)(BUILT_IN[command])

    def on_startup(self, func: Up) -> Up:
        """Register ``async def hook(startup: Startup)``: runs when the server starts, before
        any message is handled, with the settings and a Twilio client (botkit/app/lifecycle.py)."""
        _check_async(func, "startup")
        self.lifecycle.startup.append(func)
        return func

    def on_shutdown(self, func: Down) -> Down:
        """Register ``async def hook()``: runs when the server has stopped (reverse order)."""
        _check_async(func, "shutdown")
        self.lifecycle.shutdown.append(func)
        return func

    def on_handoff_closed(self, func: Closed) -> Closed:
        """Register ``async def hook(ctx: HandoffClosedContext)``: runs after an agent closed a
        handed-off conversation, e.g. to send the customer a survey with ``ctx.send``
        (botkit/contexts/handoff_closed.py)."""
        _check_async(func, "handoff-closed")
        self.handoff_close_hooks.append(func)
        return func

    def agent_command(self, command: str, *, priority: int = 0) -> Callable[[H], H]:
        """Register ``async def handler(ctx: ConversationContext)`` for ``command`` (the
        message's first word, like ``/transfer``; the rest is ``ctx.slots["args"]``). In a
        conversation handed off to an agent, agent commands are the only handlers that run,
        and only for participants other than the customer."""
        return self._agent_router.intent(
            f"agent:{command.strip()}",
            pattern=command_pattern(command),
            scope="conversation",
            priority=priority,
        )

    def add_flow(self, flow: Flow) -> Flow:
        """Register a flow (see Router.add_flow), checking it against this bot's keywords now:
        an answer or cancel word that is STOP, START or HELP could never reach the flow."""
        if isinstance(flow, Flow):  # anything else: Router.add_flow says what it takes
            check_keywords(flow, self.keywords)
        return super().add_flow(flow)

    def include(self, router: Router) -> Router:
        """Include a router (see Router.include); its flows are checked now, like
        ``add_flow``'s: names unique in the bot, no answers that are keywords."""
        included = super().include(router)
        self.compile()
        return included

    def compile(self) -> Routes:
        """The routing table; flows added to included routers after ``include`` are checked
        against this bot's keywords here, when the server starts."""
        routes = super().compile()
        if routes.flows is not None:
            routes.flows.check_keywords(self.keywords)
        return routes

    def compile_agent_commands(self) -> Routes:
        return self._agent_router.compile()

    def attach_handoff(self, handoff: Handoff | None) -> None:
        """Connect (or with None, disconnect) the running server's Conversations side."""
        self._handoff = handoff

    @property
    def conversations(self) -> ConversationsClient:
        """The running bot's Conversations client (the runtime's one, shared with handlers)."""
        return self._running_handoff().client

    async def take_next(self, agent: str) -> str | None:
        """``agent`` takes the conversation that has waited longest for an agent; its SID, or
        None when no one waits or the agent already holds ``AgentPool.capacity``."""
        return await self._running_handoff().take_next(agent)

    async def resume_bot(self, conversation_sid: str) -> None:
        """Hand a conversation back to the bot from outside a handler (an agent desk)."""
        await self._running_handoff().resume(conversation_sid)

    def _running_handoff(self) -> Handoff:
        if self._handoff is None:
            raise SendError("bot.conversations needs a running bot (botkit run, or create_app)")
        return self._handoff

    def attach(self, sender: Messenger | None) -> None:
        """Connect (or with None, disconnect) the running server's outbound path."""
        self._sender = sender

    async def send(
        self,
        to: str,
        text: str | None = None,
        *,
        media_urls: Iterable[str] = (),
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        idempotency_key: str | None = None,
        lane: Lane = "bulk",
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> OutboundHandle:
        """Send a proactive message, outside any handler. Needs the bot to be running.

        Proactive sends are bulk by default: replies to users go ahead of them, and quiet hours
        (if configured) hold them. Pass lane="reply" for a time-critical notification.
        content_sid / content_variables: send a Content template instead of free text.
        """
        if self._sender is None:
            raise SendError("bot.send needs a running bot (botkit run, or create_app started)")
        return await self._sender.send(
            to,
            text,
            media_urls=media_urls,
            sender=chosen_sender(from_, messaging_service_sid),
            idempotency_key=idempotency_key,
            lane=lane,
            content_sid=content_sid,
            content_variables=content_variables,
        )


def _check_async(func: object, kind: str) -> None:
    """A sync function would return None where an awaitable is expected: fail at import."""
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"{kind} hook {getattr(func, '__qualname__', func)!r} must be async")
