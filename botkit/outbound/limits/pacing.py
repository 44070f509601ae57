"""Spacing between a sender's actual sends, as Twilio sees them.

The queue hands out slots exactly ``cost / rate`` apart, but a slot is only when a send may
start. A worker that falls behind (a busy event loop, a descheduled process, a stalled request)
sends late, and if the next send kept to its slot the two would reach Twilio closer together
than the sender's rate allows. So the pacer keeps two rules per sender on what really happened:

- a GCRA on arrivals with a small burst ``tolerance``: a late sender may catch up on its slots
  by that much in all, and no more (Twilio's own leeway is about that size);
- no send follows the previous arrival by less than the interval less ``spacing``, so catching
  up happens a fraction of a millisecond per send, never in a clump.

When the first rule holds a sender past the slot the queue would give it next, the outbound worker
moves that slot in the queue (with its next claim), so that every worker keeps to it.

When did a send reach Twilio? Somewhere between its start and its answer: a request can wait in
the event loop, the kernel or at Twilio's edge, by milliseconds or, in a burst, by hundreds of
them. While answers normally come back within an interval (judged by the shortest round trip
seen lately, which a stall makes late but never early), the pacer waits for the answer and
charges the send as arriving when the answer came less the way back: the shortest round trip,
but at most ``WAY_BACK_AT_MOST``. A stall on the way there or back is so charged in full, as if
the request had been held on its way to Twilio, and an unhindered send is charged from about
its start. The budget is the judge's 1 ms: the spacing rule's 0.5 ms plus the 0.5 ms the way
back may be overestimated, when an answer's real way back (Twilio's work after taking the
request, and reading the answer) is close to nothing.

With a round trip longer than the interval (a fast sender far from Twilio) waiting would cap
the sender below its rate, so it charges from the start instead and lets several sends of one
sender be in flight. Until a block of round trips has been seen, the pacer waits for answers:
a worker's first burst congests every round trip, and sends in flight at once can then reach
Twilio milliseconds apart in either order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

#: Senders remembered at most; past it the oldest half is forgotten (their gaps are long gone).
KEPT = 50_000
#: Of a round trip, at most this much is taken to be the answer's way back (and so not a delay
#: on the way to Twilio): the shortest round trip, but no more, since the shortest seen in a
#: worker's first, congested seconds can be long, and what is taken for the way back but was
#: not is charged too early (bench/dispatch.py: at 1 ms, sends 98.9 ms apart on a 100 ms
#: interval, with an answer back 0.3 ms after its arrival).
WAY_BACK_AT_MOST = 0.0005
#: Round trips per block of the shortest-round-trip estimate (the minimum of two blocks).
RTT_BLOCK = 256


class ShortestRoundTrip:
    """The shortest round trip among the last 256-512 answers: what an answer takes when
    nothing is in the way, so that a burst of slow answers does not change the pacer's mind."""

    def __init__(self) -> None:
        self._previous = self._current = float("inf")
        self._seen = 0
        self._any = False

    def add(self, seconds: float) -> None:
        self._any = True
        self._current = min(self._current, seconds)
        self._seen += 1
        if self._seen >= RTT_BLOCK:
            self._previous, self._current, self._seen = self._current, float("inf"), 0

    @property
    def seconds(self) -> float:
        """0 until the first answer: until it knows better, the pacer charges a send's whole
        round trip (a worker's first burst is when stalls are worst)."""
        return min(self._previous, self._current) if self._any else 0.0

    @property
    def known(self) -> bool:
        """A whole block of answers was seen, so the shortest is not just a first burst's."""
        return self._previous < float("inf")


@dataclass
class _Sender:
    tat: float = 0.0  # GCRA on arrivals
    arrived: float = 0.0  # the last send's arrival
    spacing: float = 0.0  # the last send's interval


@dataclass
class Flight:
    """One send, from its start until it is over (answered, refused or failed)."""

    sender: str
    to: str
    started: float
    interval: float
    #: Charged to the sender at its start (long round trips) rather than when answered.
    charged: bool
    over: asyncio.Event = field(default_factory=asyncio.Event)


