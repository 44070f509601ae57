"""A clock a test can move, so rules measured in hours (session TTLs, the WhatsApp 24-hour
window, quiet hours) are tested in milliseconds instead of waited for.

It runs on from real time plus an offset rather than standing still: leases, retries and the
other timing that does not read ``botkit.core.clock`` keep real time, and a frozen rule clock next
to a running real one would make "the session expired" depend on how fast the machine is.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from botkit.core import clock as rule_clock


class TestClock:
    """``now()`` is real time plus an offset that ``advance`` and ``set`` move."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self) -> None:
        self._offset = 0.0
        self._lowest = 0.0
        self._on_jump: list[Callable[[float], None]] = []

    def on_jump(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(ahead)`` after every jump forward, where ``ahead`` is how far this
        clock now runs ahead of where it ever stood against real time: no message was held for
        longer than that should now have been waited out (the tester releases messages held
        for quiet hours with it)."""
        self._on_jump.append(listener)

    def _jumped(self, step: float) -> None:
        self._lowest = min(self._lowest, self._offset)
        if step > 0:
            for listener in self._on_jump:
                listener(self._offset - self._lowest)

    def now(self) -> float:
        """Seconds since the epoch on this clock."""
        return time.time() + self._offset

    def as_datetime(self) -> datetime:
        """The clock's time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> None:
        """Jump forward; never backwards, because no rule expects time to run back."""
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()
        if step < 0:
            raise ValueError(f"clock.advance goes forward only, got {step:+.0f} s")
        self._offset += step
        self._jumped(step)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (an aware datetime, in any zone): "it is 23:00 in New York"."""
        if moment.tzinfo is None:
            raise ValueError(
                "clock.set needs an aware datetime (give it a tzinfo, e.g. ZoneInfo(...)), "
                f"got {moment.isoformat()}"
            )
        previous, self._offset = self._offset, moment.timestamp() - time.time()
        self._jumped(self._offset - previous)

    @contextlib.contextmanager
    def installed(self) -> Iterator[TestClock]:
        """Make this the clock every rule reads (``botkit.core.clock``) for the block."""
        with rule_clock.use(self.now):
            yield self
