"""Delivery tracking: status callbacks never move a message's status backwards (promise 8).

Layers, bottom up: the pure status model (ranks, is_forward, parsing); the StatusStore contract
on memory and Redis alike (store_url); ``POST /twilio/status`` on the real app (signatures,
malformed input, out-of-order and duplicate callbacks, hooks); and end to end through the
sandbox, which posts signed callbacks for messages created with a StatusCallback.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

import pytest
from aiohttp import ClientResponse
from pydantic import ValidationError
from redis.asyncio import Redis, RedisCluster

from botkit import Bot, MessageStatus, Router, StatusContext
from botkit.core.person import Person
from botkit.core.redis_client import RedisClient
from botkit.inbound.events import StatusEvent, decode_event
from botkit.inbound.status_tracker import StatusTracker
from botkit.outbound.message import OutboundHandle, OutboundMessage
from botkit.outbound.messenger import From, Messenger
from botkit.outbound.statuses.memory import MemoryStatusStore
from botkit.outbound.statuses.protocol import STATUS_TTL, StatusChange, StatusStore
from botkit.outbound.statuses.redis import RedisStatusStore
from botkit.twilio.client import create_async_client
from botkit.twilio.inbound import InboundMessage, parse_inbound_message
from botkit.twilio.signature import SIGNATURE_HEADER
from botkit.twilio.status import (
    FINAL_STATUSES,
    RANK,
    MalformedStatusCallback,
    forward_from,
    is_forward,
    parse_status_callback,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, BotServer, StartServer
from tests.support.logs import JsonLogs
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params, message_sid, post_signed, sign

PATH = "/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
ALL: tuple[MessageStatus, ...] = get_args(MessageStatus)
NOT_A_STATUS = "is not a Twilio message status"


def status_params(sid: str, status: str, **overrides: str) -> dict[str, str]:
    """The parameters Twilio posts to a StatusCallback URL."""
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": BOT_NUMBER,
        "To": USER,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
    }
    params.update(overrides)
    return params


# --- the status model ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "forward"),
    [
        (None, "queued", True),
        (None, "delivered", True),
        ("accepted", "queued", True),
        ("scheduled", "queued", True),
        ("scheduled", "canceled", True),
        ("queued", "sending", True),
        ("sending", "sent", True),
        ("sent", "delivered", True),
        ("sent", "undelivered", True),
        ("sending", "failed", True),
        ("sent", "partially_delivered", True),
        ("partially_delivered", "delivered", True),
        ("delivered", "read", True),
        ("sent", "read", True),
        ("receiving", "received", True),
        ("sent", "queued", False),
        ("delivered", "sent", False),
        ("delivered", "failed", False),
        ("delivered", "undelivered", False),
        ("undelivered", "delivered", False),
        ("failed", "read", False),
        ("read", "delivered", False),
        ("canceled", "queued", False),
        ("received", "receiving", False),
        ("partially_delivered", "sent", False),
    ],
)
def test_is_forward(old: MessageStatus | None, new: MessageStatus, forward: bool) -> None:
    assert is_forward(old, new) is forward


@pytest.mark.parametrize("status", ALL)
def test_the_same_status_is_not_a_move(status: MessageStatus) -> None:
    assert not is_forward(status, status)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(ALL, ALL)))
def test_no_move_goes_down_in_rank_or_leaves_a_final_status(
    old: MessageStatus, new: MessageStatus
) -> None:
    if is_forward(old, new):
        assert RANK[new] > RANK[old]
        if old in FINAL_STATUSES:
            assert (old, new) == ("delivered", "read")
    assert (old in forward_from(new)) == is_forward(old, new)


def test_parse_a_full_callback() -> None:
    sid = message_sid()
    params = status_params(
        sid,
        "undelivered",
        ErrorCode="30003",
        MessagingServiceSid="MG" + "a" * 32,
        ChannelStatusMessage="unreachable",
    )
    callback = parse_status_callback(params)
    assert callback.message_sid == sid
    assert callback.status == "undelivered"
    assert callback.error_code == 30003
    assert callback.from_ == BOT_NUMBER
    assert callback.to == USER
    assert callback.account_sid == ACCOUNT_SID
    assert callback.messaging_service_sid == "MG" + "a" * 32
    assert callback.params["ChannelStatusMessage"] == "unreachable"
    assert callback.is_final


def test_parse_falls_back_to_sms_status() -> None:
    params = status_params(message_sid(), "sent")
    del params["MessageStatus"]
    callback = parse_status_callback(params)
    assert callback.status == "sent"
    assert callback.error_code is None
    assert not callback.is_final


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"MessageSid": ""}, "missing required parameter MessageSid"),
        ({"MessageSid": "CA" + "1" * 32}, f"MessageSid 'CA{'1' * 32}' is not a Twilio message SID"),
        ({"MessageStatus": "", "SmsStatus": ""}, "missing required parameter MessageStatus"),
        ({"MessageStatus": "exploded"}, "MessageStatus 'exploded' is not a Twilio message status"),
        ({"MessageStatus": "x" * 99}, f"MessageStatus '{'x' * 40}...' {NOT_A_STATUS}"),
        ({"ErrorCode": "30003x"}, "ErrorCode '30003x' is not a Twilio error code"),
    ],
)
def test_malformed_callbacks_say_why_in_one_line(change: dict[str, str], reason: str) -> None:
    params = {**status_params("SM" + "0" * 32, "sent"), **change}
    with pytest.raises(MalformedStatusCallback) as caught:
        parse_status_callback(params)
    assert str(caught.value) == reason


def test_inbound_events_are_a_union_told_apart_by_kind() -> None:
    message = inbound_params("hi")
    legacy = parse_inbound_message(message).model_dump_json()  # no "kind": a message
    assert isinstance(decode_event(legacy), InboundMessage)
    callback = parse_status_callback(status_params(message_sid(), "sent"))
    event = StatusEvent(callback=callback, at=1.5)
    decoded = decode_event(event.model_dump_json())
    assert decoded == event
    with pytest.raises(ValidationError):
        decode_event(json.dumps({**json.loads(event.model_dump_json()), "kind": "other"}))


# --- the StatusStore contract ------------------------------------------------------------------


# Status records on a 3-master cluster too (each status is one script on its message's key).
pytestmark = pytest.mark.cluster


@pytest.fixture
async def redis_client(store_url: str | None) -> AsyncIterator[RedisClient | None]:
    if store_url is None:
        yield None
        return
    # The concurrency test has 300 calls in flight: more than redis-py's default pool of 100.
    client: RedisClient = Redis.from_url(store_url, max_connections=512)
    if (await client.info("cluster")).get("cluster_enabled"):
        await client.aclose()
        client = RedisCluster.from_url(store_url, max_connections=512)
    yield client
    await client.aclose()


def make_store(redis: RedisClient | None, ttl: float = STATUS_TTL) -> StatusStore:
    return MemoryStatusStore(ttl=ttl) if redis is None else RedisStatusStore(redis, ttl=ttl)


@pytest.fixture
def store(redis_client: RedisClient | None) -> StatusStore:
    return make_store(redis_client)


async def test_the_first_status_is_a_change_from_nothing(store: StatusStore) -> None:
    sid = message_sid()
    assert await store.get(sid) is None
    change = await store.advance(sid, "sent", None, 100.0)
    assert change == StatusChange(sid, None, "sent", None, 100.0)
    record = await store.get(sid)
    assert record is not None
    assert (record.status, record.previous, record.error_code, record.at) == (
        "sent", None, None, 100.0
    )


async def test_sent_then_delivered_moves_forward(store: StatusStore) -> None:
    sid = message_sid()
    await store.advance(sid, "sent", None, 1.0)
    change = await store.advance(sid, "delivered", None, 2.0)
    assert change == StatusChange(sid, "sent", "delivered", None, 2.0)
    record = await store.get(sid)
    assert record is not None and record.status == "delivered" and record.previous == "sent"


async def test_delivered_then_sent_stays_delivered(store: StatusStore) -> None:
    sid = message_sid()
    assert await store.advance(sid, "delivered", None, 1.0) is not None
    assert await store.advance(sid, "sent", None, 2.0) is None
    assert await store.advance(sid, "sending", None, 3.0) is None
    record = await store.get(sid)
    assert record is not None and record.status == "delivered" and record.at == 1.0


async def test_failed_after_delivered_is_ignored(store: StatusStore) -> None:
    sid = message_sid()
    await store.advance(sid, "delivered", None, 1.0)
    assert await store.advance(sid, "failed", 30008, 2.0) is None
    record = await store.get(sid)
    assert record is not None and record.status == "delivered" and record.error_code is None


async def test_whatsapp_read_after_delivered(store: StatusStore) -> None:
    sid = message_sid()
    await store.advance(sid, "sent", None, 1.0)
    await store.advance(sid, "delivered", None, 2.0)
    change = await store.advance(sid, "read", None, 3.0)
    assert change == StatusChange(sid, "delivered", "read", None, 3.0)
    assert await store.advance(sid, "delivered", None, 4.0) is None


async def test_a_duplicate_changes_nothing(store: StatusStore) -> None:
    sid = message_sid()
    await store.advance(sid, "sent", None, 1.0)
    assert await store.advance(sid, "sent", None, 2.0) is None
    record = await store.get(sid)
    assert record is not None and record.at == 1.0


async def test_replaying_the_same_event_answers_the_same_change(store: StatusStore) -> None:
    """A worker that crashed after advancing retries with the same acceptance time."""
    sid = message_sid()
    await store.advance(sid, "sent", None, 1.0)
    first = await store.advance(sid, "undelivered", 30003, 2.0)
    assert first == StatusChange(sid, "sent", "undelivered", 30003, 2.0)
    assert await store.advance(sid, "undelivered", 30003, 2.0) == first
    assert await store.advance(sid, "undelivered", 30003, 2.5) is None  # a real duplicate


async def test_a_replay_after_a_later_move_is_stale(store: StatusStore) -> None:
    sid = message_sid()
    await store.advance(sid, "sent", None, 1.0)
    await store.advance(sid, "delivered", None, 2.0)
    assert await store.advance(sid, "sent", None, 1.0) is None


async def test_error_code_is_kept_with_the_status(store: StatusStore) -> None:
    sid = message_sid()
    await store.advance(sid, "sending", None, 1.0)
    await store.advance(sid, "undelivered", 30006, 2.0)
    record = await store.get(sid)
    assert record is not None and record.error_code == 30006


async def test_sids_are_independent(store: StatusStore) -> None:
    first, second = message_sid(), message_sid()
    await store.advance(first, "delivered", None, 1.0)
    assert await store.advance(second, "sent", None, 1.0) is not None
    record = await store.get(second)
    assert record is not None and record.status == "sent"


async def test_a_persons_statuses_are_found_by_their_messages_and_forgotten(
    store: StatusStore,
) -> None:
    await store.advance("SM1", "delivered", None, 1.0)
    await store.advance("SM2", "failed", 30003, 2.0)
    await store.advance("SM3", "sent", None, 3.0)
    person = Person(number="+15550001111", digest="d", masked="", messages=("SM1", "SM2", "SM9"))
    exported = await store.export_person(person)
    assert [(r["sid"], r["status"], r["error_code"]) for r in exported] == [
        ("SM1", "delivered", None), ("SM2", "failed", 30003)
    ]
    assert await store.erase_person(person) == 2
    assert await store.erase_person(person) == 0
    assert await store.get("SM1") is None and await store.get("SM2") is None
    assert (await store.get("SM3")) is not None


async def test_records_expire_after_their_last_move(redis_client: Redis | None) -> None:
    store = make_store(redis_client, ttl=0.5)
    sid = message_sid()
    await store.advance(sid, "sent", None, 1.0)
    await asyncio.sleep(0.3)
    await store.advance(sid, "delivered", None, 2.0)  # renews the TTL
    await asyncio.sleep(0.3)  # past the first TTL
    assert await store.get(sid) is not None
    await asyncio.sleep(0.6)
    assert await store.get(sid) is None


async def test_concurrent_callbacks_form_one_forward_chain(store: StatusStore) -> None:
    """Every callback of 50 messages at once, shuffled: each message ends at the top status,
    and the changes reported form one chain (no two movers saw the same old status)."""
    chain: list[MessageStatus] = ["accepted", "queued", "sending", "sent", "delivered", "read"]
    sids = [message_sid() for _ in range(50)]
    calls = [(sid, status) for sid in sids for status in chain]
    random.Random(8).shuffle(calls)
    changes = await asyncio.gather(
        *(store.advance(sid, status, None, float(i)) for i, (sid, status) in enumerate(calls))
    )
    for sid in sids:
        record = await store.get(sid)
        assert record is not None and record.status == "read"
        moves = sorted(
            (c for c in changes if c is not None and c.sid == sid), key=lambda c: RANK[c.new]
        )
        assert moves[0].old is None
        assert [m.old for m in moves[1:]] == [m.new for m in moves[:-1]]
        assert moves[-1].new == "read"


async def test_redis_layout_one_hash_per_sid_with_a_hash_tag_and_ttl(
    redis_client: Redis | None,
) -> None:
    if redis_client is None:
        pytest.skip("Redis layout only")
    store = RedisStatusStore(redis_client)
    sid = message_sid()
    await store.advance(sid, "undelivered", 30003, 12.5)
    key = f"botkit:status:{{{sid}}}"
    assert await redis_client.hgetall(key) == {
        b"status": b"undelivered",
        b"previous": b"",
        b"error_code": b"30003",
        b"at": b"12.5",
    }
    ttl_ms = await redis_client.pttl(key)
    assert STATUS_TTL * 1000 - 5000 < ttl_ms <= STATUS_TTL * 1000


# --- hooks: registration and composition -------------------------------------------------------


def test_on_status_rejects_unknown_statuses_at_import() -> None:
    bot = Bot()
    with pytest.raises(ValueError, match="'delivred' is not a Twilio message status"):

        @bot.on_status("delivred")
        async def hook(ctx: StatusContext) -> None: ...


def test_on_status_wants_an_async_function_of_one_argument() -> None:
    bot = Bot()
    with pytest.raises(TypeError, match="must be an async function"):
        bot.on_status()(lambda ctx: None)  # type: ignore[type-var]

    async def two(ctx: StatusContext, extra: int) -> None: ...

    with pytest.raises(TypeError, match="must take one argument"):
        bot.on_status()(two)  # type: ignore[type-var]


def test_hooks_compose_through_include_in_registration_order() -> None:
    bot, inner = Bot(), Router("inner")

    @bot.on_status("failed")
    async def first(ctx: StatusContext) -> None: ...

    @inner.on_status()
    async def second(ctx: StatusContext) -> None: ...

    bot.include(inner)

    @bot.on_status("failed", "undelivered")
    async def third(ctx: StatusContext) -> None: ...

    hooks = bot.compile_status_hooks()
    assert len(hooks) == 3
    assert [h.func for h in hooks.for_status("failed")] == [first, second, third]
    assert [h.func for h in hooks.for_status("undelivered")] == [second, third]
    assert [h.func for h in hooks.for_status("delivered")] == [second]
    assert bot.compile().names == []  # hooks are not intents


# --- the tracker: at least once -----------------------------------------------------------------


class RecordingOutbox:
    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        self.sent.append(message)
        return OutboundHandle(id=str(len(self.sent)), idempotency_key=message.idempotency_key)

    async def close(self) -> None:
        return None


async def test_a_replayed_event_runs_its_hooks_again_with_the_same_keys(
    store: StatusStore,
) -> None:
    """After a crash between advancing and finishing, the reclaimed event runs the hooks
    again (at least once) and their messages carry the same idempotency keys."""
    bot = Bot()
    seen: list[StatusChange] = []

    @bot.on_status("undelivered")
    async def fallback(ctx: StatusContext) -> None:
        seen.append(ctx.change)
        await ctx.send("+15550009999", "could not reach them")

    outbox = RecordingOutbox()
    tracker = StatusTracker(store, bot.compile_status_hooks(), Messenger(outbox, From()))
    sid = message_sid()
    callback = parse_status_callback(status_params(sid, "undelivered", ErrorCode="30003"))
    event = StatusEvent(callback=callback, at=time.time())
    assert await tracker.process(event) == "advanced"
    assert await tracker.process(event) == "advanced"
    duplicate = StatusEvent(callback=callback, at=event.at + 1)
    assert await tracker.process(duplicate) == "stale"
    assert seen == [StatusChange(sid, None, "undelivered", 30003, event.at)] * 2
    assert [m.idempotency_key for m in outbox.sent] == [f"status:{sid}:undelivered:1"] * 2
    assert {m.from_ for m in outbox.sent} == {BOT_NUMBER}


# --- POST /twilio/status on the real app --------------------------------------------------------


@dataclass
class Tracked:
    """A running bot whose hooks record what they saw."""

    server: BotServer
    changes: list[StatusChange] = field(default_factory=list)
    failures: list[StatusChange] = field(default_factory=list)

    async def post(self, params: Mapping[str, str]) -> ClientResponse:
        return await post_signed(self.server.client, params, token=AUTH_TOKEN, path=PATH)

    async def accept(self, sid: str, status: str, **extra: str) -> None:
        """Post a signed callback, expect the 200, and wait until it is applied."""
        response = await self.post(status_params(sid, status, **extra))
        assert response.status == 200, await response.text()
        assert await response.text() == EMPTY_TWIML
        assert response.content_type == "text/xml"
        await self.server.idle()

    async def status(self, sid: str) -> MessageStatus | None:
        record = await self.server.runtime.stores.statuses.get(sid)
        return record.status if record else None

    def moves(self, sid: str) -> list[tuple[MessageStatus | None, MessageStatus]]:
        return [(c.old, c.new) for c in self.changes if c.sid == sid]


def tracking_bot() -> tuple[Bot, Tracked]:
    bot = Bot("tracked")
    tracked = Tracked(server=None)  # type: ignore[arg-type]

    @bot.on_status()
    async def every(ctx: StatusContext) -> None:
        tracked.changes.append(ctx.change)

    @bot.on_status("failed", "undelivered")
    async def failures(ctx: StatusContext) -> None:
        tracked.failures.append(ctx.change)

    return bot, tracked


async def start_tracked(start_server: StartServer, **settings: Any) -> Tracked:
    bot, tracked = tracking_bot()
    tracked.server = await start_server(bot, **settings)
    return tracked


async def test_out_of_order_callbacks_never_move_back(
    start_server: StartServer, store_url: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = message_sid()
    await t.accept(sid, "delivered")
    await t.accept(sid, "sent")
    await t.accept(sid, "sending")
    await t.accept(sid, "failed", ErrorCode="30008")
    assert await t.status(sid) == "delivered"
    assert t.moves(sid) == [(None, "delivered")]
    assert t.failures == []


async def test_in_order_callbacks_each_fire_once(
    start_server: StartServer, store_url: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = message_sid()
    for status in ("sending", "sent", "delivered"):
        await t.accept(sid, status)
    assert await t.status(sid) == "delivered"
    assert t.moves(sid) == [(None, "sending"), ("sending", "sent"), ("sent", "delivered")]


async def test_whatsapp_read_after_delivered_fires(
    start_server: StartServer, store_url: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = message_sid()
    wa = {"From": f"whatsapp:{BOT_NUMBER}", "To": f"whatsapp:{USER}"}
    await t.accept(sid, "delivered", **wa)
    await t.accept(sid, "read", **wa)
    await t.accept(sid, "delivered", **wa)
    assert await t.status(sid) == "read"
    assert t.moves(sid) == [(None, "delivered"), ("delivered", "read")]


async def test_failure_hooks_get_the_error_code(
    start_server: StartServer, store_url: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = message_sid()
    await t.accept(sid, "sent")
    await t.accept(sid, "undelivered", ErrorCode="30003")
    await t.accept(sid, "delivered")
    assert await t.status(sid) == "undelivered"
    assert t.failures == [StatusChange(sid, "sent", "undelivered", 30003, t.failures[0].at)]
    assert abs(t.failures[0].at - time.time()) < 10


async def test_duplicates_fire_hooks_once(
    start_server: StartServer, store_url: str | None, logs: JsonLogs
) -> None:
    # A tiny dedup TTL lets the second copy past the door: the store must catch it.
    t = await start_tracked(start_server, redis_url=store_url, dedup_ttl=0.001)
    sid = message_sid()
    await t.accept(sid, "sent")
    await asyncio.sleep(0.01)
    await t.accept(sid, "sent")
    assert t.moves(sid) == [(None, "sent")]
    lines = logs.take()
    assert any(line["event"].startswith("status callback ignored") for line in lines)


async def test_duplicates_within_the_dedup_window_stop_at_the_door(
    start_server: StartServer, store_url: str | None, logs: JsonLogs
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = message_sid()
    params = status_params(sid, "delivered")
    for _ in range(3):
        response = await t.post(params)
        assert response.status == 200
    await t.server.idle()
    assert t.moves(sid) == [(None, "delivered")]
    events = [line["event"] for line in logs.take()]
    assert events.count("duplicate status callback ignored") == 2


async def test_hook_exceptions_are_logged_with_the_sid_and_never_500(
    start_server: StartServer, store_url: str | None, logs: JsonLogs
) -> None:
    bot = Bot("failing-hooks")
    after: list[MessageStatus] = []

    @bot.on_status()
    async def broken(ctx: StatusContext) -> None:
        raise RuntimeError("hook bug")

    @bot.on_status()
    async def still_runs(ctx: StatusContext) -> None:
        after.append(ctx.status)

    server = await start_server(bot, redis_url=store_url)
    sid = message_sid()
    response = await post_signed(
        server.client, status_params(sid, "failed", ErrorCode="30007"), token=AUTH_TOKEN, path=PATH
    )
    assert response.status == 200
    await server.idle()
    assert after == ["failed"]
    record = await server.runtime.stores.statuses.get(sid)
    assert record is not None and record.status == "failed"
    assert await server.runtime.stores.inbound.backlog() == 0  # finished, not retried forever
    failed = [line for line in logs.take() if line["event"] == "status hook failed"]
    assert len(failed) == 1
    assert failed[0]["sid"] == sid
    assert failed[0]["hook"].endswith("broken")
    assert failed[0]["level"] == "error"
    assert "RuntimeError: hook bug" in failed[0]["exception"]


async def test_a_callback_whose_worker_died_after_advancing_still_runs_its_hooks(
    start_server: StartServer, store_url: str | None
) -> None:
    """The worker advanced the status, then died before the hooks: the event is reclaimed after
    the lease and the replayed advance answers the same change, so the hook runs."""
    t = await start_tracked(start_server, redis_url=store_url, workers=False, inbound_lease=0.3)
    sid = message_sid()
    response = await t.post(status_params(sid, "undelivered", ErrorCode="30003"))
    assert response.status == 200
    runtime = t.server.runtime
    (taken,) = await runtime.stores.inbound.take("crashed-worker", 1, wait=1.0, session_lease=5)
    event = decode_event(taken.payload)
    assert isinstance(event, StatusEvent)
    assert await runtime.stores.statuses.advance(sid, "undelivered", 30003, event.at)
    runtime.inbound_worker.start()
    await t.server.idle()
    assert t.failures == [StatusChange(sid, None, "undelivered", 30003, event.at)]
    assert t.moves(sid) == [(None, "undelivered")]


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "other-token"])
async def test_forged_callbacks_are_403_and_change_nothing(
    start_server: StartServer, store_url: str | None, logs: JsonLogs, signature: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = message_sid()
    await t.accept(sid, "sent")
    logs.take()
    params = status_params(sid, "delivered")
    if signature == "other-token":
        signature = sign("not-the-token", t.server.url(PATH), params)
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    response = await t.server.client.post(PATH, data=params, headers=headers)
    assert response.status == 403
    reason = "missing X-Twilio-Signature" if not signature else "invalid X-Twilio-Signature"
    assert await response.text() == reason + "\n"
    await t.server.idle()
    assert await t.status(sid) == "sent"
    assert t.moves(sid) == [(None, "sent")]
    logs.take_rejection(status=403, reason=reason, path=PATH)
    await t.accept(sid, "delivered")  # the genuine one still counts
    assert t.moves(sid) == [(None, "sent"), ("sent", "delivered")]


async def test_a_message_signature_does_not_sign_a_status_callback(
    start_server: StartServer,
) -> None:
    t = await start_tracked(start_server)
    params = status_params(message_sid(), "delivered")
    signature = sign(AUTH_TOKEN, t.server.url("/twilio/messages"), params)
    response = await t.server.client.post(PATH, data=params, headers={SIGNATURE_HEADER: signature})
    assert response.status == 403
    await t.server.idle()
    assert t.changes == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"MessageSid": ""}, "missing required parameter MessageSid"),
        ({"MessageStatus": "", "SmsStatus": ""}, "missing required parameter MessageStatus"),
        ({"MessageStatus": "vanished"}, "MessageStatus 'vanished' is not a Twilio message status"),
        ({"ErrorCode": "abc"}, "ErrorCode 'abc' is not a Twilio error code"),
    ],
)
async def test_malformed_callbacks_are_400_with_one_line(
    start_server: StartServer,
    store_url: str | None,
    logs: JsonLogs,
    params: dict[str, str],
    reason: str,
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    logs.take()
    response = await t.post({**status_params("SM" + "e" * 32, "sent"), **params})
    assert response.status == 400
    assert await response.text() == reason + "\n"
    logs.take_rejection(status=400, reason=reason, path=PATH)
    await t.server.idle()
    assert t.changes == []
    assert await t.server.runtime.stores.inbound.backlog() == 0


async def test_a_campaign_callback_naming_no_campaign_id_is_400_with_one_line(
    start_server: StartServer, logs: JsonLogs
) -> None:
    """A campaign message's StatusCallback carries ``?campaign=<id>``; a URL whose id could
    not be a campaign's (it is part of Redis keys) is refused, signature and all correct."""
    t = await start_tracked(start_server)
    logs.take()
    path = f"{PATH}?campaign=spring%20sale"
    response = await post_signed(
        t.server.client, status_params("SM" + "e" * 32, "sent"), token=AUTH_TOKEN, path=path
    )
    reason = "campaign 'spring sale' is not a campaign id"
    assert (response.status, await response.text()) == (400, reason + "\n")
    logs.take_rejection(status=400, reason=reason, path=PATH)
    await t.server.idle()
    assert t.changes == []


