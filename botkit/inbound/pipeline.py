"""Handling one accepted message: lock and load its session, route, run, save, log.

This is the only place that decides what happens when a handler fails: the error is logged with
the MessageSid, the session changes of the failed run are discarded, and the user gets the
apology. Twilio has already had its 200, so nothing here can turn into a webhook 500.

1:1 messages come in through ``process``. Conversation messages come through ``run`` with a
turn of their own (botkit/inbound/conversation_pipeline.py): the same routing table, locking
and failure handling, with their own session keys and handler context.

A 1:1 message's session is usually locked and loaded already, as the inbound worker took the
message (``held``), and its save is left to the worker (``Handled.save``), which saves it with
the message's acknowledgement: the queue and the session share a slot, so each is one round
trip (botkit/sessions/shards.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from redis.exceptions import RedisError

from botkit.app.flow_table import FlowTable
from botkit.app.matchers import RoutedMessage
from botkit.app.router import Routes
from botkit.app.routes import Resolution, Route
from botkit.compliance.keywords import KeywordKind
from botkit.contexts.conversation import HandlerContext
from botkit.contexts.direct import Context
from botkit.contexts.reminders import Reminders
from botkit.core.redis_client import ReplicaTimeout
from botkit.core.renewals import Renewals
from botkit.effects.protocol import EffectStore, owned_by
from botkit.handoff.service import Handoff
from botkit.inbound.compliance_step import Compliance
from botkit.inbound.events import TimerEvent
from botkit.inbound.queue.protocol import NONE
from botkit.logging import get_logger
from botkit.outbound.held_outbox import HeldOutbox, HeldReplies
from botkit.outbound.messenger import Messenger
from botkit.outbound.outbox import QueueOutbox
from botkit.sessions.keys import SessionKeys
from botkit.sessions.locking import SessionPolicy, acquire_session
from botkit.sessions.protocol import SessionLease, SessionSave, SessionStore
from botkit.timers.protocol import Timer
from botkit.twilio.inbound import InboundMessage

log = get_logger("pipeline")

#: Failures of the stores rather than of the handler: the message is retried, not apologised for.
STORE_TROUBLE = (RedisError, ReplicaTimeout)


@dataclass(frozen=True)
class Handled:
    """How a message went (the outcome logged), and the session save its worker makes with the
    message's acknowledgement (None: nothing left to save), with the replies it queues in the
    same step."""

    outcome: str
    save: SessionSave | None = None
    #: Replies held to be queued with the acknowledgement (botkit/outbound/held_outbox.py).
    replies: HeldReplies = NONE


class Turn(Protocol):
    """One message to route, and what its kind decides: its session and its handler's context."""

    @property
    def message(self) -> RoutedMessage: ...

    def session_key(self, route: Route) -> str: ...

    async def context(
        self, session: dict[str, Any], found: Resolution | None
    ) -> HandlerContext: ...


class DirectTurn:
    """A 1:1 message."""

    def __init__(
        self,
        keys: SessionKeys,
        message: InboundMessage,
        sender: Messenger,
        handoff: Handoff | None = None,
        flows: FlowTable | None = None,
        *,
        held: SessionLease | None = None,
        deferred: bool = False,
        effects: EffectStore | None = None,
        reminders: Reminders | None = None,
        timer: Timer | None = None,
    ) -> None:
        """held: the session, locked as the message was taken; deferred: leave the session's
        save to the caller (``save``) instead of making it here; effects: where ``ctx.once``
        keeps its results; reminders: what ``ctx.remind`` arms; timer: the timer this turn
        runs for (None: a message the person wrote)."""
        self.keys = keys
        self.message = message
        self.reminders = reminders
        self.timer = timer
        self.sender = sender
        self.handoff = handoff
        self.flows = flows
        # ctx.once results, under the pseudonym of the person who wrote (an erase finds them).
        self.effects = owned_by(effects, keys.pseudonym(message.sender.number))
        self.held = held
        self.deferred = deferred
        self.save: SessionSave | None = None

    def take_held(self, key: str) -> SessionLease | None:
        held, self.held = self.held, None
        return held if held is not None and held.key == key else None

    def session_key(self, route: Route | None = None) -> str:
        """One session per user and bot address, whichever route the message takes."""
        return self.keys.direct(self.message)

    async def context(self, session: dict[str, Any], found: Resolution | None) -> Context:
        return Context(
            self.message,
            session,
            self.sender,
            intent=found.route.name if found is not None else None,
            slots=found.slots if found is not None else None,
            handoff=self.handoff,
            flows=self.flows,
            effects=self.effects,
            reminders=self.reminders,
            timer=self.timer,
        )


