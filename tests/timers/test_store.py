"""The TimerStore contract (memory and Redis alike): due timers are leased to one taker, come
back when the lease lapses, fire once, recur, and can be cancelled or replaced."""

from __future__ import annotations

import pytest

from botkit.runtime.stores import Stores
from botkit.timers.protocol import Timer

USER = "+15550001111"
BOT = "+15550002222"


def timer(timer_id: str, due: float, every: float | None = None) -> Timer:
    return Timer(id=timer_id, due=due, intent="survey", sender=USER, recipient=BOT, every=every,
                 data={"order": 42})


@pytest.mark.cluster
async def test_a_due_timer_is_taken_once_until_its_lease_lapses(stores: Stores) -> None:
    timers = stores.timers
    await timers.add(timer("t1", due=100.0))
    await timers.add(timer("t2", due=200.0))
    assert await timers.take_due(99.0, 10, lease=30) == []
    [taken] = await timers.take_due(150.0, 10, lease=30)
    assert (taken.id, taken.data) == ("t1", {"order": 42})
    assert await timers.take_due(150.0, 10, lease=30) == []  # leased to the first taker
    [again] = await timers.take_due(181.0, 10, lease=30)  # the taker died: due again
    assert again == taken
    await timers.done(again, again.following(181.0))
    assert [t.id for t in await timers.take_due(1000.0, 10, lease=30)] == ["t2"]
    assert await timers.get("t1") is None
    assert await timers.pending() == 1


async def test_a_recurring_timer_moves_to_its_next_occurrence(stores: Stores) -> None:
    timers = stores.timers
    await timers.add(timer("daily", due=100.0, every=50.0))
    [first] = await timers.take_due(100.0, 10, lease=30)
    await timers.done(first, first.following(100.0))
    assert await timers.take_due(149.0, 10, lease=30) == []
    [second] = await timers.take_due(150.0, 10, lease=30)
    assert (second.occurrence, second.due, second.rev) == (1, 150.0, first.rev)
    # Occurrences missed while nothing ran are skipped: the next is after now.
    await timers.done(second, second.following(420.0))
    stored = await timers.get("daily")
    assert stored is not None and (stored.occurrence, stored.due) == (2, 450.0)


async def test_cancelled_or_replaced_timers_are_left_alone_by_done(stores: Stores) -> None:
    timers = stores.timers
    await timers.add(timer("cart", due=100.0, every=60.0))
    [taken] = await timers.take_due(100.0, 10, lease=30)
    assert await timers.cancel("cart")
    await timers.done(taken, taken.following(100.0))
    assert await timers.get("cart") is None  # not re-armed by its last firing
    assert not await timers.cancel("cart")

    await timers.add(timer("cart", due=100.0))
    [taken] = await timers.take_due(100.0, 10, lease=30)
    replacement = timer("cart", due=500.0)
    await timers.add(replacement)  # armed again while the old one fired
    await timers.done(taken, None)
    assert await timers.get("cart") == replacement
    assert await timers.take_due(400.0, 10, lease=30) == []


async def test_a_persons_timers_are_exported_and_disarmed(stores: Stores) -> None:
    """``botkit privacy``: a person's armed timers (their address is in them) are exported and
    erased; other people's stay armed."""
    timers = stores.timers
    await timers.add(timer("mine", due=100.0))
    await timers.add(Timer(id="wa", due=100.0, intent="survey", sender=f"whatsapp:{USER}",
                           recipient=f"whatsapp:{BOT}"))
    await timers.add(Timer(id="theirs", due=100.0, intent="survey", sender="+15550009999",
                           recipient=BOT))
    person = stores.hasher.person(USER)
    assert [row["id"] for row in await timers.export_person(person)] == ["mine", "wa"]
    assert await timers.erase_person(person) == 2
    assert await timers.erase_person(person) == 0
    assert await timers.export_person(person) == []
    assert [t.id for t in await timers.take_due(1000.0, 10, lease=30)] == ["theirs"]
