"""The ConsentLedger contract, run against the memory and the Redis implementation alike."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.keywords import classify
from botkit.compliance.ledger.keys import (
    CONSENT_LUA,
    DEFAULT_TAG,
    ConsentShards,
    consent_changes_key,
    consent_check_keys,
    consent_key,
    copy_counts_key,
    copy_filled_key,
)
from botkit.compliance.ledger.memory import MemoryConsentLedger
from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    SOURCE_KEYWORD,
    SOURCE_OPERATOR,
    SOURCE_TWILIO_21610,
    ConsentLedger,
    record_keyword,
    scope_for,
)
from botkit.compliance.ledger.redis import RedisConsentLedger

PEPPER = "test-consent-pepper-0123456789"
USER = "+15551230123"
USER_DIGITS = "5551230123"  # what must never appear in Redis, with or without +1
OTHER_USER = "+447700900123"
SENDER = "+15550001111"
OTHER_SENDER = "+15550002222"
WA_SENDER = "whatsapp:+15550001111"
SERVICE = "MG" + "a" * 32


@pytest.fixture
async def ledger(store_url: str | None) -> AsyncIterator[ConsentLedger]:
    hasher = NumberHasher(PEPPER)
    if store_url is None:
        yield MemoryConsentLedger(hasher)
        return
    redis = Redis.from_url(store_url)
    yield RedisConsentLedger(redis, hasher)
    await redis.aclose()


@pytest.fixture
async def redis_client(clean_redis: str) -> AsyncIterator[Redis]:
    redis = Redis.from_url(clean_redis)
    yield redis
    await redis.aclose()


async def stop(ledger: ConsentLedger, scope: str, number: str = USER, **kw: Any) -> bool:
    kw.setdefault("keyword", "STOP")
    kw.setdefault("source", SOURCE_KEYWORD)
    return await ledger.opt_out(number, scope, **kw)


async def start(ledger: ConsentLedger, scope: str, number: str = USER, **kw: Any) -> bool:
    kw.setdefault("keyword", "START")
    kw.setdefault("source", SOURCE_KEYWORD)
    return await ledger.opt_in(number, scope, **kw)


# --- scopes -----------------------------------------------------------------------------------


async def test_nobody_is_opted_out_at_first(ledger: ConsentLedger) -> None:
    assert not await ledger.is_opted_out(USER, [SENDER, SERVICE])
    assert not await ledger.is_opted_out(USER, [])
    assert await ledger.entries() == []
    assert await ledger.history(USER) == []


async def test_an_opt_out_covers_its_sender_only(ledger: ConsentLedger) -> None:
    assert await stop(ledger, SENDER)
    assert await ledger.is_opted_out(USER, [SENDER])
    assert not await ledger.is_opted_out(USER, [OTHER_SENDER])
    assert not await ledger.is_opted_out(OTHER_USER, [SENDER])
    assert not await ledger.is_opted_out(USER, [])


async def test_a_service_opt_out_covers_every_sender_in_the_service(
    ledger: ConsentLedger,
) -> None:
    await stop(ledger, SERVICE)
    assert await ledger.is_opted_out(USER, [SENDER, SERVICE])
    assert await ledger.is_opted_out(USER, [OTHER_SENDER, SERVICE])
    assert not await ledger.is_opted_out(USER, [SENDER])  # sent outside the service


async def test_sms_and_whatsapp_are_different_senders_of_one_person(
    ledger: ConsentLedger,
) -> None:
    await stop(ledger, WA_SENDER, number="whatsapp:" + USER)
    assert await ledger.is_opted_out("whatsapp:" + USER, [WA_SENDER])
    assert await ledger.is_opted_out(USER, [WA_SENDER])  # the same person, hashed alike
    assert not await ledger.is_opted_out("whatsapp:" + USER, [SENDER])


async def test_scopes_are_normalised(ledger: ConsentLedger) -> None:
    await stop(ledger, " whatsapp:+15550001111 ")
    assert await ledger.is_opted_out(USER, ["WhatsApp:+15550001111"])
    (record,) = await ledger.entries()
    assert record.scope == WA_SENDER


async def test_start_lifts_the_opt_out_of_its_scope(ledger: ConsentLedger) -> None:
    await stop(ledger, SENDER)
    await stop(ledger, OTHER_SENDER)
    assert await start(ledger, SENDER)
    assert not await ledger.is_opted_out(USER, [SENDER])
    assert await ledger.is_opted_out(USER, [OTHER_SENDER])


async def test_repeats_change_nothing_and_say_so(ledger: ConsentLedger) -> None:
    assert await stop(ledger, SENDER)
    assert not await stop(ledger, SENDER)
    assert await start(ledger, SENDER)
    assert not await start(ledger, SENDER)
    assert not await start(ledger, OTHER_SENDER)  # never opted out there


# --- the global scope (STOPALL) ---------------------------------------------------------------


async def test_stopall_blocks_every_sender(ledger: ConsentLedger) -> None:
    assert await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    for scopes in ([SENDER], [OTHER_SENDER, SERVICE], [WA_SENDER], []):
        assert await ledger.is_opted_out(USER, scopes)
    assert not await ledger.is_opted_out(OTHER_USER, [SENDER])
    # Naming the global scope among the scopes is harmless.
    assert await ledger.is_opted_out(USER, [GLOBAL_SCOPE, SENDER])


async def test_start_after_stopall_exempts_only_the_scope_it_names(ledger: ConsentLedger) -> None:
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    assert await start(ledger, SENDER)
    assert not await ledger.is_opted_out(USER, [SENDER])
    assert not await ledger.is_opted_out(USER, [SENDER, SERVICE])
    assert await ledger.is_opted_out(USER, [OTHER_SENDER])
    assert await ledger.is_opted_out(USER, [SERVICE])
    assert await ledger.is_opted_out(USER, [])
    assert [r.scope for r in await ledger.entries()] == [GLOBAL_SCOPE]


async def test_a_later_stopall_cancels_the_exemptions(ledger: ConsentLedger) -> None:
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    await start(ledger, SENDER)
    assert not await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")  # already global...
    assert await ledger.is_opted_out(USER, [SENDER])  # ...but the exemption is gone
    assert await start(ledger, SENDER)
    assert not await ledger.is_opted_out(USER, [SENDER])


async def test_an_exemption_outlives_lifting_and_reimposing_global(ledger: ConsentLedger) -> None:
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    await start(ledger, SENDER)
    assert await start(ledger, GLOBAL_SCOPE, source=SOURCE_OPERATOR)
    assert await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")  # a new, later STOPALL
    assert await ledger.is_opted_out(USER, [SENDER])


async def test_a_scoped_opt_out_beats_an_exemption(ledger: ConsentLedger) -> None:
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    await start(ledger, SENDER)
    await stop(ledger, SERVICE)
    assert await ledger.is_opted_out(USER, [SENDER, SERVICE])
    assert not await ledger.is_opted_out(USER, [SENDER])


async def test_lifting_global_keeps_scoped_opt_outs(ledger: ConsentLedger) -> None:
    await stop(ledger, SENDER)
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    assert await start(ledger, GLOBAL_SCOPE, keyword=None, source=SOURCE_OPERATOR)
    assert await ledger.is_opted_out(USER, [SENDER])
    assert not await ledger.is_opted_out(USER, [OTHER_SENDER])
    assert not await start(ledger, GLOBAL_SCOPE, keyword=None, source=SOURCE_OPERATOR)


async def test_scoped_stop_under_global_is_kept_for_later(ledger: ConsentLedger) -> None:
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    assert not await stop(ledger, SENDER)  # already blocked, but recorded
    await start(ledger, GLOBAL_SCOPE, keyword=None, source=SOURCE_OPERATOR)
    assert await ledger.is_opted_out(USER, [SENDER])


# --- keywords into the ledger -----------------------------------------------------------------


async def keyword(ledger: ConsentLedger, body: str, sender: str, service: str | None) -> bool:
    match = classify(body)
    assert match is not None
    return await record_keyword(
        ledger, match, number=USER, sender=sender, messaging_service_sid=service
    )


async def test_keywords_land_in_the_right_scope(ledger: ConsentLedger) -> None:
    assert scope_for(SENDER) == SENDER
    assert scope_for(SENDER, SERVICE) == SERVICE

    assert await keyword(ledger, "stop", SENDER, SERVICE)  # through a service: the service
    assert await ledger.is_opted_out(USER, [OTHER_SENDER, SERVICE])
    assert await keyword(ledger, "Cancel", WA_SENDER, None)  # a bare sender: that sender
    assert await ledger.is_opted_out(USER, [WA_SENDER])
    assert not await keyword(ledger, "help", SENDER, None)  # HELP writes nothing
    assert await keyword(ledger, "unstop", SENDER, SERVICE)
    assert not await ledger.is_opted_out(USER, [SENDER, SERVICE])
    assert await keyword(ledger, "STOPALL", SENDER, SERVICE)  # global, wherever it was sent
    assert await ledger.is_opted_out(USER, [OTHER_SENDER])
    events = await ledger.history(USER)
    assert [(e.scope, e.keyword, e.source) for e in events] == [
        (SERVICE, "STOP", "keyword"),
        (WA_SENDER, "CANCEL", "keyword"),
        (SERVICE, "UNSTOP", "keyword"),
        (GLOBAL_SCOPE, "STOPALL", "keyword"),
    ]


# --- audit trail, listing and export ----------------------------------------------------------


async def test_audit_trail_records_every_call_in_order(ledger: ConsentLedger) -> None:
    before = time.time()
    await stop(ledger, SENDER)
    await stop(ledger, SENDER, keyword="QUIT")  # a no-op, still evidence
    await ledger.opt_out(USER, SERVICE, keyword=None, source=SOURCE_TWILIO_21610)
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    await start(ledger, SENDER, keyword="UNSTOP")
    await ledger.opt_in(USER, GLOBAL_SCOPE, keyword=None, source=SOURCE_OPERATOR)
    await stop(ledger, SENDER, number=OTHER_USER)  # another person's trail
    after = time.time()

    events = await ledger.history("whatsapp:" + USER)  # either spelling finds the trail
    assert [(e.action, e.scope, e.keyword, e.source) for e in events] == [
        ("opt_out", SENDER, "STOP", "keyword"),
        ("opt_out", SENDER, "QUIT", "keyword"),
        ("opt_out", SERVICE, None, "twilio-21610"),
        ("opt_out", GLOBAL_SCOPE, "STOPALL", "keyword"),
        ("opt_in", SENDER, "UNSTOP", "keyword"),
        ("opt_in", GLOBAL_SCOPE, None, "operator"),
    ]
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    times = [e.at.timestamp() for e in events]
    assert times == sorted(times)
    assert before - 1 <= times[0] and times[-1] <= after + 1
    digest = hmac.new(PEPPER.encode(), USER.encode(), hashlib.sha256).hexdigest()
    assert {(e.number_hash, e.masked) for e in events} == {(digest, "+1555***0123")}
    assert [e.action for e in await ledger.history(OTHER_USER)] == ["opt_out"]


async def test_entries_list_standing_opt_outs(ledger: ConsentLedger) -> None:
    await stop(ledger, SENDER)
    await ledger.opt_out(OTHER_USER, SERVICE, keyword=None, source=SOURCE_OPERATOR)
    await stop(ledger, OTHER_SENDER)
    await start(ledger, OTHER_SENDER)  # lifted: no longer listed
    await stop(ledger, SENDER, keyword="CANCEL")  # a repeat keeps the first record

    records = await ledger.entries()
    assert [(r.masked, r.scope, r.keyword, r.source) for r in records] == [
        ("+1555***0123", SENDER, "STOP", "keyword"),
        ("+4477***0123", SERVICE, None, "operator"),
    ]
    assert records[0].at <= records[1].at
    assert [r.scope for r in await ledger.entries(SERVICE)] == [SERVICE]
    assert await ledger.entries(OTHER_SENDER) == []


async def test_export_gives_json_ready_rows(ledger: ConsentLedger) -> None:
    await stop(ledger, SENDER)
    await stop(ledger, GLOBAL_SCOPE, number=OTHER_USER, keyword="STOPALL")
    await start(ledger, SENDER)
    await stop(ledger, SERVICE)

    rows = [row async for row in ledger.export()]
    assert [(r["scope"], r["masked"]) for r in rows] == [
        (GLOBAL_SCOPE, "+4477***0123"),
        (SERVICE, "+1555***0123"),
    ]
    assert set(rows[0]) == {"number_hash", "masked", "scope", "keyword", "source", "at"}
    assert json.loads(json.dumps(rows)) == rows
    assert isinstance(rows[0]["at"], str)

    history = [row async for row in ledger.export(history=True)]
    assert len(history) == 4
    assert json.loads(json.dumps(history)) == history
    trail = [r["action"] for r in history if r["masked"] == "+1555***0123"]
    assert trail == ["opt_out", "opt_in", "opt_out"]
    only_sender = [row async for row in ledger.export(SENDER, history=True)]
    assert [r["action"] for r in only_sender] == ["opt_out", "opt_in"]
    assert [row async for row in ledger.export(SENDER)] == []


# --- hashing and validation -------------------------------------------------------------------


def test_numbers_are_hashed_with_hmac_sha256_of_e164() -> None:
    hasher = NumberHasher(PEPPER)
    expected = hmac.new(PEPPER.encode(), USER.encode(), hashlib.sha256).hexdigest()
    assert hasher.digest(USER) == expected
    assert hasher.digest("whatsapp:" + USER) == expected
    assert NumberHasher(PEPPER + "x").digest(USER) != expected
    assert hasher.mask("whatsapp:" + USER) == "+1555***0123"
    assert PEPPER not in repr(hasher)


def test_a_short_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        NumberHasher("short")


async def test_bad_input_is_refused(ledger: ConsentLedger) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        await ledger.opt_out("5551230123", SENDER, keyword="STOP", source="keyword")
    with pytest.raises(ValueError, match="scope"):
        await ledger.opt_out(USER, "sms-sender", keyword="STOP", source="keyword")
    with pytest.raises(ValueError, match="source"):
        await ledger.opt_out(USER, SENDER, keyword="STOP", source=" ")
    with pytest.raises(ValueError, match="scope"):
        await ledger.is_opted_out(USER, ["MG123"])
    assert await ledger.history(USER) == []


async def test_memory_ledger_keeps_no_number_either() -> None:
    ledger = MemoryConsentLedger(NumberHasher(PEPPER))
    await stop(ledger, SENDER)
    await start(ledger, SENDER)
    assert USER_DIGITS not in repr(vars(ledger))


# --- concurrency ------------------------------------------------------------------------------


@dataclass
class Model:
    """The consent rules replayed in audit order, as a reference for the stores."""

    seq: int = 0
    states: dict[str, tuple[str, int]] = field(default_factory=dict)

    def check(self, scopes: list[str]) -> bool:
        glob = self.states.get(GLOBAL_SCOPE)
        exempt = False
        for scope in scopes:
            state = self.states.get(scope)
            if state is None:
                continue
            if state[0] == "out":
                return True
            exempt = exempt or (glob is not None and state[1] > glob[1])
        return glob is not None and not exempt

    def blocked(self, scope: str) -> bool:
        return self.check([] if scope == GLOBAL_SCOPE else [scope])

    def apply(self, action: str, scope: str) -> bool:
        before = self.blocked(scope)
        self.seq += 1
        current = self.states.get(scope)
        if action == "opt_out":
            if scope == GLOBAL_SCOPE or current is None or current[0] != "out":
                self.states[scope] = ("out", self.seq)
        elif scope != GLOBAL_SCOPE and GLOBAL_SCOPE in self.states:
            self.states[scope] = ("in", self.seq)
        else:
            self.states.pop(scope, None)
        return before != self.blocked(scope)


async def test_hundred_concurrent_changes_end_consistent(ledger: ConsentLedger) -> None:
    rng = random.Random(4)
    calls = [
        (rng.choice(["opt_out", "opt_in"]), rng.choice([SENDER, SENDER, SERVICE, GLOBAL_SCOPE]))
        for _ in range(100)
    ]

    async def call(i: int, action: str, scope: str) -> bool:
        await asyncio.sleep(rng.random() / 1000)
        method = ledger.opt_out if action == "opt_out" else ledger.opt_in
        return await method(USER, scope, keyword=None, source=f"task-{i}")

    results = await asyncio.gather(*(call(i, *c) for i, c in enumerate(calls)))

    events = await ledger.history(USER)
    assert len(events) == 100
    assert sorted(e.source for e in events) == sorted(f"task-{i}" for i in range(100))
    assert [e.seq for e in events] == sorted({e.seq for e in events})
    model = Model()
    for event in events:  # replayed in audit order, each call's answer matches the model's
        assert (event.action, event.scope) == calls[int(event.source[5:])]
        assert model.apply(event.action, event.scope) == results[int(event.source[5:])]
    for scopes in ([SENDER], [SERVICE], [OTHER_SENDER], [SENDER, SERVICE], []):
        assert await ledger.is_opted_out(USER, scopes) == model.check(scopes), scopes
    standing = {r.scope for r in await ledger.entries()}
    assert standing == {s for s, (kind, _) in model.states.items() if kind == "out"}


# --- Redis only: what is stored, where, and how it is read -------------------------------------


async def dump(redis: Redis) -> list[str]:
    """Every key and every stored value, as text."""
    out: list[str] = []
    async for raw_key in redis.scan_iter(count=1000):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        out.append(key)
        raw_kind = await redis.type(key)
        kind = raw_kind.decode() if isinstance(raw_kind, bytes) else str(raw_kind)
        if kind == "string":
            out.append(str(await redis.get(key)))
        elif kind == "hash":
            out.append(str(await redis.hgetall(key)))
        elif kind == "stream":
            out.append(str(await redis.xrange(key)))
        elif kind == "list":
            out.append(str(await redis.lrange(key, 0, -1)))
        elif kind == "set":
            out.append(str(await redis.smembers(key)))
        elif kind == "zset":
            out.append(str(await redis.zrange(key, 0, -1, withscores=True)))
        else:
            raise AssertionError(f"unexpected key type {kind} for {key}")
    return out


async def test_the_raw_number_appears_nowhere_in_redis(redis_client: Redis) -> None:
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER))
    await stop(ledger, SENDER)
    await stop(ledger, WA_SENDER, number="whatsapp:" + USER)
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    await start(ledger, SENDER)
    await ledger.opt_out(USER, SERVICE, keyword=None, source=SOURCE_TWILIO_21610)
    assert await ledger.is_opted_out(USER, [SERVICE])

    stored = await dump(redis_client)
    assert len(stored) > 5
    text = "\n".join(stored)
    assert USER_DIGITS not in text
    assert "+1555***0123" in text  # only the masked form, for operators
    assert PEPPER not in text


async def test_every_key_shares_one_hash_tag(redis_client: Redis) -> None:
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER))
    await stop(ledger, SENDER)
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL", number=OTHER_USER)
    keys = [k.decode() async for k in redis_client.scan_iter()]
    assert keys and all(k.startswith("{" + DEFAULT_TAG + "}:") for k in keys)
    digest = ledger.hasher.digest(USER)
    assert consent_key(digest, SENDER) in keys
    assert str(await redis_client.get(consent_key(digest, SENDER))).startswith("b'out:")


async def test_the_tag_is_configurable(redis_client: Redis) -> None:
    shards = ConsentShards(base="botkit:dispatch")
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards)
    await stop(ledger, SENDER)
    keys = [k.decode() async for k in redis_client.scan_iter()]
    assert keys and all(k.startswith("{botkit:dispatch}:") for k in keys)
    digest = ledger.hasher.digest(USER)
    assert consent_key(digest, SENDER, tag="botkit:dispatch") in keys
    assert await ledger.is_opted_out(USER, [SENDER])


async def through_every_kind_of_change(
    ledger: ConsentLedger, agree: Callable[[], Awaitable[None]]
) -> None:
    """Scoped and global opt-outs, an exemption and the lifting of each, five changes in all:
    ``agree`` checks a send-time reading against the ledger after each step."""
    await agree()
    await stop(ledger, SERVICE)
    await agree()
    await stop(ledger, GLOBAL_SCOPE, keyword="STOPALL")
    await start(ledger, SENDER)
    await agree()
    await start(ledger, SERVICE)
    await start(ledger, GLOBAL_SCOPE, keyword="START")
    await agree()


async def test_a_dispatcher_script_embedding_consent_lua_agrees(redis_client: Redis) -> None:
    """What the outbound worker's claim script will do: read consent_check_keys with CONSENT_LUA."""
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER))
    claim = redis_client.register_script(
        CONSENT_LUA
        + "if botkit_consent_blocked(redis.call('MGET', unpack(KEYS))) then return 'skip' end\n"
        + "return 'send'"
    )
    digest = ledger.hasher.digest(USER)

    async def agree() -> None:
        for scopes in ([SENDER], [SERVICE], [SENDER, SERVICE], [OTHER_SENDER]):
            verdict = await claim(keys=consent_check_keys(digest, scopes))
            assert (verdict == b"skip") == await ledger.is_opted_out(USER, scopes)

    await through_every_kind_of_change(ledger, agree)
    assert consent_check_keys(digest, [SENDER, GLOBAL_SCOPE, SENDER]) == [
        consent_key(digest, GLOBAL_SCOPE),
        consent_key(digest, SENDER),
    ]


