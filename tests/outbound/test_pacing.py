"""The pacer: a sender's actual sends stay an interval apart, whatever the slots said."""

from __future__ import annotations

import asyncio
import time

import pytest

from botkit.outbound.limits.pacing import RTT_BLOCK, Flight, Pacer, ShortestRoundTrip
from botkit.outbound.queue.clock import QueueClock

SENDER = "whatsapp:+15553000000"


def far_from_twilio(pacer: Pacer) -> Pacer:
    for _ in range(RTT_BLOCK):  # a block of long round trips: sends do not wait for answers
        pacer.round_trip.add(0.2)
    return pacer


def near_twilio(pacer: Pacer) -> Pacer:
    pacer.round_trip.add(0.0005)  # sends wait for the last answer
    return pacer


async def test_a_sender_catches_up_by_at_most_its_tolerance_in_all() -> None:
    pacer = far_from_twilio(Pacer(tolerance=0.005, spacing=0.0005))
    began = time.time() - 1.0  # behind: its slots are long past
    for n in range(3):
        pacer.started(SENDER, began + n * 0.01, 0.01, to=f"+1555000000{n}")
    # The GCRA on sends allows the next 5 ms early, spacing half a millisecond early.
    assert pacer.behind(SENDER) == pytest.approx(began + 0.03 - 0.005, abs=1e-6)
    moment = time.time()
    pacer.started(SENDER, moment, 0.01, to="+15550000003")
    before = time.time()
    await pacer.wait_turn(SENDER, 0.01, to="+15550000004")
    assert time.time() - before >= 0.0095 - (before - moment) - 0.001


async def test_a_stalled_answer_is_charged_as_a_late_arrival() -> None:
    pacer = near_twilio(Pacer(tolerance=0.0, spacing=0.0))
    started = time.time()
    flight = pacer.started(SENDER, started, 0.05)
    pacer.answered(flight, started + 0.0305)  # 30 ms longer than the shortest
    assert pacer.behind(SENDER) == pytest.approx(started + 0.03 + 0.05, abs=1e-6)


async def test_an_unhindered_answer_is_charged_from_the_start() -> None:
    pacer = near_twilio(Pacer(tolerance=0.0, spacing=0.0))
    started = time.time()
    flight = pacer.started(SENDER, started, 0.05)
    pacer.answered(flight, started + 0.0005)
    assert pacer.behind(SENDER) == pytest.approx(started + 0.05, abs=1e-6)


async def test_with_short_round_trips_the_next_send_waits_for_the_answer() -> None:
    pacer = near_twilio(Pacer(tolerance=0.0, spacing=0.0))
    started = time.time() - 1.0
    previous = pacer.started(SENDER, started, 0.01)  # its spacing alone would allow a send now
    sent: list[str] = []
    flights: list[Flight] = []

    async def send(name: str) -> None:  # as the outbound worker does: no await in between
        await pacer.wait_turn(SENDER, 0.01)
        flights.append(pacer.started(SENDER, time.time(), 0.01))
        sent.append(name)

    first, second = asyncio.create_task(send("first")), asyncio.create_task(send("second"))
    await asyncio.sleep(0.02)
    assert sent == []  # the previous send is still unanswered
    pacer.answered(previous, time.time())
    await asyncio.sleep(0.02)
    assert len(sent) == 1  # one goes; the other waits for its answer in turn
    pacer.finished(flights[0])
    await asyncio.wait_for(asyncio.gather(first, second), 1.0)
    assert sorted(sent) == ["first", "second"]


async def test_with_long_round_trips_sends_do_not_wait_for_answers() -> None:
    pacer = far_from_twilio(Pacer())
    pacer.started(SENDER, time.time() - 1.0, 0.0125, to="+15550000001")
    await asyncio.wait_for(pacer.wait_turn(SENDER, 0.0125, to="+15550000002"), 0.01)


async def test_a_second_send_to_one_recipient_waits_for_the_first_answer() -> None:
    pacer = far_from_twilio(Pacer())  # several sends of the sender may be in flight...
    started = time.time() - 1.0
    flight = pacer.started(SENDER, started, 0.0125, to="+15550000001")
    waiting = asyncio.create_task(pacer.wait_turn(SENDER, 0.0125, to="+15550000001"))
    await asyncio.sleep(0.02)
    assert not waiting.done()  # ...but not two to one recipient: they could arrive swapped
    pacer.answered(flight, time.time())
    await asyncio.wait_for(waiting, 1.0)


async def test_sends_of_one_sender_start_in_the_order_they_were_claimed() -> None:
    pacer = far_from_twilio(Pacer())
    started: list[int] = []

    async def send(slot: int) -> None:
        await pacer.wait_turn(SENDER, 0.0125, slot, to=f"+1555000{slot:04}")
        started.append(slot)
        pacer.leave(SENDER, slot)

    for slot in (10, 20, 30):
        pacer.join(SENDER, slot)
    tasks = [asyncio.create_task(send(slot)) for slot in (30, 20)]  # later slots first
    await asyncio.sleep(0.01)
    assert started == []  # both wait for slot 10
    pacer.leave(SENDER, 10)  # slot 10 will not be sent (expired, say)
    await asyncio.wait_for(asyncio.gather(*tasks), 1.0)
    assert started == [20, 30]


def test_the_shortest_round_trip_forgets_old_blocks() -> None:
    shortest = ShortestRoundTrip()
    assert shortest.seconds == 0.0
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


def test_a_send_charged_at_its_start_is_not_charged_again_by_its_answer() -> None:
    pacer = far_from_twilio(Pacer(tolerance=0.0, spacing=0.0))
    started = time.time()
    flight = pacer.started(SENDER, started, 0.1)  # charged now: answers take longer than 0.1 s
    pacer.round_trip.add(0.001)  # now round trips look short
    pacer.answered(flight, started + 0.001)
    assert pacer.behind(SENDER) == pytest.approx(started + 0.1, abs=1e-6)


def test_until_a_round_trip_is_known_a_send_is_charged_its_whole_round_trip() -> None:
    pacer = Pacer(tolerance=0.0, spacing=0.0)
    started = time.time()
    flight = pacer.started(SENDER, started, 1.0)
    pacer.answered(flight, started + 0.3)  # a first burst: 300 ms to answer
    assert pacer.behind(SENDER) == pytest.approx(started + 1.3, abs=1e-6)


def test_at_most_half_a_millisecond_of_a_round_trip_counts_as_the_way_back() -> None:
    pacer = Pacer(tolerance=0.0, spacing=0.0)
    pacer.round_trip.add(0.050)  # a congested start: the shortest round trip seen is long
    started = time.time()
    flight = pacer.started(SENDER, started, 1.0)
    pacer.answered(flight, started + 0.060)
    assert pacer.behind(SENDER) == pytest.approx(started + 0.0595 + 1.0, abs=1e-6)


def test_until_a_block_of_round_trips_is_seen_sends_wait_for_answers() -> None:
    # A worker's first burst: every answer is slow, and sends in flight at once could reach
    # Twilio in either order, so a congested start must not pass for a faraway Twilio.
    pacer = Pacer()
    for _ in range(RTT_BLOCK - 1):
        pacer.round_trip.add(0.2)
    assert pacer.waits_for_answers(0.0125)
    pacer.round_trip.add(0.2)
    assert not pacer.waits_for_answers(0.0125)
    assert pacer.waits_for_answers(0.5)  # a round trip shorter than the interval: wait
