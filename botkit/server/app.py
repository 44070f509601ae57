"""The aiohttp application: routes, and the runtime that lives as long as the app does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from botkit.app.bot import Bot
from botkit.errors import ConfigError
from botkit.inbound.compliance_step import Compliance
from botkit.inbound.pipeline import Pipeline
from botkit.inbound.status_tracker import StatusTracker
from botkit.inbound.worker import InboundWorker
from botkit.logging import get_logger
from botkit.metrics import Metrics
from botkit.outbound.messenger import From, Messenger
from botkit.outbound.outbox import Outbox
from botkit.outbound.window_fallback import WindowClosedFallback
from botkit.outbound.worker import OutboundWorker
from botkit.runtime.conversations import ConversationRuntime, open_conversations
from botkit.runtime.outbound import outbox_for, start_outbound_worker
from botkit.runtime.stores import Stores, auth_token, open_stores
from botkit.server.conversations_endpoint import conversations_endpoint
from botkit.server.probes import Probes
from botkit.server.status_endpoint import status_endpoint
from botkit.server.webhook import Endpoint, Rejection, WebhookReader, accept_once
from botkit.sessions.locking import SessionPolicy
from botkit.settings import Settings
from botkit.twilio.inbound import MalformedWebhook, parse_inbound_message
from botkit.twilio.signature import SignatureVerifier

log = get_logger("server")

SESSION_LOCK_WAIT = 60.0


@dataclass
class Runtime:
    """What a running app holds: stores, outbox, pipeline and inbound workers."""

    settings: Settings
    stores: Stores
    outbox: Outbox
    pipeline: Pipeline
    worker: InboundWorker
    dispatcher: OutboundWorker | None
    conversations: ConversationRuntime
    #: How long stop() lets memory-mode sends drain. A test harness shortens it: a message held
    #: for quiet hours would otherwise hold every test's teardown for the full grace.
    drain_grace: float = 10.0

    async def idle(self) -> None:
        """Wait until every accepted inbound event has been handled and every message it sent
        has left the outbound queue; wrap in asyncio.timeout."""
        # The queues may live in another process (Redis), so there is no event to wait on.
        while (  # noqa: ASYNC110
            await self.stores.inbound.backlog() or await self.stores.outbound.queue.pending()
        ):
            await asyncio.sleep(0.01)

    async def stop(self, grace: float | None = None) -> None:
        """Finish the handlers in flight; then, with memory stores (nothing would survive the
        process), send what they queued before stopping the dispatcher (for ``grace`` seconds,
        ``drain_grace`` by default). With Redis, whatever is left stays queued for the other
        processes."""
        grace = self.drain_grace if grace is None else grace
        await self.worker.stop()
        if self.dispatcher is not None and self.stores.redis is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    while await self.stores.outbound.queue.pending():  # noqa: ASYNC110
                        await asyncio.sleep(0.02)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            await self.dispatcher.client.http_client.close()
        await self.outbox.close()
        await self.conversations.close()
        await self.stores.close()


RUNTIME = web.AppKey("botkit.runtime.stores", Runtime)


def create_app(
    bot: Bot, settings: Settings, *, workers: bool = True, dispatch: bool = True
) -> web.Application:
    """The webhook server for bot. workers=False accepts messages without running handlers;
    dispatch=False queues replies for `botkit worker` processes to send."""
    app = web.Application()
    metrics = Metrics()
    verifier = SignatureVerifier(auth_token(settings)) if settings.validate_signatures else None
    reader = WebhookReader(
        verifier,
        public_url=settings.public_url,
        trust_proxy=settings.trust_proxy,
        max_body_bytes=settings.max_body_bytes,
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if verifier is None:
            log.warning(
                "SIGNATURE VALIDATION IS OFF (BOTKIT_VALIDATE_SIGNATURES=false): "
                "anyone can forge webhooks to this bot"
            )
        runtime = await _start_runtime(bot, settings, workers, dispatch, metrics)
        app[RUNTIME] = runtime
        try:
            yield
        finally:
            bot.attach(None)
            bot.attach_handoff(None)
            await runtime.stop()
            await bot.lifecycle.stop()

    async def messages(request: web.Request) -> web.StreamResponse:
        params = await reader.read(request)
        try:
            message = parse_inbound_message(params)
        except MalformedWebhook as exc:
            raise Rejection(400, str(exc)) from None
        return await accept_once(
            request.app[RUNTIME].stores.inbound,
            message.sid,
            message.model_dump_json(),
            settings.dedup_ttl,
            duplicate="duplicate webhook ignored",
            sid=message.sid,
        )

    def trouble(request: web.Request) -> str | None:
        runtime = request.app[RUNTIME]
        dispatcher = runtime.dispatcher
        return runtime.worker.trouble() or (dispatcher.trouble() if dispatcher else None)

    async def ping(request: web.Request) -> None:
        await request.app[RUNTIME].stores.ping()

    async def refresh(request: web.Request) -> None:
        stores = request.app[RUNTIME].stores
        metrics.outbound_pending.set(await stores.outbound.queue.pending())
        metrics.inbound_backlog.set(await stores.inbound.backlog())

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/twilio/messages", _guarded(messages, metrics))
    app.router.add_post(
        "/twilio/status",
        _guarded(
            status_endpoint(reader, lambda r: r.app[RUNTIME].stores.inbound, settings.dedup_ttl),
            metrics,
        ),
    )
    app.router.add_post(
        "/twilio/conversations",
        _guarded(
            conversations_endpoint(
                reader, lambda r: r.app[RUNTIME].conversations, settings.dedup_ttl
            ),
            metrics,
        ),
    )
    app.router.add_routes(Probes(metrics, trouble, ping, refresh).routes())
    return app


async def _start_runtime(
    bot: Bot, settings: Settings, workers: bool, dispatch: bool, metrics: Metrics
) -> Runtime:
    if settings.development and settings.twilio_base_url is None:
        raise ConfigError(
            "TWILIO_ACCOUNT_SID: unset and no BOTKIT_TWILIO_BASE_URL, so there is nowhere to "
            "send replies (`botkit run` starts a sandbox for you)"
        )
    stores = await open_stores(settings, bot.name)
    try:
        await bot.lifecycle.start(settings, auth_token(settings))
    except BaseException:
        await bot.lifecycle.stop()
        await stores.close()
        raise
    dispatcher = None
    if workers and dispatch:
        dispatcher = start_outbound_worker(
            stores.outbound, settings, bot.whatsapp_template, metrics
        )
    outbox = outbox_for(stores.outbound, settings, dispatcher.wake if dispatcher else None)
    sender = Messenger(outbox, From(messaging_service_sid=settings.messaging_service_sid))
    compliance = Compliance(bot.keywords, stores.outbound.ledger, stores.outbound.windows)
    pipeline = Pipeline(
        bot.name,
        bot.compile(),
        stores.sessions,
        sender,
        SessionPolicy(ttl=settings.session_ttl, lease=settings.lock_lease, wait=SESSION_LOCK_WAIT),
        bot.apology or settings.apology,
        compliance=compliance,
    )
    conversations = open_conversations(
        bot, settings, stores, pipeline, compliance, auth_token(settings)
    )
    worker = InboundWorker(
        stores.inbound,
        pipeline.process,
        concurrency=settings.inbound_concurrency,
        lease=settings.inbound_lease,
        process_status=StatusTracker(
            stores.statuses,
            bot.compile_status_hooks(),
            sender,
            reactions=[
                WindowClosedFallback(stores.outbound.queue, outbox, bot.whatsapp_template)
            ],
        ).process,
        process_conversation=conversations.pipeline.process,
    )
    if workers:
        worker.start()
    bot.attach(sender)
    bot.attach_handoff(conversations.handoff)
    return Runtime(settings, stores, outbox, pipeline, worker, dispatcher, conversations)


def _guarded(endpoint: Endpoint, metrics: Metrics) -> Endpoint:
    """Turn rejections into a 4xx with one log line; never let an error become a 500. Every
    answer is counted here, the one place that knows it."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        response = await _answer(request)
        metrics.webhooks.labels(path=request.path, status=str(response.status)).inc()
        return response

    async def _answer(request: web.Request) -> web.StreamResponse:
        try:
            return await endpoint(request)
        except Rejection as exc:
            log.warning(
                "webhook rejected",
                path=request.path,
                status=exc.status,
                reason=exc.reason,
                **exc.log_fields,
            )
            return web.Response(status=exc.status, text=exc.reason + "\n")
        except Exception as exc:
            log.error("webhook could not be accepted", path=request.path, error=repr(exc))
            return web.Response(status=503, text="temporarily unable to accept webhooks\n")

    return guarded
