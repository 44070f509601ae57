"""The SessionStore contract, run against the memory and the Redis implementation alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from botkit.runtime.stores import Stores
from botkit.sessions.locking import acquire_session
from botkit.sessions.protocol import SessionLockTimeout, SessionStore
from botkit.twilio.inbound import parse_inbound_message
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params

OTHER = "+15550003333"

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


async def test_a_persons_sessions_are_named_by_pseudonym_exported_and_erased(
    stores: Stores,
) -> None:
    """Issue 18: no session key holds a number; a person's sessions (1:1 on each channel, as a
    participant, and the shared one of their conversation) are found and erased, and nobody
    else's are touched."""
    sessions, keys = stores.sessions, stores.session_keys
    person = stores.hasher.person(USER)
    person = replace(person, conversations=("CH" + "1" * 32,))
    sms = keys.direct(parse_inbound_message(inbound_params("hi")))
    whatsapp = keys.direct(
        parse_inbound_message(
            inbound_params("hi", From=f"whatsapp:{USER}", To=f"whatsapp:{BOT_NUMBER}")
        )
    )
    participant = keys.conversation("CH" + "1" * 32, USER)
    shared = keys.conversation("CH" + "1" * 32)
    other = keys.direct(parse_inbound_message(inbound_params("hi", From=OTHER)))
    elsewhere = keys.conversation("CH" + "2" * 32)
    for n, key in enumerate([sms, whatsapp, participant, shared, other, elsewhere]):
        assert USER.lstrip("+") not in key and OTHER.lstrip("+") not in key
        lease = await acquire_session(sessions, key, lease=5, wait=1)
        assert await sessions.commit(lease, {"n": n}, ttl=60)
    assert len({sms, whatsapp, participant, shared, other, elsewhere}) == 6

    exported = await sessions.export_person(person)
    assert sorted((e["key"], e["session"]["n"]) for e in exported) == sorted(
        [(sms, 0), (whatsapp, 1), (participant, 2), (shared, 3)]
    )
    held = await acquire_session(sessions, sms, lease=5, wait=1)  # a handler holds one

    assert await sessions.erase_person(person) == 4
    assert await sessions.export_person(person) == []
    assert await sessions.erase_person(person) == 0  # idempotent
    for key in (sms, whatsapp, participant, shared):
        assert await sessions.get(key) is None
    assert not await sessions.commit(held, {"late": True}, ttl=60)  # its lock went too
    assert await sessions.get(sms) is None
    assert await sessions.get(other) == {"n": 4}
    assert await sessions.get(elsewhere) == {"n": 5}
