"""Where the queue's clock stands against this process's, so a slot is met on the local timer.

The queue schedules in Redis' clock (one clock for every worker on every machine); a worker
waits on its own. Each claim gives a bracket: the queue read its clock after the worker's
``before`` and before its ``after``, so ``now_us - after <= offset <= now_us - before``. The
largest lower bound seen lately is used: it is never above the true offset, so a slot read on
the local clock is never early (a local moment ``offset`` behind the queue's), and it is the same
value for consecutive sends of one sender, so their spacing is not disturbed by round-trip noise.
"""

from __future__ import annotations

import time
from collections import deque

#: Brackets remembered: enough to hold a tight one, few enough to follow a drifting clock.
WINDOW = 256


class QueueClock:
    def __init__(self) -> None:
        self._lowers: deque[int] = deque(maxlen=WINDOW)
        self._offset_us = 0

    def observe(self, queue_now_us: int, before: float, after: float) -> None:
        if queue_now_us <= 0:
            return
        upper = queue_now_us - int(before * 1_000_000)
        lower = queue_now_us - int(after * 1_000_000)
        self._lowers.append(lower)
        self._offset_us = min(max(self._lowers), upper)

    def local(self, queue_us: int) -> float:
        """The local time.time() at which the queue's clock reads queue_us."""
        return (queue_us - self._offset_us) / 1_000_000

    def queue_us(self, local: float) -> int:
        """The queue's clock reading at local time.time() ``local``."""
        return int(local * 1_000_000) + self._offset_us

    def delay_until(self, queue_us: int) -> float:
        """Seconds from now until the queue's clock reads queue_us (0 if past)."""
        return max(0.0, self.local(queue_us) - time.time())
