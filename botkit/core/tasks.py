"""Background loops: pausing while their store fails, saying when they ended, stopping them.

A loop is told to stop twice over: a flag it checks on every turn, and a cancellation. Either
alone is not enough: the flag is not seen while the loop waits, and under Python 3.11 a
cancellation that lands just as a timeout fires can be swallowed (asyncio.timeout/wait_for
corner cases), leaving a loop that never ends. The wait for it is bounded as well.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from botkit.logging import get_logger

log = get_logger("tasks")


class Outage:
    """A loop's store failed: go on at once after a one-off failure, with growing pauses (up to a
    second) while it keeps failing. A one-off is typically this process stalled past the Redis
    client's 5 s read timeout, so that a read pending meanwhile timed out on waking
    (bench/dispatch.py stops its workers while it queues the backlog); a flat second's pause
    there held up a whole round of sends."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.failures = 0

    async def failed(self) -> None:
        """Log the exception being handled, and pause as the failures so far call for."""
        self.failures += 1
        log.exception(f"{self.what} unavailable; retrying", failures=self.failures)
        if self.failures > 1:
            await asyncio.sleep(min(1.0, 0.05 * 2 ** (self.failures - 2)))

    def over(self) -> None:
        self.failures = 0


def ended(tasks: Iterable[asyncio.Task[None]]) -> str | None:
    """Which of a component's loops ended, when none should have (it was not stopped): a bug,
    and a process that lives on without doing that work should be restarted (GET /healthz)."""
    names = [task.get_name() for task in tasks if task.done()]
    return f"loop ended: {', '.join(names)}" if names else None


def report_end(task: asyncio.Task[None]) -> None:
    """A done callback for a loop that ends only when stopped: anything else must not pass in
    silence."""
    if not task.cancelled() and task.exception() is not None:
        log.error("background loop ended", loop=task.get_name(), exc_info=task.exception())


def raise_if_cancelled() -> None:
    """Re-raise a cancellation a library swallowed: redis-py can, in a read it was cancelled in,
    and a loop that then carries on would never end. A loop calls this each turn, so that
    ``cancel()`` ends it all the same (the task's cancel count stays up until it is handled)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(tasks: Iterable[asyncio.Task[None]], within: float = 5.0) -> None:
    """Cancel tasks and wait for them to finish, at most ``within`` seconds."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    _, stuck = await asyncio.wait(pending, timeout=within)
    for task in stuck:
        task.cancel()  # once more: a swallowed cancellation gets another chance
        log.warning("background task did not stop in time", task=task.get_name())


class PollingLoop:
    """A component with one background loop: a round of work, then a pause until ``wake()`` or
    ``poll`` seconds, riding out its store's outages (Outage). A subclass writes ``round``;
    start, stop, wake and the /healthz check (``trouble``) are the same for every such loop."""

    def __init__(self, name: str, store: str, poll: float) -> None:
        """name: the task's (what /healthz names if it ends); store: what an outage names."""
        self.poll = poll
        self._name, self._store = name, store
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    async def round(self) -> bool:
        """One round of work; True when there is more to do at once (no pause)."""
        raise NotImplementedError

    def start(self) -> None:
        self._loops = [asyncio.create_task(self._run(), name=self._name)]
        self._loops[0].add_done_callback(report_end)

    def trouble(self) -> str | None:
        return None if self._stopping else ended(self._loops)

    def wake(self) -> None:
        """Do a round now rather than at the end of the pause."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        await cancel_and_wait(self._loops)

    async def _run(self) -> None:
        outage = Outage(self._store)
        while not self._stopping:
            raise_if_cancelled()
            self._wake.clear()
            try:
                more = await self.round()
                outage.over()
            except Exception:
                await outage.failed()
                continue
            if not more:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()
