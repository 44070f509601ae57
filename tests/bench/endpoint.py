"""A local webhook endpoint for the tests of the benchmark's clients."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web


@contextlib.asynccontextmanager
async def webhook_endpoint(
    handle: Callable[[web.Request], Awaitable[web.Response]], keepalive_timeout: float = 75.0
) -> AsyncIterator[int]:
    """``handle`` serving POST /twilio/messages on a free loopback port: the port."""
    app = web.Application()
    app.router.add_post("/twilio/messages", handle)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=keepalive_timeout)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
