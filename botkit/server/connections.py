"""A cap on the webhook server's open connections that slow clients cannot use up.

aiohttp bounds the time a connection may wait for a complete request head (its
``keepalive_timeout``, which server/app.py sets to BOTKIT_HEADER_TIMEOUT), and the webhook
reader bounds the time a body may take (BOTKIT_BODY_TIMEOUT). What aiohttp has no knob for is
how many connections are open at once: each holds a file descriptor and buffers, and a client
that opens thousands, sending a byte now and then, exhausts them well before any timeout.

``ConnectionGuard`` counts the connections of one app. At ``limit``, a new connection takes the
place of the oldest idle one (no request in progress: a slow client still sending its headers,
or a kept-alive connection with nothing to say), so slow clients cannot lock Twilio out; only
when every connection is in the middle of a request is the newcomer turned away, with a 503 so
that Twilio tries again. ``GuardedSite`` listens through the guard (``botkit run`` uses it);
the guard's middleware tells it which connections are in a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from botkit.logging import get_logger

log = get_logger("server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_TURNED_AWAY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n"
    b"Connection: close\r\n\r\ntoo many connections\r\n"
)
#: At most one log line about the limit in this many seconds, however hard it is pressed.
_LOG_EVERY = 60.0


class ConnectionGuard:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        # Open connections, oldest first, each with whether a request is in progress on it.
        self._open: dict[asyncio.BaseTransport, bool] = {}
        self._pressed = 0
        self._logged_at: float | None = None

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def protocol_factory(
        self, inner: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """aiohttp's protocol factory (the runner's server), behind the guard."""
        return lambda: _GuardedProtocol(self, inner())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        if transport in self._open:
            self._open[transport] = True
        try:
            return await handler(request)
        finally:
            if transport in self._open:
                self._open[transport] = False

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        """Count a new connection, making room if need be; False: turn it away."""
        if len(self._open) >= self.limit:
            idle = next((t for t, busy in self._open.items() if not busy), None)
            self._note_pressure(room_made=idle is not None)
            if idle is None:
                return False
            del self._open[idle]
            idle.close()
        self._open[transport] = False
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        self._open.pop(transport, None)

    def _note_pressure(self, *, room_made: bool) -> None:
        self._pressed += 1
        now = asyncio.get_running_loop().time()
        if self._logged_at is not None and now - self._logged_at < _LOG_EVERY:
            return
        log.warning(
            "connection limit reached",
            limit=self.limit,
            times=self._pressed,
            action="closed the oldest idle connection" if room_made else "turned one away",
        )
        self._logged_at, self._pressed = now, 0


class _GuardedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's protocol, once the guard admitted the connection."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard.admit(transport):
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(_TURNED_AWAY)
            transport.close()
            return
        self._transport = transport
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:  # turned away
            return
        self._guard.release(self._transport)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._transport is not None else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


#: The guard of an app made by create_app, for the site that serves it.
GUARD = web.AppKey("botkit.connection_guard", ConnectionGuard)


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through its app's ConnectionGuard."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        runner = self._runner
        assert isinstance(runner, web.AppRunner) and runner.server is not None
        guard = runner.app[GUARD]
        self._server = await asyncio.get_running_loop().create_server(
            guard.protocol_factory(runner.server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )
