"""The loop botkit's commands run on: timers to the microsecond, I/O as prompt as plain epoll."""

from __future__ import annotations

import asyncio
import time

from botkit import event_loop


def test_a_timer_never_fires_early() -> None:
    async def lateness() -> list[float]:
        found = []
        for delay in (0.0002, 0.0007, 0.0013, 0.004, 0.0111):
            began = time.monotonic()
            await asyncio.sleep(delay)
            found.append(time.monotonic() - began - delay)
        return found

    assert min(event_loop.run(lateness())) >= 0


def test_io_wakes_the_loop_while_a_far_timer_waits() -> None:
    async def echo_round_trip() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readexactly(5))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        far = asyncio.get_running_loop().call_later(30, lambda: None)  # the loop's next timer
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello")
            async with asyncio.timeout(5):
                answer = await reader.readexactly(5)
            writer.close()
            return answer
        finally:
            far.cancel()
            server.close()
            await server.wait_closed()

    assert event_loop.run(echo_round_trip()) == b"hello"


def test_commands_run_on_it() -> None:
    async def selector_name() -> str:
        loop = asyncio.get_running_loop()
        return type(loop._selector).__name__  # type: ignore[attr-defined]

    assert event_loop.run(selector_name()) == "PreciseEpollSelector"