class Pipeline:
    def __init__(
        self,
        keys: SessionKeys,
        routes: Routes,
        sessions: SessionStore,
        sender: Messenger,
        policy: SessionPolicy,
        apology: str,
        *,
        compliance: Compliance | None = None,
        handoff: Handoff | None = None,
        effects: EffectStore | None = None,
        reminders: Reminders | None = None,
        hold: float = 0.0,
    ) -> None:
        """handoff: what ``ctx.handoff`` and ``ctx.conversations`` use (None: a pipeline run
        without Conversations, as some tests build it); effects: where ``ctx.once`` keeps its
        results; reminders: what ``ctx.remind`` arms (None: it cannot); hold: how long a
        deferred turn's replies may wait to be queued with its acknowledgement (0: each is
        queued as it is sent; BOTKIT_REPLY_HOLD)."""
        self.keys = keys
        self.reminders = reminders
        self.routes = routes
        self.sessions = sessions
        self.sender = sender
        self.policy = policy
        self.apology = apology
        self.compliance = compliance
        self.handoff = handoff
        self.effects = effects
        self.hold = hold
        # Renew the session lock while a slow handler runs, so no one else gets in.
        self._renewals: Renewals[SessionLease] = Renewals(
            policy.lease / 3, lambda lease: sessions.renew(lease, policy.lease)
        )

    async def process(
        self,
        event: InboundMessage | TimerEvent,
        held: SessionLease | None = None,
        *,
        deferred: bool = False,
    ) -> Handled:
        """Run the message (or the timer that came due) through its handler. ``held``: its
        session, already locked; ``deferred``: the caller saves the session (``Handled.save``)
        as it finishes the event. Otherwise the session is saved here."""
        started = time.perf_counter()
        timer = event.timer if isinstance(event, TimerEvent) else None
        message = event.message if isinstance(event, TimerEvent) else event
        outbox = self._holding(message, deferred)
        turn = DirectTurn(
            self.keys,
            message,
            self.sender if outbox is None else Messenger(outbox, self.sender.default),
            self.handoff,
            self.routes.flows,
            held=held,
            deferred=deferred,
            effects=self.effects,
            reminders=self.reminders,
            timer=timer,
        )
        try:
            if timer is not None:
                outcome, route = await self._fire(turn, timer)
            else:
                outcome, route = await self._process(turn)
        except BaseException:
            if outbox is not None:
                outbox.discard()
            if turn.held is not None:  # never used: let the next attempt have it at once
                await self.sessions.commit(turn.held, None, self.policy.ttl)
            raise
        if turn.held is not None:  # nothing ran with it: released with the acknowledgement
            await self._save(turn, turn.held, None)
        self._log(message, route, outcome, started)
        return Handled(outcome, turn.save, await outbox.take() if outbox else NONE)

    def _holding(self, message: InboundMessage, deferred: bool) -> HeldOutbox | None:
        """The turn's own outbox when its replies can wait for its acknowledgement: only when
        the inbound worker finishes the message (deferred), and they are queued then."""
        outbox = self.sender.outbox
        if not deferred or self.hold <= 0 or not isinstance(outbox, QueueOutbox):
            return None
        return HeldOutbox(outbox, f"{message.sid}:", self.hold)

    async def _process(self, turn: DirectTurn) -> tuple[str, Route | None]:
        message = turn.message
        if self.compliance is not None:
            await self.compliance.observe(message)
            keyword = await self.compliance.handle_keyword(message, self.sender)
            if keyword is not None:
                await self._after_keyword(turn, keyword.kind)
                return f"keyword:{keyword.kind}", None
        return await self.run(turn)

    async def _fire(self, turn: DirectTurn, timer: Timer) -> tuple[str, Route | None]:
        """A timer came due: run its intent's handler with the person's session, without
        matching (there is no text), and without the keyword step (they wrote nothing)."""
        route = self.routes.named(timer.intent)
        if route is None:
            log.error("timer fired for an unknown intent", timer=timer.id, intent=timer.intent)
            return "unknown_intent", None
        lease = await self._lease(turn, turn.session_key(route))

        async def invoke(ctx: HandlerContext) -> Route | None:
            await _with_middleware(route, ctx)
            return route

        with self._renewals.hold(lease, since=lease.taken_at):
            return await self._run(turn, Resolution(route=route, slots={}), lease, invoke)

    async def _after_keyword(self, turn: DirectTurn, kind: KeywordKind) -> None:
        """A flow waiting for an answer hears of HELP (it asks again) and STOP (it ends)."""
        flows = turn.flows
        if flows is None or kind == "opt_in":
            return
        lease = await self._lease(turn, turn.session_key())

        async def tell_flows(ctx: HandlerContext) -> Route | None:
            assert isinstance(ctx, Context)
            await flows.after_keyword(ctx, kind)
            return None

        with self._renewals.hold(lease, since=lease.taken_at):
            await self._run(turn, None, lease, tell_flows)

    async def run(self, turn: Turn) -> tuple[str, Route | None]:
        """Route the turn's message and run its handler under its session lock; returns the
        outcome and the route taken (None when nothing matched or routing failed)."""
        message = turn.message
        try:
            resolution = await self.routes.resolve(message)
        except Exception:
            # A `when` predicate is handler code too: its failure must not make the inbound
            # worker redeliver the message forever.
            log.exception("handler failed", sid=message.sid, intent=None, stage="routing")
            await self._apologise(turn)
            return "error", None
        flows = turn.flows if isinstance(turn, DirectTurn) else None
        if resolution is not None:
            key = turn.session_key(resolution.route)
        elif isinstance(turn, DirectTurn) and flows is not None:
            # Nothing matched, but a flow may be waiting for this very message: that is in
            # the session, which a 1:1 message finds whatever its route.
            key = turn.session_key()
        else:
            return "unhandled", None
        lease = await self._lease(turn, key)

        async def invoke(ctx: HandlerContext) -> Route | None:
            if flows is not None and isinstance(ctx, Context):
                return await flows.dispatch(ctx, resolution, _with_middleware)
            assert resolution is not None
            await _with_middleware(resolution.route, ctx)
            return resolution.route

        with self._renewals.hold(lease, since=lease.taken_at):
            return await self._run(turn, resolution, lease, invoke)

    async def _run(
        self, turn: Turn, found: Resolution | None, lease: SessionLease, invoke: Invoke
    ) -> tuple[str, Route | None]:
        """Run ``invoke`` (the handler, or what flows decide) with the session, then save it;
        returns the outcome and the route that ran."""
        sid = turn.message.sid
        try:
            ctx = await turn.context(lease.data, found)
        except Exception:
            # Nothing ran yet: release the session and let the inbound worker retry the event.
            await self.sessions.commit(lease, None, self.policy.ttl)
            raise
        route = found.route if found is not None else None
        try:
            route = await invoke(ctx)
            saved = await self._save(turn, lease, ctx.session)
        except STORE_TROUBLE:
            # Not the handler's fault: Redis failed or could not make a write safe (a reply
            # queued without reaching its replicas). Leave the message unfinished, to be run
            # again; its replies keep their keys, so none goes twice.
            await self.sessions.commit(lease, None, self.policy.ttl)
            raise
        except Exception:
            log.exception("handler failed", sid=sid, intent=ctx.intent)
            await self._save(turn, lease, None)
            await self._apologise(turn, ctx)
            return "error", route
        if not saved:
            log.error("session lock lost; session update dropped", sid=sid)
            return "lock_lost", route
        return ("ok" if route is not None else "unhandled"), route

    async def _lease(self, turn: Turn, key: str) -> SessionLease:
        """The turn's session: the one locked as its message was taken, else locked now."""
        held = turn.take_held(key) if isinstance(turn, DirectTurn) else None
        if held is not None:
            return held
        return await acquire_session(
            self.sessions, key, lease=self.policy.lease, wait=self.policy.wait
        )

    async def _save(self, turn: Turn, lease: SessionLease, data: dict[str, Any] | None) -> bool:
        """Save (data None: discard) and unlock, or leave that to the inbound worker, which does
        it with the message's acknowledgement (True here; a lost lock is known then)."""
        if isinstance(turn, DirectTurn) and turn.deferred:
            turn.save = SessionSave(lease, data, self.policy.ttl)
            return True
        return await self.sessions.commit(lease, data, self.policy.ttl)

    async def _apologise(self, turn: Turn, ctx: HandlerContext | None = None) -> None:
        try:
            ctx = ctx or await turn.context({}, None)
            await ctx.reply(self.apology)
        except Exception:
            log.exception("apology could not be sent", sid=turn.message.sid)

    def _log(
        self, message: InboundMessage, route: Route | None, outcome: str, started: float
    ) -> None:
        log.info(
            "message handled",
            sid=message.sid,
            channel=message.channel,
            sender=message.sender.number,
            intent=route.name if route else None,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            result=outcome,
        )


async def _with_middleware(route: Route, ctx: HandlerContext, index: int = 0) -> None:
    """The route's middleware from ``index`` on, each handed the rest as its ``next``, then the
    handler. Not a closure that calls itself: that is a reference cycle, which kept every
    context, with its message and session, until the cycle collector came round (passes of
    40-85 ms under load, in the middle of webhooks)."""
    if index == len(route.middleware):
        await route.handler.call(ctx)
        return
    await route.middleware[index](ctx, partial(_with_middleware, route, ctx, index + 1))


#: Handles a 1:1 message whose session may already be locked, leaving the session's save to
#: the caller (Pipeline.process with deferred=True).
Processor = Callable[[InboundMessage | TimerEvent, SessionLease | None], Awaitable[Handled]]
#: Runs what a message should run with its context; returns the route that ran (None: none).
Invoke = Callable[[HandlerContext], Awaitable[Route | None]]
