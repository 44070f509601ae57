"""Campaigns end to end, on memory and on Redis: the bot's feeders send them through the
outbound queue to the sandbox, and the counts follow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from botkit import Bot, Context, SendError, WhatsAppTemplate
from botkit.campaigns.audience import Audience, BadRow, Row, audience_of
from botkit.campaigns.model import Campaign, Content, Report
from botkit.campaigns.service import Broadcasts
from botkit.core.sharding import shard_of
from botkit.errors import ConfigError
from botkit.testing import TestClock, Tester

TEMPLATE = "HX" + "7" * 32
SHIPPED = {"twilio/text": {"body": "News: {{1}}"}}


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


@pytest.fixture
def bot() -> Bot:
    bot = Bot("marketing", whatsapp_template=WhatsAppTemplate(content_sid=TEMPLATE))

    @bot.intent("hi", keywords=["hi"], channel=["sms", "whatsapp"])
    async def hi(ctx: Context) -> None:
        await ctx.reply("hello")

    return bot


async def finished(tester: Tester, campaign_id: str, settled: int) -> Report:
    """The campaign's report once ``settled`` of its messages were sent or given up on, and
    the feeder found it fed in full (its next round after the last row: ``done``)."""
    async with asyncio.timeout(15):
        while True:
            await tester.settle()
            report = await tester.bot.campaign(campaign_id)
            fed = report.remaining == 0 and report.campaign.state == "done"
            if report.counts.get("settled", 0) >= settled and fed:
                return report
            await asyncio.sleep(0.05)


async def test_duplicates_invalid_and_opted_out_recipients_are_counted_not_sent_to(
    tester: Tester,
) -> None:
    ann, bob, cat = (tester.phone(n) for n in ("+15550001111", "+15550002323", "+15550003333"))
    await bob.send("STOP")
    await tester.settle()
    imported = await tester.bot.broadcast(
        [
            {"phone": ann.number, "name": "Ann"},
            {"phone": bob.number, "name": "Bob"},
            {"phone": "555-0100", "name": "Nobody"},
            {"phone": cat.number, "name": "Cat"},
            {"phone": ann.number, "name": "Ann again"},
        ],
        text="Hi {name}, our spring sale starts today.",
        from_=tester.bot_number,
        campaign_id="spring-sale",
    )
    assert [str(b) for b in imported.bad] == [
        "line 3: '555-0100' is not an E.164 number (it must start with +)",
        "line 5: duplicate of line 1 (+15550001111)",
    ]
    assert (imported.added, imported.campaign.state) == (3, "sending")
    await ann.expect_reply(equals="Hi Ann, our spring sale starts today.")
    await cat.expect_reply(equals="Hi Cat, our spring sale starts today.")
    report = await finished(tester, "spring-sale", settled=2)
    await bob.expect_no_reply(within=0.2)
    assert {k: report.counts.get(k, 0) for k in ("recipients", "duplicates", "invalid",
                                                  "queued", "opted_out", "sent")} == {
        "recipients": 3, "duplicates": 1, "invalid": 1, "queued": 2, "opted_out": 1, "sent": 2
    }
    assert report.campaign.state == "done"
    assert sum(report.series[m].get("sent", 0) for m in report.series) == 2
    figures = await scrape(tester)
    assert 'botkit_campaign_messages{campaign="spring-sale",count="sent"} 2.0' in figures
    assert 'botkit_campaign_messages{campaign="spring-sale",count="opted_out"} 1.0' in figures


async def scrape(tester: Tester) -> str:
    """The bot's GET /metrics."""
    assert tester.settings is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{bot_origin(tester)}/metrics") as response,
    ):
        return await response.text()


def bot_origin(tester: Tester) -> str:
    assert tester.settings is not None
    hosts = tester.settings.public_hosts
    return str(hosts[0] if isinstance(hosts, list | tuple) else hosts).rstrip("/")


