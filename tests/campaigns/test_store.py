"""The CampaignStore contract (memory and Redis alike): recipients deduplicated by digest, rows
fed from the head under a lease, held rows, final states, counts by minute."""

from __future__ import annotations

import asyncio

import pytest

from botkit.campaigns.model import Campaign, Content, Recipient
from botkit.campaigns.protocol import ERASED_ROW, audience_digest
from botkit.campaigns.transitions import CampaignStateError
from botkit.runtime.stores import Stores


def campaign(campaign_id: str = "spring") -> Campaign:
    return Campaign(id=campaign_id, content=Content(text="Hi {name}"), from_="+15550002222")


@pytest.mark.cluster
async def test_a_lapsed_lease_lets_its_holder_consume_nothing(stores: Stores) -> None:
    """A feeder that stalled past its lease may have been replaced: memory and Redis alike."""
    store = stores.campaigns
    assert await store.create(campaign())
    assert await store.add("spring", [("d1", "r1")]) == 1
    assert await store.lease("spring", "feeder-a", 0.1)
    await asyncio.sleep(0.2)
    assert not await store.consume("spring", "feeder-a", 1)
    assert await store.head("spring", 10) == ["r1"]


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
    # No room, no rows: a round whose room the due held rows filled takes none from the head.
    assert await store.head("spring", 0) == []
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


@pytest.mark.cluster
async def test_sending_lists_every_campaign_that_sends_however_many_came_after(
    stores: Stores,
) -> None:
    """The feeders' list: a campaign resumed after 200 newer ones were made is still fed; a
    paused, finished or never started one is not."""
    store = stores.campaigns
    assert await store.create(campaign("old"))
    await store.set_state("old", "sending")
    for n in range(201):
        assert await store.create(campaign(f"newer{n}"))
    assert await store.create(campaign("paused"))
    await store.set_state("paused", "paused")
    assert [c.id for c in await store.sending()] == ["old"]
    await store.set_state("newer7", "sending")
    assert sorted(c.id for c in await store.sending()) == ["newer7", "old"]
    await store.set_state("old", "done")
    await store.set_state("newer7", "canceled")
    assert await store.sending() == []


async def test_counts_add_up_in_total_and_by_minute(stores: Stores) -> None:
    store = stores.campaigns
    await store.create(campaign())
    await store.count({"spring": {"queued": 2, "sent": 1}}, 100)
    await store.count({"spring": {"sent": 1}, "nope": {"sent": 5}}, 101)
    report = await store.report("spring")
    assert report is not None
    assert report.counts == {"queued": 2, "sent": 2}
    assert report.series == {100: {"queued": 2, "sent": 1}, 101: {"sent": 1}}
    assert await store.counts("spring") == {"queued": 2, "sent": 2}  # the totals alone
    assert await store.counts("nope") == {}


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


@pytest.mark.cluster
async def test_a_persons_rows_are_exported_and_erased_in_place(stores: Stores) -> None:
    """``botkit privacy``: their rows waiting in the audience become ERASED_ROW where they are
    (a feeder holding the head keeps its count right), their held row and digest go."""
    store = stores.campaigns
    person = stores.hasher.person("+15550001111")
    mine = Recipient(to="+15550001111", columns={"name": "Ann"}).model_dump_json()
    mine_wa = Recipient(to="whatsapp:+15550001111").model_dump_json()
    theirs = Recipient(to="+15550009999").model_dump_json()
    await store.create(campaign())
    rows = [(audience_digest(person), mine), ("d2", theirs), ("d3", mine_wa)]
    assert await store.add("spring", rows) == 3
    held = Recipient(to="+15550001111", columns={"x": "1"}).model_dump_json()
    await store.hold("spring", {held: 9.0})

    exported = await store.export_person(person)
    assert [(r["to"], r.get("held_until")) for r in exported] == [
        ("+15550001111", None), ("whatsapp:+15550001111", None), ("+15550001111", 9.0)
    ]
    assert await store.erase_person(person) == 3
    assert await store.erase_person(person) == 0
    assert await store.export_person(person) == []
    assert await store.head("spring", 10) == [ERASED_ROW, theirs, ERASED_ROW]
    assert await store.remaining("spring") == 3
    # Their digest went too: added again (a new import), they would be a new recipient.
    assert await store.add("spring", [(audience_digest(person), mine)]) == 1
