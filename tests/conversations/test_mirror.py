"""The ParticipantMirror contract, run against the memory and the Redis implementation alike:
idempotent, order-tolerant (removal wins, newer wins), snapshots, forgetting, expiry."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.mirror.redis import RedisParticipantMirror
from botkit.conversations.models import Participant
from botkit.core.person import Person
from tests.conversations.conftest import PSEUDONYM

CH = "CH" + "a" * 32
OTHER = "CH" + "b" * 32
T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

MirrorFactory = Callable[..., ParticipantMirror]


@pytest.fixture
async def make_mirror(store_url: str | None) -> AsyncIterator[MirrorFactory]:
    """make_mirror(**options) -> a fresh mirror on this test's store."""
    redis = Redis.from_url(store_url) if store_url is not None else None

    def make(**options: float) -> ParticipantMirror:
        if redis is None:
            return MemoryParticipantMirror(pseudonym=PSEUDONYM, **options)
        return RedisParticipantMirror(redis, pseudonym=PSEUDONYM, **options)

    yield make
    if redis is not None:
        await redis.aclose()


@pytest.fixture
def mirror(make_mirror: MirrorFactory) -> ParticipantMirror:
    return make_mirror()


def sid(n: int) -> str:
    return f"MB{n:032x}"


def phone(n: int, *, at: datetime = T0, conversation: str = CH, **changes: object) -> Participant:
    fields: dict[str, object] = {
        "sid": sid(n),
        "conversation_sid": conversation,
        "address": f"+1555011{n:04d}",
        "proxy_address": "+15550002222",
        "date_created": at,
        "date_updated": at,
    }
    return Participant.build(**(fields | changes))


def chat(n: int, identity: str, *, at: datetime = T0, **changes: object) -> Participant:
    fields: dict[str, object] = {
        "sid": sid(n),
        "conversation_sid": CH,
        "identity": identity,
        "date_created": at,
        "date_updated": at,
    }
    return Participant.build(**(fields | changes))


async def sids(mirror: ParticipantMirror, conversation: str = CH) -> list[str]:
    return [p.sid for p in await mirror.participants(conversation)]


async def test_added_participants_are_read_back_and_found(mirror: ParticipantMirror) -> None:
    alice, agent = phone(1, attributes={"vip": True}), chat(2, "agent-7")
    assert await mirror.apply_added(alice)
    assert await mirror.apply_added(agent)
    assert await mirror.participants(CH) == [alice, agent]
    assert await mirror.find(CH, alice.sid) == alice
    assert await mirror.find(CH, "+15550110001") == alice  # who wrote, by Author
    assert await mirror.find(CH, "agent-7") == agent
    assert await mirror.find(CH, "nobody") is None
    assert await mirror.find(OTHER, "agent-7") is None
    assert await mirror.participants(OTHER) == []
    assert not await mirror.synced(CH)  # we saw adds, not the whole list


async def test_order_is_arrival_order_not_sid_order(mirror: ParticipantMirror) -> None:
    for n in (9, 3, 7, 1):
        await mirror.apply_added(phone(n))
    assert await sids(mirror) == [sid(9), sid(3), sid(7), sid(1)]


async def test_applying_twice_changes_nothing(mirror: ParticipantMirror) -> None:
    alice = phone(1)
    await mirror.apply_added(alice)
    await mirror.apply_added(chat(2, "agent"))
    await mirror.apply_added(alice)
    assert await sids(mirror) == [sid(1), sid(2)]
    assert await mirror.apply_removed(CH, alice.sid)
    assert not await mirror.apply_removed(CH, alice.sid)
    assert await sids(mirror) == [sid(2)]


async def test_removed_before_added_is_not_resurrected(mirror: ParticipantMirror) -> None:
    late = phone(1)
    assert not await mirror.apply_removed(CH, late.sid)  # the removal arrives first
    assert not await mirror.apply_added(late)
    assert await mirror.participants(CH) == []
    assert await mirror.find(CH, late.address or "") is None