async def test_pause_resume_and_cancel(tester: Tester) -> None:
    ann, bob = tester.phone("+15550001111"), tester.phone("+15550002323")
    first = await tester.bot.broadcast([ann.number], text="first", from_=tester.bot_number,
                                       paused=True)
    second = await tester.bot.broadcast([bob.number], text="second", from_=tester.bot_number,
                                        paused=True)
    assert first.campaign.state == second.campaign.state == "paused"
    await ann.expect_no_reply(within=0.5)
    await tester.bot.resume(first.campaign.id)
    await ann.expect_reply(equals="first")
    canceled = await tester.bot.cancel(second.campaign.id)
    assert canceled.state == "canceled"
    with pytest.raises(SendError, match="a canceled campaign cannot be resumed"):
        await tester.bot.resume(second.campaign.id)
    await bob.expect_no_reply(within=0.5)


async def test_stop_during_a_campaign_stops_what_is_left_for_that_person(
    tester: Tester,
) -> None:
    ann, bob = tester.phone("+15550001111"), tester.phone("+15550002323")
    news = await tester.bot.broadcast([ann.number, bob.number], text="news",
                                      from_=tester.bot_number, paused=True)
    await tester.bot.send(ann.number, "your order shipped", from_=tester.bot_number)
    await ann.expect_reply(equals="your order shipped")
    await ann.send("STOP")  # mid-campaign: nothing more for Ann, from any campaign
    await tester.settle()
    await tester.bot.resume(news.campaign.id)
    await bob.expect_reply(equals="news")
    report = await finished(tester, news.campaign.id, settled=1)
    assert (report.counts.get("opted_out"), report.counts.get("sent")) == (1, 1)
    await ann.expect_no_reply(within=0.3)


NEW_YORK = ZoneInfo("America/New_York")
QUIET = {"quiet_hours": {"start": "21:00", "end": "08:00"}}


@pytest.mark.botkit(settings=QUIET)
async def test_quiet_hours_hold_each_recipient_until_daytime_in_their_own_zone(
    tester: Tester, clock: TestClock
) -> None:
    new_york = tester.phone("+12125550123")  # Manhattan: 22:00 there
    los_angeles = tester.phone("+13105550123")  # Los Angeles: 19:00 there
    clock.set(datetime(2026, 1, 15, 22, 0, tzinfo=NEW_YORK))
    imported = await tester.bot.broadcast(
        [new_york.number, los_angeles.number], text="flash sale", from_=tester.bot_number
    )
    await los_angeles.expect_reply(equals="flash sale")
    await new_york.expect_no_reply(within=0.5)
    report = await tester.bot.campaign(imported.campaign.id)
    assert report.counts.get("quiet_hours") == 1 and report.remaining == 1
    clock.set(datetime(2026, 1, 16, 8, 0, tzinfo=NEW_YORK))
    await new_york.expect_reply(equals="flash sale", within=3)
    report = await finished(tester, imported.campaign.id, settled=2)
    assert report.counts.get("quiet_hours") == 1


async def test_whatsapp_recipients_outside_the_window_get_the_template(
    tester: Tester,
) -> None:
    tester.add_template(SHIPPED, sid=TEMPLATE)
    talking = tester.phone("+15550001111", whatsapp=True)
    silent = tester.phone("+15550002323", whatsapp=True)
    await talking.send("hi")  # opens the 24-hour window
    await talking.expect_reply(equals="hello")
    await tester.bot.broadcast(
        [talking.address, silent.address], text="new teas are in",
        from_="whatsapp:" + tester.bot_number,
    )
    await talking.expect_reply(equals="new teas are in", template=False)
    await silent.expect_reply(equals="News: new teas are in", template=TEMPLATE)


async def test_a_mixed_audience_gets_the_number_on_each_ones_channel(tester: Tester) -> None:
    tester.add_template(SHIPPED, sid=TEMPLATE)
    sms = tester.phone("+15550001111")
    whatsapp = tester.phone("+15550002323", whatsapp=True)
    await tester.bot.broadcast(
        [sms.number, whatsapp.address], text="new teas are in", from_=tester.bot_number
    )
    by_sms = await sms.expect_reply(equals="new teas are in")
    by_whatsapp = await whatsapp.expect_reply(equals="News: new teas are in", template=TEMPLATE)
    messages = tester.sandbox.state.messages
    assert messages[by_sms.sid].from_ == tester.bot_number
    assert messages[by_whatsapp.sid].from_ == "whatsapp:" + tester.bot_number


