"""The HistoryStore contract, on memory and Redis alike: numbered entries per thread, read
after a number, bounded to the newest, expiring, and erased on request."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from botkit.handoff.history.protocol import HistoryEntry
from botkit.handoff.notices import Notices
from botkit.runtime.stores import Stores
from tests.support.traces import store_traces


def said(text: str) -> HistoryEntry:
    return HistoryEntry(at=1.0, kind="message", role="customer", author="+15550001111", text=text)


async def test_entries_are_numbered_and_read_after_a_number(stores: Stores) -> None:
    history = stores.history
    assert await history.append("conversation:CH1", [said("hi"), said("my order")]) == 2
    assert await history.append("conversation:CH1", [said("is late")]) == 3
    assert await history.append("conversation:CH2", [said("other")]) == 1
    assert [(e.index, e.text) for e in await history.read("conversation:CH1", after=1)] == [
        (2, "my order"),
        (3, "is late"),
    ]
    entry = (await history.read("conversation:CH1"))[0]
    assert (entry.kind, entry.role, entry.author, entry.data) == (
        "message",
        "customer",
        "+15550001111",
        {},
    )
    assert await history.read("conversation:CH9") == []


async def test_a_thread_keeps_its_newest_entries_for_its_lifetime(stores: Stores) -> None:
    history = stores.history
    for n in range(5):
        await history.append("customer:abc", [said(f"turn {n}")], limit=3)
    assert [e.text for e in await history.read("customer:abc")] == ["turn 2", "turn 3", "turn 4"]
    assert [e.index for e in await history.read("customer:abc")] == [3, 4, 5]  # numbers go on
    await history.append("customer:brief", [said("soon gone")], ttl=0.05)
    await asyncio.sleep(0.2)
    assert await history.read("customer:brief") == []


async def test_a_thread_is_erased(stores: Stores) -> None:
    await stores.history.append("conversation:CH1", [said("hi")])
    assert await stores.history.erase("conversation:CH1") is True
    assert await stores.history.read("conversation:CH1") == []
    assert await stores.history.erase("conversation:CH1") is False


async def test_a_persons_history_is_exported_and_erased_and_nothing_else(stores: Stores) -> None:
    """Issue 18: a person's own 1:1 turns, the threads of their conversations, and the
    entries elsewhere that name them (an agent's notice, masked) go; nothing else does."""
    history = stores.history
    person = replace(stores.hasher.person("+15550001111"), conversations=("CH1",))
    notice = HistoryEntry(at=1.0, kind="notice", role="system", text="New: +1555***1111")
    other = HistoryEntry(at=1.0, kind="notice", role="system", text="New: +1555***3333")
    await history.append(f"customer:{person.digest}", [said("my order 12")])
    await history.append("conversation:CH1", [said("hi"), said("is late")])
    elsewhere = said("mentions nobody").model_copy(update={"author": "+15550003333"})
    await history.append("conversation:CH2", [elsewhere])
    await history.append("agent:ann", [notice, other])

    exported = await history.export_person(person)
    assert sorted((row["thread"], row["text"]) for row in exported) == [
        ("agent:ann", "New: +1555***1111"),
        ("conversation:CH1", "hi"),
        ("conversation:CH1", "is late"),
        (f"customer:{person.digest}", "my order 12"),
    ]
    assert await history.erase_person(person) == 4
    assert await history.erase_person(person) == 0
    assert await history.export_person(person) == []
    assert await history.read("conversation:CH1") == []
    assert [e.text for e in await history.read("agent:ann")] == ["New: +1555***3333"]
    assert [e.text for e in await history.read("conversation:CH2")] == ["mentions nobody"]


async def test_an_agents_notices_are_kept_under_their_pseudonym(stores: Stores) -> None:
    """Issue 18: an agent who works from their phone is told things in a thread named by their
    pseudonym, whose entries do not name them; their export finds the thread, their erase
    deletes it."""
    agent = "+15550109000"
    notices = Notices(stores.history, stores.hasher.pseudonym)
    await notices.tell(agent, "New conversation: +1555***1111 (general), waited 3 s.")
    await notices.tell("ann", "Closed.")
    assert [(e.index, e.author) for e in await notices.of(agent)] == [(1, None)]
    pseudonym = stores.hasher.pseudonym(agent)
    assert [e.text for e in await stores.history.read(f"agent:{pseudonym}")] == [
        "New conversation: +1555***1111 (general), waited 3 s."
    ]
    assert await store_traces(stores, [agent.lstrip("+")]) == []

    person = stores.hasher.person(agent)
    assert [row["thread"] for row in await stores.history.export_person(person)] == [
        f"agent:{pseudonym}"
    ]
    assert await stores.history.erase_person(person) == 1
    assert await notices.of(agent) == []
    assert [e.text for e in await notices.of("ann")] == ["Closed."]