async def test_tombstones_expire(make_mirror: MirrorFactory) -> None:
    mirror = make_mirror(tombstone_ttl=0.1)
    await mirror.apply_removed(CH, sid(1))
    assert not await mirror.apply_added(phone(1))
    await asyncio.sleep(0.15)
    assert await mirror.apply_added(phone(1))  # SIDs never recur on Twilio; only a test does this


async def test_newer_wins_and_ties_go_to_the_later_arrival(mirror: ParticipantMirror) -> None:
    created = chat(1, "agent", attributes={"v": 1})
    await mirror.apply_added(created)
    updated = chat(1, "agent", at=T0 + timedelta(seconds=5), attributes={"v": 2})
    assert await mirror.apply_added(updated)
    assert not await mirror.apply_added(created)  # a delayed onParticipantAdded
    assert await mirror.find(CH, "agent") == updated
    # Same second (API dates are whole seconds): the later arrival wins.
    tie = chat(1, "agent", at=T0 + timedelta(seconds=5, milliseconds=400), attributes={"v": 3})
    assert await mirror.apply_added(tie)
    found = await mirror.find(CH, "agent")
    assert found is not None and found.attributes == {"v": 3}
    await mirror.apply_added(chat(2, "other"))
    assert await sids(mirror) == [sid(1), sid(2)]  # an update keeps its place


async def test_replace_all_takes_the_snapshot(mirror: ParticipantMirror) -> None:
    for n in (1, 2, 3):
        await mirror.apply_added(phone(n))
    await mirror.apply_removed(CH, sid(4))  # 4 left before the listing was applied
    await mirror.replace_all(CH, [phone(3), phone(2), phone(4), chat(5, "agent")])
    assert await sids(mirror) == [sid(3), sid(2), sid(5)]  # the API's order; 1 gone, 4 dead
    assert await mirror.synced(CH)
    assert await mirror.find(CH, "+15550110001") is None
    assert await mirror.find(CH, "agent") == chat(5, "agent")
    await mirror.apply_added(phone(6))
    assert await sids(mirror) == [sid(3), sid(2), sid(5), sid(6)]

    await mirror.replace_all(CH, [])
    assert await mirror.participants(CH) == [] and await mirror.synced(CH)


async def test_replace_all_keeps_what_was_added_while_listing(mirror: ParticipantMirror) -> None:
    listing_started = T0 + timedelta(seconds=10)
    await mirror.apply_added(phone(1))  # before the listing, and absent from it: removed since
    await mirror.apply_added(phone(2, at=listing_started + timedelta(seconds=1)))  # after
    newer = chat(3, "agent", at=listing_started + timedelta(seconds=2), attributes={"v": 2})
    await mirror.apply_added(newer)
    stale = chat(3, "agent", at=listing_started - timedelta(seconds=1), attributes={"v": 1})
    await mirror.replace_all(CH, [stale], as_of=listing_started)
    assert await mirror.participants(CH) == [
        newer,
        phone(2, at=listing_started + timedelta(seconds=1)),
    ]


async def test_forget_drops_everything_and_ignores_late_events(
    make_mirror: MirrorFactory,
) -> None:
    mirror = make_mirror(tombstone_ttl=0.1)
    await mirror.replace_all(CH, [phone(1)])
    await mirror.apply_added(phone(1, conversation=OTHER))
    await mirror.forget(CH)
    assert await mirror.participants(CH) == [] and not await mirror.synced(CH)
    assert not await mirror.apply_added(phone(2))
    assert not await mirror.apply_removed(CH, sid(1))
    await mirror.replace_all(CH, [phone(3)])
    assert await mirror.participants(CH) == []
    assert await sids(mirror, OTHER) == [sid(1)]  # other conversations untouched
    await asyncio.sleep(0.15)
    assert await mirror.apply_added(phone(2))


