"""A cap on the webhook server's open connections that slow clients cannot use up, and a
deadline for a new connection's first request head.

aiohttp has no knob for either. Its ``keepalive_timeout`` closes a connection that has waited so
long for its next request (server/app.py keeps it at aiohttp's usual 75 s, so Twilio's
connections are reused between bursts), but it cannot tell a quiet connection from one sending
its headers a byte at a time, and it counts nothing. So the guard gives a new connection
BOTKIT_HEADER_TIMEOUT to send its first request head (the webhook reader gives the body
BOTKIT_BODY_TIMEOUT), and counts connections: each holds a file descriptor and buffers, and a
client that opens thousands, sending a byte now and then, would exhaust them.

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
from aiohttp.web_protocol import RequestHandler

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
    def __init__(self, limit: int, header_timeout: float) -> None:
        self.limit = limit
        self.header_timeout = header_timeout
        # Open connections, oldest first, each with whether a request is in progress on it.
        self._open: dict[RequestHandler, bool] = {}
        # Connections that have not yet sent a whole request head, and their deadline.
        self._heads_due: dict[RequestHandler, asyncio.TimerHandle] = {}
        self._pressed = 0
        self._logged_at: float | None = None

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        connection = request.protocol
        due = self._heads_due.pop(connection, None)
        if due is not None:
            due.cancel()
        if connection in self._open:
            self._open[connection] = True
        try:
            return await handler(request)
        finally:
            if connection in self._open:
                self._open[connection] = False

    def admit(self, connection: RequestHandler) -> bool:
        """Count a new connection, making room if need be; False: turn it away."""
        if len(self._open) >= self.limit:
            idle = next((c for c, busy in self._open.items() if not busy), None)
            self._note_pressure(room_made=idle is not None)
            if idle is None:
                return False
            del self._open[idle]
            idle.force_close()
        self._open[connection] = False
        self._heads_due[connection] = asyncio.get_running_loop().call_later(
            self.header_timeout, connection.force_close
        )
        return True

    def release(self, connection: RequestHandler) -> None:
        self._open.pop(connection, None)
        due = self._heads_due.pop(connection, None)
        if due is not None:
            due.cancel()

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


#: The guard of an app made by create_app, for the runner that serves it.
GUARD = web.AppKey("botkit.connection_guard", ConnectionGuard)


class GuardedRunner(web.AppRunner):
    """An AppRunner whose app's connections go through the app's ConnectionGuard, whatever
    site serves them: a TCP port (``botkit run``) or the socket gunicorn hands each worker
    (``botkit run --workers N``)."""

    async def _make_server(self) -> web.Server:
        return _GuardedServer(await super()._make_server(), self.app[GUARD])


class _GuardedServer(web.Server):
    """aiohttp's server, told of every connection made and lost (by aiohttp itself), asking
    the guard first. It is the server the app built, rebuilt with the same handler and
    options as this class."""

    def __init__(self, built: web.Server, guard: ConnectionGuard) -> None:
        super().__init__(
            built.request_handler,
            request_factory=built.request_factory,
            handler_cancellation=built.handler_cancellation,
            loop=built._loop,
            **built._kwargs,
        )
        self._guard = guard

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if not self._guard.admit(handler):
            transport.write(_TURNED_AWAY)
            handler.force_close()

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self._guard.release(handler)
        super().connection_lost(handler, exc)
