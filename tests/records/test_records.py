"""Bot records (``bot.records``): the RecordStore contract for memory and Redis alike, and the
typed handle a bot declares before it runs, bound by the runtime when it starts."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel, ValidationError

from botkit import Bot, Context, Records
from botkit.runtime.stores import Stores
from botkit.testing import TestClock, Tester

#: A contract every backend keeps, Redis Cluster included.
pytestmark = pytest.mark.cluster


class Ticket(BaseModel):
    id: str
    summary: str


async def test_values_are_put_got_taken_and_deleted(stores: Stores) -> None:
    store = stores.records.store("test:tickets")
    assert await store.get("T1") is None
    await store.put("T1", '{"a": 1}')
    assert await store.get("T1") == '{"a": 1}'
    assert await store.take("T1") == '{"a": 1}'
    assert await store.take("T1") is None  # taken once
    await store.put("T2", "x")
    assert await store.delete("T2") is True
    assert await store.delete("T2") is False


async def test_a_record_put_with_a_ttl_expires_by_the_rule_clock(stores: Stores) -> None:
    store = stores.records.store("test:surveys")
    clock = TestClock()
    with clock.installed():
        await store.put("S1", "short", ttl=3600)
        await store.put("S2", "kept")
        await store.put("S3", "taken late", ttl=3600)
        clock.advance(minutes=59)
        assert await store.get("S1") == "short"
        clock.advance(minutes=2)
        assert await store.get("S1") is None
        assert await store.take("S3") is None  # expired: nothing to take
        assert await store.get("S2") == "kept"
        # Put again without a ttl: it no longer expires.
        await store.put("S1", "renewed")
        clock.advance(days=30)
        assert await store.get("S1") == "renewed"


async def test_numbers_are_never_handed_out_twice(stores: Stores) -> None:
    store = stores.records.store("test:numbers")
    numbers = await asyncio.gather(*(store.next_number() for _ in range(50)))
    assert sorted(numbers) == list(range(1, 51))


async def test_namespaces_do_not_meet(stores: Stores) -> None:
    tickets, orders = stores.records.store("test:tickets"), stores.records.store("test:orders")
    await tickets.put("1", "ticket")
    await orders.put("1", "order")
    assert (await tickets.get("1"), await orders.get("1")) == ("ticket", "order")
    assert await tickets.next_number() == 1 and await orders.next_number() == 1


async def test_records_are_validated_models() -> None:
    bot = Bot("records-test")
    tickets: Records[Ticket] = bot.records(Ticket, "test:tickets")
    await tickets.put("T1", Ticket(id="T1", summary="cracked lid"))
    assert await tickets.get("T1") == Ticket(id="T1", summary="cracked lid")
    with pytest.raises(ValidationError):
        await tickets.put("T2", {"id": "T2"})  # type: ignore[arg-type]


async def test_a_records_ttl_applies_to_every_put() -> None:
    bot = Bot("records-test")
    surveys: Records[Ticket] = bot.records(Ticket, "test:surveys", ttl=60)
    clock = TestClock()
    with clock.installed():
        await surveys.put("S1", Ticket(id="S1", summary="rate us"))
        clock.advance(seconds=61)
        assert await surveys.get("S1") is None
    with pytest.raises(ValueError, match="ttl must be seconds > 0"):
        bot.records(Ticket, "test:bad", ttl=0)


async def test_a_running_bot_keeps_its_records_where_its_sessions_are(
    store_url: str | None,
) -> None:
    """Declared before the bot runs; the runtime binds them to its backend when it starts, so
    a handler's records are in Redis with REDIS_URL (every process sees them)."""
    bot = Bot("records-test")
    tickets = bot.records(Ticket, "test:tickets")

    @bot.fallback
    async def open_ticket(ctx: Context) -> None:
        number = await tickets.next_number()
        await tickets.put(f"T{number}", Ticket(id=f"T{number}", summary=ctx.message.text))
        await ctx.reply(f"ticket T{number}")

    async with Tester(bot, redis_url=store_url) as tester:
        phone = tester.phone("+15550001111")
        await phone.send("the lid is cracked")
        await phone.expect_reply(equals="ticket T1")
        assert await tickets.get("T1") == Ticket(id="T1", summary="the lid is cracked")
        if store_url is not None:
            assert tester.runtime.stores.redis is not None
            raw = await tester.runtime.stores.redis.get("{test:tickets}:T1")
            assert raw is not None and b"the lid is cracked" in raw


async def test_records_put_with_an_owner_are_found_and_forgotten_by_it(stores: Stores) -> None:
    """The owner index (the person's pseudonym) that bots' privacy hooks use."""
    store = stores.records.store("test:owned")
    clock = TestClock()
    with clock.installed():
        await store.put("T1", "a", owner="alice")
        await store.put("T2", "b", ttl=60, owner="alice")
        await store.put("T3", "c", owner="bob")
        await store.put("T4", "d")
        assert await store.owned("alice") == ["T1", "T2"]
        clock.advance(minutes=2)
        assert await store.owned("alice") == ["T1"]  # T2 expired
        await store.delete("T1")
        assert await store.owned("alice") == []
        await store.put("T5", "e", owner="alice")
        assert await store.forget_owner("alice") == 1
        assert await store.forget_owner("alice") == 0
        assert await store.get("T5") is None
        assert await store.owned("bob") == ["T3"] and await store.get("T4") == "d"


class Order(BaseModel):
    id: str
    customer: str


async def test_a_bots_records_by_person(store_url: str | None) -> None:
    """``owner=`` names the field with the person's address; ``person_key`` is their
    pseudonym, never the number."""
    bot = Bot("owners")
    orders = bot.records(Order, "test:orders", owner="customer")
    with pytest.raises(ValueError, match="has no field 'buyer'"):
        bot.records(Order, "test:orders", owner="buyer")
    async with Tester(bot, redis_url=store_url):
        await orders.put("O1", Order(id="O1", customer="whatsapp:+15550001111"))
        await orders.put("O2", Order(id="O2", customer="+15550002222"))
        assert list(await orders.of_person("+15550001111")) == ["O1"]
        key = orders.person_key("+15550001111")
        assert key == orders.person_key("whatsapp:+15550001111") and "5550001111" not in key
        assert await orders.forget_person("+15550001111") == 1
        assert await orders.get("O1") is None and await orders.get("O2") is not None
