"""The outbound worker against the sandbox: limits, fairness, opt-outs, retries, WhatsApp, quiet
hours.

Each test runs on the memory and the Redis queue (store_url).
"""

from __future__ import annotations

import asyncio
import itertools
import time

import aiohttp
import pytest
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.queue.protocol import Claim
from botkit.outbound.quiet_hours import QuietHours
from botkit.outbound.shaping import WhatsAppTemplate
from botkit.outbound.worker import SendPolicy
from botkit.sandbox import SandboxConfig
from botkit.sandbox.config import MessagingService
from tests.outbound.harness import Rig, SlowHop, dispatch_rig
from tests.support.redis_server import free_port, start_redis, stop_redis

SLOW = "+15550100001"
FAST = "whatsapp:+15550100009"
SHORT = "55555"  # a short code: 100/s
USER = "+15550001111"


def strict(**extra: object) -> SandboxConfig:
    return SandboxConfig(strict_rates=True, status_step=0.002, **extra)  # type: ignore[arg-type]


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_messages_reach_twilio_and_the_job_records_the_sid(store_url: str | None) -> None:
    async with dispatch_rig(store_url) as rig:
        job = await rig.send(USER, "hello")
        await rig.drained()
        status = await rig.queue.status(job) or {}
        assert status["state"] == "sent"
        assert status["sid"] in rig.sandbox.state.messages


@pytest.mark.cluster
async def test_a_long_code_never_beats_one_segment_a_second(store_url: str | None) -> None:
    async with dispatch_rig(store_url, sandbox_config=strict(), workers=3) as rig:
        for n in range(3):
            await rig.send(f"+1555000200{n}", "x")
        await rig.send("+15550002009", "y" * 200)  # two segments
        await rig.send("+15550002008", "z")
        await rig.drained(timeout=20)
        records = rig.sends(SLOW)
        assert len(records) == 5
        gaps = [b.at - a.at for a, b in itertools.pairwise(records)]
        units = [r.units for r in records]
        for gap, before in zip(gaps, units, strict=False):
            assert gap >= before - 0.02, (gaps, units)  # a 2-segment SMS holds the number 2 s


@pytest.mark.cluster
async def test_batched_claims_send_each_job_once_within_the_limits(store_url: str | None) -> None:
    senders = [f"+1555010{n:04}" for n in range(10)]
    rates = RateTable(long_code=5)  # told to both sides: 5 segments/s per number
    config = strict(rates={"long_code": 5.0})
    policy = SendPolicy(claim_batch=16)
    async with dispatch_rig(store_url, sandbox_config=config, rates=rates, policy=policy) as rig:
        for n in range(30):
            await rig.send(f"+15550008{n:03}", f"m{n}", from_=senders[n % 10])
        await rig.drained(timeout=15)
        bodies = [m.body for m in rig.sandbox.state.messages.values()]
        assert sorted(bodies) == sorted(f"m{n}" for n in range(30))
        for sender in senders:
            times = sorted(r.at for r in rig.sends(sender))
            assert len(times) == 3
            assert min(b - a for a, b in itertools.pairwise(times)) >= 0.2 - 0.011


async def test_a_slow_backlog_does_not_delay_a_fast_sender(store_url: str | None) -> None:
    async with dispatch_rig(store_url, sandbox_config=strict()) as rig:
        for n in range(30):
            await rig.send(f"+15550003{n:03}", "slow")
        started = time.time()
        for n in range(40):
            await rig.send(f"+15550004{n:03}", "fast", from_=SHORT)
        await rig.until(lambda: len(rig.sends(SHORT)) == 40)
        assert time.time() - started < 1.5  # 40 at 100/s is 0.4 s, whatever SLOW owes
        assert len(rig.sends(SLOW)) <= 3


async def test_replies_overtake_queued_bulk(store_url: str | None) -> None:
    async with dispatch_rig(store_url, workers=0) as rig:
        for n in range(5):
            await rig.send(f"+15550005{n:03}", "bulk", lane="bulk")
        reply = await rig.send(USER, "reply")  # queued last
        rig.add_worker()
        await rig.until(lambda: len(rig.sends(SLOW)) >= 1, timeout=5)
        async with asyncio.timeout(5):  # the queue records sends in batches, a little later
            while not (status := await rig.queue.status(reply) or {}).get("sid"):
                await asyncio.sleep(0.01)
        assert status["sid"] == rig.sends(SLOW)[0].sid


