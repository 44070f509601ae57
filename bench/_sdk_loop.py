"""The benchmark's baseline client: plain concurrent official-SDK creates, no dispatcher.

Usage: ``python bench/_sdk_loop.py SPEC.json``. SPEC holds ``url``, ``account_sid``,
``auth_token``, ``concurrency`` and ``messages`` (keyword arguments of ``messages.create``).
The client is built exactly as the dispatcher builds its own (botkit.twilio.client), so the
difference between the two is the dispatcher's own work. Prints ``ready`` once connected, waits
for a line on stdin, sends everything, then prints one JSON line: its wall-clock start and end,
the CPU seconds the loop used, and how many creates succeeded and failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from botkit import event_loop
from botkit.commands import tune_gc
from botkit.twilio.client import create_async_client


async def run(spec: dict[str, Any]) -> None:
    client = create_async_client(spec["account_sid"], spec["auth_token"], spec["url"])
    messages: list[dict[str, Any]] = spec["messages"]
    # One throwaway request opens the http session, as a dispatcher's first send would.
    await client.messages.list_async(limit=1)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    pending = iter(messages)
    ok = failed = 0

    async def sender() -> None:
        nonlocal ok, failed
        for params in pending:
            try:
                await client.messages.create_async(**params)
                ok += 1
            except Exception:
                failed += 1

    cpu0, t0 = time.process_time(), time.time()
    await asyncio.gather(*(sender() for _ in range(int(spec["concurrency"]))))
    t1, cpu1 = time.time(), time.process_time()
    await client.http_client.close()
    print(
        json.dumps({"t0": t0, "t1": t1, "cpu": cpu1 - cpu0, "ok": ok, "failed": failed}), flush=True
    )


if __name__ == "__main__":
    tune_gc()  # as every botkit command does, on the same loop
    event_loop.run(run(json.loads(Path(sys.argv[1]).read_text())))
