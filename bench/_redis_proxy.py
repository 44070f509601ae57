"""A TCP proxy between a Redis client and Redis that counts round trips and commands.

Issue 16 sets its Redis targets in round trips per message, and asks for them to be measured on
the wire rather than read from the code: the Lua scripts and pipelines are exactly what changes.

A round trip starts when the client sends a command while it has nothing outstanding on that
connection, and ends when the server has answered every command sent so far. A pipeline (or a
MULTI/EXEC block) written at once is one round trip however many commands it holds; N commands
each awaited before the next are N. Commands are the RESP values the client sends (each command
is one array); replies are counted the same way, so a blocking read answered ten seconds later
is still one round trip, counted when it ends. RESP3 push messages (``>``) answer no command and
are not counted as replies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

_LINE_TYPES = frozenset(b"+-:_,#(")
_BULK_TYPES = frozenset(b"$!=")
_AGGREGATE_TYPES = frozenset(b"*~>")
_PAIR_TYPES = frozenset(b"%|")
_PUSH = ord(">")


class RespValues:
    """Counts the complete top-level RESP values in a byte stream fed in arbitrary pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._open: list[int] = []  # elements each open aggregate still waits for, innermost last
        self._bulk_left: int | None = None  # payload bytes (and CRLF) of the bulk string being read
        self._push = False  # the top-level value being read is a push message

    def feed(self, data: bytes) -> int:
        """Take the next bytes of the stream; how many top-level values they completed."""
        buffer = self._buffer
        buffer += data
        done = 0
        pos = 0
        while True:
            if self._bulk_left is not None:
                if len(buffer) - pos < self._bulk_left:
                    break
                pos += self._bulk_left
                self._bulk_left = None
                done += self._value_done()
                continue
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                break
            kind, header = buffer[pos], bytes(buffer[pos + 1 : end])
            pos = end + 2
            if kind in _BULK_TYPES:
                size = int(header)
                if size >= 0:
                    self._bulk_left = size + 2
                else:
                    done += self._value_done()
            elif kind in _AGGREGATE_TYPES or kind in _PAIR_TYPES:
                if not self._open and kind == _PUSH:
                    self._push = True
                size = int(header) * (2 if kind in _PAIR_TYPES else 1)
                if size > 0:
                    self._open.append(size)
                else:
                    done += self._value_done()
            else:  # a simple type, or (from a client) an inline command: one line either way
                done += self._value_done()
        del buffer[:pos]
        return done

    def _value_done(self) -> int:
        """One value ended: close the aggregates it completes; 1 if a top-level value ended."""
        while self._open:
            self._open[-1] -= 1
            if self._open[-1] > 0:
                return 0
            self._open.pop()
        was_push, self._push = self._push, False
        return 0 if was_push else 1


@dataclass(frozen=True)
class Counts:
    """Totals over every connection through the proxy since it started."""

    round_trips: int = 0
    commands: int = 0
    connections: int = 0

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.round_trips - other.round_trips,
            self.commands - other.commands,
            self.connections - other.connections,
        )

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.round_trips + other.round_trips,
            self.commands + other.commands,
            self.connections + other.connections,
        )


class _Connection:
    """One client connection: what it has sent that the server has not answered yet."""

    def __init__(self, proxy: CountingProxy) -> None:
        self.proxy = proxy
        self.commands = RespValues()
        self.replies = RespValues()
        self.outstanding = 0

    def sent(self, data: bytes) -> None:
        commands = self.commands.feed(data)
        self.proxy.record(commands=commands)
        self.outstanding += commands

    def answered(self, data: bytes) -> None:
        replies = self.replies.feed(data)
        if replies and self.outstanding > 0:
            self.outstanding = max(0, self.outstanding - replies)
            if self.outstanding == 0:
                self.proxy.record(round_trips=1)


class CountingProxy:
    """Listens on a local port and forwards every connection to Redis at upstream_host:port."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._counts = Counts()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def counts(self) -> Counts:
        return self._counts

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening; the redis:// URL (database 0) that reaches Redis through the proxy."""
        self._server = await asyncio.start_server(self._serve, host, port)
        bound = self._server.sockets[0].getsockname()
        return f"redis://{bound[0]}:{bound[1]}/0"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def record(self, *, round_trips: int = 0, commands: int = 0, connections: int = 0) -> None:
        self._counts += Counts(round_trips, commands, connections)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_out.close()
            return
        self.record(connections=1)
        connection = _Connection(self)
        pumps = [
            asyncio.create_task(self._pump(client_in, server_out, connection.sent)),
            asyncio.create_task(self._pump(server_in, client_out, connection.answered)),
        ]
        self._pumps.update(pumps)
        try:
            # Either side closing ends the connection: close the other side too.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._pumps.difference_update(pumps)
            for writer in (client_out, server_out):
                writer.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()

    @staticmethod
    async def _pump(
        source: asyncio.StreamReader, sink: asyncio.StreamWriter, count: Callable[[bytes], None]
    ) -> None:
        """Forward bytes as they come; count them before forwarding, so that a command is
        outstanding before its reply can exist."""
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                count(data)
                sink.write(data)
                await sink.drain()
