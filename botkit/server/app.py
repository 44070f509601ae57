"""The aiohttp application: the webhook routes and probes of a running bot.

Everything behind the routes is the runtime's (botkit/runtime/runtime.py), started when the app
starts and stopped when it stops; this module only turns HTTP into calls on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from botkit.app.bot import Bot
from botkit.campaigns.figures import report_campaigns
from botkit.desk.app import desk_app
from botkit.desk.reports import reports_app
from botkit.errors import ConfigError
from botkit.logging import get_logger
from botkit.metrics import Metrics
from botkit.runtime.runtime import Runtime, start_runtime
from botkit.runtime.twilio import account_sid, auth_token
from botkit.server.connections import GUARD, ConnectionGuard
from botkit.server.conversations_endpoint import conversations_endpoint
from botkit.server.http_errors import HttpErrorLog
from botkit.server.probes import Probes
from botkit.server.status_endpoint import status_endpoint
from botkit.server.webhook import Acceptance, Endpoint, Rejection, Unavailable, WebhookReader
from botkit.settings import Settings
from botkit.twilio.inbound import MalformedWebhook, parse_inbound_message
from botkit.twilio.signature import SignatureVerifier

log = get_logger("server")

RUNTIME = web.AppKey("botkit.runtime", Runtime)
#: Seconds aiohttp reads and drops a body left unread by an early answer, before it closes.
LINGERING_TIME = 2.0
#: Seconds a kept-alive connection may wait for its next request: aiohttp's web.run_app value.
KEEPALIVE_TIMEOUT = 75.0


def create_app(
    bot: Bot, settings: Settings, *, workers: bool = True, dispatch: bool = True
) -> web.Application:
    """The webhook server for bot. workers=False accepts messages without running handlers;
    dispatch=False queues replies for `botkit worker` processes to send."""
    guard = ConnectionGuard(settings.max_connections, settings.header_timeout)
    app = web.Application(
        middlewares=[guard.middleware],
        handler_args={
            # aiohttp closes a connection idle for this long between requests (its own
            # default is an hour); the first request's head has BOTKIT_HEADER_TIMEOUT (guard).
            "keepalive_timeout": KEEPALIVE_TIMEOUT,
            # After an answer sent before the whole body was read (a 4xx), read and drop the
            # rest for so long at most, then close.
            "lingering_time": LINGERING_TIME,
            # Bodies are read as sent: the webhook reader refuses compressed ones unread.
            "auto_decompress": False,
            "logger": HttpErrorLog(),
        },
    )
    app[GUARD] = guard
    metrics = Metrics()
    verifier = SignatureVerifier(auth_token(settings)) if settings.validate_signatures else None
    require_public_origin(settings)
    reader = WebhookReader(
        verifier,
        account_sid=account_sid(settings),
        public_url=settings.public_url,
        trust_proxy=settings.trust_proxy,
        public_hosts=settings.public_origins,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
    )
    acceptance = Acceptance(ttl=settings.dedup_ttl, timeout=settings.accept_timeout)

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
        return await acceptance.once(
            runtime(request).stores.inbound,
            message.sid,
            message.model_dump_json(),
            duplicate="duplicate webhook ignored",
            session_key=runtime(request).stores.session_keys.direct(message),
            sid=message.sid,
        )

    async def ping(request: web.Request) -> None:
        await runtime(request).stores.ping()

    async def refresh(request: web.Request) -> None:
        stores = runtime(request).stores
        metrics.outbound_pending.set(await stores.queue.pending())
        metrics.inbound_backlog.set(await stores.inbound.backlog())
        await runtime(request).conversations.handoff.report(metrics)
        await report_campaigns(stores.campaigns, metrics)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/twilio/messages", _guarded(messages, metrics))
    app.router.add_post(
        "/twilio/status",
        _guarded(
            status_endpoint(reader, lambda r: runtime(r).stores.inbound, acceptance),
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
                acceptance,
            ),
            metrics,
        ),
    )
    app.router.add_routes(
        Probes(
            metrics,
            lambda r: runtime(r).trouble(),
            ping,
            refresh,
            ping_timeout=settings.accept_timeout,
        ).routes()
    )
    desk = desk_app(bot.agents, settings, lambda r: r.config_dict[RUNTIME])
    if desk is not None:
        app.add_subapp("/desk/", desk)
    reports = reports_app(settings, lambda r: r.config_dict[RUNTIME])
    if reports is not None:
        app.add_subapp("/campaigns/", reports)
    return app


def require_public_origin(settings: Settings) -> None:
    """With a Twilio account, the URL a signature is checked over is configured, never taken
    from the request: a caller who chooses it can replay a signature Twilio made for any other
    URL of the account. Development mode (the published development token) may use the URL
    the server saw, and with BOTKIT_VALIDATE_SIGNATURES off (said loudly) no URL is checked."""
    if not settings.validate_signatures or settings.development:
        return
    if settings.public_url or settings.public_origins:
        return
    raise ConfigError(
        "BOTKIT_PUBLIC_URL: required with a Twilio account, as the base URL Twilio calls "
        "(or BOTKIT_PUBLIC_HOSTS, the hosts a proxy may forward with BOTKIT_TRUST_PROXY=true)"
    )


#: nginx's "client closed request": never sent (nobody is listening), but counted apart from
#: the 503s of a failing store, so a client that hangs up raises no alarm.
CLIENT_CLOSED = 499


def _guarded(endpoint: Endpoint, metrics: Metrics) -> Endpoint:
    """Turn rejections into a 4xx with one log line; never let an error become a 500. Every
    answer is counted here, the one place that knows it."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            response = await _answer(request)
        except asyncio.CancelledError:  # served with handler_cancellation: the client left
            if _client_gone(request):
                _count(request, _gone(request))
            raise
        _count(request, response)
        return response

    def _count(request: web.Request, response: web.StreamResponse) -> None:
        metrics.webhooks.labels(path=request.path, status=str(response.status)).inc()

    def _gone(request: web.Request) -> web.Response:
        log.info("client disconnected before the answer", path=request.path)
        return web.Response(status=CLIENT_CLOSED)

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
            if isinstance(exc, ConnectionError) and _client_gone(request):
                return _gone(request)
            error = str(exc) if isinstance(exc, Unavailable) else repr(exc)
            log.error("webhook could not be accepted", path=request.path, error=error)
            return web.Response(status=503, text="temporarily unable to accept webhooks\n")

    return guarded


def _client_gone(request: web.Request) -> bool:
    """The client hung up mid-request: reading the rest of its body failed because its
    connection is gone, not because anything of ours is."""
    transport = request.transport
    return transport is None or transport.is_closing()
