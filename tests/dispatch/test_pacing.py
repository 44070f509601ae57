"""The pacer: a sender's actual sends stay an interval apart, whatever the slots said."""

from __future__ import annotations

import asyncio
import time

import pytest

from botkit.dispatch.pacing import RTT_BLOCK, Pacer, ShortestRoundTrip
from botkit.dispatch.queue_clock import QueueClock

SENDER = "whatsapp:+15553000000"


async def test_a_late_send_holds_the_next_one_an_interval_less_the_catch_up() -> None:
    pacer = Pacer(catch_up=0.001, slack=0.002)
    started = time.time()
    following = pacer.started(SENDER, started, 0.05)
    assert following == pytest.approx(started + 0.049)
    await pacer.wait_turn(SENDER, 0.05)
    assert time.time() >= following


async def test_an_answer_later_than_the_start_moves_the_next_send_further() -> None:
    pacer = Pacer(catch_up=0.001, slack=0.002)
    started = time.time()
    pacer.started(SENDER, started, 0.05)
    following = pacer.answered(SENDER, started, started + 0.03, 0.05)
    assert following == pytest.approx(started + 0.078)
    await pacer.wait_turn(SENDER, 0.05)
    assert time.time() >= following


async def test_with_short_round_trips_the_next_send_waits_for_the_answer() -> None:
    pacer = Pacer(catch_up=0.0, slack=0.0)
    for _ in range(3):
        pacer.round_trip.add(0.001)
    started = time.time()
    pacer.started(SENDER, started - 1.0, 0.01)  # its spacing alone would allow a send now
    waiting = asyncio.create_task(pacer.wait_turn(SENDER, 0.01))
    await asyncio.sleep(0.02)
    assert not waiting.done()  # the previous send is still unanswered
    pacer.answered(SENDER, started - 1.0, time.time(), 0.01)
    await asyncio.wait_for(waiting, 1.0)


async def test_with_long_round_trips_sends_do_not_wait_for_answers() -> None:
    pacer = Pacer()
    pacer.round_trip.add(0.2)  # far from Twilio: waiting would cap a sender at 5/s
    pacer.started(SENDER, time.time() - 1.0, 0.0125)
    await asyncio.wait_for(pacer.wait_turn(SENDER, 0.0125), 0.01)


async def test_an_unanswered_send_holds_the_next_one_at_most_four_intervals() -> None:
    pacer = Pacer()
    pacer.round_trip.add(0.0001)
    pacer.started(SENDER, time.time() - 1.0, 0.01)
    began = time.monotonic()
    await pacer.wait_turn(SENDER, 0.01)  # the answer never comes
    assert 0.04 <= time.monotonic() - began < 0.5


def test_the_shortest_round_trip_forgets_old_blocks() -> None:
    shortest = ShortestRoundTrip()
    assert shortest.seconds == float("inf")
    shortest.add(0.001)
    for _ in range(2 * RTT_BLOCK):
        shortest.add(0.2)
    assert shortest.seconds == 0.2


def test_the_queue_clock_never_puts_a_slot_early() -> None:
    clock = QueueClock()
    local = 1_000.0
    # The queue's clock runs 5 ms ahead; replies take 1-3 ms.
    for rtt in (0.003, 0.001, 0.002):
        queue_now = int((local + rtt / 2) * 1_000_000) + 5_000
        clock.observe(queue_now, local, local + rtt)
        local += 1
    slot = 2_000_000_000
    # Read on the local clock, the slot is at most the shortest bracket late, never early.
    assert 0 <= clock.local(slot) - (slot - 5_000) / 1_000_000 <= 0.0005 + 1e-9
    assert clock.queue_us(clock.local(slot)) == slot
