"""The asyncio event loop botkit's commands run on: epoll, with timers to the microsecond.

asyncio waits for I/O and timers with ``epoll_wait``, which counts whole milliseconds and rounds
a timeout up, so a timer due in 11.3 ms fires after 12 ms when nothing else wakes the loop. The
dispatcher sends on timers at its senders' slots: at a WhatsApp sender's 12.5 ms interval, half a
millisecond late on every send is 4% of its rate lost (bench/timers.py measures the lateness of
both loops). So when a wait has a timeout, this selector first waits on the epoll descriptor
itself with ``select()``, whose timeout has microseconds, and then collects what is ready with
a zero timeout. An epoll descriptor is readable exactly when one of its descriptors has events,
so I/O wakes the loop as before; the price is one more system call per wait.
"""

from __future__ import annotations

import asyncio
import select
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: select() takes descriptors below this only; the epoll descriptor is made when the loop is,
#: early in a process, but past it the selector waits as plain epoll does.
FD_SETSIZE = 1024


# Only Linux has epoll; elsewhere (macOS, Windows) commands run on asyncio's default loop.
_Epoll: Any = getattr(selectors, "EpollSelector", None)


if _Epoll is not None:

    class PreciseEpollSelector(_Epoll):  # type: ignore[misc]
        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            poller = self._selector
            if timeout is not None and timeout > 0 and poller.fileno() < FD_SETSIZE:
                select.select([poller.fileno()], [], [], timeout)
                timeout = 0
            found: list[tuple[selectors.SelectorKey, int]] = super().select(timeout)
            return found


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A selector event loop on PreciseEpollSelector (the default loop where there is no epoll)."""
    if _Epoll is None:
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(PreciseEpollSelector())


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on the loop above."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
