"""The benchmark's baseline client: plain concurrent official-SDK creates, no outbound worker.

Usage: ``python bench/_sdk_loop.py SPEC.json``. SPEC holds ``url``, ``account_sid``,
``auth_token``, ``concurrency`` and ``messages`` (keyword arguments of ``messages.create``).
The client is built exactly as the outbound worker builds its own (botkit.twilio.client), so the
difference between the two is the outbound worker's own work. Prints ``ready`` once connected, waits
for a line on stdin, sends everything, then prints one JSON line: its wall-clock start and end,
the CPU seconds the loop used, and how many creates succeeded and failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _client import main, ready_client, report_timed


async def run(spec: dict[str, Any]) -> None:
    client = await ready_client(spec)
    pending = iter(spec["messages"])
    ok = failed = 0

    async def sender() -> None:
        nonlocal ok, failed
        for params in pending:
            try:
                await client.messages.create_async(**params)
                ok += 1
            except Exception:
                failed += 1

    work = asyncio.gather(*(sender() for _ in range(int(spec["concurrency"]))))
    await report_timed(client, work, lambda: {"ok": ok, "failed": failed})


if __name__ == "__main__":
    main(run)
