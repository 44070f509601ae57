"""The loop botkit's commands run on: timers to the microsecond, I/O as prompt as plain epoll."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from botkit.core import event_loop


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


def test_read_by_is_when_data_a_task_waited_for_was_in_not_when_the_task_ran() -> None:
    """A pacer charges a send from when Twilio's answer was in: on a busy loop the task that
    reads it runs later, and read_by must be no earlier than the data's arrival (or a send
    could be charged early) but need not be as late as the task."""

    async def arrival_and_read_by() -> tuple[float, float, float]:
        ours, theirs = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=ours)
        arrived: list[float] = []

        def answer_soon() -> None:
            time.sleep(0.005)
            arrived.append(time.time())
            theirs.send(b"x")

        loop = asyncio.get_running_loop()
        # The loop is busy when the answer arrives, and again in the turn that reads it, after
        # the read: the task that waits for it runs 50 ms after the data was known to be in.
        loop.call_soon(time.sleep, 0.05)
        loop.call_later(0.04, time.sleep, 0.05)
        answering = threading.Thread(target=answer_soon)
        answering.start()
        try:
            await reader.readexactly(1)
            found, now = event_loop.read_by(), time.time()
        finally:
            answering.join()
            writer.close()
            theirs.close()
        return arrived[0], found, now

    arrived, found, now = event_loop.run(arrival_and_read_by())
    assert arrived <= found <= now
    assert now - found >= 0.03  # the busy turn after the read is not charged


def test_read_by_is_the_time_off_botkits_loop() -> None:
    async def read_by_and_now() -> tuple[float, float]:
        await asyncio.sleep(0)
        return event_loop.read_by(), time.time()

    found, now = asyncio.run(read_by_and_now())
    assert 0 <= now - found < 0.01
