"""The asyncio event loop botkit's commands run on: epoll, with timers to the microsecond.

asyncio waits for I/O and timers with ``epoll_wait``, which counts whole milliseconds and rounds a
timeout up, so a timer due in 11.3 ms fires after 12 ms when nothing else wakes the loop. The
outbound worker sends on timers at its senders' slots: at a WhatsApp sender's 12.5 ms interval, half
a millisecond late on every send is 4% of its rate lost (bench/timers.py measures the lateness of
both loops). So when a wait has a timeout, this selector first waits on the epoll descriptor itself
with ``select()``, whose timeout has microseconds, and then collects what is ready with a zero
timeout. An epoll descriptor is readable exactly when one of its descriptors has events, so I/O
wakes the loop as before; the price is one more system call per wait.

The loop also remembers when its last two selections returned (``read_by``): a pacer charging
a send from when Twilio's answer came back can then use the moment the answer was known to be
in, rather than the later moment its task got to run, which on a busy loop is milliseconds on.
"""

from __future__ import annotations

import asyncio
import os
import select
import selectors
import time
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
        def __init__(self) -> None:
            super().__init__()
            #: time.time() when the selection before the last one, and the last one, returned
            self.returned_at = (0.0, 0.0)

        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            poller = self._selector
            if timeout is not None and timeout > 0 and poller.fileno() < FD_SETSIZE:
                select.select([poller.fileno()], [], [], timeout)
                timeout = 0
            found: list[tuple[selectors.SelectorKey, int]] = super().select(timeout)
            self.returned_at = (self.returned_at[1], time.time())
            return found


class PreciseEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop on PreciseEpollSelector."""

    def __init__(self) -> None:
        self.precise_selector = PreciseEpollSelector()
        super().__init__(self.precise_selector)


def read_by() -> float:
    """A moment (time.time()) by which the data that woke the running task had arrived, when it
    was read by an I/O callback and handed over through a future, as aiohttp hands over a
    response: that callback ran in an earlier turn of the loop than the task (a future wakes
    its task with call_soon), so the data was in when that turn's selection returned, no later
    than the one before the current turn's. time.time() off this loop."""
    loop = asyncio.get_running_loop()
    if isinstance(loop, PreciseEventLoop):
        previous = loop.precise_selector.returned_at[0]
        if previous:
            return previous
    return time.time()


#: Which loop new_event_loop makes: "precise" (PreciseEventLoop), "uvloop", or "auto".
LOOP_VARIABLE = "BOTKIT_EVENT_LOOP"
LOOPS = ("auto", "precise", "uvloop")


def loop_choice() -> str:
    """BOTKIT_EVENT_LOOP's value (default auto); ValueError for anything but LOOPS."""
    choice = os.environ.get(LOOP_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in LOOPS:
        raise ValueError(f"{LOOP_VARIABLE} must be one of {', '.join(LOOPS)}, got {choice!r}")
    return choice


def chosen_loop() -> str:
    """The loop new_event_loop makes: "uvloop", "precise" or "asyncio" (no epoll here)."""
    if loop_choice() == "uvloop":
        return "uvloop"
    return "precise" if _Epoll is not None else "asyncio"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop BOTKIT_EVENT_LOOP names: a PreciseEventLoop (the default loop where there is
    no epoll), or uvloop's."""
    kind = chosen_loop()
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    if kind == "asyncio":
        return asyncio.new_event_loop()
    return PreciseEventLoop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on the loop above."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
