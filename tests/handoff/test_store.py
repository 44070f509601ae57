"""The HandoffStore contract, on memory and Redis alike (the ``stores`` fixture): routing by
skill, capacity and presence, the queue of each skill, transfers, an agent going offline, and
the race of many agents freeing up at once."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from botkit.core.redis_client import RedisClient
from botkit.handoff.store.protocol import HandoffRecord, HandoffStore, Member, Roster
from botkit.handoff.store.redis import RedisHandoffStore
from botkit.runtime.redis import connect
from botkit.runtime.stores import Stores, open_stores
from botkit.settings import Settings
from tests.support.traces import store_traces

# Every handoff decision is one script in the bot's slot: on a cluster too.
pytestmark = pytest.mark.cluster

TEAM = Roster(
    (
        Member("ann", ("general",), 2),
        Member("bob", ("general", "billing"), 1),
        Member("cid", ("billing",), 1),
    )
)
_now = itertools.count(1000)


def now() -> float:
    return float(next(_now))


def asking(sid: str, skill: str = "general", *, at: float, priority: int = 0) -> HandoffRecord:
    return HandoffRecord(
        conversation_sid=sid, mode="queued", skill=skill, priority=priority, queued_at=at
    )


@pytest.fixture
def store(stores: Stores) -> HandoffStore:
    return stores.handoffs


async def loads(store: HandoffStore, *agents: str) -> list[int]:
    return [len(await store.holding(agent)) for agent in agents]


async def test_a_handoff_goes_to_the_least_loaded_agent_of_its_skill(store: HandoffStore) -> None:
    first = await store.route(asking("CH1", at=1.0), TEAM, now())
    second = await store.route(asking("CH2", at=2.0), TEAM, now())
    third = await store.route(asking("CH3", at=3.0), TEAM, now())
    # ann (2) and bob (1) do general: ann first (listed first), then bob (less loaded), then ann.
    assert [r.record.agent for r in (first, second, third)] == ["ann", "bob", "ann"]
    assert first.record.mode == "agent" and first.record.assigned_at is not None
    billing = await store.route(asking("CH4", "billing", at=4.0), TEAM, now())
    assert billing.record.agent == "cid"  # bob is full
    # Everyone is full: the next waits, first in line of its skill.
    waiting = await store.route(asking("CH5", at=5.0), TEAM, now())
    assert (waiting.record.mode, waiting.record.agent, waiting.position) == ("queued", None, 1)
    assert await store.position("CH5") == 1 and await store.position("CH1") is None
    # Asking again changes nothing: it keeps its place.
    again = await store.route(asking("CH5", at=9.0), TEAM, now())
    assert (again.position, again.record.queued_at) == (1, 5.0)
    assert await loads(store, "ann", "bob", "cid") == [2, 1, 1]


async def test_queues_are_per_skill_priority_first_then_longest_waiting(
    store: HandoffStore,
) -> None:
    busy = Roster(TEAM.members, presence="away")  # nobody takes anything on their own
    for sid, skill, at, priority in [
        ("CHa", "general", 10.0, 0),
        ("CHb", "general", 5.0, 0),
        ("CHc", "billing", 1.0, 0),
        ("CHd", "general", 20.0, 5),
    ]:
        await store.route(asking(sid, skill, at=at, priority=priority), busy, now())
    assert [r.conversation_sid for r in await store.waiting("general")] == ["CHd", "CHb", "CHa"]
    assert [r.conversation_sid for r in await store.waiting("general", 2)] == ["CHd", "CHb"]
    assert await store.waiting("general", 0) == []
    assert (await store.length("general"), await store.length("legal")) == (3, 0)
    assert [r.conversation_sid for r in await store.waiting("billing")] == ["CHc"]
    assert await store.skills() == ["billing", "general"]
    # bob does both: the best head of either queue (priority 5 beats a longer wait).
    assert (await store.take("bob", busy, now())) is not None
    assert [r.conversation_sid for r in await store.holding("bob")] == ["CHd"]
    assert await store.take("bob", busy, now()) is None  # full
    taken = await store.take("ann", busy, now())
    assert taken is not None and taken.conversation_sid == "CHb"
    assert await store.take("nobody", busy, now()) is None  # not on the roster


async def test_a_freed_agent_takes_the_next_in_line_in_the_same_step(store: HandoffStore) -> None:
    solo = Roster((Member("ann", ("general",), 1),))
    await store.route(asking("CH1", at=1.0), solo, now())
    await store.route(asking("CH2", at=2.0), solo, now())
    await store.route(asking("CH3", at=3.0), solo, now())
    closed = await store.release("CH1", solo, now(), to_bot=False)
    assert closed is not None
    assert (closed.record.agent, closed.left_position) == ("ann", None)
    assert [(r.conversation_sid, r.agent) for r in closed.assigned] == [("CH2", "ann")]
    assert await store.get("CH1") is None
    # Back to the bot keeps the record (mode bot); a waiting one leaving tells its place.
    resumed = await store.release("CH2", solo, now(), to_bot=True)
    assert resumed is not None and [r.conversation_sid for r in resumed.assigned] == ["CH3"]
    stored = await store.get("CH2")
    assert stored is not None and (stored.mode, stored.agent) == ("bot", None)
    await store.route(asking("CH4", at=4.0), solo, now())
    await store.route(asking("CH5", at=5.0), solo, now())
    gave_up = await store.release("CH4", solo, now(), to_bot=False)
    assert gave_up is not None and gave_up.left_position == 1 and gave_up.assigned == ()
    assert await store.position("CH5") == 1
    assert await store.release("CH404", solo, now(), to_bot=False) is None


async def test_presence_away_keeps_work_available_takes_work_offline_returns_it(
    store: HandoffStore,
) -> None:
    team = Roster((Member("ann", ("general",), 2), Member("bob", ("general",), 1)))
    await store.route(asking("CH1", at=1.0), team, now())  # ann
    await store.route(asking("CH2", at=2.0), team, now())  # bob
    assert await store.set_presence("bob", "away", team, now()) == ()
    assert await store.presence("bob", team) == "away"
    await store.route(asking("CH3", at=3.0), team, now())  # ann: bob is away
    await store.route(asking("CH4", at=4.0), team, now())  # nobody free: waits
    assert [r.conversation_sid for r in await store.holding("bob")] == ["CH2"]  # kept

    # ann goes offline: her two conversations go back in line, keeping their wait (ahead of
    # CH4), and no one is free to take them.
    changed = await store.set_presence("ann", "offline", team, now())
    assert [(r.conversation_sid, r.mode) for r in changed] == [("CH1", "queued"), ("CH3", "queued")]
    assert [r.conversation_sid for r in await store.waiting("general")] == ["CH1", "CH3", "CH4"]
    assert await store.holding("ann") == []
    assert await store.take("ann", team, now()) is None  # offline takes nothing

    # bob is back: he has room for none (CH2 is his); finishing it, he takes CH1 at once.
    assert await store.set_presence("bob", "available", team, now()) == ()
    released = await store.release("CH2", team, now(), to_bot=False)
    assert released is not None and [r.conversation_sid for r in released.assigned] == ["CH1"]
    # ann available again: she fills her capacity from the queue, best first.
    taken = await store.set_presence("ann", "available", team, now())
    assert [(r.conversation_sid, r.agent) for r in taken] == [("CH3", "ann"), ("CH4", "ann")]


async def test_going_offline_hands_work_to_a_free_agent_at_once(store: HandoffStore) -> None:
    team = Roster((Member("ann", ("general",), 1), Member("bob", ("general",), 1)))
    await store.set_presence("bob", "away", team, now())
    await store.route(asking("CH1", at=1.0), team, now())  # ann
    await store.set_presence("bob", "available", team, now())
    changed = await store.set_presence("ann", "offline", team, now())
    assert [(r.conversation_sid, r.agent) for r in changed] == [("CH1", "bob")]


async def test_transfers_to_an_agent_or_a_skill(store: HandoffStore) -> None:
    await store.route(asking("CH1", at=1.0), TEAM, now())  # ann
    refusals = [
        (await store.transfer("CH1", TEAM, now(), agent="ann")).refusal,
        (await store.transfer("CH1", TEAM, now(), agent="zed")).refusal,
        (await store.transfer("CH1", TEAM, now(), skill="legal")).refusal,
        (await store.transfer("CH9", TEAM, now(), agent="bob")).refusal,
    ]
    assert refusals == ["same_agent", "unknown_agent", "no_skill", "not_with_agent"]
    await store.set_presence("cid", "away", TEAM, now())
    assert (await store.transfer("CH1", TEAM, now(), agent="cid")).refusal == "unavailable"
    await store.set_presence("cid", "available", TEAM, now())

    to_bob = await store.transfer("CH1", TEAM, now(), agent="bob")
    assert to_bob.record is not None and to_bob.record.agent == "bob"
    assert await loads(store, "ann", "bob") == [0, 1]
    await store.route(asking("CH2", "billing", at=2.0), TEAM, now())  # cid
    assert (await store.transfer("CH2", TEAM, now(), agent="bob")).refusal == "full"

    # To billing: bob held it, cid is full, so it waits, keeping its wait; meanwhile bob, free
    # again, takes what waited for him.
    await store.set_presence("ann", "away", TEAM, now())
    await store.route(asking("CH3", at=3.0), TEAM, now())  # general, waits (ann away, bob full)
    to_billing = await store.transfer("CH1", TEAM, now(), skill="billing")
    assert to_billing.record is not None
    assert (to_billing.record.mode, to_billing.record.skill, to_billing.position) == (
        "queued",
        "billing",
        1,
    )
    assert to_billing.record.queued_at == 1.0
    assert [(r.conversation_sid, r.agent) for r in to_billing.assigned] == [("CH3", "bob")]
    # cid frees up: the billing queue's first is CH1.
    released = await store.release("CH2", TEAM, now(), to_bot=False)
    assert released is not None and [r.conversation_sid for r in released.assigned] == ["CH1"]


async def test_a_named_agent_gets_the_conversation_whatever_their_load(
    store: HandoffStore,
) -> None:
    solo = Roster((Member("ann", ("general",), 1),))
    await store.route(asking("CH1", at=1.0), solo, now())
    await store.route(asking("CH2", at=2.0), solo, now())  # waits
    named = await store.assign(asking("CH2", at=9.0), "ann", solo, now())
    assert (named.record.agent, named.left_position, named.record.queued_at) == ("ann", 1, 2.0)
    outside = await store.assign(asking("CH3", at=3.0), "agent-7", solo, now())  # no roster
    assert outside.record.agent == "agent-7"
    assert await loads(store, "ann", "agent-7") == [2, 1]
    # Handed from ann to agent-7 by name: ann has room again and nothing waits.
    moved = await store.assign(asking("CH1", at=1.0), "agent-7", solo, now())
    assert moved.record.agent == "agent-7" and moved.assigned == ()
    assert await loads(store, "ann", "agent-7") == [1, 2]


async def test_a_conversation_whose_record_expired_no_longer_counts_against_its_agent(
    store_url: str | None,
) -> None:
    """A record lives BOTKIT_HANDOFF_RETENTION after its last change: a conversation an agent
    held that went quiet for that long is gone, and must not keep the agent full for good."""
    settings = Settings(
        consent_pepper="contract-test-pepper-0123", redis_url=store_url, handoff_retention=0.5
    )
    stores = await open_stores(settings, "expiring")
    try:
        solo = Roster((Member("ann", ("general",), 1),))
        held = await stores.handoffs.route(asking("CH1", at=1.0), solo, now())
        assert held.record.agent == "ann"
        waiting = await stores.handoffs.route(asking("CH2", at=2.0), solo, now())
        assert waiting.record.mode == "queued"  # ann is full
        await asyncio.sleep(0.7)  # both records expire
        routed = await stores.handoffs.route(asking("CH3", at=3.0), solo, now())
        assert (routed.record.mode, routed.record.agent) == ("agent", "ann")
        assert [r.conversation_sid for r in await stores.handoffs.holding("ann")] == ["CH3"]
    finally:
        await stores.close()


async def test_the_first_agent_reply_is_measured_once(store: HandoffStore) -> None:
    routed = await store.route(asking("CH1", at=100.0), TEAM, 130.0)
    assert routed.record.agent == "ann"
    assert await store.mark_replied("CH1", "bob", 140.0) is None  # not its agent
    assert await store.mark_replied("CH1", "ann", 145.0) == 45.0
    assert await store.mark_replied("CH1", "ann", 150.0) is None  # only the first


async def test_fifty_customers_and_ten_agents_freeing_up_at_once(
    stores: Stores, store_url: str | None
) -> None:
    """Every assignment is one atomic step: agents that free up together never take the same
    customer, and none goes above capacity. On Redis each agent decides over its own
    connection, so the scripts truly interleave on the server."""
    capacity = 3
    team = Roster(
        tuple(Member(f"agent-{n}", ("general",), capacity) for n in range(10)), presence="away"
    )
    store = stores.handoffs
    customers = [f"CH{n:02d}" for n in range(50)]
    for n, sid in enumerate(customers):
        await store.route(asking(sid, at=float(n)), team, 1000.0)
    assert len(await store.waiting("general")) == 50

    clients: list[RedisClient] = []

    async def own_store() -> HandoffStore:
        if store_url is None:
            return store
        client = await connect(Settings(redis_url=store_url))  # a cluster's client on a cluster
        clients.append(client)
        return RedisHandoffStore(client, stores.hasher.pseudonym, prefix="contract")

    assignments: Counter[str] = Counter()
    loads_seen: list[int] = []

    async def agent(name: str) -> None:
        mine = await own_store()
        for record in await mine.set_presence(name, "available", team, 2000.0):
            assignments[record.conversation_sid] += 1
        # Then finish conversations one by one, each finish taking the next in line.
        while held := await mine.holding(name):
            loads_seen.append(len(held))
            released = await mine.release(held[0].conversation_sid, team, 3000.0, to_bot=False)
            assert released is not None
            for record in released.assigned:
                assert record.agent == name
                assignments[record.conversation_sid] += 1

    try:
        await asyncio.gather(*(agent(f"agent-{n}") for n in range(10)))
    finally:
        for client in clients:
            await client.aclose()
    assert sorted(assignments) == customers
    assert set(assignments.values()) == {1}  # each customer assigned exactly once
    assert max(loads_seen) <= capacity
    assert await store.waiting("general") == []


async def test_a_persons_handoffs_are_exported_and_closed_by_an_erase(
    store: HandoffStore, stores: Stores
) -> None:
    """Issue 18: the handoff records whose customer is the person (SMS or WhatsApp) are
    exported, and an erase takes them out of their queue and off their agent and deletes them."""
    alice = "+15550001111"
    theirs = asking("CH01", at=1.0).model_copy(update={"customer": alice})
    on_whatsapp = asking("CH02", at=2.0).model_copy(update={"customer": f"whatsapp:{alice}"})
    someone_else = asking("CH03", at=3.0).model_copy(update={"customer": "+15550003333"})
    await store.route(theirs, TEAM, 10.0)  # to an agent
    for record in (on_whatsapp, someone_else):
        await store.route(record, Roster(), 10.0)  # nobody free: they wait
    person = stores.hasher.person(alice)
    exported = await store.export_person(person)
    assert sorted(row["conversation_sid"] for row in exported) == ["CH01", "CH02"]
    agent = (await store.get("CH01")).agent  # type: ignore[union-attr]
    assert agent is not None

    assert await store.erase_person(person) == 2
    assert await store.erase_person(person) == 0
    assert await store.export_person(person) == []
    assert await store.get("CH01") is None and await store.get("CH02") is None
    assert await store.holding(agent) == []
    assert [r.conversation_sid for r in await store.waiting("general")] == ["CH03"]


#: An agent who works from their phone: their identity is their number.
AGENT_PHONE = "+15550109000"


async def test_an_agent_named_by_a_phone_number_is_kept_under_their_pseudonym(
    store: HandoffStore, stores: Stores
) -> None:
    """Issue 18: no key, hash field or set member names an agent; their load and presence are
    under their pseudonym. Only the record of a conversation they hold names them (its
    ``agent``), and only while they hold it."""
    team = Roster((Member(AGENT_PHONE, ("general",), 2), Member("ann", ("general",), 1)))
    digits = AGENT_PHONE.lstrip("+")
    assert (await store.route(asking("CH1", at=1.0), team, now())).record.agent == AGENT_PHONE
    assert (await store.route(asking("CH2", at=2.0), team, now())).record.agent == "ann"
    moved = await store.transfer("CH2", team, now(), agent=AGENT_PHONE)
    assert moved.record is not None and moved.record.agent == AGENT_PHONE
    await store.set_presence(AGENT_PHONE, "away", team, now())
    assert [r.conversation_sid for r in await store.holding(AGENT_PHONE)] == ["CH1", "CH2"]
    assert await store.presence(AGENT_PHONE, team) == "away"
    pseudonym = stores.hasher.pseudonym(AGENT_PHONE)
    if stores.redis is not None:
        tag = "{contract:handoff}:"
        assert await stores.redis.scard(tag + "held:" + pseudonym) == 2
        assert await stores.redis.hget(tag + "presence", pseudonym) == b"away"
        assert sorted(await store_traces(stores, [digits])) == [
            f"{tag}rec:CH1: {digits}",
            f"{tag}rec:CH2: {digits}",
        ]
    else:
        assert await store_traces(stores, [digits]) == [f"handoffs: {digits}"]  # the records

    # Once they hold nothing, nothing names them; their presence stays, under the pseudonym.
    await store.release("CH1", team, now(), to_bot=True)
    await store.release("CH2", team, now(), to_bot=False)
    await store.set_presence(AGENT_PHONE, "offline", team, now())
    assert await store_traces(stores, [digits]) == []
    assert await store.presence(AGENT_PHONE, team) == "offline"
    assert (await store.route(asking("CH3", at=3.0), team, now())).record.agent == "ann"


async def test_an_agents_presence_and_held_conversations_are_exported_and_erased(
    store: HandoffStore, stores: Stores
) -> None:
    """Issue 18: asked about an agent's number, a store shows their presence and which
    conversations they hold (not those records: their customers'); an erase puts those back in
    line, keeping their wait, and forgets the presence. Another agent keeps theirs."""
    team = Roster((Member(AGENT_PHONE, ("general",), 2), Member("ann", ("general",), 1)))
    for n in (1, 2, 3):
        await store.route(asking(f"CH{n}", at=float(n)), team, now())
    await store.set_presence("ann", "away", team, now())
    await store.set_presence(AGENT_PHONE, "away", team, now())
    person = stores.hasher.person(AGENT_PHONE)
    assert await store.export_person(person) == [
        {"role": "agent", "presence": "away", "holding": ["CH1", "CH3"]}
    ]

    assert await store.erase_person(person) == 3  # two conversations and the presence
    assert await store.erase_person(person) == 0
    assert await store.export_person(person) == []
    assert await store.holding(AGENT_PHONE) == []
    assert await store.presence(AGENT_PHONE, team) == "available"  # the roster's again
    waiting = await store.waiting("general")
    assert [(r.conversation_sid, r.agent, r.queued_at) for r in waiting] == [
        ("CH1", None, 1.0),
        ("CH3", None, 3.0),
    ]
    assert [r.conversation_sid for r in await store.holding("ann")] == ["CH2"]
    assert await store.presence("ann", team) == "away"
    assert await store_traces(stores, [AGENT_PHONE.lstrip("+")]) == []
