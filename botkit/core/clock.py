"""The one clock every time-dependent rule reads, so tests can move time instead of waiting.

Session TTLs, WhatsApp windows, quiet hours and flow timeouts all ask ``botkit.core.clock.now()``.
In production that is ``time.time()``. ``botkit.testing`` installs a controllable clock with
``use(...)`` so a test can jump a day ahead and see a window close, with no sleeps and no mocks.
Only rules read this clock: rate limiting and leases keep using Redis' own clock, because they
must agree across processes and machines.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

Clock = Callable[[], float]

_current: Clock = time.time


def now() -> float:
    """Seconds since the epoch, by the installed clock."""
    return _current()


@contextlib.contextmanager
def use(clock: Clock) -> Iterator[None]:
    """Install ``clock`` for the duration of the block (tests), then restore the previous one."""
    global _current
    previous, _current = _current, clock
    try:
        yield
    finally:
        _current = previous