async def test_a_change_returns_once_every_shards_copy_agrees(redis_client: Redis) -> None:
    # The outbound queue's shards each check consent in their own slot (ConsentShards).
    shards = ConsentShards(4)
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards)
    claim = redis_client.register_script(
        CONSENT_LUA + "return botkit_consent_blocked(redis.call('MGET', unpack(KEYS))) and 1 or 0"
    )
    digest = ledger.hasher.digest(USER)
    counters = [consent_changes_key(tag) for tag in shards.tags]

    async def agree() -> None:
        for tag in shards.tags:
            for scopes in ([SENDER], [SERVICE], [SENDER, SERVICE], [OTHER_SENDER]):
                verdict = await claim(keys=consent_check_keys(digest, scopes, tag))
                assert bool(verdict) == await ledger.is_opted_out(USER, scopes), (tag, scopes)

    await through_every_kind_of_change(ledger, agree)
    # Every copy counted every change, as the ledger's own counter did.
    assert [int(await redis_client.get(key)) for key in counters] == [5, 5, 5, 5]


async def test_a_copy_that_comes_late_leaves_a_newer_change_alone(redis_client: Redis) -> None:
    # Two processes change one number at once, and their copies reach a shard out of order.
    shards = ConsentShards(2)
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards)
    digest = ledger.hasher.digest(USER)
    await stop(ledger, SENDER)  # change 1
    await start(ledger, SENDER)  # change 2
    copy_tag = shards.tags[1]
    await ledger._copy(copy_tag, digest, SENDER, 1, [b"out:1", b""])  # change 1, again, late
    assert await redis_client.get(consent_key(digest, SENDER, copy_tag)) is None
    assert not await ledger.is_opted_out(USER, [SENDER])


