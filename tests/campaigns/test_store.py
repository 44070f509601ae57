"""The CampaignStore contract (memory and Redis alike): recipients deduplicated by digest, rows
fed from the head under a lease, held rows, final states, counts by minute."""

from __future__ import annotations

import pytest

from botkit.campaigns.model import Campaign, Content
from botkit.campaigns.transitions import CampaignStateError
from botkit.runtime.stores import Stores


def campaign(campaign_id: str = "spring") -> Campaign:
    return Campaign(id=campaign_id, content=Content(text="Hi {name}"), from_="+15550002222")


@pytest.mark.cluster
async def test_rows_are_added_once_and_fed_from_the_head_by_the_lease_holder(
    stores: Stores,
) -> None:
    store = stores.campaigns
    assert await store.create(campaign())
    assert not await store.create(campaign())
    assert await store.add("spring", [("d1", "r1"), ("d2", "r2"), ("d1", "r1 again")]) == 2
    assert await store.add("spring", [("d2", "r2"), ("d3", "r3")]) == 1  # an import run again
    assert await store.head("spring", 2) == ["r1", "r2"]
    assert await store.lease("spring", "feeder-a", 5)
    assert not await store.lease("spring", "feeder-b", 5)
    assert not await store.consume("spring", "feeder-b", 2)
    assert await store.consume("spring", "feeder-a", 2)
    assert await store.head("spring", 10) == ["r3"]
    await store.hold("spring", {"r4": 100.0, "r5": 200.0})
    assert await store.due_held("spring", 150.0, 10) == ["r4"]
    await store.release("spring", "feeder-a", ["r4"])
    assert await store.remaining("spring") == 2
    report = await store.report("spring")
    assert report is not None and report.counts == {"recipients": 3}


async def test_counts_add_up_in_total_and_by_minute(stores: Stores) -> None:
    store = stores.campaigns
    await store.create(campaign())
    await store.count({"spring": {"queued": 2, "sent": 1}}, 100)
    await store.count({"spring": {"sent": 1}, "nope": {"sent": 5}}, 101)
    report = await store.report("spring")
    assert report is not None
    assert report.counts == {"queued": 2, "sent": 2}
    assert report.series == {100: {"queued": 2, "sent": 1}, 101: {"sent": 1}}


async def test_a_finished_campaign_drops_its_rows_and_takes_no_more(stores: Stores) -> None:
    store = stores.campaigns
    await store.create(campaign())
    await store.add("spring", [("d1", "r1")])
    paused = await store.set_state("spring", "paused")
    assert paused is not None and paused.state == "paused"
    canceled = await store.set_state("spring", "canceled")
    assert canceled is not None and canceled.state == "canceled"
    assert await store.remaining("spring") == 0
    assert await store.add("spring", [("d2", "r2")]) == 0
    with pytest.raises(CampaignStateError, match="a canceled campaign cannot be resumed"):
        await store.set_state("spring", "sending")
    assert await store.set_state("nope", "paused") is None
    assert [c.id for c in await store.recent()] == ["spring"]