@pytest.mark.cluster
async def test_stop_while_a_hundred_are_queued_stops_them_all(store_url: str | None) -> None:
    async with dispatch_rig(store_url) as rig:
        for n in range(100):
            await rig.send(USER, f"message {n}")
        await rig.until(lambda: len(rig.sends(SLOW)) >= 1, timeout=5)
        await rig.ledger.opt_out(USER, SLOW, keyword="STOP", source="keyword")
        stopped_at = time.time()
        await asyncio.sleep(1.5)  # one more second of the number's rate
        late = [r for r in rig.sends(SLOW) if r.at > stopped_at]
        assert late == []
        letters = await rig.queue.dead_letters(limit=200)
        assert len(letters) + len(rig.sends(SLOW)) >= 99  # the rest are dead: opted_out
        assert {letter.reason for letter in letters} == {"opted_out"}


async def test_a_429_holds_that_sender_only(store_url: str | None) -> None:
    # The outbound worker is told SLOW may send 5/s; the sandbox allows 1/s and answers 429.
    rates = RateTable(senders={SLOW: 5})
    policy = SendPolicy(backoff_base=0.2)
    async with dispatch_rig(store_url, sandbox_config=strict(), rates=rates, policy=policy) as rig:
        for n in range(3):
            await rig.send(f"+15550006{n:03}", "x")
        for n in range(20):
            await rig.send(f"+15550007{n:03}", "fast", from_=SHORT)
        await rig.until(lambda: len(rig.sends(SHORT)) == 20, timeout=5)
        await rig.drained(timeout=15)
        assert len(rig.sends(SLOW)) == 3
        times = [r.at for r in rig.sends(SLOW)]
        assert max_in_window(times, 0.99) == 1


async def test_twilio_21610_records_the_opt_out_and_dead_letters(store_url: str | None) -> None:
    async with dispatch_rig(store_url) as rig:
        rig.sandbox.state.opted_out.add((USER, SLOW))  # the phone texted STOP to Twilio itself
        job = await rig.send(USER, "hello")
        await rig.drained()
        [letter] = await rig.queue.dead_letters()
        assert letter.job.id == job and letter.reason == "opted_out"
        assert letter.error is not None and letter.error.startswith("21610")
        assert await rig.ledger.is_opted_out(USER, [SLOW])


async def test_a_stop_confirmation_twilio_refuses_is_not_a_dead_letter(
    store_url: str | None,
) -> None:
    # Twilio's own opt-out handling answered the STOP and refuses botkit's confirmation
    # (21610): nothing failed, and there is nothing for an operator to replay.
    async with dispatch_rig(store_url) as rig:
        rig.sandbox.state.opted_out.add((USER, SLOW))
        job = await rig.send(USER, "You are unsubscribed.", compliance=True)
        await rig.drained()
        assert await rig.queue.dead_letters() == []
        status = await rig.queue.status(job) or {}
        assert (status.get("state"), status.get("reason")) == ("dropped", "answered_by_twilio")
        assert await rig.queue.pending() == 0
        assert await rig.ledger.is_opted_out(USER, [SLOW])


async def test_a_permanent_error_dead_letters_at_once(store_url: str | None) -> None:
    async with dispatch_rig(store_url) as rig:
        await rig.send(USER, "x" * 1601)  # Twilio: 21617, over the 1600-character limit
        await rig.drained()
        [letter] = await rig.queue.dead_letters()
        assert (letter.reason, letter.attempts) == ("rejected", 1)
        assert letter.error is not None and letter.error.startswith("21617")
        assert await rig.queue.replay(letter.job.id)


async def test_no_answer_is_retried_with_backoff(store_url: str | None) -> None:
    policy = SendPolicy(backoff_base=0.2, max_attempts=10)
    async with dispatch_rig(store_url, policy=policy) as rig:
        port = int(rig.sandbox.url.rsplit(":", 1)[1])
        await rig.sandbox.stop()
        job = await rig.send(USER, "eventually")
        await asyncio.sleep(0.6)
        status = await rig.queue.status(job) or {}
        assert status.get("state") in ("delayed", "queued", "inflight")
        assert int(status.get("attempts", "0")) >= 1
        await rig.sandbox.start(port=port)
        await rig.drained(timeout=10)
        assert (await rig.queue.status(job) or {})["state"] == "sent"


async def test_retries_are_bounded(store_url: str | None) -> None:
    policy = SendPolicy(backoff_base=0.01, max_attempts=3)
    async with dispatch_rig(store_url, policy=policy) as rig:
        await rig.sandbox.stop()
        await rig.send(USER, "never")
        await rig.drained(timeout=10)
        [letter] = await rig.queue.dead_letters()
        assert (letter.reason, letter.attempts) == ("retries_exhausted", 3)