async def test_an_address_shared_by_two_participants_hands_over(mirror: ParticipantMirror) -> None:
    first = phone(1)
    second = phone(2, address=first.address, proxy_address="+15550003333")
    await mirror.apply_added(first)
    await mirror.apply_added(second)
    assert await mirror.find(CH, first.address or "") == first
    await mirror.apply_removed(CH, first.sid)
    assert await mirror.find(CH, first.address or "") == second


async def test_idle_conversations_expire_and_need_a_new_listing(
    make_mirror: MirrorFactory,
) -> None:
    mirror = make_mirror(ttl=0.2, tombstone_ttl=0.05)
    await mirror.replace_all(CH, [phone(1)])
    await asyncio.sleep(0.1)
    await mirror.apply_added(phone(2))  # a write renews the whole conversation
    await asyncio.sleep(0.15)
    assert await sids(mirror) == [sid(1), sid(2)] and await mirror.synced(CH)
    await asyncio.sleep(0.25)
    assert await mirror.participants(CH) == [] and not await mirror.synced(CH)


async def test_shuffled_concurrent_events_converge(mirror: ParticipantMirror) -> None:
    """Adds for 0-39 and removals for the even ones, in a random order and all at once: the
    even ones are gone however the events interleave."""
    events = [mirror.apply_added(phone(n)) for n in range(40)]
    events += [mirror.apply_removed(CH, sid(n)) for n in range(0, 40, 2)]
    random.Random(5).shuffle(events)
    await asyncio.gather(*events)
    assert sorted(await sids(mirror)) == [sid(n) for n in range(1, 40, 2)]
    for n in range(40):
        found = await mirror.find(CH, f"+1555011{n:04d}")
        assert (found is not None) == (n % 2 == 1)


async def test_redis_keys_share_one_hash_tag(store_url: str | None) -> None:
    if store_url is None:
        pytest.skip("Redis key layout")
    redis = Redis.from_url(store_url)
    try:
        mirror = RedisParticipantMirror(redis, pseudonym=PSEUDONYM)
        await mirror.replace_all(CH, [phone(1), chat(2, "agent")])
        await mirror.apply_removed(CH, sid(1))
        keys = sorted(k.decode() for k in await redis.keys("*"))
        tag = f"{{botkit:conv:{CH}}}"
        assert keys == [f"{tag}:{name}" for name in ("meta", "participants", "removed", "who")]
        # The author index names people by pseudonym: a number never, a chat identity neither.
        assert await redis.hget(f"{tag}:who", PSEUDONYM("agent")) == sid(2).encode()
        assert not any(b"5550110001" in field for field in await redis.hkeys(f"{tag}:who"))
        assert 0 < await redis.pttl(f"{tag}:participants") <= 30 * 24 * 3600 * 1000
    finally:
        await redis.aclose()


async def test_a_persons_participations_are_exported_and_erased(mirror: ParticipantMirror) -> None:
    """Issue 18: the conversations a person takes part in are found by their pseudonym, and an
    erase removes them from the mirror (a tombstone keeps only the participant's SID)."""
    alice = phone(1)
    elsewhere = phone(4, conversation=OTHER, address=alice.address)
    await mirror.replace_all(CH, [alice, chat(2, "agent"), phone(3)])
    await mirror.apply_added(elsewhere)
    person = Person(number=str(alice.address), digest=PSEUDONYM(str(alice.address)), masked="")
    exported = await mirror.export_person(person)
    assert sorted((r["conversation_sid"], r["participant"]["sid"]) for r in exported) == [
        (CH, sid(1)), (OTHER, sid(4))
    ]
    assert await mirror.erase_person(person) == 2
    assert await mirror.erase_person(person) == 0
    assert await mirror.export_person(person) == []
    assert await mirror.find(CH, str(alice.address)) is None
    assert await sids(mirror) == [sid(2), sid(3)]
    assert not await mirror.apply_added(alice)  # a late webhook does not bring them back