def cut_short(audience: Audience, after: int) -> Audience:
    """The audience as an import that crashed after ``after`` rows saw it."""

    def rows() -> Iterator[Row | BadRow]:
        for n, row in enumerate(audience.rows):
            if n == after:
                raise ConnectionError("the importing process died")
            yield row

    return Audience(audience.columns, rows())


async def test_an_import_cut_short_resumes_without_sending_anyone_twice(
    tester: Tester,
) -> None:
    numbers = [f"+1555010{n:04d}" for n in range(60)]
    runtime = tester.runtime
    broadcasts = Broadcasts(runtime.stores.campaigns, runtime.stores.hasher, batch=10)
    campaign = Campaign(id="resumed", content=Content(text="hello"), from_=tester.bot_number)
    with pytest.raises(ConnectionError):
        await broadcasts.start(campaign, cut_short(audience_of(numbers), after=35))
    report = await tester.bot.campaign("resumed")
    assert (report.campaign.state, report.counts.get("recipients")) == ("queueing", 30)
    resumed = await broadcasts.start(campaign, audience_of(numbers))
    assert (resumed.added, resumed.already, resumed.campaign.state) == (30, 30, "sending")
    report = await finished(tester, "resumed", settled=60)
    sent = [m.to for m in tester.sandbox.state.messages.values() if m.body == "hello"]
    assert sorted(sent) == numbers


@pytest.mark.parametrize(
    ("sender", "error"),
    [
        ({"from_": "12"}, "cannot broadcast: cannot send from '12'"),
        ({"messaging_service_sid": "MG12"}, "'MG12' is not a Messaging Service SID"),
        ({"from_": "+15550002222", "messaging_service_sid": "MG" + "0" * 32},
         "a campaign comes from one sender"),
    ],
    ids=["bad number", "bad service", "both"],
)
async def test_a_campaign_from_a_bad_sender_is_refused_before_anything_is_added(
    tester: Tester, sender: dict[str, str], error: str
) -> None:
    with pytest.raises(SendError, match=error) as raised:
        await tester.bot.broadcast(["+15550001111"], text="hi", campaign_id="bad", **sender)
    assert "\n" not in str(raised.value)
    with pytest.raises(ConfigError, match="no campaign 'bad'"):
        await tester.bot.campaign("bad")


async def test_status_callbacks_count_delivered_read_failed_and_undelivered(
    store_url: str | None,
) -> None:
    """Each campaign message's StatusCallback carries the campaign: the sandbox's callbacks
    are counted against it, and by minute."""
    bot = Bot("callbacks", whatsapp_template=WhatsAppTemplate(content_sid=TEMPLATE))
    async with Tester(bot, redis_url=store_url, status_callbacks=True) as tester:
        tester.add_template(SHIPPED, sid=TEMPLATE)
        fine, unreachable = tester.phone("+15550001111"), tester.phone("+15550002323")
        reader = tester.phone("+15550003333", whatsapp=True)
        gone = tester.phone("+15550004444", whatsapp=True)
        unreachable.fail_deliveries(30003)
        gone.leave_whatsapp()  # 63003: failed
        imported = await tester.bot.broadcast(
            [fine.number, unreachable.number, reader.address, gone.address], text="tea",
            from_=tester.bot_number,
        )
        await fine.expect_reply(equals="tea")
        await reader.expect_reply(equals="News: tea", template=TEMPLATE)
        wanted = {"sent": 4, "delivered": 2, "read": 1, "undelivered": 1, "failed": 1}
        async with asyncio.timeout(10):
            while True:
                if await reader.read() == 0:  # once delivered
                    await asyncio.sleep(0.05)
                report = await tester.bot.campaign(imported.campaign.id)
                counts = {name: report.counts.get(name, 0) for name in wanted}
                if counts == wanted:
                    break
                await asyncio.sleep(0.1)
        by_minute = {name: sum(m.get(name, 0) for m in report.series.values()) for name in wanted}
        assert by_minute == wanted


