"""Completions recorded in batches: one round trip for many sends, none lost at shutdown."""

from __future__ import annotations

import time
from typing import Any

from botkit.compliance.hashing import NumberHasher
from botkit.outbound.job import JobFactory
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.queue.memory import MemoryOutboundQueue
from botkit.outbound.queue.protocol import Claim
from botkit.outbound.settlements import Settlements


class CountingQueue(MemoryOutboundQueue):
    """The memory queue, counting its complete_many calls (round trips on Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def complete_many(self, done: Any) -> list[bool]:
        self.calls += 1
        return await super().complete_many(done)


class AnswerLostOnceQueue(MemoryOutboundQueue):
    """The memory queue, whose first complete_many is recorded but then fails, as a call whose
    answer was lost when the process stalled past its Redis read timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = False

    async def complete_many(self, done: Any) -> list[bool]:
        results = await super().complete_many(done)
        if not self.lost:
            self.lost = True
            raise ConnectionError("the answer was lost")
        return results


async def claims(queue: MemoryOutboundQueue, count: int) -> tuple[Claim, ...]:
    factory = JobFactory(RateTable(), NumberHasher("settle-pepper-0123456789"))
    for n in range(count):
        message = OutboundMessage(
            to="+15550001111", body="hi", from_=f"+1555030{n:04}", idempotency_key=f"k{n}"
        )
        await queue.enqueue(factory.build(message, lane="reply"))
    return (await queue.claim_many(30, count)).claims


async def test_completions_within_the_delay_go_in_one_round_trip() -> None:
    queue = CountingQueue()
    taken = await claims(queue, 5)
    settle = Settlements(queue, delay=0.01)
    futures = [settle.complete(claim, f"SM{n}") for n, claim in enumerate(taken)]
    assert [await f for f in futures] == [True] * 5
    assert queue.calls == 1 and await queue.pending() == 0


async def test_a_full_batch_goes_at_once() -> None:
    queue = CountingQueue()
    taken = await claims(queue, 4)
    settle = Settlements(queue, delay=60, size=2)
    began = time.monotonic()
    futures = [settle.complete(claim, f"SM{n}") for n, claim in enumerate(taken)]
    assert [await f for f in futures] == [True] * 4
    assert queue.calls == 2 and time.monotonic() - began < 1


async def test_drain_flushes_what_waits_and_a_lost_lease_says_false() -> None:
    queue = CountingQueue()
    [claim] = await claims(queue, 1)
    settle = Settlements(queue, delay=60)
    lost = settle.complete(claim.model_copy(update={"token": "someone-else"}), "SM1")
    await settle.drain()
    assert lost.done() and lost.result() is False
    assert await queue.pending() == 1


async def test_a_batch_whose_answer_was_lost_is_settled_by_trying_once_more() -> None:
    queue = AnswerLostOnceQueue()
    taken = await claims(queue, 2)
    settle = Settlements(queue, delay=0.001)
    futures = [settle.complete(claim, f"SM{n}") for n, claim in enumerate(taken)]
    assert [await f for f in futures] == [True, True]
    assert queue.lost and await queue.pending() == 0
