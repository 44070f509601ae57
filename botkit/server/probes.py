"""``/healthz``, ``/readyz`` and ``/metrics``: what an orchestrator and Prometheus ask a process.

The webhook server and a ``botkit worker`` serve the same three pages. Each gives its own answers
through a ``Probes``: what is wrong with it (an outbound worker that stopped working makes a process
unhealthy, so an orchestrator restarts it instead of leaving it alive and idle), how to reach its
stores, and how to refresh the gauges that are read when scraped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from botkit.logging import get_logger
from botkit.metrics import CONTENT_TYPE_LATEST, Metrics

log = get_logger("probes")


@dataclass(frozen=True)
class Probes:
    metrics: Metrics
    #: What is wrong with this process, or None when it is healthy.
    trouble: Callable[[web.Request], str | None]
    #: Raises when the stores (Redis) cannot be reached.
    ping: Callable[[web.Request], Awaitable[None]]
    #: Sets the gauges read when scraped (queue depths); may raise.
    refresh: Callable[[web.Request], Awaitable[None]]
    #: How long a ping may take: a Redis that hangs makes a process unready, not a hung probe.
    ping_timeout: float = 2.0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics_page),
        ]

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        trouble = self.trouble(request)
        if trouble is not None:
            log.warning("unhealthy", reason=trouble)
            return web.json_response({"status": "unhealthy", "reason": trouble}, status=503)
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.StreamResponse:
        """The answer says only what is wrong; its details (Redis's address, the error) are
        for the log, not for whoever can reach the probe."""
        try:
            async with asyncio.timeout(self.ping_timeout):
                await self.ping(request)
        except Exception as exc:
            error = (
                f"no answer within {self.ping_timeout:g} s"
                if isinstance(exc, TimeoutError)
                else str(exc)
            )
            log.warning("not ready: redis unreachable", error=error)
            return web.json_response(
                {"status": "unavailable", "reason": "redis unreachable"}, status=503
            )
        return web.json_response({"status": "ok"})

    async def metrics_page(self, request: web.Request) -> web.StreamResponse:
        try:
            await self.refresh(request)
        except Exception as exc:  # the counters are still worth serving
            log.warning("queue depths unavailable for /metrics", reason=str(exc))
        body = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
