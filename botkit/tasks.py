"""Stopping background loops without ever hanging a shutdown.

A loop is told to stop twice over: a flag it checks on every turn, and a cancellation. Either
alone is not enough: the flag is not seen while the loop waits, and under Python 3.11 a
cancellation that lands just as a timeout fires can be swallowed (asyncio.timeout/wait_for
corner cases), leaving a loop that never ends. The wait for it is bounded as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from botkit.logging import get_logger

log = get_logger("tasks")


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
