"""How late asyncio timers fire: asyncio's own loop (epoll_wait counts whole milliseconds)
against uvloop (libuv's timers count whole milliseconds too), in the same run.

Run from the repository root: ``python bench/timers.py``. Prints the lateness of 500 sleeps of
1-12 ms on an otherwise idle loop (p50, p90, max) for each loop. The outbound worker's pacing is
judged to 10 ms (issue 16); botkit's own microsecond loop, which this compared before, gave
p50 0.14-0.16 ms and p90 0.20-0.21 ms against uvloop's 0.15-0.20 and 0.55-0.59 ms (ea06a1e).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botkit.core import event_loop

SLEEPS = 500


async def lateness_ms(seed: int) -> list[float]:
    delays = random.Random(seed)
    found = []
    for _ in range(SLEEPS):
        delay = delays.uniform(0.001, 0.012)
        began = time.monotonic()
        await asyncio.sleep(delay)
        found.append((time.monotonic() - began - delay) * 1e3)
    return sorted(found)


def summary(found: list[float]) -> str:
    p50, p90 = found[len(found) // 2], found[int(len(found) * 0.9)]
    return f"p50 {p50:.3f} ms, p90 {p90:.3f} ms, max {found[-1]:.3f} ms"


def on(loop: str) -> list[float]:
    os.environ[event_loop.LOOP_VARIABLE] = loop
    return event_loop.run(lateness_ms(1))


if __name__ == "__main__":
    print(f"asyncio's loop: {summary(on('asyncio'))}")
    print(f"uvloop:         {summary(on('uvloop'))}")
