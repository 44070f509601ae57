"""Handling one accepted message: lock and load its session, route, run, save, log.

This is the only place that decides what happens when a handler fails: the error is logged with
the MessageSid, the session changes of the failed run are discarded, and the user gets the
apology. Twilio has already had its 200, so nothing here can turn into a webhook 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from botkit.compliance_step import Compliance
from botkit.context import Context
from botkit.logging import get_logger
from botkit.outbound.sender import Sender
from botkit.routing.router import Resolution, Route, Routes
from botkit.storage.sessions import SessionLease, SessionStore, acquire_session
from botkit.twilio.inbound import InboundMessage

log = get_logger("pipeline")


@dataclass(frozen=True)
class SessionPolicy:
    ttl: float
    lease: float
    wait: float


def session_key(bot: str, message: InboundMessage) -> str:
    """1:1 sessions: one per (bot, channel, bot address, user address)."""
    return "|".join(
        (bot, message.channel, message.recipient.number, message.sender.number)
    )


class Pipeline:
    def __init__(
        self,
        bot_name: str,
        routes: Routes,
        sessions: SessionStore,
        sender: Sender,
        policy: SessionPolicy,
        apology: str,
        *,
        compliance: Compliance | None = None,
    ) -> None:
        self.bot_name = bot_name
        self.routes = routes
        self.sessions = sessions
        self.sender = sender
        self.policy = policy
        self.apology = apology
        self.compliance = compliance

    async def process(self, message: InboundMessage) -> str:
        """Run the message through its handler; returns the outcome that was logged."""
        started = time.perf_counter()
        if self.compliance is not None:
            await self.compliance.observe(message)
            keyword = await self.compliance.handle_keyword(message, self.sender)
            if keyword is not None:
                self._log(message, None, f"keyword:{keyword.kind}", started)
                return f"keyword:{keyword.kind}"
        try:
            resolution = await self.routes.resolve(message)
        except Exception:
            # A `when` predicate is handler code too: its failure must not make the inbound
            # worker redeliver the message forever.
            log.exception("handler failed", sid=message.sid, intent=None, stage="routing")
            await self._apologise(Context(message, {}, self.sender))
            self._log(message, None, "error", started)
            return "error"
        if resolution is None:
            self._log(message, None, "unhandled", started)
            return "unhandled"
        key = session_key(self.bot_name, message)
        lease = await acquire_session(
            self.sessions, key, lease=self.policy.lease, wait=self.policy.wait
        )
        async with self._keep_alive(lease):
            outcome = await self._run(message, resolution, lease)
        self._log(message, resolution.route, outcome, started)
        return outcome

    async def _run(self, message: InboundMessage, found: Resolution, lease: SessionLease) -> str:
        ctx = Context(
            message, lease.data, self.sender, intent=found.route.name, slots=found.slots
        )
        try:
            await _with_middleware(found.route, ctx)
            saved = await self.sessions.commit(lease, ctx.session, self.policy.ttl)
        except Exception:
            log.exception("handler failed", sid=message.sid, intent=found.route.name)
            await self.sessions.commit(lease, None, self.policy.ttl)
            await self._apologise(ctx)
            return "error"
        if not saved:
            log.error("session lock lost; session update dropped", sid=message.sid)
            return "lock_lost"
        return "ok"

    async def _apologise(self, ctx: Context) -> None:
        try:
            await ctx.reply(self.apology)
        except Exception:
            log.exception("apology could not be sent", sid=ctx.message.sid)

    @contextlib.asynccontextmanager
    async def _keep_alive(self, lease: SessionLease):  # type: ignore[no-untyped-def]
        """Renew the session lock while a slow handler runs, so no one else gets in."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.policy.lease / 3)
                if not await self.sessions.renew(lease, self.policy.lease):
                    return

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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


async def _with_middleware(route: Route, ctx: Context) -> None:
    async def call(index: int) -> None:
        if index == len(route.middleware):
            await route.handler.call(ctx)
            return
        await route.middleware[index](ctx, lambda: call(index + 1))

    await call(0)


Processor = Callable[[InboundMessage], Awaitable[str]]
