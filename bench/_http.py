"""A lean HTTP/1.1 client for pre-built requests: keep-alive connections, a batch sent a few at a
time, and an open-loop paced load.

Written on asyncio streams rather than aiohttp's client because it shares 2 cores with the server
it measures: it only writes the bytes bench/_webhooks.py built and reads a status line, headers
and a Content-Length body.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Connection:
    """One keep-alive connection; reopened when the server has closed it: gunicorn's sync
    workers close every connection after one answer, and its other workers (``botkit run
    --workers``) an idle one after 2 s (gunicorn's keepalive)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def exchange(self, request: bytes) -> Answer:
        if self._reader is not None and self._reader.at_eof():
            await self.close()
        await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        if "content-length" not in headers:
            raise RuntimeError(f"an answer without Content-Length: {head!r}")
        body = await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
        self._reader = self._writer = None


async def send_all(
    host: str, port: int, requests: Sequence[bytes], concurrency: int
) -> list[Answer]:
    """Send every request, ``concurrency`` at a time; the answers in the requests' order."""
    answers: list[Answer | None] = [None] * len(requests)
    pending = iter(range(len(requests)))

    async def sender() -> None:
        connection = Connection(host, port)
        try:
            for index in pending:
                answers[index] = await connection.exchange(requests[index])
        finally:
            await connection.close()

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return [a for a in answers if a is not None]


@dataclass
class PacedRun:
    """An open-loop run: latencies from when each request was due, not from when it went out,
    so that a slow server cannot slow the load down and hide its own queueing."""

    rate: float
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # how late the client itself sent
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # by exception
    connections: int = 0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def paced(
    host: str, port: int, requests: Sequence[bytes], rate: float, *, warm: int = 32
) -> PacedRun:
    """Send requests at ``rate`` per second, each at its own due time whatever the server is
    doing: on an idle keep-alive connection, or a new one when all are busy. ``warm``
    connections are opened before the first is due."""
    loop = asyncio.get_running_loop()
    run = PacedRun(rate=rate)
    idle = [Connection(host, port) for _ in range(warm)]
    await asyncio.gather(*(c.open() for c in idle))
    run.connections = len(idle)

    async def one(index: int, due: float) -> None:
        if idle:
            connection = idle.pop()
        else:
            connection = Connection(host, port)
            run.connections += 1
        run.lag_ms.append((loop.time() - due) * 1e3)
        try:
            answer = await connection.exchange(requests[index])
        except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
            run.failures[type(exc).__name__] += 1
            await connection.close()
            return
        run.latencies_ms.append((loop.time() - due) * 1e3)
        run.statuses[answer.status] += 1
        idle.append(connection)

    start = loop.time() + 0.01
    tasks = []
    for index in range(len(requests)):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    run.seconds = loop.time() - start
    await asyncio.gather(*(c.close() for c in idle))
    return run
