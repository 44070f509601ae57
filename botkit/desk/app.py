"""The desk as an aiohttp sub-application, mounted at ``/desk/`` by the bot's server.

``desk_app`` returns None when the desk is off (the bot has no AgentPool, or production without
``BOTKIT_DESK_TOKENS``). Every answer that is not the page or its assets needs a token; a
refused request is a 4xx with a one-line reason and one log line, and an error behind it is a
503, never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from botkit.desk import static_dir
from botkit.desk.api import DeskApi, FindRuntime
from botkit.desk.auth import DeskAuth, Refused, desk_tokens
from botkit.desk.stream import DeskStream
from botkit.handoff.pool import AgentPool
from botkit.logging import get_logger
from botkit.settings import Settings

log = get_logger("desk")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def desk_app(
    pool: AgentPool | None, settings: Settings, runtime: FindRuntime
) -> web.Application | None:
    """The desk for ``pool``'s agents; ``runtime`` finds the running bot from a request."""
    tokens = desk_tokens(pool, settings)
    if tokens is None:
        if pool is not None:
            log.info("agent desk off: set BOTKIT_DESK_TOKENS to serve it at /desk/")
        return None
    auth = DeskAuth(tokens)
    api = DeskApi(auth, runtime)
    stream = DeskStream(auth, runtime)
    app = web.Application(middlewares=[_refusals])
    app.router.add_get("/", _index)
    app.router.add_static("/static", static_dir())
    app.router.add_routes(api.routes())
    app.router.add_get("/api/events", stream.events)

    async def end_streams(_: web.Application) -> None:
        stream.closing.set()

    app.on_shutdown.append(end_streams)
    if settings.desk_tokens:
        log.info("agent desk at /desk/", agents=len(tokens))
    else:
        log.info("agent desk at /desk/ (development: each agent signs in with their name)")
    return app


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})


@web.middleware
async def _refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        log.warning(
            "desk request refused", path=request.path, status=refused.status, reason=refused.reason
        )
        return web.json_response({"error": refused.reason}, status=refused.status)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.error("desk request failed", path=request.path, error=repr(exc))
        return web.json_response({"error": "temporarily unavailable"}, status=503)