@pytest.mark.botkit(settings={"shards": 4})
async def test_stop_mid_campaign_on_a_sharded_outbound_queue(tester: Tester) -> None:
    """BOTKIT_SHARDS=4: the bot's number queues in a shard of its own (not the ledger's slot),
    whose copy of consent each claim checks. The campaign is all in line, its sender held back
    (as after Twilio's 429), when Ann sends STOP: her message is never sent, and the rest go
    once each."""
    assert shard_of(tester.bot_number, 4) != 0  # the test means a shard other than the first
    queue = tester.runtime.stores.queue
    await queue.hold_sender(tester.bot_number, int((time.time() + 1.5) * 1_000_000))
    people = [tester.phone(f"+1555030{n:04d}") for n in range(10)]
    ann = people[4]
    imported = await tester.bot.broadcast(
        [p.number for p in people], text="autumn teas", from_=tester.bot_number
    )
    async with asyncio.timeout(1):  # one round feeds everyone
        while (await tester.bot.campaign(imported.campaign.id)).remaining:
            await asyncio.sleep(0.02)
    await ann.send("STOP")
    others = [p for p in people if p is not ann]
    for person in others:
        await person.expect_reply(equals="autumn teas", within=5)
    await asyncio.sleep(0.3)
    sent = [m.to for m in tester.sandbox.state.messages.values() if m.body == "autumn teas"]
    assert sorted(sent) == sorted(p.number for p in others)
    letters = [d for d in await queue.dead_letters() if d.job.message.body == "autumn teas"]
    assert [(d.job.message.to, d.reason) for d in letters] == [(ann.number, "opted_out")]
    # Ann's message, suppressed as it was claimed, counts for the campaign too: it finishes
    # with everyone accounted for (it waited for her before, then called her unaccounted).
    report = await finished(tester, imported.campaign.id, settled=10)
    assert (report.counts.get("sent"), report.counts.get("opted_out")) == (9, 1)
    assert "unaccounted" not in report.counts


async def test_a_person_erased_before_their_row_is_fed_gets_nothing(tester: Tester) -> None:
    """``botkit privacy erase`` while a campaign waits (paused): the export showed their row,
    the erase leaves none, and once resumed everyone else gets the message and they do not."""
    ann, bob = tester.phone("+15550001111"), tester.phone("+15550002323")
    imported = await tester.bot.broadcast(
        [{"phone": ann.number, "name": "Ann"}, {"phone": bob.number, "name": "Bob"}],
        text="Hi {name}, our spring sale starts today.",
        from_=tester.bot_number,
        paused=True,
    )
    privacy = tester.runtime.privacy
    exported = await privacy.export(ann.number)
    assert [row["columns"]["name"] for row in exported["campaign_audiences"]] == ["Ann"]
    removed = await privacy.erase(ann.number)
    assert removed["campaign_audiences"] == 1
    assert (await privacy.export(ann.number))["campaign_audiences"] == []

    await tester.bot.resume(imported.campaign.id)
    await bob.expect_reply(equals="Hi Bob, our spring sale starts today.")
    report = await finished(tester, imported.campaign.id, settled=1)
    await ann.expect_no_reply(within=0.2)
    assert (report.counts.get("sent"), report.counts.get("skipped")) == (1, 1)


async def test_columns_given_in_code_may_be_numbers_and_a_missing_phone_is_one_line(
    tester: Tester,
) -> None:
    ann = tester.phone("+15550001111")
    await tester.bot.broadcast([{"phone": ann.number, "table": 7, "note": None}],
                               text="Table {table} is ready{note}", from_=tester.bot_number)
    await ann.expect_reply(equals="Table 7 is ready")
    with pytest.raises(ConfigError) as raised:
        await tester.bot.broadcast([{"name": "Ann"}], text="hi", from_=tester.bot_number)
    assert str(raised.value) == (
        "the audience has no phone column (phone or to or number or mobile or whatsapp); "
        "its columns are name"
    )
