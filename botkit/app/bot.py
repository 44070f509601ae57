"""The Bot: the top router, plus what only the top needs (a name, proactive sending)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, Unpack

from pydantic import BaseModel, ValidationError

from botkit.app.agent_commands import BUILT_IN, DEFAULT_AGENT_COMMANDS, command_pattern
from botkit.app.flow_table import check_keywords
from botkit.app.handlers import Handler
from botkit.app.lifecycle import Lifecycle, ShutdownHook, StartupHook
from botkit.app.records import Records
from botkit.app.router import Router, Routes
from botkit.campaigns.audience import audience_of
from botkit.campaigns.model import Campaign, Content, Report
from botkit.campaigns.service import Broadcasts, Imported
from botkit.compliance.hashing import NumberHasher
from botkit.compliance.keywords import DEFAULT_POLICY, KeywordPolicy
from botkit.contexts.handoff_closed import CloseHook
from botkit.contexts.privacy import Eraser, Exporter, PrivacyHooks
from botkit.contexts.reminders import Reminders
from botkit.conversations.client import ConversationsClient
from botkit.core.person import Pseudonym
from botkit.errors import SendError
from botkit.flows.flow import Flow
from botkit.handoff.pool import AgentPool, HandoffTexts
from botkit.handoff.service import Handoff
from botkit.handoff.store.protocol import Presence
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.outbound.messenger import Messenger, first_problem
from botkit.outbound.shaping import WhatsAppTemplate
from botkit.records.memory import MemoryRecordBackend
from botkit.records.protocol import RecordBackend
from botkit.sessions.keys import SESSION_SCOPES, SessionScope
from botkit.settings import DEVELOPMENT_PEPPER

H = TypeVar("H", bound=Handler)
Up = TypeVar("Up", bound=StartupHook)
Down = TypeVar("Down", bound=ShutdownHook)
Closed = TypeVar("Closed", bound=CloseHook)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Serving:
    """What a running runtime lends the Bot for as long as it serves: the outbound path for
    ``bot.send``, the handoff for ``bot.conversations`` and agent desks, and the backend of
    the bot's record stores. Set by ``bot.serve`` (botkit/runtime/runtime.py), the one link
    from the user's Bot to the running parts."""

    messenger: Messenger
    handoff: Handoff
    records: RecordBackend
    #: Names a person in keys: the pepper-HMAC of their number (``Records.person_key``).
    pseudonym: Pseudonym
    reminders: Reminders
    broadcasts: Broadcasts


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
        agents: who ``ctx.handoff()`` without an agent picks from (by skill, capacity and
        presence), and who takes the queues. agent_commands: which built-in agent commands to
        keep (``/resume``, ``/close``, ``/next``, ``/transfer``, ``/away``, ``/available``,
        ``/note``); add others with ``@bot.agent_command``. handoff_texts: what the bot posts
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
        self._serving: Serving | None = None
        self._records: RecordBackend = MemoryRecordBackend()
        # Until a runtime serves the bot: the development pepper, as memory mode uses.
        self._pseudonym: Pseudonym = NumberHasher(DEVELOPMENT_PEPPER).pseudonym
        self.privacy = PrivacyHooks()
        self.agents = agents
        self.handoff_texts = handoff_texts or HandoffTexts()
        self.lifecycle = Lifecycle()
        self.handoff_close_hooks: list[CloseHook] = []
        self._agent_router = Router(f"{name}:agent-commands")
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

    def serve(self, serving: Serving | None) -> None:
        """Connect the running runtime's parts (None: it stopped). The runtime calls this."""
        self._serving = serving
        if serving is not None:
            self.keep_records(serving.records, serving.pseudonym)

    def keep_records(self, backend: RecordBackend, pseudonym: Pseudonym) -> None:
        """Where the bot's record stores live, and how they name people: set by ``serve``,
        and by a command that uses the bot's records without serving it (``botkit privacy``
        runs the bot's privacy hooks against the shared stores)."""
        self._records = backend
        self._pseudonym = pseudonym

    def on_privacy_export(self, func: Exporter) -> Exporter:
        """Register ``async def hook(request: PrivacyRequest) -> JSON``: what this bot keeps
        about ``request.number`` beyond botkit's own stores (its records), for
        ``botkit privacy export`` (botkit/contexts/privacy.py)."""
        _check_async(func, "privacy-export")
        self.privacy.exporters.append(func)
        return func

    def on_privacy_erase(self, func: Eraser) -> Eraser:
        """Register ``async def hook(request: PrivacyRequest) -> int``: delete what this bot
        keeps about ``request.number``; how many records went (``botkit privacy erase``)."""
        _check_async(func, "privacy-erase")
        self.privacy.erasers.append(func)
        return func

    def records(
        self,
        model: type[M],
        namespace: str,
        *,
        ttl: float | None = None,
        owner: str | None = None,
    ) -> Records[M]:
        """A store for this bot's own records of ``model`` (tickets, orders), kept where its
        sessions are: memory in development, Redis with ``REDIS_URL``, chosen when the bot
        starts. ``namespace`` names it in storage (and is its Redis hash tag). ``ttl``: each
        record expires that many seconds after it was put (None: kept until deleted).
        ``owner``: the field holding the address of the person a record is about, so that
        ``of_person`` and ``forget_person`` find it (botkit/app/records.py)."""
        return Records(
            model,
            namespace,
            lambda: self._records,
            ttl=ttl,
            owner=owner,
            pseudonym=lambda: self._pseudonym,
        )

    @property
    def conversations(self) -> ConversationsClient:
        """The running bot's Conversations client (the runtime's one, shared with handlers)."""
        return self._running("bot.conversations").handoff.client

    async def take_next(self, agent: str) -> str | None:
        """``agent`` takes the conversation that has waited longest for one of their skills
        (higher priority first); its SID, or None when no one waits, or the agent already
        holds their capacity or is offline."""
        return await self._running("bot.take_next").handoff.take_next(agent)

    async def resume_bot(self, conversation_sid: str) -> None:
        """Hand a conversation back to the bot from outside a handler (an agent desk)."""
        await self._running("bot.resume_bot").handoff.resume(conversation_sid)

    async def set_presence(self, agent: str, presence: Presence) -> None:
        """``available``: the agent takes waiting conversations, now and whenever they free
        up; ``away``: keeps theirs, gets no new ones; ``offline``: theirs go to other agents
        or back in line, keeping their wait. The same as ``/available`` and ``/away``."""
        await self._running("bot.set_presence").handoff.set_presence(agent, presence)

    async def transfer(
        self, conversation_sid: str, target: str, *, by: str, note: str | None = None
    ) -> str:
        """Move a conversation from its agent ``by`` to another agent or a skill's queue
        (``"@billing"``), as ``/transfer`` does; what happened, in words for ``by``."""
        return await self._running("bot.transfer").handoff.transfer(
            conversation_sid, target, by=by, note=note
        )

    async def close_conversation(self, conversation_sid: str) -> None:
        """Close a handed-off conversation, as ``/close`` does."""
        await self._running("bot.close_conversation").handoff.close(conversation_sid)

    async def send(
        self, to: str, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        """Send a proactive message, outside any handler. Needs the bot to be running.

        Proactive sends are bulk by default: replies to users go ahead of them, and quiet hours
        (if configured) hold them. Pass lane="reply" for a time-critical notification.
        """
        options.setdefault("lane", "bulk")
        return await self._running("bot.send").messenger.send(to, text, **options)

    async def broadcast(
        self,
        recipients: Iterable[str | Mapping[str, object]],
        *,
        text: str | None = None,
        template: str | None = None,
        variables: Mapping[str, str] | None = None,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        name: str = "",
        campaign_id: str | None = None,
        valid_for: float | None = None,
        paused: bool = False,
    ) -> Imported:
        """Start a campaign: ``text`` (or the Content ``template`` with ``variables``) to
        every recipient, ``{column}`` filled in from each (a number, or a mapping with a
        ``phone`` column and others). Recipients are deduplicated, opted-out people skipped,
        quiet hours kept in each one's time zone, and the messages go in the bulk lane behind
        replies (botkit/campaigns/). Returns the campaign and how its audience was taken;
        ``bot.campaign(id)`` reports on it, ``pause``/``resume``/``cancel`` steer it. The same
        ``campaign_id`` again resumes an import that was cut short, adding nobody twice."""
        try:
            campaign = Campaign(
                **({"id": campaign_id} if campaign_id else {}),
                name=name,
                content=Content(
                    text=text, content_sid=template, variables=dict(variables or {})
                ),
                from_=from_,
                messaging_service_sid=messaging_service_sid,
                valid_for=valid_for,
            )
        except ValidationError as exc:
            raise SendError(f"cannot broadcast: {first_problem(exc)}") from None
        broadcasts = self._running("bot.broadcast").broadcasts
        return await broadcasts.start(campaign, audience_of(recipients), paused=paused)

    async def campaign(self, campaign_id: str) -> Report:
        """A campaign's counts, in total and by minute, and how many recipients are left."""
        return await self._running("bot.campaign").broadcasts.report(campaign_id)

    async def pause(self, campaign_id: str) -> Campaign:
        """Stop feeding a campaign (what is already in line, seconds of it, still goes)."""
        return await self._running("bot.pause").broadcasts.steer(campaign_id, "paused")

    async def resume(self, campaign_id: str) -> Campaign:
        return await self._running("bot.resume").broadcasts.steer(campaign_id, "sending")

    async def cancel(self, campaign_id: str) -> Campaign:
        """End a campaign for good: its remaining recipients are dropped."""
        return await self._running("bot.cancel").broadcasts.steer(campaign_id, "canceled")

    async def schedule(
        self,
        to: str,
        *,
        intent: str,
        from_: str,
        at: datetime | None = None,
        in_: timedelta | None = None,
        every: timedelta | None = None,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> str:
        """Run ``intent``'s handler for the person ``to`` later (``at``, or ``in_`` from now),
        with their session, as if they had written to ``from_`` (the bot's number, with
        ``whatsapp:`` for WhatsApp); again ``every`` so often if given. Durable, and run once
        across processes (botkit/timers/). ``key`` names it for that person: scheduling the
        same key again replaces it. Returns the timer's id, for ``cancel_timer``."""
        return await self._running("bot.schedule").reminders.arm(
            sender=to, recipient=from_, intent=intent, at=at, in_=in_, every=every, key=key,
            data=data,
        )

    async def cancel_timer(
        self, timer_id: str | None = None, *, to: str | None = None, key: str | None = None
    ) -> bool:
        """Disarm a timer by its id, or by the person and key it was armed with (False: there
        was none). An occurrence already running is not stopped."""
        reminders = self._running("bot.cancel_timer").reminders
        if timer_id is None:
            if to is None or key is None:
                raise SendError("cancel_timer needs the timer's id, or both to= and key=")
            timer_id = reminders.timer_id(to, key)
        return await reminders.cancel(timer_id)

    def _running(self, what: str) -> Serving:
        if self._serving is None:
            raise SendError(f"{what} needs a running bot (botkit run, or create_app started)")
        return self._serving


def _check_async(func: object, kind: str) -> None:
    """A sync function would return None where an awaitable is expected: fail at import."""
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"{kind} hook {getattr(func, '__qualname__', func)!r} must be async")