async def _approved_template(rig: Rig) -> str:
    """A Content template in the sandbox, created over its API as a bot operator would."""
    auth = aiohttp.BasicAuth(rig.sandbox.config.account_sid, rig.sandbox.config.auth_token)
    body = {
        "friendly_name": "shipping",
        "language": "en",
        "variables": {"1": "your order"},
        "types": {"twilio/text": {"body": "Update: {{1}}"}},
    }
    async with (
        aiohttp.ClientSession(auth=auth) as http,
        http.post(f"{rig.sandbox.url}/v1/Content", json=body) as response,
    ):
        assert response.status == 201, await response.text()
        return str((await response.json())["sid"])


async def test_whatsapp_outside_the_window_becomes_the_template(store_url: str | None) -> None:
    async with dispatch_rig(store_url) as rig:
        template = WhatsAppTemplate(content_sid=await _approved_template(rig))
        for outbound_worker in rig.outbound_workers:
            assert outbound_worker.shape is not None
            outbound_worker.shape.template = template
        user = "whatsapp:+15550008888"
        await rig.windows.touch(FAST, "whatsapp:+15550009999")
        outside = await rig.send(user, "your order shipped", from_=FAST)
        inside = await rig.send("whatsapp:+15550009999", "free form", from_=FAST)
        await rig.drained()
        sent = {r.sid: r for r in rig.sandbox.state.messages.values()}
        outside_record = sent[(await rig.queue.status(outside) or {})["sid"]]
        inside_record = sent[(await rig.queue.status(inside) or {})["sid"]]
        assert outside_record.content_sid == template.content_sid
        assert outside_record.body == "Update: your order shipped"
        assert inside_record.content_sid is None and inside_record.body == "free form"


async def test_whatsapp_outside_the_window_without_template_fails_fast(
    store_url: str | None,
) -> None:
    async with dispatch_rig(store_url) as rig:
        await rig.send("whatsapp:+15550008888", "hello", from_=FAST)
        await rig.drained()
        [letter] = await rig.queue.dead_letters()
        assert letter.reason == "undeliverable"
        assert letter.error is not None and "fallback template" in letter.error
        assert rig.sends(FAST) == []


async def test_quiet_hours_hold_bulk_but_not_replies(store_url: str | None) -> None:
    now = time.gmtime()
    start = f"{now.tm_hour:02}:00"
    end = f"{(now.tm_hour + 2) % 24:02}:00"  # quiet now, in London
    quiet = QuietHours.model_validate({"start": start, "end": end})
    londoner = "+447700900123"
    async with dispatch_rig(store_url, quiet=quiet) as rig:
        bulk = await rig.send(londoner, "newsletter", lane="bulk")
        assert (await rig.queue.status(bulk) or {})["state"] == "delayed"  # held from the start
        reply = await rig.send(londoner, "your answer", lane="reply")
        await rig.until(lambda: len(rig.sends(SLOW)) == 1)
        await asyncio.sleep(1.2)  # the number is free again: only quiet hours hold the bulk
        assert (await rig.queue.status(reply) or {})["state"] == "sent"
        assert (await rig.queue.status(bulk) or {})["state"] == "delayed"
        assert len(rig.sends(SLOW)) == 1


async def test_a_job_sent_by_a_worker_that_died_is_not_sent_again(store_url: str | None) -> None:
    """The worker got Twilio's answer but died before recording it: the next one looks first."""
    async with dispatch_rig(store_url, workers=0) as rig:
        job_id = await rig.send(USER, "exactly once")
        claim = await rig.queue.claim(0.2)
        assert isinstance(claim, Claim)
        await rig.client.messages.create_async(to=USER, from_=SLOW, body="exactly once")
        await asyncio.sleep(0.3)  # ...and the worker is gone; its lease lapses
        rig.add_worker()
        await rig.drained()
        assert [r.sid for r in rig.sends(SLOW)] == [(await rig.queue.status(job_id) or {})["sid"]]


async def test_a_reclaimed_job_that_never_reached_twilio_is_sent(store_url: str | None) -> None:
    async with dispatch_rig(store_url, workers=0) as rig:
        job_id = await rig.send(USER, "sent after all")
        assert isinstance(await rig.queue.claim(0.2), Claim)
        await asyncio.sleep(0.3)
        rig.add_worker()
        await rig.drained()
        [record] = rig.sends(SLOW)
        status = await rig.queue.status(job_id) or {}
        assert (status["sid"], status["attempts"]) == (record.sid, "2")


