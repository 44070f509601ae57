"""The SessionStore contract, run against the memory and the Redis implementation alike."""

from __future__ import annotations

import asyncio

import pytest

from botkit.runtime.stores import Stores
from botkit.sessions.locking import acquire_session
from botkit.sessions.protocol import SessionLockTimeout, SessionStore

#: A contract every backend keeps, Redis Cluster included.
pytestmark = pytest.mark.cluster


@pytest.fixture
def sessions(stores: Stores) -> SessionStore:
    return stores.sessions


async def test_data_round_trips_as_json(sessions: SessionStore) -> None:
    lease = await acquire_session(sessions, "k", lease=5, wait=1)
    assert lease.data == {}
    lease.data.update({"n": 1, "items": ["a", "b"], "nested": {"x": None}})
    assert await sessions.commit(lease, lease.data, ttl=60)
    again = await acquire_session(sessions, "k", lease=5, wait=1)
    assert again.data == {"n": 1, "items": ["a", "b"], "nested": {"x": None}}
    assert await sessions.get("k") == again.data


async def test_lock_excludes_a_second_owner_until_released(sessions: SessionStore) -> None:
    first = await acquire_session(sessions, "k", lease=5, wait=1)
    assert await sessions.try_acquire("k", "other-token", 5) is None
    with pytest.raises(SessionLockTimeout):
        await acquire_session(sessions, "k", lease=5, wait=0.05)
    assert await sessions.commit(first, None, ttl=60)
    assert await sessions.try_acquire("k", "other-token", 5) is not None


async def test_only_the_owner_can_release(sessions: SessionStore) -> None:
    owner = await acquire_session(sessions, "k", lease=0.1, wait=1)
    await asyncio.sleep(0.15)  # the lease lapses and someone else takes the lock
    thief = await acquire_session(sessions, "k", lease=5, wait=1)
    assert not await sessions.commit(owner, {"stale": True}, ttl=60)
    assert not await sessions.renew(owner, 5)
    assert await sessions.try_acquire("k", "third", 5) is None  # thief still holds it
    assert await sessions.commit(thief, {"fresh": True}, ttl=60)
    assert await sessions.get("k") == {"fresh": True}


async def test_renew_extends_the_lease(sessions: SessionStore) -> None:
    lease = await acquire_session(sessions, "k", lease=0.2, wait=1)
    for _ in range(3):
        await asyncio.sleep(0.1)
        assert await sessions.renew(lease, 0.2)
    assert await sessions.try_acquire("k", "other", 5) is None
    assert await sessions.commit(lease, {"ok": 1}, ttl=60)


async def test_commit_without_data_keeps_the_old_session(sessions: SessionStore) -> None:
    lease = await acquire_session(sessions, "k", lease=5, wait=1)
    await sessions.commit(lease, {"v": 1}, ttl=60)
    lease = await acquire_session(sessions, "k", lease=5, wait=1)
    lease.data["v"] = 2
    await sessions.commit(lease, None, ttl=60)
    assert await sessions.get("k") == {"v": 1}


async def test_session_expires_after_ttl(sessions: SessionStore) -> None:
    lease = await acquire_session(sessions, "k", lease=5, wait=1)
    await sessions.commit(lease, {"v": 1}, ttl=0.2)
    assert await sessions.get("k") == {"v": 1}
    await asyncio.sleep(0.3)
    assert await sessions.get("k") is None
    assert (await acquire_session(sessions, "k", lease=5, wait=1)).data == {}


async def test_fifty_concurrent_increments_lose_nothing(sessions: SessionStore) -> None:
    async def increment() -> None:
        lease = await acquire_session(sessions, "counter", lease=5, wait=10)
        value = lease.data.get("n", 0)
        await asyncio.sleep(0)  # give every other task the chance to interleave here
        assert await sessions.commit(lease, {"n": value + 1}, ttl=60)

    await asyncio.gather(*(increment() for _ in range(50)))
    assert await sessions.get("counter") == {"n": 50}