async def copies_agree(redis: Redis, ledger: RedisConsentLedger, shards: ConsentShards) -> None:
    """Every slot a claim of these shards checks gives the ledger's own verdict, for two people."""
    claim = redis.register_script(
        CONSENT_LUA + "return botkit_consent_blocked(redis.call('MGET', unpack(KEYS))) and 1 or 0"
    )
    for number in (USER, OTHER_USER):
        digest = ledger.hasher.digest(number)
        for tag in shards.tags:
            for scopes in ([SENDER], [SERVICE], [OTHER_SENDER]):
                verdict = await claim(keys=consent_check_keys(digest, scopes, tag))
                expected = await ledger.is_opted_out(number, scopes)
                assert bool(verdict) == expected, (number, tag, scopes)


async def test_raising_the_shard_count_keeps_every_opt_out(redis_client: Redis) -> None:
    # Opt-outs recorded with one shard, then BOTKIT_SHARDS=3: before the new process serves,
    # its copies hold every state, exemptions from a STOPALL included.
    before = RedisConsentLedger(redis_client, NumberHasher(PEPPER))
    await stop(before, SENDER)
    await stop(before, GLOBAL_SCOPE, OTHER_USER, keyword="STOPALL")
    await start(before, SERVICE, OTHER_USER)
    shards = ConsentShards(3)
    after = RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards)
    assert await after.is_opted_out(USER, [SENDER])  # the ledger itself did not move
    await after.prepare()
    await copies_agree(redis_client, after, shards)
    assert await redis_client.smembers(copy_counts_key()) == {b"3"}


