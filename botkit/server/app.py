"""The aiohttp application: the webhook routes and probes of a running bot.

Everything behind the routes is the runtime's (botkit/runtime/runtime.py), started when the app
starts and stopped when it stops; this module only turns HTTP into calls on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from botkit.app.bot import Bot
from botkit.desk.app import desk_app
from botkit.logging import get_logger
from botkit.metrics import Metrics
from botkit.runtime.runtime import Runtime, start_runtime
from botkit.runtime.twilio import auth_token
from botkit.server.conversations_endpoint import conversations_endpoint
from botkit.server.probes import Probes
from botkit.server.status_endpoint import status_endpoint
from botkit.server.webhook import Endpoint, Rejection, WebhookReader, accept_once
from botkit.sessions.keys import session_key
from botkit.settings import Settings
from botkit.twilio.inbound import MalformedWebhook, parse_inbound_message
from botkit.twilio.signature import SignatureVerifier

log = get_logger("server")

RUNTIME = web.AppKey("botkit.runtime", Runtime)


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

    def runtime(request: web.Request) -> Runtime:
        return request.app[RUNTIME]

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if verifier is None:
            log.warning(
                "SIGNATURE VALIDATION IS OFF (BOTKIT_VALIDATE_SIGNATURES=false): "
                "anyone can forge webhooks to this bot"
            )
        app[RUNTIME] = await start_runtime(
            bot, settings, workers=workers, dispatch=dispatch, metrics=metrics
        )
        try:
            yield
        finally:
            await app[RUNTIME].stop()

    async def messages(request: web.Request) -> web.StreamResponse:
        params = await reader.read(request)
        try:
            message = parse_inbound_message(params)
        except MalformedWebhook as exc:
            raise Rejection(400, str(exc)) from None
        return await accept_once(
            runtime(request).stores.inbound,
            message.sid,
            message.model_dump_json(),
            settings.dedup_ttl,
            duplicate="duplicate webhook ignored",
            session_key=session_key(bot.name, message),
            sid=message.sid,
        )

    async def ping(request: web.Request) -> None:
        await runtime(request).stores.ping()

    async def refresh(request: web.Request) -> None:
        stores = runtime(request).stores
        metrics.outbound_pending.set(await stores.queue.pending())
        metrics.inbound_backlog.set(await stores.inbound.backlog())
        await runtime(request).conversations.handoff.report(metrics)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/twilio/messages", _guarded(messages, metrics))
    app.router.add_post(
        "/twilio/status",
        _guarded(
            status_endpoint(reader, lambda r: runtime(r).stores.inbound, settings.dedup_ttl),
            metrics,
        ),
    )
    app.router.add_post(
        "/twilio/conversations",
        _guarded(
            conversations_endpoint(
                reader,
                lambda r: runtime(r).stores.inbound,
                lambda r: runtime(r).conversations.gate,
                settings.dedup_ttl,
            ),
            metrics,
        ),
    )
    app.router.add_routes(
        Probes(metrics, lambda r: runtime(r).trouble(), ping, refresh).routes()
    )
    desk = desk_app(bot.agents, settings, lambda r: r.config_dict[RUNTIME])
    if desk is not None:
        app.add_subapp("/desk/", desk)
    return app


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
