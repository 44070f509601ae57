"""What the benchmark's baseline clients (_sdk_loop.py, _sdk_pacer.py) share: a client built
exactly as the outbound worker builds its own (botkit.twilio.client), the ready/go handshake with
the benchmark over stdin and stdout, and the one JSON line of figures they end with."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from twilio.rest import Client

from botkit.cli.commands import tune_gc
from botkit.core import event_loop
from botkit.twilio.client import create_async_client


async def ready_client(spec: dict[str, Any]) -> Client:
    """The SDK client for spec's sandbox, once connected and told to go: prints ``ready``, then
    waits for a line on stdin."""
    client = create_async_client(spec["account_sid"], spec["auth_token"], spec["url"])
    # One throwaway request opens the http session, as an outbound worker's first send would.
    await client.messages.list_async(limit=1)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    return client


async def report_timed(client: Client, work: Awaitable[Any], counts: Callable[[], Any]) -> None:
    """Run work, then print its wall-clock start and end, the CPU seconds it took, and
    counts() (what succeeded and failed) as one JSON line."""
    cpu0, t0 = time.process_time(), time.time()
    await work
    t1, cpu1 = time.time(), time.process_time()
    await client.http_client.close()
    print(json.dumps({"t0": t0, "t1": t1, "cpu": cpu1 - cpu0, **counts()}), flush=True)


def main(run: Callable[[dict[str, Any]], Coroutine[Any, Any, None]]) -> None:
    """Run the client on the spec file named on the command line."""
    tune_gc()  # as every botkit command does, on the same loop
    event_loop.run(run(json.loads(Path(sys.argv[1]).read_text())))
