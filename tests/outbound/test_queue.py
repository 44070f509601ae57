"""The OutboundQueue contract, on the memory and the Redis queue alike, with injected time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.keys import ConsentShards
from botkit.compliance.ledger.memory import MemoryConsentLedger
from botkit.compliance.ledger.protocol import ConsentLedger
from botkit.compliance.ledger.redis import RedisConsentLedger
from botkit.outbound.job import Job, JobFactory, consent_scopes
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import Lane, OutboundMessage
from botkit.outbound.queue.memory import MemoryOutboundQueue
from botkit.outbound.queue.protocol import Claim, Idle, OutboundQueue
from botkit.outbound.queue.redis import RedisOutboundQueue
from botkit.runtime.redis import connect
from botkit.settings import Settings

#: A contract every backend keeps, Redis Cluster included.
pytestmark = pytest.mark.cluster


SLOW = "+15550100001"  # a long code: 1 segment/s
FAST = "+15550100002"  # given 10/s below
S = 1_000_000
PEPPER = "test-pepper-0123456789"


@dataclass
class Rig:
    queue: OutboundQueue
    ledger: ConsentLedger
    factory: JobFactory
    t0: int

    def job(self, to: str, sender: str = SLOW, lane: Lane = "reply", body: str = "hi") -> Job:
        message = OutboundMessage(
            to=to, body=body, from_=sender, idempotency_key=f"{to}:{time.perf_counter_ns()}"
        )
        return self.factory.build(message, lane=lane)

    async def add(self, *jobs: Job, at: int = 0) -> None:
        for job in jobs:
            await self.queue.enqueue(job, now_us=self.t0 + at)

    async def claim(self, at: int = 0, lease: float = 30) -> Claim | Idle:
        return await self.queue.claim(lease, now_us=self.t0 + at)

    async def claimed(self, at: int = 0) -> Claim:
        found = await self.claim(at)
        assert isinstance(found, Claim), found
        return found


@pytest.fixture
async def rig(store_url: str | None) -> AsyncIterator[Rig]:
    hasher = NumberHasher(PEPPER)
    settings = Settings(redis_url=store_url)
    shards = ConsentShards(settings.shards)  # 3 on a cluster (tests/conftest.py)
    factory = JobFactory(RateTable(senders={FAST: 10}), hasher, shards)
    t0 = int(time.time() * S)
    if store_url is None:
        memory_ledger = MemoryConsentLedger(hasher)

        async def blocked(job: Job) -> bool:
            return await memory_ledger.is_opted_out(job.message.to, consent_scopes(job.message))

        queue = MemoryOutboundQueue(blocked, consent_changes=lambda: memory_ledger.changes)
        yield Rig(queue, memory_ledger, factory, t0)
        return
    redis = await connect(settings)
    queue = RedisOutboundQueue(redis, shards=shards)
    yield Rig(queue, RedisConsentLedger(redis, hasher, shards), factory, t0)
    await queue.close()
    await redis.aclose()


async def test_an_idempotency_key_enqueues_once(rig: Rig) -> None:
    job = rig.job("+15550001111")
    assert await rig.queue.enqueue(job) == (job.id, True)
    again = job.model_copy(update={"id": "another"})
    assert await rig.queue.enqueue(again) == (job.id, False)
    assert await rig.queue.pending() == 1


async def test_a_sender_is_held_to_its_rate_exactly(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+1555000111{n}") for n in range(3)))
    first = await rig.claimed()
    assert first.allowed_us == rig.t0
    idle = await rig.claim(at=1)
    assert isinstance(idle, Idle) and idle.next_us == rig.t0 + S
    assert isinstance(await rig.claim(at=S - 1), Idle)
    second = await rig.claimed(at=S)
    assert second.allowed_us == rig.t0 + S


async def test_segments_are_the_cost_of_an_sms(rig: Rig) -> None:
    await rig.add(rig.job("+15550001111", body="x" * 400), rig.job("+15550001111"))  # 3, then 1
    await rig.claimed()
    idle = await rig.claim(at=1)
    assert isinstance(idle, Idle) and idle.next_us == rig.t0 + 3 * S


async def test_a_backlog_on_a_slow_sender_does_not_delay_a_fast_one(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+155500011{n:02}") for n in range(20)))
    await rig.add(*(rig.job(f"+155500022{n:02}", sender=FAST) for n in range(3)))
    senders = [(await rig.claimed(at=n * 100_000)).job.sender for n in range(4)]
    assert senders.count(FAST) == 3
    assert senders.count(SLOW) == 1


async def test_replies_go_before_bulk(rig: Rig) -> None:
    bulk = [rig.job(f"+155500011{n:02}", lane="bulk") for n in range(3)]
    reply = rig.job("+15550002222", lane="reply")
    await rig.add(*bulk)
    await rig.add(reply)
    assert (await rig.claimed()).job.id == reply.id


async def test_recipients_of_one_sender_take_turns(rig: Rig) -> None:
    burst = [rig.job("+15550001111", sender=FAST) for _ in range(5)]
    await rig.add(*burst)
    other = rig.job("+15550002222", sender=FAST)
    await rig.add(other)
    order = [(await rig.claimed(at=n * 100_000)).job.id for n in range(3)]
    assert other.id in order[:2]


async def test_an_opted_out_recipient_is_skipped_at_claim_time(rig: Rig) -> None:
    stopped, fine = rig.job("+15550001111"), rig.job("+15550002222")
    await rig.add(stopped)
    await rig.ledger.opt_out("+15550001111", SLOW, keyword="STOP", source="keyword")
    idle = await rig.claim()
    assert isinstance(idle, Idle) and idle.suppressed == (stopped.id,)
    await rig.add(fine)
    claim = await rig.claimed()
    assert claim.job.id == fine.id
    assert claim.allowed_us == rig.t0  # the suppressed job cost the sender nothing
    assert (await rig.queue.status(stopped.id) or {})["state"] == "dead"
    [letter] = await rig.queue.dead_letters()
    assert letter.job.id == stopped.id and letter.reason == "opted_out"


async def test_a_job_without_consent_keys_reaches_an_opted_out_recipient(rig: Rig) -> None:
    message = OutboundMessage(
        to="+15550001111", body="You are unsubscribed.", from_=SLOW, idempotency_key="confirm"
    )
    confirmation = rig.factory.build(message, lane="reply", check_consent=False)
    await rig.ledger.opt_out("+15550001111", SLOW, keyword="STOP", source="keyword")
    await rig.add(confirmation)
    assert (await rig.claimed()).job.id == confirmation.id


async def test_a_lapsed_lease_is_reclaimed(rig: Rig) -> None:
    await rig.add(rig.job("+15550001111"))
    first = await rig.queue.claim(1.0, now_us=rig.t0)
    assert isinstance(first, Claim) and not first.reclaimed
    assert isinstance(await rig.claim(at=S // 2), Idle)
    again = await rig.claimed(at=2 * S)
    assert again.job.id == first.job.id and again.reclaimed and again.attempts == 2
    assert not await rig.queue.complete(first, "SMold")  # the first lease is void
    assert await rig.queue.complete(again, "SMnew")
    assert (await rig.queue.status(first.job.id) or {})["sid"] == "SMnew"
    assert await rig.queue.pending() == 0


async def test_retry_waits_until_due(rig: Rig) -> None:
    await rig.add(rig.job("+15550001111"))
    claim = await rig.claimed()
    assert await rig.queue.retry(claim, rig.t0 + 5 * S, "HTTP 503")
    assert isinstance(await rig.claim(at=4 * S), Idle)
    again = await rig.claimed(at=5 * S)
    assert again.job.id == claim.job.id and again.attempts == 2
    assert (await rig.queue.status(claim.job.id) or {}).get("error") == "HTTP 503"


async def test_bury_and_replay(rig: Rig) -> None:
    await rig.add(rig.job("+15550001111"))
    claim = await rig.claimed()
    assert await rig.queue.bury(claim, "permanent", "21211 invalid To")
    assert await rig.queue.pending() == 0
    [letter] = await rig.queue.dead_letters()
    assert (letter.reason, letter.error, letter.attempts) == ("permanent", "21211 invalid To", 1)
    assert await rig.queue.replay(claim.job.id)
    assert not await rig.queue.replay(claim.job.id)
    replayed = await rig.claimed(at=S)  # the first attempt used the sender's second
    assert replayed.attempts == 1


async def test_holding_a_sender_holds_only_that_sender(rig: Rig) -> None:
    await rig.add(rig.job("+15550001111"), rig.job("+15550002222", sender=FAST))
    await rig.queue.hold_sender(SLOW, rig.t0 + 10 * S)
    claim = await rig.claimed()
    assert claim.job.sender == FAST
    idle = await rig.claim(at=S)
    assert isinstance(idle, Idle) and idle.next_us == rig.t0 + 10 * S


async def test_delayed_enqueue(rig: Rig) -> None:
    job = rig.job("+15550001111", lane="bulk")
    await rig.queue.enqueue(job, not_before_us=rig.t0 + 3 * S, now_us=rig.t0)
    assert isinstance(await rig.claim(at=2 * S), Idle)
    assert (await rig.claimed(at=3 * S)).job.id == job.id


async def test_one_claim_many_takes_every_due_sender_once(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+155500011{n:02}") for n in range(3)))  # SLOW: 1/s
    await rig.add(*(rig.job(f"+155500022{n:02}", sender=FAST) for n in range(3)))  # 10/s
    third = rig.job("+15550003333", sender="+15550100003")
    await rig.add(third)
    batch = await rig.queue.claim_many(30, 10, now_us=rig.t0)
    assert sorted(c.job.sender for c in batch.claims) == sorted([SLOW, FAST, third.sender])
    assert len({c.token for c in batch.claims}) == 3
    assert all(c.allowed_us == rig.t0 and c.claimed_us == rig.t0 for c in batch.claims)
    assert batch.next_us == rig.t0 + S // 10  # nothing else due: FAST frees first
    later = await rig.queue.claim_many(30, 10, now_us=rig.t0 + S // 10)
    assert [c.job.sender for c in later.claims] == [FAST]
    assert later.next_us == rig.t0 + 2 * S // 10  # known with the claim: no idle round trip
    for claim in (*batch.claims, *later.claims):
        assert await rig.queue.complete(claim, f"SM{claim.job.id}")
    assert await rig.queue.pending() == 3


async def test_claim_many_stops_at_its_limit(rig: Rig) -> None:
    senders = [f"+1555010{n:04}" for n in range(5)]
    await rig.add(*(rig.job("+15550001111", sender=s) for s in senders))
    batch = await rig.queue.claim_many(30, 2, now_us=rig.t0)
    assert len(batch.claims) == 2 and batch.next_us == rig.t0  # more are due now
    rest = await rig.queue.claim_many(30, 10, now_us=rig.t0)
    assert len(rest.claims) == 3 and rest.next_us is None
    assert {c.job.sender for c in (*batch.claims, *rest.claims)} == set(senders)


async def test_an_opt_out_stops_the_queued_jobs_of_every_shard(rig: Rig) -> None:
    # A sender's jobs live in its shard, each shard checks its own copy of consent, and a STOP
    # must reach them all before it returns (3 shards on a cluster, 1 elsewhere).
    shards = rig.factory.shards
    senders = {shards.of(s): s for s in (f"+1555080{n:04}" for n in range(100))}
    assert len(senders) == shards.count
    jobs = [rig.job("+15550004444", sender=sender) for sender in senders.values()]
    await rig.add(*jobs)
    await rig.ledger.opt_out("+15550004444", "*", keyword="STOPALL", source="keyword")
    batch = await rig.queue.claim_many(30, 10, now_us=rig.t0)
    assert batch.claims == ()
    assert sorted(batch.suppressed) == sorted(job.id for job in jobs)


async def test_claim_many_reports_suppressed_jobs(rig: Rig) -> None:
    stopped, fine = rig.job("+15550001111"), rig.job("+15550002222", sender=FAST)
    await rig.add(stopped, fine)
    await rig.ledger.opt_out("+15550001111", SLOW, keyword="STOP", source="keyword")
    batch = await rig.queue.claim_many(30, 5, now_us=rig.t0)
    assert [c.job.id for c in batch.claims] == [fine.id]
    assert batch.suppressed == (stopped.id,)



async def test_a_claim_looks_ahead_and_says_when_to_send(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+155500044{n:02}", sender=FAST) for n in range(4)))  # 10/s
    ahead = S // 10 + S // 100  # one slot and a bit
    batch = await rig.queue.claim_many(30, 10, lookahead_us=ahead, now_us=rig.t0)
    assert [c.send_at_us for c in batch.claims] == [rig.t0, rig.t0 + S // 10]
    assert all(c.claimed_us == rig.t0 for c in batch.claims)
    assert batch.next_us == rig.t0 + 2 * S // 10 and batch.now_us == rig.t0
    # The slots it took are gone: the next claim starts after them.
    later = await rig.queue.claim_many(30, 10, lookahead_us=0, now_us=rig.t0 + 2 * S // 10)
    assert [c.send_at_us for c in later.claims] == [rig.t0 + 2 * S // 10]


async def test_a_hold_sent_with_a_claim_moves_the_senders_next_slot(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+155500055{n:02}", sender=FAST) for n in range(3)))
    first = await rig.queue.claim_many(30, 1, now_us=rig.t0)
    assert first.claims[0].send_at_us == rig.t0
    late = rig.t0 + S // 10 + 7_000  # the first send went out 7 ms late
    batch = await rig.queue.claim_many(30, 5, holds={FAST: late}, now_us=rig.t0 + S // 10)
    assert batch.claims == () and batch.next_us == late
    [claim] = (await rig.queue.claim_many(30, 1, now_us=late)).claims
    assert claim.send_at_us == late


async def test_complete_many_settles_each_job_whose_lease_is_still_held(rig: Rig) -> None:
    senders = [f"+1555020{n:04}" for n in range(3)]
    await rig.add(*(rig.job("+15550001111", sender=s) for s in senders))
    claims = (await rig.queue.claim_many(30, 3, now_us=rig.t0)).claims
    stale = claims[2].model_copy(update={"token": "not-the-lease"})
    done = await rig.queue.complete_many(
        [(claims[0], "SM0"), (claims[1], "SM1"), (stale, "SM2")]
    )
    assert done == [True, True, False]
    assert await rig.queue.pending() == 1
    assert (await rig.queue.find_by_sid("SM1")) == claims[1].job


async def test_completing_again_with_the_same_sid_is_safe(rig: Rig) -> None:
    # A settlement whose answer was lost (a read timed out) is sent again: the first call was
    # recorded, so the second is told so, and nothing is counted twice.
    await rig.add(rig.job("+15550001111"), rig.job("+15550002222", sender=FAST))
    claim = await rig.claimed()
    assert await rig.queue.complete_many([(claim, "SMsame")]) == [True]
    assert await rig.queue.complete_many([(claim, "SMsame")]) == [True]
    assert not await rig.queue.complete(claim, "SMother")  # not this send: the lease is gone
    assert await rig.queue.pending() == 1
    assert (await rig.queue.status(claim.job.id) or {})["sid"] == "SMsame"


async def test_promote_delayed_puts_jobs_due_by_then_back_in_line(rig: Rig) -> None:
    soon, later = rig.job("+15550001111", lane="bulk"), rig.job("+15550002222", lane="bulk")
    await rig.queue.enqueue(soon, not_before_us=rig.t0 + 3600 * S, now_us=rig.t0)
    await rig.queue.enqueue(later, not_before_us=rig.t0 + 9 * 3600 * S, now_us=rig.t0)
    assert await rig.queue.promote_delayed(rig.t0 + 5 * 3600 * S, now_us=rig.t0) == 1
    assert (await rig.claimed()).job.id == soon.id
    assert isinstance(await rig.claim(at=S), Idle)  # the other still waits



async def test_a_sender_stays_with_its_worker_until_shortly_after_its_next_slot(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+155500077{n:02}", sender=FAST) for n in range(3)))
    await rig.add(rig.job("+15550007800"), at=1)  # SLOW, ready after FAST and nobody's yet
    affinity = 20_000
    mine = await rig.queue.claim_many(30, 1, worker="a", affinity_us=affinity, now_us=rig.t0)
    assert [c.job.sender for c in mine.claims] == [FAST]
    # Worker b skips FAST (a's until its next slot + affinity) and takes SLOW instead.
    slot = rig.t0 + S // 10
    theirs = await rig.queue.claim_many(30, 5, worker="b", affinity_us=affinity, now_us=slot)
    assert [c.job.sender for c in theirs.claims] == [SLOW]
    assert theirs.next_us == slot + affinity  # when b may take FAST over
    again = await rig.queue.claim_many(30, 5, worker="a", affinity_us=affinity, now_us=slot)
    assert [c.job.sender for c in again.claims] == [FAST]  # a keeps it
    # a lets the moment pass (it died): b takes FAST over.
    late = slot + S // 10 + affinity + 1
    over = await rig.queue.claim_many(30, 5, worker="b", affinity_us=affinity, now_us=late)
    assert [c.job.sender for c in over.claims] == [FAST]


async def test_a_late_claim_may_take_a_slot_a_little_in_the_past(rig: Rig) -> None:
    await rig.add(*(rig.job(f"+155500066{n:02}", sender=FAST) for n in range(3)))
    await rig.queue.claim_many(30, 1, now_us=rig.t0)
    late = rig.t0 + S // 10 + 3_000  # the worker came back 3 ms after the next slot
    [claim] = (await rig.queue.claim_many(30, 1, catch_up_us=5_000, now_us=late)).claims
    assert claim.send_at_us == rig.t0 + S // 10  # its slot: the schedule does not slip
    much_later = rig.t0 + 2 * S // 10 + 50_000  # 50 ms late: more than it may catch up
    [claim] = (await rig.queue.claim_many(30, 1, catch_up_us=5_000, now_us=much_later)).claims
    assert claim.send_at_us == much_later - 5_000


async def test_a_claim_reads_its_shards_consent_counter_with_its_consent_check(rig: Rig) -> None:
    # The worker compares it with what later reads say, to know nobody opted out meanwhile.
    await rig.add(rig.job("+15550001111"), rig.job("+15550002222", sender=FAST))
    first = await rig.queue.claim_many(30, 1, now_us=rig.t0)
    await rig.ledger.opt_out("+15550009999", SLOW, keyword="STOP", source="keyword")
    second = await rig.queue.claim_many(30, 1, now_us=rig.t0)
    idle = await rig.queue.claim_many(30, 1, now_us=rig.t0)
    assert first.consent_changes  # the shards the claim asked
    # The change reached the consent of every shard: each counter moved by one. (With nothing
    # left to claim, the last claim asked every shard.)
    for shard, changes in first.consent_changes.items():
        assert idle.consent_changes[shard] == changes + 1
    for shard, changes in second.consent_changes.items():
        assert idle.consent_changes[shard] == changes
    for shard, changes in idle.consent_changes.items():
        assert await rig.queue.consent_changes(shard) == changes  # read on its own
    for batch in (first, second):
        for claim in batch.claims:
            assert claim.consent_changes == batch.consent_changes[claim.shard]


async def test_of_the_senders_whose_slot_has_come_the_fastest_go_first(rig: Rig) -> None:
    # A late send costs its sender that much of its rate for good: a 10/s sender loses ten
    # times as many sends per second late as a 1/s one, so it goes first, though queued last.
    # (An order within one shard: on a sharded queue a claim asks the shards in turn.)
    shards = rig.factory.shards
    senders = [f"+1555070{n:04}" for n in range(100)]
    senders = [s for s in senders if shards.of(s) == shards.of(FAST)][:3]
    slow = [rig.job(f"+1555000{n:04}", sender=sender) for n, sender in enumerate(senders)]
    await rig.add(*slow)
    await rig.add(rig.job("+15550009999", sender=FAST), at=1_000)
    batch = await rig.queue.claim_many(30, 2, now_us=rig.t0 + 2_000)
    assert [c.job.sender for c in batch.claims] == [FAST, slow[0].sender]
    rest = await rig.queue.claim_many(30, 5, now_us=rig.t0 + 2_000)
    assert [c.job.sender for c in rest.claims] == [slow[1].sender, slow[2].sender]


async def test_an_idle_wait_ends_when_a_job_is_enqueued(rig: Rig) -> None:
    assert await rig.queue.wait_for_work(0.05) is False  # nothing enqueued: it waits it out
    waiting = asyncio.create_task(rig.queue.wait_for_work(30))
    await asyncio.sleep(0.05)
    await rig.add(rig.job("+15550001111"))
    assert await asyncio.wait_for(waiting, 5) is True


async def test_promoted_and_replayed_jobs_also_end_an_idle_wait(rig: Rig) -> None:
    held = rig.job("+15550001111", lane="bulk")
    await rig.queue.enqueue(held, not_before_us=rig.t0 + 3600 * S, now_us=rig.t0)
    assert await rig.queue.wait_for_work(0.05) is False  # a delayed job is not in line yet
    await rig.queue.promote_delayed(rig.t0 + 2 * 3600 * S, now_us=rig.t0)
    assert await rig.queue.wait_for_work(5) is True
    claim = await rig.claimed()
    await rig.queue.bury(claim, "permanent", "21211 invalid To")
    await rig.queue.replay(claim.job.id)
    assert await rig.queue.wait_for_work(5) is True
