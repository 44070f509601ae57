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
"""

from __future__ import annotations

#: Senders remembered at most; past it the oldest half is forgotten (their gaps are long gone).
KEPT = 50_000


class Pacer:
    def __init__(self, catch_up: float = 0.0005, slack: float = 0.001) -> None:
        self.catch_up = catch_up
        self.slack = slack
        self._next: dict[str, float] = {}

    def earliest(self, sender: str) -> float:
        """The local time before which sender must not start another send (0: any time)."""
        return self._next.get(sender, 0.0)

    def started(self, sender: str, moment: float, interval: float) -> float:
        """A send of ``interval`` seconds' worth of sender's rate started at ``moment``: returns
        the earliest start of its next one."""
        return self._not_before(sender, moment + interval - self.catch_up)

    def answered(self, sender: str, moment: float, interval: float) -> float:
        """Twilio answered a send of sender at ``moment``: returns the earliest start of the
        next one."""
        return self._not_before(sender, moment + interval - self.slack)

    def _not_before(self, sender: str, following: float) -> float:
        if len(self._next) >= KEPT and sender not in self._next:
            for stale in sorted(self._next, key=self._next.__getitem__)[: KEPT // 2]:
                del self._next[stale]
        self._next[sender] = max(self._next.get(sender, 0.0), following)
        return following