async def test_one_recipient_gets_one_senders_messages_in_the_order_queued(
    store_url: str | None,
) -> None:
    # 1000/s: many slots of the one sender fall in one claim's lookahead, each on its own timer.
    async with dispatch_rig(store_url, rates=RateTable(senders={SHORT: 1000})) as rig:
        for n in range(40):
            await rig.send(USER, f"part {n}", from_=SHORT)
        await rig.until(lambda: len(rig.sends(SHORT)) == 40, timeout=10)
        # The sandbox keeps messages in the order their requests arrived.
        bodies = [m.body for m in rig.sandbox.state.messages.values()]
        assert bodies == [f"part {n}" for n in range(40)]


@pytest.mark.parametrize(
    "idle_poll",
    [
        pytest.param(0.05, id="stale-claims-so-the-counter-is-read-again"),
        pytest.param(0.002, id="fresh-claims-read-the-counter"),
    ],
)
async def test_a_stop_while_a_claimed_send_waits_for_its_slot_still_stops_it(
    store_url: str | None, idle_poll: float
) -> None:
    # Claims look half a second ahead here, so a job is claimed (consent checked) well before
    # its slot; the STOP lands in between. Consent is checked again before such a late start:
    # the ledger's change counter, which the STOP moved, is read by a recent claim or on its
    # own, and then the ledger itself is asked.
    policy = SendPolicy(lookahead=0.5, idle_poll=idle_poll)
    async with dispatch_rig(store_url, policy=policy) as rig:
        await rig.send(USER, "first")
        await rig.send(USER, "second")  # SLOW is 1/s: its slot is a second after the first
        await rig.until(lambda: len(rig.sends(SLOW)) == 1, timeout=5)
        await asyncio.sleep(0.6)  # the second is claimed by now, waiting for its slot
        await rig.ledger.opt_out(USER, SLOW, keyword="STOP", source="keyword")
        await asyncio.sleep(0.7)  # past its slot
        assert [r.sid for r in rig.sends(SLOW)][1:] == []
        [letter] = await rig.queue.dead_letters()
        assert letter.reason == "opted_out"


async def test_requests_in_flight_never_exceed_the_concurrency(store_url: str | None) -> None:
    # 12 senders each due now, Twilio 50 ms away: claims may take all 12, requests only 3.
    hop = SlowHop(delay=0.05)
    policy = SendPolicy(concurrency=3)
    async with dispatch_rig(store_url, policy=policy, through=hop) as rig:
        for n in range(12):
            await rig.send(USER, f"number {n}", from_=f"+1555061{n:04}")
        await rig.drained()
        assert len(rig.sends()) == 12
        assert hop.most_in_flight == 3


async def test_an_idle_worker_hears_of_work_another_process_enqueued(store_url: str | None) -> None:
    # A minute between polls: only the queue's own signal can wake the worker in time. The
    # rig's outbox is not wired to this worker, as a webhook process's is not.
    async with dispatch_rig(store_url, workers=0, policy=SendPolicy(idle_poll=60)) as rig:
        rig.add_worker()
        await asyncio.sleep(0.1)  # it found nothing and went idle
        await rig.send(USER, "a reply from the webhook process")
        await rig.until(lambda: len(rig.sends(SLOW)) == 1, timeout=5)


#: No retries inside redis-py, which otherwise rides out a few seconds' outage unseen.
NO_RETRIES = {"retry": Retry(NoBackoff(), 0)}


async def test_a_worker_whose_redis_went_away_while_it_idled_claims_again_once_it_is_back() -> None:
    # The idle worker is blocked in BLPOP when Redis goes: the failed wait must not end its
    # claim loop (it did, silently: the worker lived on and never sent again).
    port = free_port()
    redis = start_redis(port)
    try:
        async with dispatch_rig(
            f"redis://127.0.0.1:{port}/0", workers=0, redis_options=NO_RETRIES
        ) as rig:
            rig.add_worker()
            await asyncio.sleep(0.2)  # found nothing: waiting for work
            stop_redis(redis, crash=True)
            await asyncio.sleep(0.3)  # its wait failed
            redis = start_redis(port)
            await rig.send(USER, "after the outage")
            await rig.until(lambda: len(rig.sends(SLOW)) == 1, timeout=10)
    finally:
        stop_redis(redis)


