"""Spacing between a sender's actual sends, as Twilio sees them.

The queue hands out slots exactly ``cost / rate`` apart, but a slot is only when a send may
start: a worker that falls a few milliseconds behind (a busy event loop, a descheduled process)
sends late, and if the next slot is on time the two reach Twilio closer together than the
sender's rate allows. The pacer remembers when this worker really started each sender's last
send and holds the next one until that moment plus the interval, less a small ``catch_up``
allowance that lets a late sender drift back onto its slots. When that pushes a sender past its
slot, the dispatcher tells the queue (with its next claim), so a worker in another process does
not send the next one early either.

When a send starts is not when Twilio counts it: a request can wait in the worker's event loop,
the kernel or at Twilio's edge, by milliseconds or, in a burst, by hundreds of them. All we know
is that it arrived before its answer did. So the next send also waits for the answer plus the
interval, less ``slack`` (how much closer two arrivals may be than the rate: Twilio's leeway).
Waiting for the answer is only worth it while answers normally come back well within an
interval, judged by the shortest round trip seen lately (a stall makes answers late, never
early); with a long round trip (a fast sender far from Twilio) the worker keeps several sends of
one sender in flight and relies on the slots alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

#: Senders remembered at most; past it the oldest half is forgotten (their gaps are long gone).
KEPT = 50_000
#: Round trips per block of the shortest-round-trip estimate (the minimum of two blocks).
RTT_BLOCK = 256


class ShortestRoundTrip:
    """The shortest round trip among the last 256-512 answers: what an answer takes when
    nothing is in the way, so that a burst of slow answers does not change the pacer's mind."""

    def __init__(self) -> None:
        self._previous = self._current = float("inf")
        self._seen = 0

    def add(self, seconds: float) -> None:
        self._current = min(self._current, seconds)
        self._seen += 1
        if self._seen >= RTT_BLOCK:
            self._previous, self._current, self._seen = self._current, float("inf"), 0

    @property
    def seconds(self) -> float:
        """inf until the first answer."""
        return min(self._previous, self._current)


class Pacer:
    def __init__(self, catch_up: float = 0.0005, slack: float = 0.001) -> None:
        self.catch_up = catch_up
        self.slack = slack
        self.round_trip = ShortestRoundTrip()
        self._next: dict[str, float] = {}
        self._unanswered: dict[str, asyncio.Event] = {}

    async def wait_turn(self, sender: str, interval: float) -> None:
        """Until sender may start its next send from this worker."""
        await self._sleep_until(self._next.get(sender, 0.0))
        answer = self._unanswered.get(sender)
        if answer is not None and self.round_trip.seconds < interval / 2:
            # An answer this late means a stall somewhere: its send may reach Twilio late too.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(4 * interval, 0.05)):
                    await answer.wait()
            await self._sleep_until(self._next.get(sender, 0.0))

    @staticmethod
    async def _sleep_until(moment: float) -> None:
        delay = moment - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def started(self, sender: str, moment: float, interval: float) -> float:
        """A send of ``interval`` seconds' worth of sender's rate started at ``moment``: returns
        the earliest start of its next one."""
        self._unanswered[sender] = asyncio.Event()
        return self._not_before(sender, moment + interval - self.catch_up)

    def answered(self, sender: str, started: float, moment: float, interval: float) -> float:
        """Twilio answered (took) the send of sender started at ``started`` at ``moment``:
        returns the earliest start of the next one."""
        self.round_trip.add(moment - started)
        self.finished(sender)
        return self._not_before(sender, moment + interval - self.slack)

    def finished(self, sender: str) -> None:
        """The send is over, whatever Twilio said."""
        answer = self._unanswered.pop(sender, None)
        if answer is not None:
            answer.set()

    def _not_before(self, sender: str, following: float) -> float:
        if len(self._next) >= KEPT and sender not in self._next:
            for stale in sorted(self._next, key=self._next.__getitem__)[: KEPT // 2]:
                del self._next[stale]
        self._next[sender] = max(self._next.get(sender, 0.0), following)
        return following
