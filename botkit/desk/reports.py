"""Campaign reports at ``/campaigns/``, beside the desk: a page that draws each campaign's
delivery over time, for people who would rather look than read ``botkit campaigns show``.

The page (static/reports.html) asks two JSON endpoints: the recent campaigns, and one
campaign's report (counts in total and by minute), and redraws every few seconds while a
campaign runs. In development the reports are open, like the simulator beside them; in
production they need one of the desk's tokens (``BOTKIT_DESK_TOKENS``), in the
``Authorization: Bearer`` header or the ``token`` query parameter, and without desk tokens
they are off. A refused request is a 4xx with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from botkit.campaigns.model import CAMPAIGN_ID, COUNTS
from botkit.desk import static_dir
from botkit.desk.auth import DeskAuth, Refused
from botkit.logging import get_logger
from botkit.runtime.runtime import Runtime
from botkit.settings import Settings

log = get_logger("reports")

FindRuntime = Callable[[web.Request], Runtime]
#: Campaigns the page lists.
LISTED = 50


def reports_app(settings: Settings, runtime: FindRuntime) -> web.Application | None:
    tokens = settings.desk_tokens or {}
    auth = DeskAuth(tokens)
    if not tokens and not settings.development:
        log.info("campaign reports off: set BOTKIT_DESK_TOKENS to serve them at /campaigns/")
        return None

    @web.middleware
    async def signed_in(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        # The page itself holds no data: it passes on the token it was opened with.
        if tokens and request.match_info.route.name != "page":
            try:
                auth.agent(request)  # any agent's token will do
            except Refused:
                return _refuse(401, "a desk token is required (Authorization: Bearer ...)")
        return await handler(request)

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            static_dir() / "reports.html", headers={"Cache-Control": "no-cache"}
        )

    async def listing(request: web.Request) -> web.Response:
        store = runtime(request).stores.campaigns
        found = await store.recent(LISTED)
        return web.json_response(
            {"campaigns": [c.model_dump(mode="json") for c in found], "counts": list(COUNTS)}
        )

    async def report(request: web.Request) -> web.Response:
        campaign_id = request.match_info["id"]
        if not CAMPAIGN_ID.match(campaign_id):
            return _refuse(400, f"{campaign_id[:70]!r} is not a campaign id")
        found = await runtime(request).stores.campaigns.report(campaign_id)
        if found is None:
            return _refuse(404, f"no campaign {campaign_id}")
        return web.json_response(found.model_dump(mode="json"))

    app = web.Application(middlewares=[signed_in])
    app.router.add_get("/", page, name="page")
    app.router.add_get("/api/campaigns", listing)
    app.router.add_get("/api/campaigns/{id}", report)
    log.info("campaign reports at /campaigns/", signed=bool(tokens))
    return app


def _refuse(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason + "\n")