async def test_a_process_with_the_old_count_keeps_the_new_copies_current(
    redis_client: Redis,
) -> None:
    # A rolling change: a process still running with one shard records a STOP after a process
    # with three registered its copies. The change reaches them all the same.
    shards = ConsentShards(3)
    await RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards).prepare()
    old = RedisConsentLedger(redis_client, NumberHasher(PEPPER))
    await stop(old, SENDER)
    await stop(old, GLOBAL_SCOPE, OTHER_USER, keyword="STOPALL")
    await copies_agree(redis_client, old, shards)
    await start(old, SENDER)
    await copies_agree(redis_client, old, shards)


async def test_a_copy_is_filled_once(redis_client: Redis) -> None:
    # A second process with the same count finds the copies filled and does not walk the ledger
    # again, which would cost a scan of every state at each start.
    shards = ConsentShards(2)
    await stop(RedisConsentLedger(redis_client, NumberHasher(PEPPER)), SENDER)
    await RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards).prepare()
    counters = [consent_changes_key(tag) for tag in shards.copies]
    filled = [await redis_client.get(key) for key in counters]
    await RedisConsentLedger(redis_client, NumberHasher(PEPPER), shards).prepare()
    assert [await redis_client.get(key) for key in counters] == filled
    assert [await redis_client.exists(copy_filled_key(tag)) for tag in shards.copies] == [1, 1]


async def test_each_operation_is_one_round_trip(redis_client: Redis) -> None:
    ledger = RedisConsentLedger(redis_client, NumberHasher(PEPPER))
    await stop(ledger, SENDER)  # loads the scripts
    await ledger.is_opted_out(USER, [SENDER])
    commands: list[str] = []
    original: Any = redis_client.execute_command

    async def counting(*args: Any, **kwargs: Any) -> Any:
        commands.append(str(args[0]))
        return await original(*args, **kwargs)

    redis_client.execute_command = counting  # type: ignore[method-assign]
    assert await ledger.is_opted_out(USER, [SENDER, SERVICE])
    assert commands == ["EVALSHA"]
    commands.clear()
    assert await start(ledger, SENDER)
    assert commands == ["EVALSHA"]
