"""A feeder that dies mid-round (after queueing a round's recipients, before dropping their rows
from the audience): another process takes the campaign over when the lease lapses, feeds the
same rows again, and nobody gets a message twice; the campaign's counts and its pace are not
thrown off by the rows fed twice. A process that died before it counted its outcomes does not
stop the campaign either. On memory and on Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from botkit import Bot
from botkit.campaigns.counter import CampaignCounter
from botkit.campaigns.feeder import CampaignFeeder
from botkit.campaigns.protocol import CampaignStore
from botkit.outbound.limits.rates import RateTable
from botkit.testing import Tester

AUDIENCE = [f"+1555020{n:04d}" for n in range(40)]


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


@pytest.fixture
def bot() -> Bot:
    return Bot("crashing")


class DiesBeforeConsuming:
    """The campaign store as a feeder sees it, up to the moment its process dies: right after
    it queued a round's messages, before it drops those rows from the audience."""

    def __init__(self, store: CampaignStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def consume(self, campaign_id: str, owner: str, count: int) -> bool:
        raise ConnectionError("the feeding process died")


def feeder(tester: Tester, store: Any, counter: CampaignCounter) -> CampaignFeeder:
    """A feeder of another process: its own lease owner and counter, the same stores."""
    runtime = tester.runtime
    stores = runtime.stores
    # 10 a second: the feeder keeps 20 in line, so a round takes half the audience.
    return CampaignFeeder(store, runtime.messenger, stores.ledger, stores.hasher, counter,
                          RateTable(long_code=10), lease=0.3)


async def test_a_round_fed_again_after_a_crash_sends_nobody_twice(tester: Tester) -> None:
    imported = await tester.bot.broadcast(
        AUDIENCE, text="spring sale", from_=tester.bot_number, campaign_id="crash", paused=True
    )
    campaign = imported.campaign
    store = tester.runtime.stores.campaigns
    with pytest.raises(ConnectionError):
        await feeder(tester, DiesBeforeConsuming(store), CampaignCounter(store)).feed(campaign)
    assert await store.remaining("crash") == len(AUDIENCE)  # nothing was dropped

    counter = CampaignCounter(store)
    survivor = feeder(tester, store, counter)
    assert await survivor.feed(campaign) == 0  # the dead process's lease still holds
    await asyncio.sleep(0.35)
    fed = 0
    async with asyncio.timeout(15):
        while await store.remaining("crash"):
            fed += await survivor.feed(campaign)
            await counter.flush()
            await tester.settle()
            await asyncio.sleep(0.05)
    async with asyncio.timeout(10):
        while len(tester.sandbox.state.messages) < len(AUDIENCE):
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    sent = sorted(m.to for m in tester.sandbox.state.messages.values())
    assert sent == AUDIENCE  # everyone once
    async with asyncio.timeout(5):  # outcomes are counted every half second
        while (report := await tester.bot.campaign("crash")).counts.get("settled", 0) < 40:
            await asyncio.sleep(0.1)
    # The first round was fed twice: the second time its messages were in line already and
    # were not counted again, so what the feeder thinks is in line adds up (counted twice,
    # the campaign would wait forever for 20 messages to settle that were never there).
    assert fed == len(AUDIENCE) - 20
    assert (report.counts.get("queued"), report.counts.get("settled")) == (40, 40)


async def test_messages_whose_outcomes_died_with_a_process_do_not_stop_the_campaign(
    tester: Tester,
) -> None:
    """A process that sent 20 of the campaign's messages died before it counted them settled:
    to the feeder they seem in line for ever. Once the counts have not moved for ``stall``
    seconds it takes them as lost, and the campaign goes on."""
    imported = await tester.bot.broadcast(
        AUDIENCE, text="spring sale", from_=tester.bot_number, campaign_id="lost", paused=True
    )
    store = tester.runtime.stores.campaigns
    await store.count({"lost": {"queued": 20}}, minute=0)  # and never settled
    counter = CampaignCounter(store)
    survivor = CampaignFeeder(
        store, tester.runtime.messenger, tester.runtime.stores.ledger,
        tester.runtime.stores.hasher, counter, RateTable(long_code=10), stall=0.5,
    )
    assert await survivor.feed(imported.campaign) == 0  # 20 seem in line: no room
    await asyncio.sleep(0.3)
    assert await survivor.feed(imported.campaign) == 0  # not for long enough yet
    await asyncio.sleep(0.3)
    assert await survivor.feed(imported.campaign) == 20  # taken as lost: fed on
    report = await tester.bot.campaign("lost")
    assert report.counts.get("unaccounted") == 20
