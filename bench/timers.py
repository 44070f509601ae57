"""How late asyncio timers fire: the default loop (epoll_wait counts whole milliseconds),
botkit's PreciseEventLoop (select() on the epoll descriptor, to the microsecond) and uvloop
(libuv's timers count whole milliseconds), in the same run.

Run from the repository root: ``python bench/timers.py``. Prints the lateness of 500 sleeps of
1-12 ms on an otherwise idle loop (p50, p90, max) for each loop.
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
    default = asyncio.run(lateness_ms(1))
    precise = on("precise")
    print(f"default asyncio loop:        {summary(default)}")
    print(f"botkit's PreciseEventLoop:   {summary(precise)}")
    try:
        uvloop = on("uvloop")
    except ImportError:
        print("uvloop:                      not installed")
    else:
        print(f"uvloop:                      {summary(uvloop)}")
    ratio = default[len(default) // 2] / precise[len(precise) // 2]
    print(f"p50 ratio default/precise: {ratio:.1f}x")