class Pacer:
    def __init__(self, tolerance: float = 0.005, spacing: float = 0.0005) -> None:
        self.tolerance = tolerance
        self.spacing = spacing
        self.round_trip = ShortestRoundTrip()
        self._senders: dict[str, _Sender] = {}
        #: sender -> its latest send still in flight
        self._in_flight: dict[str, Flight] = {}
        #: (sender, recipient) -> the send in flight between them
        self._to_recipient: dict[tuple[str, str], Flight] = {}
        #: sender -> the slots of its claimed sends not started yet, in claim order
        self._lines: dict[str, deque[int]] = {}
        self._line_moved: dict[str, asyncio.Event] = {}

    def join(self, sender: str, slot: int) -> None:
        """A send of sender's was claimed for ``slot``: sends of one sender start in the order
        they were claimed, so a recipient gets a handler's replies in the order it sent them,
        whatever the timers and awaits in between do."""
        self._lines.setdefault(sender, deque()).append(slot)

    def leave(self, sender: str, slot: int) -> None:
        """The send claimed for ``slot`` started, or will not be sent: the next may go."""
        line = self._lines.get(sender)
        if not line or slot not in line:
            return
        line.remove(slot)
        if not line:
            del self._lines[sender]
        moved = self._line_moved.pop(sender, None)
        if moved is not None:
            moved.set()

    async def _wait_in_line(self, sender: str, slot: int) -> None:
        while True:
            line = self._lines.get(sender)
            if not line or line[0] == slot:
                return
            await self._line_moved.setdefault(sender, asyncio.Event()).wait()

    def waits_for_answers(self, interval: float) -> bool:
        return not self.round_trip.known or self.round_trip.seconds < interval

    async def wait_turn(self, sender: str, interval: float, slot: int = 0, to: str = "") -> None:
        """Until the send claimed for ``slot`` may start: after the sends of sender claimed
        before it, once Twilio has answered the last one from sender to ``to`` (two requests in
        flight at once may arrive in either order), and when the pacing rules allow."""
        await self._wait_in_line(sender, slot)
        previous = self._to_recipient.get((sender, to))
        if previous is not None:
            await previous.over.wait()
        while True:
            in_flight = self._in_flight.get(sender)
            if in_flight is not None and self.waits_for_answers(interval):
                # However long: a late answer means the send may reach Twilio late too, and
                # every send ends (the HTTP client's timeout) and calls finished().
                await in_flight.over.wait()
                continue
            delay = self.earliest(sender) - time.time()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    def earliest(self, sender: str) -> float:
        """When sender's next send may start by the pacing rules (0: no sends seen)."""
        found = self._senders.get(sender)
        if found is None:
            return 0.0
        return max(self.behind(sender), found.arrived + found.spacing - self.spacing)

    def waiting(self, sender: str) -> int:
        """Sends of sender's claimed and not started yet."""
        return len(self._lines.get(sender, ()))

    def behind(self, sender: str) -> float:
        """Before this moment the GCRA on arrivals lets sender send no more (0: unknown); the
        spacing rule may hold it longer (earliest())."""
        found = self._senders.get(sender)
        return 0.0 if found is None else found.tat - self.tolerance

    def started(self, sender: str, moment: float, interval: float, to: str = "") -> Flight:
        """A send of ``interval`` seconds' worth of sender's rate, to ``to``, started at
        ``moment``; answered() or finished() must follow."""
        flight = Flight(sender, to, moment, interval, charged=not self.waits_for_answers(interval))
        self._in_flight[sender] = self._to_recipient[(sender, to)] = flight
        if flight.charged:
            self._charge(sender, moment, interval)
        return flight

    def answered(self, flight: Flight, moment: float) -> None:
        """Twilio took the send, answering at ``moment``."""
        round_trip = moment - flight.started
        if not flight.charged:
            way_back = min(self.round_trip.seconds, WAY_BACK_AT_MOST)
            held = round_trip - way_back
            self._charge(flight.sender, flight.started + max(0.0, held), flight.interval)
        self.round_trip.add(round_trip)
        self.finished(flight)

    def finished(self, flight: Flight) -> None:
        """The send is over, whatever Twilio said (a refused send costs no rate)."""
        flight.over.set()
        if self._in_flight.get(flight.sender) is flight:
            del self._in_flight[flight.sender]
        if self._to_recipient.get((flight.sender, flight.to)) is flight:
            del self._to_recipient[(flight.sender, flight.to)]

    def _charge(self, sender: str, arrived: float, interval: float) -> None:
        found = self._senders.get(sender)
        if found is None:
            if len(self._senders) >= KEPT:
                by_age = sorted(self._senders, key=lambda name: self._senders[name].tat)
                for stale in by_age[: KEPT // 2]:
                    del self._senders[stale]
            found = self._senders[sender] = _Sender()
        found.tat = max(found.tat, arrived) + interval
        found.arrived, found.spacing = arrived, interval
