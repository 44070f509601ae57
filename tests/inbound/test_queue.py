"""The InboundQueue contract (dedup, at-least-once, reclaim, the session locked with its event
and saved with its acknowledgement), for memory and Redis alike, both built by the composition
root."""

from __future__ import annotations

import asyncio

import pytest

from botkit.inbound.queue.protocol import InboundQueue
from botkit.runtime.stores import Stores
from botkit.sessions.protocol import SessionSave

#: A contract every backend keeps, Redis Cluster included.
pytestmark = pytest.mark.cluster


@pytest.fixture
def queue(stores: Stores) -> InboundQueue:
    return stores.inbound


async def test_a_sid_is_accepted_once(queue: InboundQueue) -> None:
    assert await queue.accept("SM1", "one", dedup_ttl=60)
    assert not await queue.accept("SM1", "one again", dedup_ttl=60)
    assert await queue.backlog() == 1
    taken = await queue.take("c1", 10, wait=0.1, session_lease=5)
    assert [d.payload for d in taken] == ["one"]


async def test_dedup_expires(queue: InboundQueue) -> None:
    assert await queue.accept("SM1", "one", dedup_ttl=0.05)


    await asyncio.sleep(0.1)
    assert await queue.accept("SM1", "one", dedup_ttl=60)


async def test_taken_events_stay_in_backlog_until_finished(queue: InboundQueue) -> None:
    for n in range(3):
        await queue.accept(f"SM{n}", f"p{n}", dedup_ttl=60)
    taken = await queue.take("c1", 2, wait=0.1, session_lease=5)
    assert [d.payload for d in taken] == ["p0", "p1"]
    assert await queue.backlog() == 3
    await queue.finish(taken[0])
    assert await queue.backlog() == 2
    assert [d.payload for d in await queue.take("c1", 5, wait=0.1, session_lease=5)] == ["p2"]


async def test_take_waits_then_returns_nothing(queue: InboundQueue) -> None:
    assert await queue.take("c1", 1, wait=0.05, session_lease=5) == []


async def test_unfinished_events_are_reclaimed_by_another_consumer(queue: InboundQueue) -> None:
    await queue.accept("SM1", "crashy", dedup_ttl=60)
    [taken] = await queue.take("dead-worker", 1, wait=0.1, session_lease=5)
    assert await queue.reclaim("survivor", idle=10, count=10) == []  # not idle long enough


    await asyncio.sleep(0.1)
    reclaimed = await queue.reclaim("survivor", idle=0.05, count=10)
    assert [(d.id, d.payload) for d in reclaimed] == [(taken.id, "crashy")]
    await queue.finish(reclaimed[0])
    assert await queue.backlog() == 0


async def test_touch_keeps_a_slow_event_from_being_reclaimed(queue: InboundQueue) -> None:


    await queue.accept("SM1", "slow", dedup_ttl=60)
    [taken] = await queue.take("worker", 1, wait=0.1, session_lease=5)
    for _ in range(3):
        await asyncio.sleep(0.05)
        await queue.touch("worker", taken)
    assert await queue.reclaim("other", idle=0.1, count=10) == []


async def test_an_events_session_is_locked_and_loaded_as_it_is_taken(stores: Stores) -> None:
    seed = await stores.sessions.try_acquire("bot|sms|+1|+2", "seeder", 5)
    assert seed is not None
    await stores.sessions.commit(seed, {"visits": 3}, ttl=60)

    await stores.inbound.accept("SM1", "hi", dedup_ttl=60, session_key="bot|sms|+1|+2")
    [taken] = await stores.inbound.take("c1", 1, wait=0.1, session_lease=5)
    assert taken.session is not None
    assert (taken.session.key, taken.session.data) == ("bot|sms|+1|+2", {"visits": 3})
    assert await stores.sessions.try_acquire("bot|sms|+1|+2", "someone-else", 5) is None

    # Saved and unlocked with the acknowledgement, in one step.
    assert await stores.inbound.finish(taken, SessionSave(taken.session, {"visits": 4}, 60))
    assert await stores.inbound.backlog() == 0
    assert await stores.sessions.get("bot|sms|+1|+2") == {"visits": 4}
    assert await stores.sessions.try_acquire("bot|sms|+1|+2", "someone-else", 5) is not None


async def test_a_session_someone_holds_is_not_taken_with_the_event(stores: Stores) -> None:
    held = await stores.sessions.try_acquire("bot|sms|+1|+2", "first-message", 5)
    assert held is not None
    await stores.inbound.accept("SM2", "second", dedup_ttl=60, session_key="bot|sms|+1|+2")
    [taken] = await stores.inbound.take("c1", 1, wait=0.1, session_lease=5)
    assert taken.session is None  # the handler waits for the lock the usual way
    assert await stores.inbound.finish(taken)
    assert await stores.sessions.commit(held, {"by": "first"}, ttl=60)  # still the holder's


async def test_a_save_whose_lock_was_lost_is_dropped_but_the_event_finishes(
    stores: Stores,
) -> None:
    await stores.inbound.accept("SM3", "slow", dedup_ttl=60, session_key="bot|sms|+1|+2")
    [taken] = await stores.inbound.take("c1", 1, wait=0.1, session_lease=0.05)
    assert taken.session is not None
    await asyncio.sleep(0.1)  # the lease lapses...
    other = await stores.sessions.try_acquire("bot|sms|+1|+2", "other", 5)  # ...and is taken
    assert other is not None
    assert not await stores.inbound.finish(taken, SessionSave(taken.session, {"lost": 1}, 60))
    assert await stores.inbound.backlog() == 0
    assert await stores.sessions.commit(other, {"kept": 1}, ttl=60)
    assert await stores.sessions.get("bot|sms|+1|+2") == {"kept": 1}


async def test_an_unused_session_is_released_with_the_event(stores: Stores) -> None:
    await stores.inbound.accept("SM4", "x", dedup_ttl=60, session_key="bot|sms|+1|+2")
    [taken] = await stores.inbound.take("c1", 1, wait=0.1, session_lease=5)
    assert taken.session is not None
    assert await stores.inbound.finish(taken, SessionSave(taken.session, None, 60))
    assert await stores.sessions.get("bot|sms|+1|+2") is None  # nothing saved
    assert await stores.sessions.try_acquire("bot|sms|+1|+2", "next", 5) is not None


async def test_a_reclaimed_event_comes_without_its_session(stores: Stores) -> None:
    await stores.inbound.accept("SM5", "x", dedup_ttl=60, session_key="bot|sms|+1|+2")
    [taken] = await stores.inbound.take("dead", 1, wait=0.1, session_lease=0.05)
    assert taken.session is not None
    await asyncio.sleep(0.1)
    [reclaimed] = await stores.inbound.reclaim("survivor", idle=0.05, count=10)
    assert reclaimed.session is None and reclaimed.payload == "x"


async def test_an_idle_taker_is_woken_by_an_accept(stores: Stores) -> None:
    """Waiting costs nothing and ends as soon as an event is accepted, not at the timeout."""
    waiting = asyncio.create_task(stores.inbound.take("c1", 1, wait=5, session_lease=5))
    await asyncio.sleep(0.1)
    await stores.inbound.accept("SM6", "wake up", dedup_ttl=60)
    async with asyncio.timeout(2):
        taken = await waiting
    assert [d.payload for d in taken] == ["wake up"]