async def test_hooks_can_send_from_the_tracked_sender(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    """A failed WhatsApp message followed up by SMS from the same number."""
    bot = Bot("fallback")

    @bot.on_status("failed", "undelivered")
    async def sms_instead(ctx: StatusContext) -> None:
        assert ctx.callback.to is not None
        await ctx.send(ctx.callback.to.removeprefix("whatsapp:"), "We could not reach you.")

    server = await start_server(bot, redis_url=store_url)
    sid = message_sid()
    params = status_params(
        sid, "failed", ErrorCode="63003", From=f"whatsapp:{BOT_NUMBER}", To=f"whatsapp:{USER}"
    )
    response = await post_signed(server.client, params, token=AUTH_TOKEN, path=PATH)
    assert response.status == 200
    await server.idle()
    (sent,) = await twilio.wait_for(1)
    assert (sent.to, sent.record.from_, sent.body) == (USER, BOT_NUMBER, "We could not reach you.")


# --- end to end through the sandbox ---------------------------------------------------------------


def assert_forward_chain(moves: list[tuple[MessageStatus | None, MessageStatus]]) -> None:
    """Callbacks may be handled concurrently, so a middle status can be overtaken, and hooks of
    consecutive changes may finish in either order; the changes must still form one forward
    chain."""
    assert moves, "no hook ran"
    moves = sorted(moves, key=lambda move: RANK[move[1]])
    assert moves[0][0] is None
    for (_, previous_new), (old, new) in itertools.pairwise(moves):
        assert old == previous_new
        assert is_forward(old, new)


async def send_tracked(twilio: SandboxTwilio, server: BotServer, to: str) -> str:
    client = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
    try:
        message = await client.messages.create_async(
            to=to, from_=BOT_NUMBER, body="track me", status_callback=server.url(PATH)
        )
    finally:
        await client.http_client.close()
    return str(message.sid)


async def settle(twilio: SandboxTwilio, t: Tracked, sid: str, final: MessageStatus) -> None:
    async with asyncio.timeout(10):
        while await t.status(sid) != final:
            await twilio.sandbox.settle()
            await t.server.idle()
            await asyncio.sleep(0.01)


async def test_end_to_end_status_reaches_delivered(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    sid = await send_tracked(twilio, t.server, USER)
    await settle(twilio, t, sid, "delivered")
    moves = t.moves(sid)
    assert_forward_chain(moves)
    assert moves[-1] == (moves[-1][0], "delivered")
    assert [new for _, new in moves].count("delivered") == 1
    assert t.failures == []
    assert twilio.sandbox.state.messages[sid].status == "delivered"


async def test_end_to_end_failing_number_fires_the_undelivered_hook(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    failing = "+15550003333"
    twilio.sandbox.config.failing_numbers[failing] = 30003
    t = await start_tracked(start_server, redis_url=store_url)
    sid = await send_tracked(twilio, t.server, failing)
    await settle(twilio, t, sid, "undelivered")
    assert_forward_chain(t.moves(sid))
    (failure,) = t.failures
    assert (failure.sid, failure.new, failure.error_code) == (sid, "undelivered", 30003)
    record = await t.server.runtime.stores.statuses.get(sid)
    assert record is not None and record.error_code == 30003


async def test_end_to_end_many_messages_in_flight(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    t = await start_tracked(start_server, redis_url=store_url)
    recipients = [f"+1555004{i:04d}" for i in range(20)]
    sids = await asyncio.gather(*(send_tracked(twilio, t.server, to) for to in recipients))
    for sid in sids:
        await settle(twilio, t, sid, "delivered")
        assert_forward_chain(t.moves(sid))
    assert len({c.sid for c in t.changes}) == len(sids)
    assert sorted(c.sid for c in t.changes if c.new == "delivered") == sorted(sids)