async def test_a_worker_that_stalled_past_its_redis_read_timeout_goes_on_at_once(
    clean_redis: str,
) -> None:
    # A process stalled longer than the client's read timeout (a pause, a swap storm, SIGSTOP)
    # finds its pending read timed out: a one-off, retried at once, not after a second's pause.
    options = {**NO_RETRIES, "socket_timeout": 0.1}
    async with dispatch_rig(clean_redis, workers=0, redis_options=options) as rig:
        rig.add_worker()
        await asyncio.sleep(0.2)  # found nothing: waiting for work
        time.sleep(0.3)  # the whole process stalls  # noqa: ASYNC251
        began = time.monotonic()
        await rig.send(USER, "after the stall")
        await rig.until(lambda: len(rig.sends(SLOW)) == 1, timeout=5)
        assert time.monotonic() - began < 0.5


async def test_what_a_message_carries_reaches_twilio(store_url: str | None) -> None:
    # The outbound worker builds Twilio's form itself (To, From or MessagingServiceSid, Body,
    # MediaUrl repeated): each field must arrive as the SDK's Messages resource would send it.
    service = "MG" + "5" * 32
    config = SandboxConfig(
        status_step=0.002, services=[MessagingService(sid=service, numbers=["+15550100077"])]
    )
    media = ("https://example.com/a.png", "https://example.com/b.png")
    async with dispatch_rig(store_url, sandbox_config=config) as rig:
        await rig.send(USER, "look", media_urls=media)
        await rig.send(USER, "from the pool", messaging_service_sid=service)
        await rig.drained()
    by_body = {m.body: m for m in rig.sandbox.state.messages.values()}
    picture = by_body["look"]
    assert (picture.to, picture.from_, picture.media_urls) == (USER, SLOW, list(media))
    pooled = by_body["from the pool"]
    assert (pooled.messaging_service_sid, pooled.from_) == (service, "+15550100077")


async def _conversation_with_rig(rig: Rig) -> str:
    created = await rig.client.conversations.v1.conversations.create_async()
    return str(created.sid)


async def _posts(rig: Rig, conversation_sid: str) -> list[tuple[str, str]]:
    listed = await rig.client.conversations.v1.conversations(
        conversation_sid
    ).messages.list_async()
    return [(m.author, m.body) for m in listed]


def _post(conversation_sid: str, body: str, key: str, **fields: str) -> OutboundMessage:
    """A conversation post, as ConversationContext.reply queues it."""
    return OutboundMessage(
        to=conversation_sid,
        conversation_sid=conversation_sid,
        author="bot",
        body=body,
        idempotency_key=key,
        **fields,
    )


async def test_a_conversation_post_goes_through_the_queue_once(store_url: str | None) -> None:
    async with dispatch_rig(store_url) as rig:
        conversation = await _conversation_with_rig(rig)
        handle = await rig.outbox.submit(_post(conversation, "hello, room", "post-1"))
        again = await rig.outbox.submit(_post(conversation, "hello, room", "post-1"))
        await rig.drained()
        assert again.id == handle.id
        assert await _posts(rig, conversation) == [("bot", "hello, room")]
        status = await rig.queue.status(handle.id) or {}
        assert status["state"] == "sent" and status["sid"].startswith("IM")


async def test_a_post_made_by_a_worker_that_died_is_not_made_again(
    store_url: str | None,
) -> None:
    """As for a Messages send: the next worker looks in the conversation before posting."""
    async with dispatch_rig(store_url, workers=0) as rig:
        conversation = await _conversation_with_rig(rig)
        handle = await rig.outbox.submit(
            _post(conversation, "exactly once", "post-2", attributes='{"n": 1}')
        )
        assert isinstance(await rig.queue.claim(0.2), Claim)
        posted = await rig.client.conversations.v1.conversations(
            conversation
        ).messages.create_async(author="bot", body="exactly once", attributes='{"n": 1}')
        await asyncio.sleep(0.3)  # ...and the worker is gone; its lease lapses
        rig.add_worker()
        await rig.drained()
        assert await _posts(rig, conversation) == [("bot", "exactly once")]
        assert (await rig.queue.status(handle.id) or {})["sid"] == posted.sid


async def test_a_post_to_a_conversation_that_is_gone_is_dead_lettered(
    store_url: str | None,
) -> None:
    async with dispatch_rig(store_url) as rig:
        handle = await rig.outbox.submit(_post("CH" + "0" * 32, "anyone?", "post-3"))
        await rig.drained()
        status = await rig.queue.status(handle.id) or {}
        assert status["state"] == "dead" and status["reason"] == "rejected"
