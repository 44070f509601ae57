"""The scenario with nothing but the SDK and the outbound worker's pacing: no queue, no Redis, no
consent checks. What it achieves is the most an outbound worker built on them could on this machine.

Usage: ``python bench/_sdk_pacer.py SPEC.json``. SPEC holds ``url``, ``account_sid``,
``auth_token``, ``concurrency`` and ``senders``: each a ``sender``, the seconds its rate charges
per message (``interval``) and its ``messages`` (keyword arguments of ``messages.create``), sent
in order. Each sender sends as the outbound worker's pacer allows
(botkit/outbound/limits/pacing.py: a GCRA on arrivals, the spacing rule, waiting for Twilio's
answer while round trips are shorter than the interval), through a PriorityGate of
``concurrency`` places keyed as the outbound worker keys it. Prints ``ready`` once connected,
waits for a line on stdin, sends everything, then prints one JSON line: its wall-clock start and
end, the CPU seconds it used, how many creates succeeded, and the failures by sender.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from _client import main, ready_client, report_timed

from botkit.outbound.limits.pacing import Pacer
from botkit.outbound.limits.priority_gate import PriorityGate
from botkit.twilio.client import ANSWERED_AT


async def run(spec: dict[str, Any]) -> None:
    client = await ready_client(spec)
    pacer = Pacer()
    gate = PriorityGate(int(spec["concurrency"]))
    ok = 0
    failed: Counter[str] = Counter()

    async def sender(name: str, interval: float, messages: list[dict[str, Any]]) -> None:
        nonlocal ok
        for index, params in enumerate(messages):
            await pacer.wait_turn(name, interval, 0, params["to"])
            async with gate.place((interval, index)):
                flight = pacer.started(name, time.time(), interval, params["to"])
                ANSWERED_AT.set(None)
                try:
                    await client.messages.create_async(**params)
                    pacer.answered(flight, ANSWERED_AT.get() or time.time())
                    ok += 1
                except Exception:
                    failed[name] += 1
                finally:
                    pacer.finished(flight)

    work = asyncio.gather(
        *(sender(s["sender"], float(s["interval"]), s["messages"]) for s in spec["senders"])
    )
    await report_timed(client, work, lambda: {"ok": ok, "failed": failed})


if __name__ == "__main__":
    main(run)
